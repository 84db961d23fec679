//! The SQL lexer: `shopdb_host::schema::sqltext`.
//!
//! It reads plugin DDL and chains (untrusted text) and SQLite's stored
//! schema text. Whatever the text: no panic in `tokenize`, `render` (and so
//! `normalize`), `statements`, `name_changes`, `objects_after`,
//! `matching_paren` and `split_top_level_commas`, and these properties hold:
//!
//! * "case, quoting, spacing and comments do not matter": the tokens of `x`
//!   spelled again with other spacing, comments between tokens, identifiers
//!   quoted any of the four ways (or bare) and keywords in other case lex
//!   back to the same tokens (and so normalize and name the same) and split
//!   into the same statements (a blob literal holding a `'`, which SQLite
//!   refuses anyway, is the one token with no second spelling);
//! * `statements(x)` are slices of `x`, in order, not overlapping, none
//!   empty or starting with a `;`, every one but the last ending in `;`,
//!   and together they hold every token of `x` but the `;` of empty
//!   statements;
//! * `matching_paren` finds a `)` that balances, `split_top_level_commas`
//!   loses no token;
//! * `objects_after` names only objects the statements create or rename.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shopdb_host::schema::sqltext::{
    matching_paren, name_changes, objects_after, render, split_top_level_commas, statements, tokenize,
    NameChange, Token,
};

/// A small deterministic generator seeded from the input, for the choices
/// of the second spelling (so that the corpus stays plain SQL).
struct Rng(u64);

impl Rng {
    fn new(data: &[u8]) -> Rng {
        Rng(data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Between two tokens: always some whitespace first, so that a comment
/// never joins the token before it (`-` then `--`).
const SEPARATORS: [&str; 8] =
    [" ", "\n", "\t ", "  \r\n", " /* c; 'x' \"y\" -- */ ", " -- c; 'x' [y /*\n", " /**/\t", "\u{a0}\u{2003}"];

fn flip_case(text: &str, rng: &mut Rng) -> String {
    text.chars().map(|c| if rng.below(2) == 0 { c.to_ascii_uppercase() } else { c }).collect()
}

fn bare_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && !(word.len() == 1 && word.eq_ignore_ascii_case("x"))
}

/// The tokens spelled another way, or `None` when one has no other spelling.
fn respell(tokens: &[Token], rng: &mut Rng) -> Option<String> {
    let mut out = String::new();
    for token in tokens {
        out.push_str(SEPARATORS[rng.below(SEPARATORS.len())]);
        match token {
            Token::Word(w) => {
                let w = flip_case(w, rng);
                match rng.below(4) {
                    0 if bare_identifier(&w) => out.push_str(&w),
                    1 => out.push_str(&format!("`{}`", w.replace('`', "``"))),
                    2 if !w.contains(']') => out.push_str(&format!("[{w}]")),
                    _ => out.push_str(&format!("\"{}\"", w.replace('"', "\"\""))),
                }
            }
            Token::Literal(l) => {
                if l.starts_with("x'") && l[2..l.len() - 1].contains('\'') {
                    return None;
                }
                out.push_str(&flip_case(l, rng));
            }
            Token::Str(s) => out.push_str(s),
            Token::Punct(p) => out.push_str(p),
        }
    }
    out.push_str(SEPARATORS[rng.below(SEPARATORS.len())]);
    Some(out)
}

/// Checks `statements(sql)`; returns them, and the tokens of each. With
/// `whole`, also that together they hold every token of the text.
fn check_statements(sql: &str, whole: bool) -> (Vec<&str>, Vec<Vec<Token>>) {
    let split = statements(sql);
    let base = sql.as_ptr() as usize;
    let mut end = 0;
    let mut all = Vec::with_capacity(split.len());
    for (i, s) in split.iter().enumerate() {
        let start = (s.as_ptr() as usize).checked_sub(base).expect("a slice of the text");
        assert!(start >= end && start + s.len() <= sql.len(), "in order, not overlapping");
        assert!(!s.is_empty() && !s.starts_with(char::is_whitespace), "{s:?}");
        let tokens = tokenize(s);
        assert!(tokens.first().is_some_and(|t| !t.is_punct(";")), "{s:?}");
        if i + 1 < split.len() {
            assert!(s.ends_with(';') && tokens.last().is_some_and(|t| t.is_punct(";")), "{s:?}");
        }
        end = start + s.len();
        all.push(tokens);
    }
    if whole {
        // Every token of the text, but the `;` of empty statements.
        let whole = tokenize(sql.trim_end());
        let flat: Vec<&Token> = all.iter().flatten().collect();
        let mut j = 0;
        for t in &whole {
            if flat.get(j) == Some(&t) {
                j += 1;
            } else {
                assert!(t.is_punct(";"), "token {t:?} lost by statements()");
            }
        }
        assert_eq!(j, flat.len(), "statements() made up tokens");
    }
    (split, all)
}

fn check_structure(tokens: &[Token]) {
    for (i, t) in tokens.iter().enumerate() {
        let close = matching_paren(tokens, i);
        if !t.is_punct("(") {
            assert_eq!(close, tokens.len());
            continue;
        }
        assert!(close > i && close <= tokens.len());
        if close < tokens.len() {
            let inside = &tokens[i..=close];
            assert!(tokens[close].is_punct(")"));
            let opens = inside.iter().filter(|t| t.is_punct("(")).count();
            let closes = inside.iter().filter(|t| t.is_punct(")")).count();
            assert_eq!(opens, closes, "a matching `)` balances");
        }
    }
    let parts = split_top_level_commas(tokens);
    let mut rebuilt: Vec<Token> = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            rebuilt.push(Token::Punct(",".into()));
        }
        rebuilt.extend(part.iter().cloned());
    }
    if rebuilt.len() < tokens.len() {
        // A trailing top-level comma leaves no (empty) last part.
        rebuilt.push(Token::Punct(",".into()));
    }
    assert_eq!(rebuilt, tokens);
}

fuzz_target!(|data: &[u8]| {
    let sql = String::from_utf8_lossy(data);
    let tokens = tokenize(&sql);
    let _ = render(&tokens);
    check_structure(&tokens);
    let (statements, split) = check_statements(&sql, true);

    // (`normalize` and `name_changes` are functions of the tokens: the
    // same tokens, the same results.)
    let mut rng = Rng::new(data);
    if let Some(again) = respell(&tokens, &mut rng) {
        assert_eq!(tokenize(&again), tokens, "respelled as {again:?}");
        let (_, split_again) = check_statements(&again, false);
        assert_eq!(split_again.len(), split.len(), "respelled as {again:?}");
        // All but the last (which ends where the text does, trailing
        // whitespace trimmed, even inside an unterminated quote).
        let n = split.len().saturating_sub(1);
        assert_eq!(split_again[..n], split[..n]);
    }

    let changes: Vec<NameChange> = statements.iter().flat_map(|s| name_changes(s)).collect();
    let objects = objects_after(statements);
    for name in objects.keys() {
        assert!(
            changes.iter().any(|c| match c {
                NameChange::Created { name: n, .. } => n == name,
                NameChange::Renamed { to, .. } => to == name,
                NameChange::Dropped(_) => false,
            }),
            "`{name}` appeared from nowhere"
        );
    }
});
