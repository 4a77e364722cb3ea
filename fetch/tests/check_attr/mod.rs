//! A cache file's check value as `cache::check` writes it (its layout restated, so that the
//! tests pin it), and the extended attribute that holds it: shared by the `fetch` tests.
#![allow(dead_code)] // not every test binary needs all of it

use fetch::cache::Digest;

/// The check value `cache::check` gives a file of `bytes` named by `name`.
pub fn check_value(bytes: &[u8], name: &Digest) -> [u8; 24] {
    let mut v = [0u8; 24];
    v[..16].copy_from_slice(&twox_hash::xxh3::hash128(bytes).to_le_bytes());
    v[16..].copy_from_slice(&name.0[..8]);
    v
}

/// The file at `p`'s check value attribute, as `cache::check` names it: read, set, removed.
pub struct Attr(std::ffi::CString);

impl Attr {
    const NAME: &'static std::ffi::CStr = c"user.cached-ninja.check";

    pub fn of(p: &std::path::Path) -> Attr {
        Attr(std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap())
    }

    pub fn get(&self) -> Option<[u8; 24]> {
        let mut v = [0u8; 24];
        // SAFETY: NUL-terminated path and name, a buffer of the length given.
        let n = unsafe {
            libc::getxattr(
                self.0.as_ptr(),
                Self::NAME.as_ptr(),
                v.as_mut_ptr().cast(),
                24,
            )
        };
        (n == 24).then_some(v)
    }

    pub fn set(&self, v: &[u8; 24]) {
        // SAFETY: NUL-terminated path and name, a buffer of the length given.
        let r = unsafe {
            libc::setxattr(
                self.0.as_ptr(),
                Self::NAME.as_ptr(),
                v.as_ptr().cast(),
                24,
                0,
            )
        };
        assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
    }

    pub fn remove(&self) {
        // SAFETY: NUL-terminated path and name.
        assert_eq!(
            unsafe { libc::removexattr(self.0.as_ptr(), Self::NAME.as_ptr()) },
            0
        );
    }
}
