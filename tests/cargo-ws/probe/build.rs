// Probes rustc the way autocfg-style build scripts do: runs `$RUSTC -vV` and tells the crate
// what it found through a cfg and an environment variable.
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").expect("cargo sets RUSTC");
    let out = Command::new(&rustc).arg("-vV").output().expect("run rustc");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let release = text
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .expect("release line")
        .to_string();
    let minor: u32 = release.split('.').nth(1).unwrap().parse().unwrap();
    println!("cargo:rustc-check-cfg=cfg(rustc_has_let_else)");
    if minor >= 65 {
        println!("cargo:rustc-cfg=rustc_has_let_else");
    }
    println!("cargo:rustc-env=PROBED_RUSTC_MINOR={minor}");
    println!("cargo:rerun-if-changed=build.rs");
}
