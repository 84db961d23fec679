//! Just enough SQL lexing to compare schema text written two ways.
//!
//! SQLite keeps the text of every `CREATE` statement, but text written by a
//! person (the DDL) and text spliced by `ALTER TABLE` (the chain) differ in
//! case, quoting and spacing while meaning the same. Comparing the
//! [`normalize`]d token stream removes those differences and nothing else.
//! This is a lexer, not a parser: it never decides what SQL is allowed (the
//! SQLite authorizer does that).

use crate::schema::names::ObjectKind;
use std::collections::BTreeMap;

/// One lexical token of SQLite's dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A keyword or identifier, lowercased (SQLite folds both); quoted
    /// identifiers arrive here unquoted.
    Word(String),
    /// A string literal, quotes kept (`'it''s'`): case and spacing matter.
    Str(String),
    /// A numeric or blob literal, verbatim.
    Literal(String),
    /// An operator or punctuation: `(`, `)`, `,`, `.`, `||`, `<=`, …
    Punct(String),
}

impl Token {
    /// Whether this token is the keyword or identifier `word` (lowercase).
    pub fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w == word)
    }

    /// Whether this token is the punctuation `p`.
    pub fn is_punct(&self, p: &str) -> bool {
        matches!(self, Token::Punct(x) if x == p)
    }

    fn text(&self) -> &str {
        match self {
            Token::Word(s) | Token::Str(s) | Token::Literal(s) | Token::Punct(s) => s,
        }
    }
}

/// Splits SQL text into tokens, dropping whitespace and comments.
///
/// Never fails: an unterminated quote or comment runs to the end of the text,
/// which is what SQLite would have refused anyway.
pub fn tokenize(sql: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(sql.len() / 4);
    lex(sql, |token, _| tokens.push(token));
    tokens
}

/// The statements of `sql`, as slices of it, each with its `;` (the last
/// without one when the text does not end in one); empty statements are
/// skipped. A `;` inside a trigger's `BEGIN … END` does not end the
/// statement (a `CASE … END` inside it is counted as such).
pub fn statements(sql: &str) -> Vec<&str> {
    let mut statements = Vec::new();
    let (mut first, mut trigger, mut depth) = (None::<usize>, false, 0usize);
    let mut words: Vec<String> = Vec::new();
    lex(sql, |token, at| {
        let begins = first.is_none();
        if begins {
            first = Some(at);
            words.clear();
        }
        match &token {
            Token::Word(word) => {
                if words.len() < 4 {
                    words.push(word.clone());
                    trigger = words.first().is_some_and(|w| w == "create") && words.iter().any(|w| w == "trigger");
                }
                if trigger {
                    match word.as_str() {
                        "begin" | "case" => depth += 1,
                        "end" => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            Token::Punct(p) if p == ";" && depth == 0 => {
                if let Some(from) = first.take() {
                    if !begins {
                        statements.push(&sql[from..=at]);
                    }
                }
                trigger = false;
            }
            _ => {}
        }
    });
    if let Some(from) = first {
        statements.push(sql[from..].trim_end());
    }
    statements
}

/// `sql` with every `COLLATE <name>` of one of `names` (lowercase) not yet
/// qualified written `COLLATE <schema>.<name>`: the same SQL, looking for
/// those collations in `schema`.
pub fn qualify_collations(sql: &str, names: &[String], schema: &str) -> String {
    let mut tokens: Vec<(Token, usize)> = Vec::new();
    lex(sql, |token, at| tokens.push((token, at)));
    let mut out = String::with_capacity(sql.len() + 16);
    let mut copied = 0;
    for (i, (token, at)) in tokens.iter().enumerate() {
        let after_collate = i > 0 && tokens[i - 1].0.is_word("collate");
        let qualified = tokens.get(i + 1).is_some_and(|(t, _)| t.is_punct("."));
        if let Token::Word(word) = token {
            if after_collate && !qualified && names.iter().any(|n| n == word) {
                out.push_str(&sql[copied..*at]);
                out.push_str(schema);
                out.push('.');
                copied = *at;
            }
        }
    }
    out.push_str(&sql[copied..]);
    out
}

/// Lexes `sql`, handing each token and the byte offset it starts at to `push`.
fn lex(sql: &str, mut push: impl FnMut(Token, usize)) {
    let mut at = 0;
    while let Some(c) = char_at(sql, at) {
        let start = at;
        let next = char_at(sql, at + c.len_utf8());
        if c.is_whitespace() {
            at += c.len_utf8();
        } else if c == '-' && next == Some('-') {
            at = sql[at..].find('\n').map_or(sql.len(), |p| at + p);
        } else if c == '/' && next == Some('*') {
            at = sql[at + 2..].find("*/").map_or(sql.len(), |p| at + 2 + p + 2);
        } else if c == '\'' {
            let (text, end) = quoted(sql, at, '\'');
            push(Token::Str(format!("'{}'", text.replace('\'', "''"))), start);
            at = end;
        } else if c == '"' || c == '`' {
            let (text, end) = quoted(sql, at, c);
            push(Token::Word(lowercase(&text)), start);
            at = end;
        } else if c == '[' {
            let end = sql[at..].find(']').map_or(sql.len(), |p| at + p);
            push(Token::Word(lowercase(&sql[at + 1..end])), start);
            at = (end + 1).min(sql.len());
        } else if (c == 'x' || c == 'X') && next == Some('\'') {
            let (text, end) = quoted(sql, at + 1, '\'');
            push(Token::Literal(format!("x'{}'", lowercase(&text))), start);
            at = end;
        } else if c.is_alphabetic() || c == '_' {
            let end = scan(sql, at, |c| c.is_alphanumeric() || c == '_' || c == '$');
            push(Token::Word(lowercase(&sql[at..end])), start);
            at = end;
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            let end = scan(sql, at, |c| c.is_ascii_alphanumeric() || c == '.');
            push(Token::Literal(sql[at..end].to_ascii_lowercase()), start);
            at = end;
        } else {
            let two = next.map(|n| [c, n]);
            let op = match two {
                Some(
                    ['|', '|']
                    | ['<', '=']
                    | ['>', '=']
                    | ['<', '>']
                    | ['!', '=']
                    | ['<', '<']
                    | ['>', '>']
                    | ['-', '>'],
                ) => &sql[at..at + 2],
                Some(['=', '=']) => "=",
                _ => &sql[at..at + c.len_utf8()],
            };
            at += if two == Some(['=', '=']) { 2 } else { op.len() };
            push(Token::Punct(op.to_owned()), start);
        }
    }
}

/// The character starting at byte `at` of `sql`, if any.
fn char_at(sql: &str, at: usize) -> Option<char> {
    sql.get(at..).and_then(|rest| rest.chars().next())
}

/// The byte offset after the run of characters from `start` that satisfy `keep`.
fn scan(sql: &str, start: usize, keep: impl Fn(char) -> bool) -> usize {
    sql[start..].char_indices().find(|&(_, c)| !keep(c)).map_or(sql.len(), |(p, _)| start + p)
}

/// SQLite folds identifiers and keywords to lowercase; most SQL is ASCII.
fn lowercase(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        text.to_lowercase()
    }
}

/// Reads a quoted run starting at byte `start` (the opening quote), where a
/// doubled quote stands for one; returns the unquoted text and the byte
/// offset after the closing quote.
fn quoted(sql: &str, start: usize, quote: char) -> (String, usize) {
    let body = start + quote.len_utf8();
    let mut text = String::new();
    let mut from = body;
    loop {
        let Some(p) = sql[from..].find(quote) else {
            text.push_str(&sql[from..]);
            return (text, sql.len());
        };
        let close = from + p;
        text.push_str(&sql[from..close]);
        let after = close + quote.len_utf8();
        if char_at(sql, after) == Some(quote) {
            text.push(quote);
            from = after + quote.len_utf8();
        } else {
            return (text, after);
        }
    }
}

/// Renders tokens in one canonical spelling: lowercase words, no quotes on
/// identifiers, single spaces, none inside parentheses or before commas.
pub fn render(tokens: &[Token]) -> String {
    let mut out = String::new();
    let mut previous: Option<&Token> = None;
    for token in tokens {
        let glue = match previous {
            None => true,
            Some(p) => {
                p.is_punct("(")
                    || p.is_punct(".")
                    || token.is_punct(")")
                    || token.is_punct(",")
                    || token.is_punct(".")
                    || (token.is_punct("(") && matches!(p, Token::Word(_)))
            }
        };
        if !glue {
            out.push(' ');
        }
        out.push_str(token.text());
        previous = Some(token);
    }
    out
}

/// The canonical spelling of a piece of SQL (see [`render`]).
pub fn normalize(sql: &str) -> String {
    render(&tokenize(sql))
}

/// Given tokens where `tokens[open]` is `(`, returns the index of its
/// matching `)` (or the end of the tokens when it has none).
pub fn matching_paren(tokens: &[Token], open: usize) -> usize {
    if !tokens.get(open).is_some_and(|t| t.is_punct("(")) {
        return tokens.len();
    }
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if token.is_punct("(") {
            depth += 1;
        } else if token.is_punct(")") {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return i;
            }
        }
    }
    tokens.len()
}

/// Splits tokens at the commas that are not inside parentheses.
pub fn split_top_level_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if token.is_punct("(") {
            depth += 1;
        } else if token.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if token.is_punct(",") && depth == 0 {
            parts.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// What one statement does to the schema's names, as its text says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameChange {
    /// `CREATE TABLE|VIEW|INDEX|TRIGGER name`; for an index or trigger,
    /// the table it is on (dropped with it).
    Created { kind: ObjectKind, name: String, on: Option<String> },
    /// `DROP TABLE|VIEW|INDEX|TRIGGER name`.
    Dropped(String),
    /// `ALTER TABLE from RENAME TO to`.
    Renamed { from: String, to: String },
}

/// The names `sql` creates, drops and renames, statement by statement, read
/// off its tokens (lowercase, schema qualifiers dropped). For SQL the host
/// knows is well-formed (the core chain, a DDL it also runs): the authorizer,
/// not this, decides what a plugin may do.
pub fn name_changes(sql: &str) -> Vec<NameChange> {
    let tokens = tokenize(sql);
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    // `name` or `schema.name` at `i`: the name and the index after it.
    let name_at = |i: usize| -> Option<(String, usize)> {
        let first = word(i)?;
        if tokens.get(i + 1).is_some_and(|t| t.is_punct(".")) {
            return word(i + 2).map(|n| (n.to_owned(), i + 3));
        }
        Some((first.to_owned(), i + 1))
    };
    let kind = |w: Option<&str>| w.and_then(ObjectKind::parse);
    let mut changes = Vec::new();
    let mut start = true;
    for i in 0..tokens.len() {
        let at_start = std::mem::replace(&mut start, tokens[i].is_punct(";"));
        if !at_start {
            continue;
        }
        match word(i) {
            Some("create") => {
                let mut j = i + 1;
                while matches!(word(j), Some("temp" | "temporary" | "unique" | "virtual")) {
                    j += 1;
                }
                let Some(kind) = kind(word(j)) else { continue };
                j += 1;
                if word(j) == Some("if") {
                    j += 3;
                }
                let Some((name, mut j)) = name_at(j) else { continue };
                // The table an index or trigger is on follows the first `ON`.
                let on = matches!(kind, ObjectKind::Index | ObjectKind::Trigger)
                    .then(|| {
                        while j < tokens.len() && !tokens[j].is_word("on") && !tokens[j].is_punct(";") {
                            j += 1;
                        }
                        name_at(j + 1).map(|(table, _)| table)
                    })
                    .flatten();
                changes.push(NameChange::Created { kind, name, on });
            }
            Some("drop") if kind(word(i + 1)).is_some() => {
                let mut j = i + 2;
                if word(j) == Some("if") {
                    j += 2;
                }
                if let Some((name, _)) = name_at(j) {
                    changes.push(NameChange::Dropped(name));
                }
            }
            Some("alter") if word(i + 1) == Some("table") => {
                let Some((from, j)) = name_at(i + 2) else { continue };
                if let (Some("rename"), Some("to"), Some(to)) = (word(j), word(j + 1), word(j + 2)) {
                    changes.push(NameChange::Renamed { from, to: to.to_owned() });
                }
            }
            _ => {}
        }
    }
    changes
}

/// The objects left after running `statements` in order on an empty
/// database, by name: their kind and, for indexes and triggers, their table.
pub fn objects_after<'a>(
    statements: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, (ObjectKind, Option<String>)> {
    let mut objects: BTreeMap<String, (ObjectKind, Option<String>)> = BTreeMap::new();
    for sql in statements {
        for change in name_changes(sql) {
            match change {
                NameChange::Created { kind, name, on } => {
                    objects.insert(name, (kind, on));
                }
                NameChange::Dropped(name) => {
                    objects.remove(&name);
                    objects.retain(|_, (_, on)| on.as_deref() != Some(name.as_str()));
                }
                NameChange::Renamed { from, to } => {
                    if let Some(object) = objects.remove(&from) {
                        objects.insert(to.clone(), object);
                    }
                    for (_, on) in objects.values_mut() {
                        if on.as_deref() == Some(from.as_str()) {
                            *on = Some(to.clone());
                        }
                    }
                }
            }
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collations_are_qualified_only_where_they_are_named_unqualified() {
        let names = vec!["nocase".to_owned()];
        let sql = "CREATE TABLE t (a text COLLATE nocase, b text collate \"nocase\", c text COLLATE shopdb.nocase, d text COLLATE \"C\", nocase text)";
        assert_eq!(
            qualify_collations(sql, &names, "pg_temp"),
            "CREATE TABLE t (a text COLLATE pg_temp.nocase, b text collate pg_temp.\"nocase\", c text COLLATE shopdb.nocase, d text COLLATE \"C\", nocase text)"
        );
    }

    #[test]
    fn statements_split_where_sqlite_would() {
        let sql = "CREATE TABLE a (x TEXT DEFAULT ';');\n-- a comment; with a semicolon\n;;
            CREATE TRIGGER t AFTER INSERT ON a BEGIN
              UPDATE a SET x = CASE WHEN x = 'y' THEN 'z' END; DELETE FROM a WHERE x = \";\";
            END;
            CREATE INDEX \"a;b\" ON a (x)";
        let split = statements(sql);
        assert_eq!(split.len(), 3, "{split:#?}");
        assert!(split[0].starts_with("CREATE TABLE a") && split[0].ends_with(");"));
        assert!(split[1].starts_with("CREATE TRIGGER t") && split[1].ends_with("END;"), "{}", split[1]);
        assert_eq!(split[2], "CREATE INDEX \"a;b\" ON a (x)");
    }

    #[test]
    fn case_quoting_spacing_and_comments_do_not_matter() {
        let a = normalize("CHECK ( \"Kind\" IN ('a','b') ) -- why");
        let b = normalize("check(kind in ('a', 'b'))");
        assert_eq!(a, b);
        assert_eq!(a, "check(kind in('a', 'b'))");
    }

    #[test]
    fn string_literals_keep_their_case_and_doubled_quotes() {
        assert_ne!(normalize("DEFAULT 'UTC'"), normalize("default 'utc'"));
        assert_eq!(normalize("'it''s'"), "'it''s'");
    }

    #[test]
    fn bracket_and_backtick_identifiers_unquote() {
        assert_eq!(normalize("[My Table].`Col`"), "my table.col");
    }

    #[test]
    fn top_level_commas_split_but_nested_ones_do_not() {
        let tokens = tokenize("a int check (a in (1, 2)), b text, unique (a, b)");
        let parts = split_top_level_commas(&tokens);
        assert_eq!(parts.len(), 3);
        assert_eq!(render(parts[0]), "a int check(a in(1, 2))");
    }

    proptest::proptest! {
        /// The lexer slices by byte offsets: whatever the text (multi-byte
        /// characters next to quotes, brackets and comment marks), it
        /// never cuts inside a character.
        #[test]
        fn any_text_tokenizes(sql in "(\\PC|['\"`\\[\\]xX*/-]){0,40}") {
            let tokens = tokenize(&sql);
            let _ = render(&tokens);
        }
    }

    #[test]
    fn created_dropped_and_renamed_names_are_read_statement_by_statement() {
        let sql = "CREATE TABLE IF NOT EXISTS main.\"Items\" (id INT, note TEXT DEFAULT 'create table no');
                   CREATE UNIQUE INDEX items_note ON items (note);
                   CREATE TRIGGER items_t AFTER INSERT ON items BEGIN DELETE FROM items WHERE 0; END;
                   ALTER TABLE items RENAME COLUMN note TO memo;
                   ALTER TABLE items RENAME TO things; DROP INDEX IF EXISTS items_note; CREATE VIEW v AS SELECT 1;";
        use NameChange::*;
        assert_eq!(
            name_changes(sql),
            vec![
                Created { kind: ObjectKind::Table, name: "items".into(), on: None },
                Created { kind: ObjectKind::Index, name: "items_note".into(), on: Some("items".into()) },
                Created { kind: ObjectKind::Trigger, name: "items_t".into(), on: Some("items".into()) },
                Renamed { from: "items".into(), to: "things".into() },
                Dropped("items_note".into()),
                Created { kind: ObjectKind::View, name: "v".into(), on: None },
            ]
        );
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in ["'open", "\"open", "[open", "/* open", "x'", "(((", ")))"] {
            let tokens = tokenize(sql);
            let _ = render(&tokens);
            let _ = matching_paren(&tokens, 0);
        }
    }
}
