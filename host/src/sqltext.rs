//! Just enough SQL lexing to compare schema text written two ways.
//!
//! SQLite keeps the text of every `CREATE` statement, but text written by a
//! person (the DDL) and text spliced by `ALTER TABLE` (the chain) differ in
//! case, quoting and spacing while meaning the same. Comparing the
//! [`normalize`]d token stream removes those differences and nothing else.
//! This is a lexer, not a parser: it never decides what SQL is allowed (the
//! SQLite authorizer does that).

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
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            let (text, next) = quoted(&chars, i, '\'');
            tokens.push(Token::Str(format!("'{}'", text.replace('\'', "''"))));
            i = next;
        } else if c == '"' || c == '`' {
            let (text, next) = quoted(&chars, i, c);
            tokens.push(Token::Word(text.to_lowercase()));
            i = next;
        } else if c == '[' {
            let end = chars[i..].iter().position(|&x| x == ']').map_or(chars.len(), |p| i + p);
            tokens.push(Token::Word(chars[i + 1..end].iter().collect::<String>().to_lowercase()));
            i = end + 1;
        } else if (c == 'x' || c == 'X') && chars.get(i + 1) == Some(&'\'') {
            let (text, next) = quoted(&chars, i + 1, '\'');
            tokens.push(Token::Literal(format!("x'{}'", text.to_lowercase())));
            i = next;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect::<String>().to_lowercase()));
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Literal(chars[start..i].iter().collect::<String>().to_lowercase()));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = match two.as_str() {
                "||" | "<=" | ">=" | "<>" | "!=" | "==" | "<<" | ">>" | "->" => two,
                _ => c.to_string(),
            };
            i += op.chars().count();
            tokens.push(Token::Punct(if op == "==" { "=".into() } else { op }));
        }
    }
    tokens
}

/// Reads a quoted run starting at `start` (the opening quote), where a
/// doubled quote stands for one; returns the unquoted text and the index after
/// the closing quote.
fn quoted(chars: &[char], start: usize, quote: char) -> (String, usize) {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                text.push(quote);
                i += 2;
                continue;
            }
            return (text, i + 1);
        }
        text.push(chars[i]);
        i += 1;
    }
    (text, i)
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn unterminated_input_does_not_panic() {
        for sql in ["'open", "\"open", "[open", "/* open", "x'", "(((", ")))"] {
            let tokens = tokenize(sql);
            let _ = render(&tokens);
            let _ = matching_paren(&tokens, 0);
        }
    }
}
