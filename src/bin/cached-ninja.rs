//! `cached-ninja`: the compile launcher every rewritten edge runs (`cc -- …`, or zero setup as
//! `cached-ninja <compiler> …`); every other command is handed to `cached-ninja-cli` beside it
//! (see `src/dispatch.rs` for why there are two binaries).
//!
//! The C library calls [`main`] directly (`no_main`): the standard library's start-up, which
//! reads `/proc/self/maps` to find the main thread's stack guard, maps an alternate signal
//! stack and installs SIGSEGV/SIGBUS handlers to report a stack overflow, and unwinds it all
//! at exit, is 17 system calls and ~40 000 instructions of every hit (BENCHMARKS.md, "The
//! launcher starts without the standard library's runtime set-up"). What of it matters here
//! is done by hand: fds 0-2 opened on /dev/null when closed, SIGPIPE ignored (a write to a
//! closed pipe is an error, not death; children get the default back when spawned), the
//! arguments taken from `argv` (musl's standard library learns them only in that start-up), a
//! panic's exit code 101, and the exit through [`std::process::exit`], which flushes standard
//! output. A stack overflow is a plain SIGSEGV. The unit tests' build (of `arena`) keeps the
//! test harness's own `main` and leaves the launcher out.

#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[path = "../dispatch.rs"]
mod dispatch;

#[cfg(not(test))]
use std::ffi::{c_char, c_int, CStr, OsString};

#[path = "../arena.rs"]
mod arena;

/// The launcher keeps what it frees, in size classes of its own (see `src/arena.rs`).
#[global_allocator]
static ALLOC: arena::Arena = arena::Arena::new();

#[cfg(not(test))]
/// The process's entry, called by the C library with the arguments.
///
/// # Safety
/// `argv` holds `argc` pointers to NUL-terminated strings, as the C library passes them.
#[no_mangle]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    open_standard_streams();
    // SAFETY: SIG_IGN for SIGPIPE, as the standard library's start-up sets it.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let args: Vec<OsString> = (0..argc.max(0) as usize)
        // SAFETY: the C library's argv, as this function's contract says.
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) })
        .map(|a| std::os::unix::ffi::OsStrExt::from_bytes(a.to_bytes()))
        .map(std::ffi::OsStr::to_owned)
        .collect();
    // A panic ends the launch as the standard library's start-up would: its message, then 101.
    std::process::exit(std::panic::catch_unwind(|| run(args)).unwrap_or(101))
}

#[cfg(not(test))]
/// Opens /dev/null on each of fds 0-2 that is closed (one `poll` when none is), as the
/// standard library's start-up does: otherwise the launcher's own files would get those
/// numbers, and a diagnostic written to standard error could land in a cache file or an output.
fn open_standard_streams() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: three valid pollfd structures, no wait.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds.iter().filter(|p| p.revents & libc::POLLNVAL != 0) {
        // SAFETY: a NUL-terminated path; the lowest free fd is the closed one (lower ones are
        // open or were opened here just before).
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if fd != p.fd && fd >= 0 {
            // SAFETY: an fd this function opened.
            unsafe { libc::close(fd) };
            return;
        }
    }
}

#[cfg(not(test))]
/// Runs the launcher (or hands over to the CLI) with the process's arguments; the exit code.
fn run(args: Vec<OsString>) -> i32 {
    let result = match dispatch::form(args.iter().skip(1).cloned()) {
        dispatch::Form::Cc(args) => engine::launcher::run_cli(args),
        dispatch::Form::Rustc(args) => engine::launcher::run_rustc_cli(args),
        // Cargo's rustc calls in a workspace with a policy: the CLI reads it (the policy's
        // parser is not linked here: every hit would pay for its size at start-up).
        dispatch::Form::ZeroSetup(words) if engine::launcher::cargo_policy(&words).is_some() => {
            to_cli(args)
        }
        dispatch::Form::ZeroSetup(words) => engine::launcher::run_zero_setup(words),
        dispatch::Form::Cli => to_cli(args),
    };
    match result {
        Ok(c) => c.clamp(0, 255),
        Err(e) => {
            eprintln!("cached-ninja: error: {e}");
            1
        }
    }
}

#[cfg(not(test))]
/// Replaces this process with `cached-ninja-cli` beside it, given the same words; returns only
/// on failure.
fn to_cli(args: Vec<OsString>) -> Result<i32, String> {
    let mut argv = args.into_iter();
    let arg0 = argv.next().unwrap_or_else(|| dispatch::LAUNCHER.into());
    let cli = dispatch::sibling(dispatch::CLI).ok_or_else(|| {
        format!(
            "{} is missing beside this binary; install both (`cargo install --path .` or `cargo build --release`)",
            dispatch::CLI
        )
    })?;
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(&cli)
        .arg0(arg0)
        .args(argv)
        .exec();
    Err(format!("cannot run {}: {e}", cli.display()))
}
