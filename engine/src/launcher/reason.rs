//! Why a command ran without the cache, as `cached-ninja stats` counts it: the compile model's
//! verdicts (`backend::compile`) turned into the stored words of `fetch::stats::Reason`.

use backend::compile::{Uncacheable, Unkeyed};
use fetch::stats::Reason;

/// The counter of a command the compile model does not cache.
pub(super) fn of_uncacheable(u: &Uncacheable) -> Reason {
    match u {
        Uncacheable::NotCompiling => Reason::NotCompiling,
        Uncacheable::PreprocessOnly => Reason::PreprocessOnly,
        Uncacheable::SourceCount => Reason::SourceCount,
        Uncacheable::Stdio => Reason::Stdio,
        Uncacheable::PchCreation => Reason::PchCreation,
        Uncacheable::ProfileGeneration => Reason::Profile,
        Uncacheable::Language => Reason::Language,
        Uncacheable::Option(_) => Reason::Option,
        Uncacheable::Arguments(_) => Reason::Arguments,
    }
}

/// The counter of an input the key cannot hash.
pub(super) fn of_unkeyed(u: Unkeyed) -> Reason {
    match u {
        Unkeyed::Timestamp => Reason::Timestamp,
        Unkeyed::DateTime => Reason::DateTime,
        Unkeyed::Incbin | Unkeyed::AsmInclude => Reason::AsmInclude,
        Unkeyed::ComputedProbe => Reason::ComputedProbe,
        Unkeyed::RelativeLine => Reason::RelativeLine,
    }
}
