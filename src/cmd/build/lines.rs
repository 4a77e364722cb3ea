//! Where the build's own lines go while Ninja runs: above the live progress line on a
//! terminal (so a line from the pull's thread never lands inside its redraw), else to stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The progress line, if stderr is a terminal; cloned to the threads beside Ninja.
#[derive(Clone)]
pub struct Lines {
    bar: Option<ProgressBar>,
}

impl Lines {
    /// A progress line when `tty`, else plain lines.
    pub fn new(tty: bool) -> Lines {
        let bar = tty.then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Lines { bar }
    }

    /// Prints `line` to stderr, above the progress line if there is one.
    pub fn say(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// The progress line, if any.
    pub fn bar(&self) -> Option<&ProgressBar> {
        self.bar.as_ref()
    }
}
