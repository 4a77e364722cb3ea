//! Path canonicalisation exactly as ninja 1.11's `CanonicalizePath` (POSIX flavour).
//!
//! `.` components go, `..` pops a previous component when there is one, runs of `/`
//! collapse. Quirks kept on purpose: `/` becomes the empty path, `a/..` becomes `.`,
//! a leading `..` (or `/..`) stays. Ninja aborts on more than 60 components; so do we
//! (as an error, see [`TooManyComponents`]).

/// Ninja's limit on the number of components of one path.
pub const MAX_COMPONENTS: usize = 60;

/// The path has more components than ninja accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyComponents;

/// Canonicalises `path` in place.
pub fn canonicalize(path: &mut Vec<u8>) -> Result<(), TooManyComponents> {
    if path.is_empty() || !needs_work(path) {
        return Ok(());
    }
    let len = path.len();
    let at = |p: &Vec<u8>, i: usize| p.get(i).copied().unwrap_or(0);
    let mut components = [0usize; MAX_COMPONENTS];
    let mut count = 0;
    let mut src = 0;
    let mut dst = 0;
    // Ninja copies a terminator byte after each component; we write into a path padded by
    // three bytes so the same steps never leave the buffer.
    path.extend_from_slice(&[0, 0, 0]);
    if at(path, 0) == b'/' {
        src += 1;
        dst += 1;
    }
    while src < len {
        if at(path, src) == b'.' {
            if src + 1 == len || at(path, src + 1) == b'/' {
                src += 2;
                continue;
            }
            if at(path, src + 1) == b'.' && (src + 2 == len || at(path, src + 2) == b'/') {
                if count > 0 {
                    count -= 1;
                    dst = components[count];
                    src += 3;
                } else {
                    for _ in 0..3 {
                        let c = at(path, src);
                        path[dst] = c;
                        dst += 1;
                        src += 1;
                    }
                }
                continue;
            }
        }
        if at(path, src) == b'/' {
            src += 1;
            continue;
        }
        if count == MAX_COMPONENTS {
            path.truncate(len);
            return Err(TooManyComponents);
        }
        components[count] = dst;
        count += 1;
        while src < len && at(path, src) != b'/' {
            path[dst] = at(path, src);
            dst += 1;
            src += 1;
        }
        // Copy the '/' or the terminator as well.
        let c = if src < len { at(path, src) } else { 0 };
        path[dst] = c;
        dst += 1;
        src += 1;
    }
    if dst == 0 {
        path.truncate(0);
        path.push(b'.');
        return Ok(());
    }
    path.truncate(dst - 1);
    Ok(())
}

/// Fast check: a path needs canonicalising only if it has `./`-like parts or `//`.
fn needs_work(path: &[u8]) -> bool {
    if path.first() == Some(&b'.') || path.last() == Some(&b'/') {
        return true;
    }
    let mut slashes = 0;
    for i in memchr::memchr_iter(b'/', path) {
        slashes += 1;
        if slashes >= MAX_COMPONENTS || matches!(path.get(i + 1), Some(b'/') | Some(b'.')) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        let mut v = s.as_bytes().to_vec();
        canonicalize(&mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn like_ninja() {
        let cases = [
            ("/", ""),
            ("/..", "/.."),
            ("a/..", "."),
            ("./../x/./y/../z", "../x/z"),
            ("a//b/", "a/b"),
            ("/a/../../b", "/../b"),
            ("..", ".."),
            ("a/./..", "."),
            ("...", "..."),
            (".a/..b", ".a/..b"),
            ("./", "."),
            ("//a//b", "/a/b"),
            ("a/b/c/../../..", "."),
            ("a/b/../../..", ".."),
            ("/./a", "/a"),
            ("x/../../y", "../y"),
            ("foo.h", "foo.h"),
            ("./foo/./bar.h", "foo/bar.h"),
            ("foo/.hidden_bar", "foo/.hidden_bar"),
            ("../../foo/bar.h", "../../foo/bar.h"),
            ("test/../../foo/bar.h", "../foo/bar.h"),
            (".", "."),
            ("./.", "."),
            ("foo/..", "."),
        ];
        for (i, o) in cases {
            assert_eq!(c(i), o, "{i}");
        }
    }

    #[test]
    fn too_many() {
        let mut v = "a/".repeat(61).into_bytes();
        assert_eq!(canonicalize(&mut v), Err(TooManyComponents));
        let mut v = "a/".repeat(60).into_bytes();
        assert!(canonicalize(&mut v).is_ok());
    }
}
