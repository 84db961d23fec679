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
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// The statement's text (its first 200 characters, spaces made single).
    pub text: String,
    /// From the client's last message to the server's `ReadyForQuery`, as
    /// the proxy sees them: the server's work and the two hops between
    /// client and server (and the proxy's own two).
    pub wait: Duration,
}

/// The round trips seen, numbered from `base` (those before were taken).
#[derive(Debug, Default)]
struct Seen {
    trips: Vec<Trip>,
    base: usize,
}

impl Seen {
    fn push(&mut self, trip: Trip) -> usize {
        self.trips.push(trip);
        self.base + self.trips.len() - 1
    }
}

/// The proxy: listening until the process ends.
#[derive(Debug, Clone)]
pub struct Proxy {
    dir: PathBuf,
    seen: Arc<Mutex<Seen>>,
}

impl Proxy {
    /// A proxy in `dir` (made here) for the server whose socket is in `server`.
    pub fn start(dir: &Path, server: &Path) -> Proxy {
        std::fs::create_dir_all(dir).unwrap();
        let listener = UnixListener::bind(dir.join(".s.PGSQL.5432")).unwrap();
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let upstream = server.join(".s.PGSQL.5432");
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = UnixStream::connect(&upstream) else { continue };
                let seen = Arc::clone(&shared);
                std::thread::spawn(move || relay(client, server, &seen));
            }
        });
        Proxy { dir: dir.to_owned(), seen }
    }

    /// The directory of the proxy's socket: connect here to be counted.
    pub fn socket(&self) -> &Path {
        &self.dir
    }

    /// The round trips so far, and forgets them. (Waits a moment first: the
    /// proxy's threads see the last answer a little after the client does.)
    pub fn take(&self) -> Vec<Trip> {
        std::thread::sleep(Duration::from_millis(20));
        let mut seen = self.seen.lock().unwrap();
        let trips = std::mem::take(&mut seen.trips);
        seen.base += trips.len();
        trips
    }
}

/// What the client side tells the server side of a connection: a byte
/// answering an SSL or GSS request comes (not a typed message), or the
/// client now waits for a `ReadyForQuery`, for round trip `Some(n)` (`None`:
/// one it does not wait on).
enum Event {
    UntypedByte,
    Waits(Option<usize>, Instant),
}

fn relay(mut client: UnixStream, mut server: UnixStream, seen: &Arc<Mutex<Seen>>) {
    let (client_w, server_r) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (events, received) = std::sync::mpsc::channel();
    let seen_back = Arc::clone(seen);
    let back = std::thread::spawn(move || {
        let _ = backward(server_r, client_w, &received, &seen_back);
    });
    let _ = forward(&mut client, &mut server, &events, seen);
    let _ = server.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
}

/// Copies the server's messages to the client, timing each round trip.
fn backward(
    mut server: UnixStream,
    mut client: UnixStream,
    events: &std::sync::mpsc::Receiver<Event>,
    seen: &Mutex<Seen>,
) -> std::io::Result<()> {
    let mut waiting: std::collections::VecDeque<(Option<usize>, Instant)> = Default::default();
    let result = (|| -> std::io::Result<()> {
        loop {
            let mut first = [0u8; 1];
            server.read_exact(&mut first)?;
            // Events arrive before the answers they announce.
            let mut untyped = false;
            while let Ok(event) = events.try_recv() {
                match event {
                    Event::UntypedByte => untyped = true,
                    Event::Waits(trip, at) => waiting.push_back((trip, at)),
                }
            }
            if untyped {
                client.write_all(&first)?;
                continue;
            }
            let mut len = [0u8; 4];
            server.read_exact(&mut len)?;
            let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
            server.read_exact(&mut body)?;
            if first[0] == b'Z' {
                if let Some((Some(trip), at)) = waiting.pop_front() {
                    let mut seen = seen.lock().unwrap();
                    if let Some(i) = trip.checked_sub(seen.base) {
                        if let Some(t) = seen.trips.get_mut(i) {
                            t.wait = at.elapsed();
                        }
                    }
                }
            }
            client.write_all(&first)?;
            client.write_all(&len)?;
            client.write_all(&body)?;
        }
    })();
    let _ = client.shutdown(std::net::Shutdown::Write);
    result
}

/// Copies the client's messages to the server, noting the round trips.
fn forward(
    client: &mut UnixStream,
    server: &mut UnixStream,
    events: &std::sync::mpsc::Sender<Event>,
    seen: &Mutex<Seen>,
) -> std::io::Result<()> {
    let record = |kind: Kind, text: String| {
        let n = seen.lock().unwrap().push(Trip { kind, text, wait: Duration::ZERO });
        let _ = events.send(Event::Waits(Some(n), Instant::now()));
    };
    // Startup: untyped messages (an SSL or GSS request first, perhaps).
    loop {
        let mut len = [0u8; 4];
        client.read_exact(&mut len)?;
        let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
        client.read_exact(&mut body)?;
        let code = body.get(..4).map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        let request = code == 80_877_103 || code == 80_877_104;
        if request {
            let _ = events.send(Event::UntypedByte);
        } else {
            record(Kind::Connect, "startup".into());
        }
        server.write_all(&len)?;
        server.write_all(&body)?;
        if !request {
            break;
        }
    }
    // Named statements, and the text of the exchange in progress.
    let mut statements: BTreeMap<String, String> = BTreeMap::new();
    let mut pending: Option<(Kind, String)> = None;
    loop {
        let mut head = [0u8; 5];
        client.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len.saturating_sub(4)];
        client.read_exact(&mut body)?;
        let cstr = |from: usize| -> (String, usize) {
            let end = body[from..].iter().position(|b| *b == 0).map_or(body.len(), |p| from + p);
            (String::from_utf8_lossy(&body[from..end]).into_owned(), end + 1)
        };
        let short = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect();
        // Noted before the message goes on, so that the answer finds it.
        match head[0] {
            b'Q' => {
                let (text, _) = cstr(0);
                record(Kind::Simple, short(&text));
            }
            b'P' => {
                let (name, next) = cstr(0);
                let (text, _) = cstr(next);
                let text: String = short(&text);
                statements.insert(name, text.clone());
                pending = Some((Kind::Prepare, text));
            }
            b'B' => {
                let (_, next) = cstr(0);
                let (name, _) = cstr(next);
                if pending.is_none() {
                    pending = Some((Kind::Execute, statements.get(&name).cloned().unwrap_or_default()));
                }
            }
            b'S' => match pending.take() {
                Some((kind, text)) => record(kind, text),
                // A `Close` of a dropped statement and its `Sync` are sent
                // without waiting for the answer: no round trip.
                None => {
                    let _ = events.send(Event::Waits(None, Instant::now()));
                }
            },
            _ => {}
        }
        server.write_all(&head)?;
        server.write_all(&body)?;
        if head[0] == b'X' {
            return Ok(());
        }
    }
}

/// Round trips by statement, most frequent first, with the time the
/// client waited on them: a table for the report.
pub fn breakdown(trips: &[Trip], top: usize) -> String {
    #[derive(Default)]
    struct Row {
        kinds: BTreeMap<Kind, usize>,
        count: usize,
        wait: Duration,
    }
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
    for trip in trips {
        let row = rows.entry(normalize(&trip.text)).or_default();
        *row.kinds.entry(trip.kind).or_default() += 1;
        *kinds.entry(trip.kind).or_default() += 1;
        row.count += 1;
        row.wait += trip.wait;
    }
    let mut rows: Vec<(String, Row)> = rows.into_iter().collect();
    rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(b.1.wait.cmp(&a.1.wait)));
    let how = |kinds: &BTreeMap<Kind, usize>| {
        kinds.iter().map(|(k, c)| format!("{c} {}", format!("{k:?}").to_lowercase())).collect::<Vec<_>>().join(" + ")
    };
    let mut out = String::from("| round trips | as | waited | statement |\n|---|---|---|---|\n");
    for (text, row) in rows.iter().take(top) {
        let text: String = text.chars().take(110).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} ms | `{}` |",
            row.count,
            how(&row.kinds),
            row.wait.as_secs_f64() * 1000.0,
            text.replace('|', "\\|").replace('`', "'")
        );
    }
    if rows.len() > top {
        let rest = &rows[top..];
        let count: usize = rest.iter().map(|(_, r)| r.count).sum();
        let wait: Duration = rest.iter().map(|(_, r)| r.wait).sum();
        let _ =
            writeln!(out, "| {count} | | {:.1} ms | ({} other statements) |", wait.as_secs_f64() * 1000.0, rest.len());
    }
    let wait: Duration = trips.iter().map(|t| t.wait).sum();
    let _ =
        writeln!(out, "| **{}** | {} | **{:.1} ms** | total |", trips.len(), how(&kinds), wait.as_secs_f64() * 1000.0);
    out
}

/// The time the client waited on `trips`, in seconds.
pub fn waited(trips: &[Trip]) -> f64 {
    // (An empty sum of f64 is -0.0.)
    trips.iter().map(|t| t.wait.as_secs_f64()).sum::<f64>() + 0.0
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
