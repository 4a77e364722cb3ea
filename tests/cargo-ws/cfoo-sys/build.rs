fn main() {
    cc::Build::new().file("c/foo.c").compile("cfoo");
    println!("cargo:rerun-if-changed=c/foo.c");
}
