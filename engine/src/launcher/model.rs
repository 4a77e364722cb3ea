//! The compile-model seam (STYLE: one seam per compiler family, shared plumbing behind it):
//! what the hit and miss paths need to know of a compile's outputs, whatever the compiler.
//! C and C++ ([`CompileCommand`], gcc and clang) are the model today; a rustc model (rlib,
//! rmeta, dep-info, several outputs per action) is another implementation of the same trait.
//!
//! The hit path materialises every output of an entry at its [`CompileModel::dest`] and falls
//! back to a compile when the model has no place for it; the miss path stores every output
//! [`CompileModel::made`] lists that the compile wrote. Neither knows the roles.

use backend::compile::{CompileCommand, SplitDwarf};
use fetch::cache::{Output, Role};

/// A compiler family's view of one cacheable compile's outputs.
pub trait CompileModel {
    /// The primary output as given on the command line (for messages and the output lock).
    fn primary_output(&self) -> &str;

    /// Where this command writes the stored output `o` on this machine, as the compiler would
    /// name it (by its role; where a role has several files, by its recorded file name);
    /// `None` when the command makes no such output.
    fn dest(&self, o: &Output) -> Option<String>;

    /// The outputs a compile of this command may make, by role, in storing order (the primary
    /// first); the miss path stores those that exist, the primary one is required.
    fn made(&self) -> Vec<(Role, String)>;

    /// Whether an output of `role` names this machine's roots in its text (rustc's dep-info):
    /// stored with placeholders for them, materialised with this machine's.
    fn marks_roots(&self, _role: Role) -> bool {
        false
    }

    /// Whether the object keeps its split DWARF inside (clang `-gsplit-dwarf=single`): a miss
    /// stores it as the stripped object and a debug bundle ([`super::single`]).
    fn splits_object(&self) -> bool {
        false
    }
}

impl CompileModel for CompileCommand {
    fn primary_output(&self) -> &str {
        &self.output
    }

    fn dest(&self, o: &Output) -> Option<String> {
        match o.role {
            Role::Object | Role::StrippedObject => Some(self.output.clone()),
            Role::Dwo => self.dwo_path(),
            // Its `.dwo` sections go back into the object when the blob is here.
            Role::DebugBundle if self.splits_object() => Some(self.output.clone()),
            _ => None,
        }
    }

    fn made(&self) -> Vec<(Role, String)> {
        let mut v = vec![(Role::Object, self.output.clone())];
        if let Some(dwo) = self.dwo_path() {
            v.push((Role::Dwo, dwo));
        }
        v
    }

    fn splits_object(&self) -> bool {
        self.split_dwarf == SplitDwarf::Single
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backend::compile::{parse, CompilerFamily};

    /// A stored output of `role` (its recorded path is not the C model's business).
    fn out(role: Role) -> Output {
        Output {
            role,
            path: "elsewhere/x".into(),
            digest: fetch::cache::Digest::of(b""),
            size: 0,
        }
    }

    fn cmd(words: &[&str]) -> CompileCommand {
        let w: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        parse(&w, CompilerFamily::Gcc).unwrap()
    }

    #[test]
    fn c_outputs_by_role() {
        let c = cmd(&["gcc", "-c", "a.c", "-o", "o/a.o"]);
        assert_eq!(c.made(), vec![(Role::Object, "o/a.o".to_string())]);
        assert_eq!(c.dest(&out(Role::Dwo)), None);
        assert_eq!(c.dest(&out(Role::Rlib)), None);
        let s = cmd(&["gcc", "-g", "-gsplit-dwarf", "-c", "a.c", "-o", "o/a.o"]);
        assert_eq!(
            s.made(),
            vec![
                (Role::Object, "o/a.o".to_string()),
                (Role::Dwo, "o/a.dwo".to_string())
            ]
        );
        assert_eq!(s.dest(&out(Role::Dwo)).as_deref(), Some("o/a.dwo"));
        assert_eq!(s.primary_output(), "o/a.o");
    }
}
