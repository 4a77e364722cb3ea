//! `cached-ninja cc [--src-root DIR] -- <compiler command…>`, or with zero setup
//! `cached-ninja <compiler> <args…>` (`CMAKE_C_COMPILER_LAUNCHER=cached-ninja`, Meson's
//! `CC="cached-ninja gcc"`): the compile launcher for C and C++ (DESIGN §3, §4). Every
//! rewritten compile edge runs it; it must be correct first, then very fast on a hit.
//!
//! ## Roots
//! - **Object root**: the working directory (the Ninja edge's cwd).
//! - **Source root**, first found of: `--src-root DIR`; env `CACHED_NINJA_SRCDIR`; a line
//!   `src-root = DIR` in `<object root>/.cached-ninja/config` (written by configure); the
//!   generator's record in the object root (`CMakeCache.txt`, `meson-info`:
//!   `backend::project`), so `-DCMAKE_C_COMPILER_LAUNCHER=cached-ninja` needs nothing else.
//!   Relative values are taken relative to the object root. Without one, only the object root
//!   is normalised: everything still works, but a source tree elsewhere gives other keys.
//!   Paths relative to the object root that lead into the source root (Meson's `../src/x.c`)
//!   are keyed as `@src/…` and prefix-mapped in that spelling too, so the object directory
//!   may sit beside the sources on one machine and inside them on another.
//!
//! ## Path independence
//! The key normalises paths (`@src/…`, `@obj/…`, see `backend::key`), and the compile gets
//! `-ffile-prefix-map=<src root>=`[`SRC_TOKEN`](paths::SRC_TOKEN) then
//! `-ffile-prefix-map=<obj root>=`[`OBJ_TOKEN`](paths::OBJ_TOKEN)
//! (also for `$PWD` when it names the object root by another path, since gcc prefers it for
//! `DW_AT_comp_dir`). gcc tries the last map first and clang the longest, so an object root
//! inside the source root maps to the object token with both. Objects therefore embed only the
//! tokens; the tokens (not the roots) are part of the source key.
//!
//! ## Mapping back for debuggers (DESIGN §6)
//! Each launch records this machine's mapping in `<object root>/.cached-ninja/gdbinit`:
//! `set substitute-path /cached-ninja/src <src root>` (and the object root). `gdb -x
//! <objroot>/.cached-ninja/gdbinit ./binary` (or `source` it) lists the developer's own files.
//! The later fill step can use the same file.
//!
//! ## One launch
//! 1. Expand `@response` files, drop a `ccache`/`sccache` prefix, identify the compiler (a
//!    hash of its bytes, `-dumpmachine` and `--version`, memoised by path, size, mtime, inode
//!    in the cache's `memo/`), parse the command. Anything not cacheable runs unchanged
//!    (`exec`: identical exit status, stdout and stderr).
//! 2. Source key. Direct mode: for each include set of the key's manifest, check the files
//!    (stat stamp or content hash), giving the action key; look up the action entry.
//! 3. No manifest: nothing can hit (CI's manifests and local compiles record them), so the
//!    launcher compiles at once and learns the include list from the compiler's own depfile.
//!    With `CACHED_NINJA_PREPROCESSOR=1` it first runs the preprocessor (`-E -M`) for the
//!    include list and looks that up (a cache shared with a tree whose manifests were lost).
//! 4. Hit: verify and materialise outputs atomically, write the depfile with this machine's
//!    paths, replay stdout/stderr (root paths mapped back), exit 0.
//!    If an include set matched but its entry is not here, and `cached-ninja build` is pulling
//!    CI's build beside Ninja, ask the pull for that key and wait up to its budget ([`wait`]).
//! 5. Miss: under a lock on the output path, compile with our `-MD -MF` and the prefix maps,
//!    then store blobs, the entry and the manifest (all atomic), and write the depfile.
//!
//! ## Environment
//! `CACHED_NINJA_CACHE_DIR` (cache root), `CACHED_NINJA_CACHE_SIZE` (cap, e.g. `10G`),
//! `CACHED_NINJA_SRCDIR` (source root), `CACHED_NINJA_TRUST_STAT=0` (always hash headers and
//! list the lookup's directories), `CACHED_NINJA_PREPROCESSOR=1` (the preprocessor fallback of
//! step 3), `CACHED_NINJA_EXPLAIN=<file>` (append each source key's fields, from the same code
//! that hashes them),
//! `CACHED_NINJA_DEBUG` (say why a command is not cached), `CACHED_NINJA_DISTRIBUTE=distcc|icecc`
//! (misses compile on that distributed compiler, [`distribute`]), `CACHED_NINJA_BUILD` (set by
//! `cached-ninja build`: no [`policy_edit`] check), and for tests only
//! `CACHED_NINJA_TEST_STALL_INSERT_MS` (sleep between writing and renaming a cache file),
//! `CACHED_NINJA_TEST_STALL_MATERIALISE_MS` (sleep while materialising a hit) and
//! `CACHED_NINJA_TEST_SILENT_PATIENCE_MS` (wait this long, not `fetch::want::SILENT_PATIENCE`,
//! for a plan whose stores are silent).
//!
//! Direct mode alone has ccache's blind spot: a header created *earlier* in the include
//! search path after the manifest was recorded (shadowing a listed one). [`shadow`] closes it:
//! a hit also needs every place the preprocessor would have looked first still empty.
//!
//! A corrupt or truncated cache file is reported once on stderr, removed, and the compile goes
//! on. Outcomes are appended to `<object root>/.cached-ninja/stats` (see `fetch::stats`) and,
//! per output with its keys, the time waited for a pull and the problems met, to
//! `.cached-ninja/edges` (`fetch::edge_log`, read by `cached-ninja explain`): a
//! compile that exits non-zero is `failed` (never a `miss`), and every fallback from a found
//! entry to a local compile (corrupt file, unknown output role, no `.dwo` path, an output or
//! depfile that cannot be written), like a compiler that cannot be started, prints one line
//! naming the file and the reason and counts its named [`Problem`](fetch::stats::Problem).
//! The one exception is a blob that was evicted (missing, not corrupt): a plain miss.
//!
//! ## Modules, in the order of one launch
//! - [`config`]: the words after `cc`, the roots and the environment, into a [`Launcher`](launch::Launcher).
//! - [`runner`]: process spawning behind the [`Runner`](runner::Runner) trait, CPU times.
//! - [`launch`]: the [`Launcher`](launch::Launcher) and its one launch (steps 1–5), the source key.
//! - [`identity`]: the compiler's identity, memoised in the cache's `memo/`.
//! - [`lookup`]: direct mode over include manifests, the preprocessor fallback (steps 2–3).
//! - [`hit`]: materialising a hit, writing the depfile (step 4).
//! - [`miss`]: the compile under the lock and the store (step 5).
//! - [`miss_words`]: what a miss adds to the command, and what the answers say.
//! - [`asm_reads`]: on a miss, the files an assembler program read (inline `.include`,
//!   `.incbin`), from its own dependency file.
//! - [`time_warning`]: on a miss, the compiler's own warning of a time macro no scan sees.
//! - [`distribute`]: a miss's compile handed to distcc or icecream (`CACHED_NINJA_DISTRIBUTE`).
//! - [`model`]: the compile-model seam: a compile's outputs by role (C/C++ and rustc).
//! - [`single`]: clang `-gsplit-dwarf=single` objects stored as stripped object + debug
//!   bundle, and joined again on a hit.
//! - [`rustc`]: the rustc model's launch (`RUSTC_WRAPPER=cached-ninja`, `cached-ninja rustc`):
//!   its roots, key, inputs and miss over the same lookup, hit and store.
//! - [`shadow`]: the lookup behind an include list: no new header where the preprocessor
//!   would have looked first.
//! - [`search_dirs`]: a compile's search directories in the preprocessor's order.
//! - [`candidates`]: the lookup rule's candidates of an include list, grouped by holder; a
//!   launch's growing count and the pull's count shared across records.
//! - [`listings`]: directory listings with their stamps from before the read, and holders.
//! - [`links`]: `..` that undoes a symbolic link (such a compile is not cached).
//! - [`directives`]: the include directives and `__has_include` tests of the files read,
//!   for the lookup rule.
//! - [`paths`]: the path tokens, prefix maps and placeholders in stored output.
//! - [`preimage`]: a source key's fields, owned; on a miss their explanation is recorded for
//!   `cached-ninja explain`.
//! - [`reason`]: why a command ran without the cache, as `cached-ninja stats` counts it.
//! - [`gdbinit`]: the token→root record for debuggers.
//! - [`policy_edit`]: under plain Ninja, the first launch (hit or miss) warns of a policy
//!   edited since `generate`.
//! - [`marker`]: a marker that something is down for the rest of a build (the distributed
//!   compiler, the cache's room), so that one launch warns.
//! - [`wait`]: waiting for a running pull (`cached-ninja build`) to bring a known entry.
//! - [`local_keys`]: the source key of every launcher edge of an object directory, so a pull
//!   leaves out CI's records of sources changed here; the pull's scans and first checks of
//!   the records it keeps.
//! - [`packager_change`]: the objects a zero-setup build made under another DWARF packager
//!   than its Ninja files run now (`cached-ninja build` makes them again).

mod ahead;
mod asm_reads;
mod candidates;
mod config;
mod directives;
pub mod distribute;
mod gdbinit;
mod header_facts;
mod hit;
mod identity;
pub(crate) mod launch;
mod links;
mod listings;
pub mod local_keys;
mod lookup;
mod marker;
mod miss;
mod miss_words;
mod model;
mod ninja_facts;
mod packager_change;
mod paths;
pub mod policy_edit;
mod preimage;
mod reason;
mod runner;
mod rustc;
mod search_dirs;
mod shadow;
mod single;
#[cfg(test)]
mod tests;
mod time_warning;
mod wait;

pub use config::{run_cli, run_rustc_cli, run_zero_setup};
/// The build's marker of a local cache with no room for new entries, said once.
pub use marker::{cache_unwritable, Marker};
/// What a zero-setup object directory's Ninja files say (its own DWARF packager, whether its
/// compiles run the launcher).
pub use ninja_facts::{ninja_facts, NinjaFacts};
/// The objects made under another DWARF packager than the Ninja files run now.
pub use packager_change::made_under_another_packager;
/// The prefix-map tokens objects embed for the roots (the fill maps them back).
pub use paths::{OBJ_TOKEN, REG_TOKEN, SRC_TOKEN};
/// The recorded preimage of a source key (`cached-ninja explain`).
pub use preimage::recorded as recorded_preimage;
pub use rustc::{cargo_policy, CargoPolicy};
