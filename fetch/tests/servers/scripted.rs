//! A server on loopback whose answers are scripted per path: late, cut short, or endless (a
//! body held until the client closes the connection); every other request is answered `404`
//! (requests without a body: `GET` and `HEAD`). It notes what it was asked and when it sent
//! each head, for tests of what a client did.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// How the server answers a `GET` of one path (a `HEAD`: [`Answer::After`]'s delay and status,
/// no body; `404` for the others).
pub enum Answer {
    /// After the delay, this status and body.
    After(Duration, u16, Vec<u8>),
    /// A `200` head promising 100 000 bytes, then 10 of them and the connection closed.
    CutShort,
    /// A `200` promising [`ENDLESS`] bytes, 64 KiB of them sent, then nothing more: the
    /// connection is held until the client closes it.
    Endless,
}

/// What [`Answer::Endless`] promises.
pub const ENDLESS: usize = 64 << 20;

/// A running scripted server.
pub struct Scripted {
    /// Its loopback port.
    pub port: u16,
    /// What happened, in order: `GET /path` (or another method) as each request came, `sent
    /// /path` as each answer's head was about to go out.
    pub events: Arc<Mutex<Vec<String>>>,
    /// Told each time the client closed the connection of an endless answer.
    pub closed: mpsc::Receiver<()>,
}

impl Scripted {
    /// Starts the server with its answers by path (`/prefix/builds/…`).
    pub fn start(routes: HashMap<String, Answer>) -> Scripted {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, closed) = mpsc::channel();
        let events = Arc::new(Mutex::new(Vec::new()));
        let (routes, log) = (Arc::new(routes), events.clone());
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (routes, tx, log) = (routes.clone(), tx.clone(), log.clone());
                std::thread::spawn(move || answer(c, &routes, &log, &tx));
            }
        });
        Scripted {
            port,
            events,
            closed,
        }
    }

    /// What happened so far (see [`Scripted::events`]).
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

/// Answers the requests of one connection.
fn answer(
    mut c: TcpStream,
    routes: &HashMap<String, Answer>,
    events: &Mutex<Vec<String>>,
    closed: &mpsc::Sender<()>,
) {
    let mut r = BufReader::new(c.try_clone().unwrap());
    let note = |e: String| events.lock().unwrap().push(e);
    loop {
        let mut request = String::new();
        if r.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut header = String::new();
        while header != "\r\n" {
            header.clear();
            if r.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
        }
        let mut words = request.split(' ');
        let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        note(format!("{method} {target}"));
        let get = method == "GET";
        let (status, body) = match routes.get(target) {
            Some(Answer::After(delay, status, body)) if get || method == "HEAD" => {
                std::thread::sleep(*delay);
                (*status, body.as_slice())
            }
            Some(Answer::CutShort) if get => {
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789";
                note(format!("sent {target}"));
                let _ = c.write_all(head.as_bytes());
                let _ = c.shutdown(Shutdown::Both);
                return;
            }
            Some(Answer::Endless) if get => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {ENDLESS}\r\n\r\n");
                note(format!("sent {target}"));
                let _ = c.write_all(head.as_bytes());
                let _ = c.write_all(&vec![b'x'; 64 << 10]);
                // Held until the client closes it (a read of 0 bytes, or an error).
                let _ = r.read_to_end(&mut Vec::new());
                let _ = closed.send(());
                return;
            }
            _ => (404, &b""[..]),
        };
        let reason = if status == 200 { "OK" } else { "Scripted" };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        note(format!("sent {target}"));
        if c.write_all(head.as_bytes()).is_err() {
            return;
        }
        if get && c.write_all(body).is_err() {
            return;
        }
    }
}
