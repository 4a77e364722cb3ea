//! `strip`: an object without any debug information, for the deferred-debug mode.
//!
//! Removes every `.debug*`/`.zdebug*` section (split `.dwo` ones included) and the relocation
//! sections that apply to them, and the symbols defined in them (their section symbols).
//! Everything the linker reads stays: code, data, their relocations, the symbol table,
//! groups, `.eh_frame`, notes, `.llvm_addrsig`. Unlike `objcopy --strip-debug`, `STT_FILE`
//! symbols are kept: they cost a few bytes and keep `ld -r`/`nm` output readable.

use crate::elf::{Elf, Shdr};
use crate::error::Result;
use crate::rewrite::remove_sections;

/// Whether a section holds debug information.
pub(crate) fn is_debug_section(s: &Shdr<'_>) -> bool {
    s.name.starts_with(b".debug")
        || s.name.starts_with(b".zdebug")
        || s.name.starts_with(b".gnu.debuglto_")
}

/// Returns `object` without its debug sections.
pub fn strip_debug(object: &[u8]) -> Result<Vec<u8>> {
    let elf = Elf::parse(object)?;
    remove_sections(&elf, is_debug_section)
}
