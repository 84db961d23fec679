//! `--database` values and PostgreSQL URLs: `DatabaseTarget::parse`, its
//! `Display` (which must never show a password: it goes into reports,
//! `--json`, logs and the audit record), and the connection settings made
//! from a URL (`shopdb_host::engine::postgres::scratch_config`, the same
//! `config(url, target)` a connection uses; it also reads `PG*` and
//! `~/.pgpass`, whatever the environment holds).
//!
//! The first byte picks how the rest is read:
//!
//! * even: the rest is the value, as given. The value is a SQLite path or
//!   a PostgreSQL URL exactly when it starts with `postgres://` or
//!   `postgresql://` in any case; when the PostgreSQL driver reads a
//!   password in the URL, the URL's display holds no password for the
//!   driver to read and fewer copies of the password's text than the URL
//!   (both percent-decoded: the same text may appear elsewhere in the URL,
//!   where the display rightly keeps it).
//! * odd: a URL is assembled from parts the input picks (scheme in any
//!   case, user, password, hosts and ports, database, query parameters,
//!   fragment; each part raw, with `@ : / ? # &` and the like, or
//!   percent-encoded), with a marked secret wherever a password can go:
//!   after the user, and as the value of `password`-like query keys. The
//!   marker must appear in none of: the display, the `Debug` and JSON forms,
//!   the error message of the settings, raw or percent-decoded.
//!
//! Either way, `parse` takes the scheme in any case, so the settings must
//! read a URL as the driver reads it with its scheme in lowercase: accepted
//! or refused alike (refused too for `sslmode=require`), and keeping the
//! user, password, database, hosts and ports it gives.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use postgres::Config;
use shopdb_host::engine::postgres::scratch_config;
use shopdb_host::engine::{DatabaseTarget, Dialect};
use std::str::FromStr;

/// What every secret starts with; no other part of a URL can hold a `Q`.
const MARK: &str = "Qz9";

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || needle.len() > haystack.len() {
        return 0;
    }
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A part of a URL that is not a secret: never a `Q` (nor a `%`, which
/// could spell one once decoded), raw or percent-encoded.
fn part(u: &mut Unstructured) -> Result<String> {
    const PARTS: [&str; 14] =
        ["shop", "db.example", "5432", "/run/postgresql", "", "a:b", "u@v", "x/y", "p?q", "#", "&", "=", "[::1]", "disable"];
    let raw: String = if u.ratio(1, 3)? { u.arbitrary()? } else { PARTS[u.choose_index(PARTS.len())?].to_owned() };
    let raw: String = raw.chars().filter(|c| *c != 'Q' && *c != '%').collect();
    Ok(if u.ratio(1, 4)? { percent_encode(&raw) } else { raw })
}

/// A secret: the marker and what the input adds, raw (without the
/// characters that would end it in a URL) or percent-encoded.
fn secret(u: &mut Unstructured) -> Result<String> {
    let tail: String = u.arbitrary()?;
    let text = format!("{MARK}{tail}");
    Ok(if u.ratio(1, 4)? {
        percent_encode(&text)
    } else {
        text.chars().filter(|c| !matches!(c, '@' | '/' | '?' | '#' | '&' | '%')).collect()
    })
}

fn assembled(u: &mut Unstructured) -> Result<String> {
    const SCHEMES: [&str; 5] = ["postgres://", "postgresql://", "POSTGRES://", "PostgreSQL://", "postgres://"];
    let mut url = SCHEMES[u.choose_index(SCHEMES.len())?].to_owned();
    if u.ratio(3, 4)? {
        // (A user with an `@` would put the secret where no reading of the
        // URL takes a password.)
        url.push_str(&part(u)?.replace('@', ""));
        if u.ratio(3, 4)? {
            url.push(':');
            url.push_str(&secret(u)?);
        }
        url.push('@');
    }
    for i in 0..u.int_in_range(0..=3)? {
        if i > 0 {
            url.push(',');
        }
        url.push_str(&part(u)?);
        if u.arbitrary()? {
            url.push(':');
            url.push_str(&part(u)?);
        }
    }
    if u.arbitrary()? {
        url.push('/');
        url.push_str(&part(u)?);
    }
    const KEYS: [&str; 13] = [
        "password", "password", "host", "user", "dbname", "sslmode", "application_name", "options", "port",
        "PASSWORD", "Password", "pass%77ord", "%70assword",
    ];
    let params = u.int_in_range(0..=4)?;
    for i in 0..params {
        url.push(if i == 0 { '?' } else { '&' });
        let key = if u.ratio(1, 6)? { part(u)? } else { KEYS[u.choose_index(KEYS.len())?].to_owned() };
        let lower = String::from_utf8_lossy(&percent_decode(&key)).to_ascii_lowercase();
        let value = if lower == "password" { secret(u)? } else { part(u)? };
        url.push_str(&key);
        url.push('=');
        url.push_str(&value);
    }
    if u.ratio(1, 8)? {
        url.push('#');
        url.push_str(&part(u)?);
    }
    Ok(url)
}

/// Nothing shown holds the marker, raw or decoded.
fn assert_unmarked(what: &str, shown: &str, url: &str) {
    let decoded = percent_decode(shown);
    assert!(
        !shown.contains(MARK) && count(&decoded, MARK.as_bytes()) == 0,
        "the {what} of {url:?} shows a password: {shown:?}"
    );
}

fn check(url: &str, marked: bool) {
    let target = match DatabaseTarget::parse(url) {
        Ok(target) => target,
        Err(_) => {
            assert!(url.is_empty(), "{url:?} refused");
            return;
        }
    };
    let lower = url.to_ascii_lowercase();
    let postgres = lower.starts_with("postgres://") || lower.starts_with("postgresql://");
    assert_eq!(target.dialect() == Dialect::Postgres, postgres, "{url:?}");
    let shown = target.to_string();
    if !postgres {
        assert_eq!(target.path().map(|p| p.to_string_lossy().into_owned()).as_deref(), Some(url));
        return;
    }
    let debug = format!("{target:?}");
    let json = serde_json::to_string(&target).expect("a target serializes");
    let settings = scratch_config(url, &target);

    // What the driver makes of the URL: a password in it is not in the display.
    if let Ok(parsed) = Config::from_str(url) {
        if let Some(password) = parsed.get_password().filter(|p| !p.is_empty()) {
            if let Ok(again) = Config::from_str(&shown) {
                assert_eq!(again.get_password(), None, "the display of {url:?} holds a password: {shown:?}");
            }
            // Counted percent-decoded on both sides: the copy the driver
            // reads may be written encoded, and the same text may appear
            // elsewhere in the URL, where the display rightly keeps it.
            let given = count(&percent_decode(url), password);
            if given > 0 {
                let left = count(&percent_decode(&shown), password);
                assert!(left < given, "the display of {url:?} is {shown:?}");
            }
        }
    }
    // `parse` takes the scheme in any case; the settings read the URL as
    // the driver reads it with its scheme in lowercase, and keep what it says.
    let scheme_end = url.find("://").expect("a scheme");
    let lowered = format!("{}{}", url[..scheme_end].to_ascii_lowercase(), &url[scheme_end..]);
    match (Config::from_str(&lowered), &settings) {
        (Ok(driver), Ok(settings)) => {
            if driver.get_password().is_some() {
                assert!(driver.get_password() == settings.get_password(), "{url:?}: the password changed");
            }
            if driver.get_user().is_some() {
                assert_eq!(driver.get_user(), settings.get_user(), "{url:?}");
            }
            if driver.get_dbname().is_some() {
                assert_eq!(driver.get_dbname(), settings.get_dbname(), "{url:?}");
            }
            if !driver.get_hosts().is_empty() {
                assert_eq!(driver.get_hosts(), settings.get_hosts(), "{url:?}");
            }
            if !driver.get_ports().is_empty() {
                assert_eq!(driver.get_ports(), settings.get_ports(), "{url:?}");
            }
        }
        (Ok(driver), Err(e)) => {
            assert_eq!(driver.get_ssl_mode(), postgres::config::SslMode::Require, "{url:?} refused: {e}");
        }
        (Err(e), Ok(_)) => panic!("{url:?} accepted, but the driver refuses it: {e}"),
        (Err(_), Err(_)) => {}
    }
    if marked {
        assert_unmarked("display", &shown, url);
        assert_unmarked("Debug form", &debug, url);
        assert_unmarked("JSON form", &json, url);
        if let Err(e) = &settings {
            assert_unmarked("error message", &e.to_string(), url);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        check(&String::from_utf8_lossy(rest), false);
    } else if let Ok(url) = assembled(&mut Unstructured::new(rest)) {
        check(&url, true);
    }
});
