//! Counting round trips: a proxy between a client and the bench's server,
//! on a Unix socket of its own, that reads the client's side of the
//! PostgreSQL protocol and counts each message the client must wait on an
//! answer for: the startup message (connect and authenticate), each simple
//! `Query` (one round trip, however many statements it holds) and each
//! `Sync` (the end of an extended-protocol exchange: `postgres`'s
//! `prepare` is one, each execution of a prepared statement another).
//! Each round trip is kept with the statement it was for.
//!
//! Used only for counting: timed runs connect to the server directly.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What a round trip was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A new connection: startup and authentication.
    Connect,
    /// A simple query (one or more statements as text).
    Simple,
    /// Preparing a statement (`Parse`, `Describe`, `Sync`).
    Prepare,
    /// Running a prepared statement (`Bind`, `Execute`, `Sync`).
    Execute,
}

/// One round trip.
#[derive(Debug, Clone)]
pub struct Trip {
    pub kind: Kind,
    /// The statement's text (its first 200 characters).
    pub text: String,
}

/// The proxy: listening until the process ends.
#[derive(Debug, Clone)]
pub struct Proxy {
    dir: PathBuf,
    trips: Arc<Mutex<Vec<Trip>>>,
}

impl Proxy {
    /// A proxy in `dir` (made here) for the server whose socket is in `server`.
    pub fn start(dir: &Path, server: &Path) -> Proxy {
        std::fs::create_dir_all(dir).unwrap();
        let listener = UnixListener::bind(dir.join(".s.PGSQL.5432")).unwrap();
        let trips: Arc<Mutex<Vec<Trip>>> = Arc::default();
        let upstream = server.join(".s.PGSQL.5432");
        let shared = Arc::clone(&trips);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = UnixStream::connect(&upstream) else { continue };
                let trips = Arc::clone(&shared);
                std::thread::spawn(move || relay(client, server, &trips));
            }
        });
        Proxy { dir: dir.to_owned(), trips }
    }

    /// The directory of the proxy's socket: connect here to be counted.
    pub fn socket(&self) -> &Path {
        &self.dir
    }

    /// The round trips so far, and forgets them.
    pub fn take(&self) -> Vec<Trip> {
        std::mem::take(&mut *self.trips.lock().unwrap())
    }
}

fn relay(mut client: UnixStream, mut server: UnixStream, trips: &Mutex<Vec<Trip>>) {
    let (mut client_w, mut server_r) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut server_r, &mut client_w);
        let _ = client_w.shutdown(std::net::Shutdown::Write);
    });
    let _ = forward(&mut client, &mut server, trips);
    let _ = server.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
}

/// Copies the client's messages to the server, noting the round trips.
fn forward(client: &mut UnixStream, server: &mut UnixStream, trips: &Mutex<Vec<Trip>>) -> std::io::Result<()> {
    // Startup: untyped messages (an SSL or GSS request first, perhaps).
    loop {
        let mut len = [0u8; 4];
        client.read_exact(&mut len)?;
        let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
        client.read_exact(&mut body)?;
        server.write_all(&len)?;
        server.write_all(&body)?;
        let code = body.get(..4).map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        if code != 80_877_103 && code != 80_877_104 {
            trips.lock().unwrap().push(Trip { kind: Kind::Connect, text: "startup".into() });
            break;
        }
    }
    // Named statements, and the text of the exchange in progress.
    let mut statements: BTreeMap<String, String> = BTreeMap::new();
    let mut pending: Option<Trip> = None;
    // A `Close` of a dropped statement and its `Sync` are sent without
    // waiting for the answer: no round trip.
    let mut closing = false;
    loop {
        let mut head = [0u8; 5];
        client.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        client.read_exact(&mut body)?;
        server.write_all(&head)?;
        server.write_all(&body)?;
        let cstr = |from: usize| -> (String, usize) {
            let end = body[from..].iter().position(|b| *b == 0).map_or(body.len(), |p| from + p);
            (String::from_utf8_lossy(&body[from..end]).into_owned(), end + 1)
        };
        let short = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
        match head[0] {
            b'Q' => {
                let (text, _) = cstr(0);
                trips.lock().unwrap().push(Trip { kind: Kind::Simple, text: short(&text) });
            }
            b'P' => {
                let (name, next) = cstr(0);
                let (text, _) = cstr(next);
                let text: String = short(&text);
                statements.insert(name, text.clone());
                pending = Some(Trip { kind: Kind::Prepare, text });
            }
            b'B' => {
                let (_, next) = cstr(0);
                let (name, _) = cstr(next);
                let text = statements.get(&name).cloned().unwrap_or_default();
                if pending.is_none() {
                    pending = Some(Trip { kind: Kind::Execute, text });
                }
            }
            b'C' => closing = true,
            b'S' => {
                match pending.take() {
                    Some(trip) => trips.lock().unwrap().push(trip),
                    None if closing => {}
                    None => trips.lock().unwrap().push(Trip { kind: Kind::Execute, text: String::new() }),
                }
                closing = false;
            }
            b'X' => return Ok(()),
            _ => {}
        }
    }
}

/// Round trips by kind and by statement, most frequent first: a table
/// for the report.
pub fn breakdown(trips: &[Trip], top: usize) -> String {
    let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut by_text: BTreeMap<(String, Kind), usize> = BTreeMap::new();
    for trip in trips {
        *by_kind.entry(trip.kind).or_default() += 1;
        *by_text.entry((normalize(&trip.text), trip.kind)).or_default() += 1;
    }
    let mut rows: Vec<((String, Kind), usize)> = by_text.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = String::from("| round trips | kind | statement |\n|---|---|---|\n");
    for ((text, kind), count) in rows.iter().take(top) {
        let text: String = text.chars().take(110).collect();
        out.push_str(&format!("| {count} | {kind:?} | `{}` |\n", text.replace('|', "\\|").replace('`', "'")));
    }
    if rows.len() > top {
        let rest: usize = rows[top..].iter().map(|(_, c)| c).sum();
        out.push_str(&format!("| {rest} | | ({} other statements) |\n", rows.len() - top));
    }
    let kinds: Vec<String> = by_kind.iter().map(|(k, c)| format!("{k:?} {c}")).collect();
    out.push_str(&format!("| **{}** | | total ({}) |\n", trips.len(), kinds.join(", ")));
    out
}

/// A statement's text with the names that differ from plugin to plugin
/// (`synth_0042`, scratch prefixes, quoted plugin schemas) made alike, so
/// that the same statement for each plugin counts as one row.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.pop();
            out.push('N');
        }
    }
    for name in ["computers", "equipment", "network", "notifications", "printers", "usb", "bigdata"] {
        out = out.replace(&format!("\"{name}\""), "\"P\"").replace(&format!("_{name}"), "_P");
    }
    out
}
