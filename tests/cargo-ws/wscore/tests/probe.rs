#[test]
fn probe_saw_this_rustc() {
    assert!(probe::rustc_minor() >= 65);
    assert!(probe::has_let_else());
}
