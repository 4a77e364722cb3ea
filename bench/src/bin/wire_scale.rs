//! `wire_scale`: the pull of a synthetic build of many records (issue 15's scale simulation).
//!
//! ```text
//! wire_scale gen  DIR OBJECTS_DIR RECORDS    blobs under DIR/www/cn/cas, DIR/manifest.txt
//! wire_scale parse DIR [N]                   manifest bytes, sign + verify + parse time (median of N)
//! wire_scale pull DIR URL JOBS CACHE_DIR [h2]  one pull of every record's objects from URL
//! wire_scale delay LISTEN UPSTREAM MS        a TCP proxy that holds every byte MS/2 each way
//! ```
//!
//! `gen` makes RECORDS records whose objects are the real objects under OBJECTS_DIR (`*.o`,
//! e.g. a libgit2 build's), taken in turn, each with a unique 16-byte tail so every blob is
//! its own: the sizes and the compressibility are a real project's. Each record also names a
//! `.dwo` (not written: a build's pull leaves debug parts in the store) and ~200 includes from
//! one table (150 headers every file includes, 40 of its module's 50, 10 of other modules').
//! Blobs are written as the store writes them (zstd level 3 at `cas/<blake3>`); the sum of
//! their frames is the wire bytes a pull needs (`DIR/wire-bytes`).
//!
//! `delay` is the round trip of a long link without `tc netem` (not in every kernel): each
//! chunk read from either side is written to the other side `MS / 2` milliseconds after it
//! was read (a delay line per direction, two threads per connection), and a new connection
//! costs one round trip before its first byte. Bandwidth is left to the caller (`tc tbf`).
//!
//! `pull` signs the manifest with a fresh key, verifies and parses it as a client does, then
//! records every include set into an empty cache (`record_include_sets`, what a build does
//! before Ninja starts; timed apart), runs `fetch::pull::pull` (objects only, `JOBS` requests
//! in flight) and prints `records R wire_bytes B seconds S jobs J …` (`h2`: HTTP/2 in clear
//! text, prior knowledge).

use anyhow::{bail, Context};
use fetch::build_manifest::{BuildManifest, EdgeRecord, IncludeHash};
use fetch::cache::{Digest, LocalCache, Output, Role};
use fetch::published::{open, seal, MAX_MANIFEST};
use fetch::pull::{pull, record_include_sets, PullOptions};
use fetch::signing::{KeyPair, Trust};
use fetch::store::{Store, StoreConfig};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| {
        args.get(i)
            .cloned()
            .context("missing argument (see the module doc)")
    };
    match args.first().map(String::as_str) {
        Some("gen") => gen(Path::new(&arg(1)?), Path::new(&arg(2)?), arg(3)?.parse()?),
        Some("parse") => parse(
            Path::new(&arg(1)?),
            arg(2).ok().map_or(Ok(5), |n| n.parse())?,
        ),
        Some("delay") => delay_proxy(&arg(1)?, &arg(2)?, arg(3)?.parse()?),
        Some("pull") => pull_once(
            Path::new(&arg(1)?),
            &arg(2)?,
            arg(3)?.parse()?,
            Path::new(&arg(4)?),
            args.get(5).is_some_and(|a| a == "h2"),
        ),
        _ => bail!("usage: wire_scale gen|parse|pull … (see the module doc)"),
    }
}

/// Every `*.o` under `dir`, sorted by path.
fn objects(dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut paths = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).with_context(|| d.display().to_string())? {
            let p = e?.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "o") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    if paths.is_empty() {
        bail!(
            "no *.o under {}: build a project there first",
            dir.display()
        );
    }
    paths
        .iter()
        .map(|p| std::fs::read(p).with_context(|| p.display().to_string()))
        .collect()
}

/// A small deterministic generator (xorshift), so every run makes the same manifest.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const MODULES: usize = 400;
const PER_MODULE: usize = 50;
const COMMON: usize = 150;

/// The include table: `COMMON` system headers, then `PER_MODULE` per module.
fn table() -> Vec<Arc<IncludeHash>> {
    let header = |path: String| {
        let digest = Digest::of(path.as_bytes());
        Arc::new(IncludeHash { path, digest })
    };
    let mut t: Vec<_> = (0..COMMON)
        .map(|i| header(format!("/usr/include/c++/12/bits/header_{i}.h")))
        .collect();
    for m in 0..MODULES {
        t.extend((0..PER_MODULE).map(|j| header(format!("@src/module{m}/include/m{m}_h{j}.h"))));
    }
    t
}

fn gen(dir: &Path, objects_dir: &Path, records: usize) -> anyhow::Result<()> {
    let templates = objects(objects_dir)?;
    let cas = dir.join("www/cn/cas");
    std::fs::create_dir_all(&cas)?;
    let table = table();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut manifest = BuildManifest::default();
    let mut wire = 0u64;
    for i in 0..records {
        let mut bytes = templates[i % templates.len()].clone();
        bytes.extend_from_slice(format!("cn-scale{i:08}").as_bytes());
        let digest = Digest::of(&bytes);
        let frame = zstd::bulk::compress(&bytes, 3)?;
        wire += frame.len() as u64;
        std::fs::write(cas.join(digest.to_hex()), &frame)?;
        let m = i * MODULES / records.max(1);
        let mut includes: Vec<Arc<IncludeHash>> = table[..COMMON].to_vec();
        let own = COMMON + m * PER_MODULE;
        includes.extend(
            (0..PER_MODULE)
                .filter(|_| rng.below(5) != 0)
                .map(|j| table[own + j].clone()),
        );
        includes.extend((0..10).map(|_| table[COMMON + rng.below(MODULES * PER_MODULE)].clone()));
        let out = |role, path: String, digest, size| Output {
            role,
            path,
            digest,
            size,
        };
        let size = bytes.len() as u64;
        let dwo = Digest::of(format!("dwo {i}").as_bytes());
        manifest.records.push(EdgeRecord {
            source_key: Digest::of(format!("source {i}").as_bytes()),
            action_key: Digest::of(format!("action {i}").as_bytes()),
            outputs: vec![
                out(Role::Object, format!("obj/module{m}/f{i}.o"), digest, size),
                out(
                    Role::Dwo,
                    format!("obj/module{m}/f{i}.dwo"),
                    dwo,
                    size * 3 / 2,
                ),
            ],
            includes,
            stdout: None,
            stderr: None,
            cpu_us: 200_000 + rng.below(3_000_000) as u64,
            wall_us: 250_000 + rng.below(3_000_000) as u64,
        });
    }
    std::fs::write(dir.join("manifest.txt"), manifest.to_bytes()?)?;
    std::fs::write(dir.join("wire-bytes"), wire.to_string())?;
    println!(
        "records {records} wire_bytes {wire} templates {}",
        templates.len()
    );
    Ok(())
}

/// The manifest signed by a fresh key, and a trust set holding that key.
fn signed(dir: &Path) -> anyhow::Result<(Vec<u8>, Vec<u8>, Trust)> {
    let text = std::fs::read(dir.join("manifest.txt")).context("manifest.txt: run gen first")?;
    let key = KeyPair::generate();
    let mut trust = Trust::new();
    trust.add(key.public());
    let env = seal(&key, &text);
    Ok((text, env, trust))
}

fn parse(dir: &Path, n: usize) -> anyhow::Result<()> {
    let (text, env, trust) = signed(dir)?;
    let mut times = Vec::new();
    let mut records = 0;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let payload = open(&env, &trust, MAX_MANIFEST)?;
        let m = BuildManifest::parse(&payload)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        records = m.records.len();
        drop(m);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "records {records} manifest_bytes {} signed_zstd_bytes {} verify_parse_ms_median {:.1} min {:.1}",
        text.len(),
        env.len(),
        times[times.len() / 2],
        times[0]
    );
    Ok(())
}

fn pull_once(dir: &Path, url: &str, jobs: usize, cache: &Path, h2: bool) -> anyhow::Result<()> {
    let (_, env, trust) = signed(dir)?;
    let manifest = BuildManifest::parse(&open(&env, &trust, MAX_MANIFEST)?)?;
    let wire: u64 = std::fs::read_to_string(dir.join("wire-bytes"))?
        .trim()
        .parse()?;
    let mut cfg = StoreConfig::new(url);
    cfg.http2_prior_knowledge = h2;
    let store = Store::open(&cfg)?;
    let _ = std::fs::remove_dir_all(cache);
    let cache = LocalCache::new(PathBuf::from(cache));
    let cancel = AtomicBool::new(false);
    let opts = PullOptions {
        jobs,
        cancel: &cancel,
        wants: None,
        debug_parts: false,
        skip: None,
        order: None,
        hook: None,
    };
    let t = Instant::now();
    record_include_sets(&cache, &manifest, 64, &fetch::pull::KnownStamps::default())?;
    let prepare = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r = pull(&store, &cache, &manifest, opts, &|_| {});
    let secs = t.elapsed().as_secs_f64();
    if !r.failed.is_empty() {
        bail!(
            "{} records failed, the first: {:?}",
            r.failed.len(),
            r.failed[0]
        );
    }
    println!(
        "records {} wire_bytes {wire} seconds {secs:.2} jobs {jobs} h2 {h2} fetched {} \
         include_sets_seconds {prepare:.2}",
        manifest.records.len(),
        r.fetched
    );
    Ok(())
}

/// Forwards connections to `listen` to `upstream`, holding every byte `ms / 2` each way.
fn delay_proxy(listen: &str, upstream: &str, ms: u64) -> anyhow::Result<()> {
    let half = std::time::Duration::from_micros(ms * 500);
    let l = std::net::TcpListener::bind(listen).with_context(|| listen.to_string())?;
    for c in l.incoming() {
        let Ok(client) = c else { continue };
        let upstream = upstream.to_string();
        std::thread::spawn(move || {
            std::thread::sleep(half * 2);
            let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (c2, s2) = (client.try_clone(), server.try_clone());
            if let (Ok(c2), Ok(s2)) = (c2, s2) {
                std::thread::spawn(move || delay_line(c2, s2, half));
                delay_line(server, client, half);
            }
        });
    }
    Ok(())
}

/// Copies `from` to `to`, each chunk written `half` after it was read.
fn delay_line(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    half: std::time::Duration,
) {
    use std::io::{Read, Write};
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        for (at, bytes) in rx {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send((Instant::now() + half, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
}
