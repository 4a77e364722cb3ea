//! End-to-end tests of `cached-ninja key generate`.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::{cached_ninja, run, run_ok, TestSpace};

#[test]
fn generate_writes_a_private_key_and_prints_the_public_key() {
    let space = TestSpace::new();
    let out = run_ok(
        Command::new(cached_ninja())
            .args(["key", "generate", "--out", "ci.key"])
            .current_dir(space.path()),
    );
    let public = String::from_utf8(out.stdout).expect("utf-8");
    let public = public.trim();
    let parsed: fetch::signing::PublicKey = public.parse().expect("a public key string");
    assert!(
        public.starts_with("ed25519:") && public.len() == 72,
        "{public}"
    );

    let path = space.path().join("ci.key");
    let mode = std::fs::metadata(&path)
        .expect("key file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let key = fetch::signing::KeyPair::read_secret_file(&path).expect("readable key file");
    assert_eq!(key.public(), parsed);
    // Nothing but the key file (no temporary left behind).
    assert_eq!(std::fs::read_dir(space.path()).expect("dir").count(), 1);
}

#[test]
fn generate_refuses_to_overwrite() {
    let space = TestSpace::new();
    let path = space.write("keys/ci.key", "precious\n");
    let out = run(Command::new(cached_ninja())
        .args(["key", "generate", "--out"])
        .arg(&path));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "key file {} already exists; refusing to overwrite it",
            path.display()
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&path).expect("kept"), "precious\n");
}

#[test]
fn generate_defaults_to_a_file_in_the_current_directory() {
    let space = TestSpace::new();
    run_ok(
        Command::new(cached_ninja())
            .args(["key", "generate"])
            .current_dir(space.path()),
    );
    assert!(space.path().join("cached-ninja-publisher.key").is_file());
    let again = run(Command::new(cached_ninja())
        .args(["key", "generate"])
        .current_dir(space.path()));
    assert!(!again.status.success());
}
