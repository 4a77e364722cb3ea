//! ELF/DWARF splitting, stripping, debug bundles, `.dwp` packaging and verification (DESIGN §6).
#![deny(missing_docs)]
