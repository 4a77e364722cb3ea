//! One directory holding candidates, as the lookup memo records it ([`Holding`]), and what
//! its candidates were found absent by ([`Ground`]).

use crate::launcher::listings::{first_component, DirStamp, Listing};

/// One directory holding candidates, as the lookup memo records it.
pub(in crate::launcher) struct Holding<'a> {
    /// The directory.
    pub(in crate::launcher) dir: &'a str,
    /// What says its candidates are absent (`None`: it could not be listed).
    pub(in crate::launcher) ground: Option<Ground<'a>>,
    /// Its candidates, relative to it (those recorded by first name alone: that name).
    pub(in crate::launcher) below: Vec<&'a str>,
}

/// What a holding directory's candidates were found absent by.
#[derive(Clone, Copy)]
pub(in crate::launcher) enum Ground<'a> {
    /// Its listing in this launch.
    Listed(&'a Listing),
    /// Its stamp now, the same as the one a candidates' record took before its listing,
    /// settled then: its names are those the record saw (any name created or removed since
    /// would have changed the stamp), and it was not listed again.
    Unchanged(DirStamp),
}

impl<'a> Ground<'a> {
    /// The stamp a memo may trust: taken before the names were read, and settled then.
    pub(in crate::launcher) fn settled(self) -> Option<DirStamp> {
        match self {
            Ground::Listed(listing) => listing.settled,
            Ground::Unchanged(stamp) => Some(stamp),
        }
    }

    /// The listing, when the directory was listed in this launch.
    pub(in crate::launcher) fn listing(self) -> Option<&'a Listing> {
        match self {
            Ground::Listed(listing) => Some(listing),
            Ground::Unchanged(_) => None,
        }
    }
}

impl Holding<'_> {
    /// The first component of each candidate below the directory, sorted, each once: a
    /// candidate exists only if its first component is listed there.
    pub(in crate::launcher) fn first_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.below.iter().map(|rel| first_component(rel)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}
