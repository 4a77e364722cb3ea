//! The binaries a build linked and the objects of each one's link closure, from the Ninja
//! graph (`backend::ninja`) and the files' own headers (DESIGN §6).
//!
//! A **linked binary** is an explicit output of a non-phony edge that takes objects or
//! libraries (`*.o`, `*.obj`, `*.a`, `*.so*`), whose file is an ELF executable or shared
//! library (`ET_EXEC`, `ET_DYN`). Its **closure** walks the link edge's explicit and implicit
//! inputs: a relocatable object is collected; a static archive built in the tree is walked
//! through its own edge's inputs; a shared library built in the tree is not walked (its units
//! live in its own `.dwp`: debuggers read one package per loaded file) but is filled as a
//! binary of its own. Files outside the graph's edges (system libraries) are left alone. An
//! output that is a symbolic link (CMake's `libx.so.1 -> libx.so.1.2`) is not a binary of its
//! own: the file it names is filled once (gdb also looks for the package of a library by the
//! resolved name).

use backend::ninja::graph::{EdgeId, Graph, NodeId};
use backend::ninja::load::{bytes_to_path, FileReader};
use std::collections::HashSet;
use std::io::{self, Read};
use std::path::Path;

/// One linked binary of the build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedBinary {
    /// The binary, relative to the object directory (as the build names it).
    pub path: String,
    /// The objects of its link closure, relative to the object directory, each once.
    pub objects: Vec<String>,
    /// Shared libraries built in the tree that it links (as it names them: perhaps a
    /// symbolic link to the library's file).
    pub libraries: Vec<String>,
}

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Object,
    Executable,
    SharedLibrary,
    Archive,
    Other,
}

/// Reads `build.ninja` of `objdir` (with its includes, relative to `objdir`).
pub fn load_graph(objdir: &Path) -> Result<Graph, backend::ninja::LoadError> {
    struct InDir<'a>(&'a Path);
    impl FileReader for InDir<'_> {
        fn read(&self, path: &[u8]) -> io::Result<Vec<u8>> {
            std::fs::read(self.0.join(bytes_to_path(path)))
        }
    }
    Ok(backend::ninja::load_with(b"build.ninja", &InDir(objdir))?.into_graph())
}

/// Every linked binary of `graph` that exists in `objdir`, in the graph's edge order.
pub fn linked_binaries(graph: &Graph, objdir: &Path) -> Vec<LinkedBinary> {
    let mut out = Vec::new();
    for e in graph.edge_ids() {
        if graph.is_phony(e) || !takes_link_inputs(graph, e) {
            continue;
        }
        for &o in graph.explicit_outputs(e) {
            let path = objdir.join(bytes_to_path(graph.path(o)));
            if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                continue;
            }
            let kind = file_kind(&path);
            if matches!(kind, FileKind::Executable | FileKind::SharedLibrary) {
                out.push(closure(graph, objdir, o, e));
            }
        }
    }
    out
}

fn takes_link_inputs(graph: &Graph, e: EdgeId) -> bool {
    graph.explicit_inputs(e).iter().any(|&n| {
        let p = graph.path(n);
        let name = p.rsplit(|&b| b == b'/').next().unwrap_or(p);
        name.ends_with(b".o")
            || name.ends_with(b".obj")
            || name.ends_with(b".a")
            || name.ends_with(b".so")
            || name.windows(4).any(|w| w == b".so.")
    })
}

fn closure(graph: &Graph, objdir: &Path, binary: NodeId, edge: EdgeId) -> LinkedBinary {
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut objects = Vec::new();
    let mut libraries = Vec::new();
    let mut stack: Vec<NodeId> = link_inputs(graph, edge).rev().collect();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        let rel = String::from_utf8_lossy(graph.path(n)).into_owned();
        match file_kind(&objdir.join(bytes_to_path(graph.path(n)))) {
            FileKind::Object => objects.push(rel),
            FileKind::Archive => {
                if let Some(a) = graph.in_edge(n) {
                    stack.extend(link_inputs(graph, a).rev());
                }
            }
            FileKind::SharedLibrary if graph.in_edge(n).is_some() => libraries.push(rel),
            _ => {}
        }
    }
    LinkedBinary {
        path: String::from_utf8_lossy(graph.path(binary)).into_owned(),
        objects,
        libraries,
    }
}

fn link_inputs(graph: &Graph, e: EdgeId) -> impl DoubleEndedIterator<Item = NodeId> + '_ {
    graph
        .explicit_inputs(e)
        .iter()
        .chain(graph.implicit_inputs(e))
        .copied()
}

/// Classifies a file by its ELF header or archive magic; unreadable files are `Other`.
fn file_kind(path: &Path) -> FileKind {
    let mut head = [0u8; 18];
    let Ok(mut f) = std::fs::File::open(path) else {
        return FileKind::Other;
    };
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    if n >= 8 && (&head[..8] == b"!<arch>\n" || &head[..8] == b"!<thin>\n") {
        return FileKind::Archive;
    }
    if n < 18 || &head[..4] != b"\x7fELF" {
        return FileKind::Other;
    }
    let e_type = match head[5] {
        2 => u16::from_be_bytes([head[16], head[17]]),
        _ => u16::from_le_bytes([head[16], head[17]]),
    };
    match e_type {
        1 => FileKind::Object,
        2 => FileKind::Executable,
        3 => FileKind::SharedLibrary,
        _ => FileKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(e_type: u8) -> Vec<u8> {
        let mut v = b"\x7fELF\x02\x01\x01".to_vec();
        v.resize(16, 0);
        v.extend_from_slice(&[e_type, 0, 0x3e, 0]);
        v
    }

    #[test]
    fn closure_through_archives_stops_at_shared_libraries() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("build.ninja"),
            "rule cc\n  command = cc\nrule ar\n  command = ar\nrule link\n  command = ld\n\
             build a.o: cc a.c\nbuild b.o: cc b.c\nbuild c.o: cc c.c\n\
             build libb.a: ar b.o\nbuild libc.so.1 libc.so: link c.o\n\
             build app: link a.o libb.a libc.so /usr/lib/libm.so\n\
             build all: phony app\n",
        )
        .unwrap();
        for o in ["a.o", "b.o", "c.o"] {
            std::fs::write(d.join(o), elf(1)).unwrap();
        }
        std::fs::write(d.join("libb.a"), b"!<arch>\n").unwrap();
        std::fs::write(d.join("libc.so.1"), elf(3)).unwrap();
        std::os::unix::fs::symlink("libc.so.1", d.join("libc.so")).unwrap();
        std::fs::write(d.join("app"), elf(2)).unwrap();
        let g = load_graph(d).unwrap();
        let bins = linked_binaries(&g, d);
        assert_eq!(
            bins,
            vec![
                LinkedBinary {
                    path: "libc.so.1".into(),
                    objects: vec!["c.o".into()],
                    libraries: vec![],
                },
                LinkedBinary {
                    path: "app".into(),
                    objects: vec!["a.o".into(), "b.o".into()],
                    libraries: vec!["libc.so".into()],
                },
            ]
        );
    }
}
