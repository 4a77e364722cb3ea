//! The plan asks the parent's build manifest (the next revision back in the first store) with a
//! `GET` too, beside the working revision's: against a real nginx, and beside it a server on
//! loopback whose answers are scripted per path (late, endless), the parent's manifest comes
//! with its first request when CI did not build the working revision, and its body is dropped
//! unread, its connection closed, when CI did.

use fetch::published::seal;
use fetch::signing::KeyPair;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

mod plan_support;
mod servers;

use plan_support::*;
use servers::nginx::Nginx;

/// The path of the manifest of `rev` under `prefix`.
fn path(prefix: &str, rev: &str) -> String {
    format!("/{prefix}/builds/{CONFIG}/{rev}")
}

/// CI built the parent, not the working revision (the usual case after `git pull`): the
/// parent's manifest comes with its first request, a `GET` sent beside the working revision's,
/// not a `HEAD` then a `GET`.
#[test]
fn the_parents_manifest_comes_with_its_first_request() {
    let n = Nginx::start();
    let store = http_store(n.url("cache"));
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    for a in &anc[1..3] {
        publish(&store, &a.revision, &seal(&k, &manifest(&[(5, 7)])));
    }
    let p = find(&[store], &anc, &trusting(&k)).unwrap();
    assert_eq!(
        (p.distance, p.revision.as_str()),
        (1, anc[1].revision.as_str())
    );
    let [working, parent] = [0, 1].map(|i| path("cache", &anc[i].revision));
    let reqs = n.requests_until(|r| {
        [&working, &parent]
            .iter()
            .all(|w| r.iter().any(|r| r.1 == "GET" && r.2 == **w))
    });
    let of = |want: &str| -> Vec<(&str, u16)> {
        let got = reqs.iter().filter(|r| r.1 != "PUT" && r.2 == want);
        got.map(|r| (r.1.as_str(), r.3)).collect()
    };
    assert_eq!(of(&working), [("GET", 404)], "{reqs:?}");
    assert_eq!(of(&parent), [("GET", 200)], "{reqs:?}");
}

/// How the scripted server answers a `GET` of one path.
enum Answer {
    /// After the delay, this status and body.
    After(Duration, u16, Vec<u8>),
    /// A `200` promising [`ENDLESS`] bytes, 64 KiB of them sent, then nothing more: the
    /// connection is held until the client closes it.
    Endless,
}

/// What [`Answer::Endless`] promises.
const ENDLESS: usize = 64 << 20;

/// A server on loopback that answers a `GET` of a path in `routes` as scripted, and every other
/// request with `404`. Returns its port, the requests it was sent (`GET /path`), and a
/// receiver told when the client closed the connection of an endless answer.
fn scripted_server(routes: HashMap<String, Answer>) -> (u16, Asked, mpsc::Receiver<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let asked = Asked::default();
    let (routes, log) = (Arc::new(routes), asked.clone());
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let (routes, tx, log) = (routes.clone(), tx.clone(), log.clone());
            std::thread::spawn(move || answer_scripted(c, &routes, &log, &tx));
        }
    });
    (port, asked, rx)
}

/// The requests a scripted server was sent, as `METHOD /path`.
type Asked = Arc<Mutex<Vec<String>>>;

/// Answers the requests of one connection (see [`scripted_server`]).
fn answer_scripted(
    mut c: TcpStream,
    routes: &HashMap<String, Answer>,
    asked: &Asked,
    closed: &mpsc::Sender<()>,
) {
    let mut r = BufReader::new(c.try_clone().unwrap());
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
        asked.lock().unwrap().push(format!("{method} {target}"));
        let answer = routes.get(target).filter(|_| method == "GET");
        let (status, body) = match answer {
            Some(Answer::After(delay, status, body)) => {
                std::thread::sleep(*delay);
                (*status, body.as_slice())
            }
            Some(Answer::Endless) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {ENDLESS}\r\n\r\n");
                let _ = c.write_all(head.as_bytes());
                let _ = c.write_all(&vec![b'x'; 64 << 10]);
                // Held until the client closes it (a read of 0 bytes, or an error).
                let mut rest = Vec::new();
                let _ = r.read_to_end(&mut rest);
                let _ = closed.send(());
                return;
            }
            None => (404, &b""[..]),
        };
        let reason = if status == 200 { "OK" } else { "Scripted" };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if c.write_all(head.as_bytes())
            .and_then(|_| c.write_all(body))
            .is_err()
        {
            return;
        }
    }
}

/// CI built both: the working revision's answer comes late (300 ms), after the parent's head
/// said "there"; the parent's body is not read (its connection closed by the client, 64 KiB of
/// 64 MiB sent: read, it would have ended in the store's timeout, counted), the working
/// revision's manifest is the plan, and the store counts one manifest fetched, no error (the
/// body dropped is no failure of the store).
#[test]
fn a_parents_body_is_dropped_unread_when_the_working_revision_has_a_manifest() {
    let anc = fake_ancestors(4);
    let k = KeyPair::generate();
    let working = seal(&k, &manifest(&[(5, 7), (1, 1)]));
    let routes = HashMap::from([
        (
            path("cache", &anc[0].revision),
            Answer::After(Duration::from_millis(300), 200, working),
        ),
        (path("cache", &anc[1].revision), Answer::Endless),
    ]);
    let (port, _, closed) = scripted_server(routes);
    let store = http_store(format!("http://127.0.0.1:{port}/cache"));
    let p = find(std::slice::from_ref(&store), &anc, &trusting(&k)).unwrap();
    assert_eq!((p.distance, p.entries), (0, 2));
    closed
        .recv_timeout(Duration::from_secs(60))
        .expect("the parent's connection closed");
    let counts = store.counters().snapshot();
    assert_eq!(counts.fetched, 1, "{counts:?}");
    assert_eq!(
        counts.errors.timeout + counts.errors.io + counts.errors.connect,
        0,
        "{counts:?}"
    );
}

/// CI built the parent only, and the working revision's answer comes late (300 ms) after the
/// parent's head: the parent's body is read once it came, whether the working revision's
/// answer is a `404` or an error (`500`: kept in the plan's errors, which may have hidden a
/// nearer manifest): one `GET` of each, no `HEAD` of either, nothing asked twice.
#[test]
fn a_parents_body_is_read_once_the_working_revision_answers_without_one() {
    for status in [404, 500] {
        let anc = fake_ancestors(4);
        let k = KeyPair::generate();
        let parent = seal(&k, &manifest(&[(5, 7)]));
        let late = Duration::from_millis(300);
        let routes = HashMap::from([
            (
                path("cache", &anc[0].revision),
                Answer::After(late, status, vec![]),
            ),
            (
                path("cache", &anc[1].revision),
                Answer::After(Duration::ZERO, 200, parent),
            ),
        ]);
        let (port, asked, _) = scripted_server(routes);
        let store = http_store(format!("http://127.0.0.1:{port}/cache"));
        let p = find(std::slice::from_ref(&store), &anc, &trusting(&k)).unwrap();
        assert_eq!((p.distance, p.entries), (1, 1), "{status}");
        assert_eq!(
            p.probe_errors.len(),
            usize::from(status == 500),
            "{:?}",
            p.probe_errors
        );
        assert_eq!(store.counters().snapshot().fetched, 1);
        let asked = asked.lock().unwrap().clone();
        let of = |i: usize| {
            let p = path("cache", &anc[i].revision);
            asked
                .iter()
                .filter(|a| a.ends_with(&p))
                .cloned()
                .collect::<Vec<_>>()
        };
        // (A 500 is retried as any failure: the working revision's GET, each time.)
        let tries = of(0).len();
        assert!(
            tries >= 1 && of(0).iter().all(|a| a.starts_with("GET ")),
            "{asked:?}"
        );
        assert!(status == 500 || tries == 1, "{asked:?}");
        assert_eq!(of(1), [format!("GET {}", path("cache", &anc[1].revision))]);
    }
}
