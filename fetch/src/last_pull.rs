//! Which CI build the last pull of an object directory used (`<objdir>/.cached-ninja/last-pull`):
//! the manifest's URL and revision and, per output, the record's source and action keys, so
//! `cached-ninja explain` can compare an edge with CI's record without the network. Written
//! when a pull is prepared (`engine::pull::PullSession::run`, before it serves launchers); the
//! include sets themselves are in the local cache's include manifests
//! (`crate::pull::record_include_sets`).
//!
//! ```text
//! cached-ninja last pull 1
//! manifest <url>
//! store <store url>
//! config <configuration>
//! revision <revision>
//! out <source key> <action key> <output path>
//! ```

use crate::build_manifest::BuildManifest;
use crate::cache::Digest;
use crate::objdir::ObjDir;
use crate::plan::Plan;
use std::collections::HashMap;
use std::io;

/// First line of the file.
const HEADER: &str = "cached-ninja last pull 1";

/// CI's keys for one output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordKeys {
    /// The record's source key.
    pub source_key: Digest,
    /// The record's action key.
    pub action_key: Digest,
}

/// The build the last pull used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastPull {
    /// The manifest's URL.
    pub url: String,
    /// The store's URL.
    pub store: String,
    /// The build configuration.
    pub config: String,
    /// The revision it was published for.
    pub revision: String,
    /// Each output path of each record (relative to the object directory), with its keys.
    pub outputs: HashMap<String, RecordKeys>,
}

impl LastPull {
    /// The index of a plan's manifest.
    pub fn of(plan: &Plan) -> LastPull {
        let mut index = LastPull::of_manifest(&plan.manifest);
        index.url = plan.url.clone();
        index.store = plan.store_url.clone();
        index.config = plan.config.clone();
        index.revision = plan.revision.clone();
        index
    }

    /// The keys of `manifest`'s outputs (no URL, store, configuration or revision).
    pub fn of_manifest(manifest: &BuildManifest) -> LastPull {
        let mut outputs = HashMap::new();
        for r in &manifest.records {
            for o in &r.outputs {
                let keys = RecordKeys {
                    source_key: r.source_key,
                    action_key: r.action_key,
                };
                outputs.insert(o.path.clone(), keys);
            }
        }
        LastPull {
            outputs,
            ..Default::default()
        }
    }

    /// Whether `action_key` is one of CI's records.
    pub fn has_action(&self, action_key: &Digest) -> bool {
        self.outputs.values().any(|k| k.action_key == *action_key)
    }

    /// The file's text.
    fn text(&self) -> String {
        let mut t = format!(
            "{HEADER}\nmanifest {}\nstore {}\nconfig {}\nrevision {}\n",
            self.url, self.store, self.config, self.revision
        );
        let mut paths: Vec<&String> = self.outputs.keys().collect();
        paths.sort();
        for p in paths {
            let k = &self.outputs[p];
            t.push_str(&format!("out {} {} {p}\n", k.source_key, k.action_key));
        }
        t
    }

    /// Parses the file's text; `None` when it is not this format.
    fn parse(text: &str) -> Option<LastPull> {
        let mut lines = text.lines();
        (lines.next()? == HEADER).then_some(())?;
        let url = lines.next()?.strip_prefix("manifest ")?.to_string();
        let store = lines.next()?.strip_prefix("store ")?.to_string();
        let config = lines.next()?.strip_prefix("config ")?.to_string();
        let revision = lines.next()?.strip_prefix("revision ")?.to_string();
        let mut outputs = HashMap::new();
        for l in lines {
            let mut f = l.strip_prefix("out ")?.splitn(3, ' ');
            let source_key = Digest::from_hex(f.next()?)?;
            let action_key = Digest::from_hex(f.next()?)?;
            let keys = RecordKeys {
                source_key,
                action_key,
            };
            outputs.insert(f.next()?.to_string(), keys);
        }
        Some(LastPull {
            url,
            store,
            config,
            revision,
            outputs,
        })
    }
}

/// Records `pull` as the object directory's last pull (atomically).
pub fn write(objdir: &ObjDir, pull: &LastPull) -> io::Result<()> {
    std::fs::create_dir_all(objdir.state_dir())?;
    crate::cache::write_atomic(&objdir.last_pull_file(), pull.text().as_bytes())
}

/// The object directory's last pull; `Ok(None)` when none was recorded (or the file is of
/// another format).
pub fn read(objdir: &ObjDir) -> io::Result<Option<LastPull>> {
    match std::fs::read_to_string(objdir.last_pull_file()) {
        Ok(t) => Ok(LastPull::parse(&t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build_manifest::EdgeRecord;
    use crate::cache::{Output, Role};

    #[test]
    fn round_trip() {
        let d = tempfile::tempdir().unwrap();
        let o = ObjDir::new(d.path());
        assert_eq!(read(&o).unwrap(), None);
        let out = |path: &str| Output {
            role: Role::Object,
            path: path.into(),
            digest: Digest::of(path.as_bytes()),
            size: 1,
        };
        let m = BuildManifest {
            records: vec![EdgeRecord {
                source_key: Digest::of(b"s"),
                action_key: Digest::of(b"a"),
                outputs: vec![out("x/a b.o"), out("x/a b.dwo")],
                includes: vec![],
                stdout: None,
                stderr: None,
                cpu_us: 3_000,
                wall_us: 3_000,
            }],
        };
        let p = LastPull {
            url: "file:///s/builds/default/r1".into(),
            store: "file:///s".into(),
            config: "default".into(),
            revision: "r1".into(),
            ..LastPull::of_manifest(&m)
        };
        write(&o, &p).unwrap();
        let back = read(&o).unwrap().unwrap();
        assert_eq!(back, p);
        assert_eq!(back.outputs["x/a b.o"].source_key, Digest::of(b"s"));
        assert!(back.has_action(&Digest::of(b"a")));
    }
}
