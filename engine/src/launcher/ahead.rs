//! A hit served before Ninja runs ([`crate::ahead`]): the launch's own steps up to the
//! lookup, then its [`Launcher::serve_hit`]; anything else changes nothing and leaves the
//! compile to the launch Ninja runs.

use super::launch::Launcher;
use super::lookup::Looked;
use backend::compile;
use std::path::Path;
use std::time::Instant;

impl Launcher<'_> {
    /// Serves the compile `words` (compiler first, in the object root as working directory)
    /// from the local cache as its launch would, if that launch would hit now; `false`
    /// otherwise, with nothing written, run or counted (but a problem `serve_hit` met and
    /// counted, with its one warning line).
    pub(crate) fn serve_ahead(&self, words: &[String]) -> bool {
        let start = Instant::now();
        self.cpu_start.set(super::runner::thread_cpu_us());
        *self.edge.borrow_mut() = fetch::edge_log::EdgeOutcome::default();
        let words = compile::drop_wrapper(words);
        let Some(first) = words.first() else {
            return false;
        };
        let Ok(expanded) = compile::rsp::expand(words, Path::new(self.roots.obj())) else {
            return false;
        };
        let Some(identity) = self.identity(first) else {
            return false;
        };
        let Ok(cmd) = compile::parse(&expanded, identity.family) else {
            return false;
        };
        self.begin_edge(&cmd);
        self.time_pinned
            .set(self.date_pinned && identity.family == compile::CompilerFamily::Gcc);
        self.family.set(Some(identity.family));
        let out_abs = Path::new(self.roots.obj()).join(&cmd.output);
        let Ok(source_bytes) = self.source_for_key(&cmd, &out_abs) else {
            return false;
        };
        let fields = self.key_fields(&cmd, &identity, &source_bytes);
        let source_key = self.source_key(&cmd, &fields);
        self.edge.borrow_mut().source_key = Some(source_key);
        self.recent.reuse();
        let looked = self.lookup(&source_key, None);
        self.keep_facts();
        match looked {
            Ok(Looked::Hit(entry)) => self.serve_hit(&cmd, &entry, start).is_some(),
            _ => false,
        }
    }
}
