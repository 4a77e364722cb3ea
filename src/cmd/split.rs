//! `cached-ninja split …`: the splitdwarf library for humans.
//!
//! Inputs are memory-mapped, files are processed in parallel (rayon), and every output is
//! written atomically (a temporary file in the same directory, then a rename), so a reader
//! never sees half an object.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use rayon::prelude::*;
use splitdwarf::BundleKind;

/// DWARF splitting subcommands.
#[derive(Subcommand)]
pub enum SplitCommand {
    /// Split clang `-gsplit-dwarf=single` objects into an object without `.dwo` sections and a
    /// standalone `<stem>.dwo` (like `objcopy --strip-dwo` + `--extract-dwo`).
    Split {
        #[command(flatten)]
        out: OutArgs,
        /// Directory for the `.dwo` files (default: beside each output object).
        #[arg(long, value_name = "DIR")]
        dwo_dir: Option<PathBuf>,
        /// Objects to split.
        #[arg(required = true)]
        objects: Vec<PathBuf>,
    },
    /// Check that a GCC object and its `.dwo` belong together (same machine and dwo_id).
    Pair {
        /// The object (`.o`).
        object: PathBuf,
        /// Its split DWARF file (`.dwo`).
        dwo: PathBuf,
    },
    /// Remove all debug sections (and their relocations) from objects.
    Strip {
        #[command(flatten)]
        out: OutArgs,
        /// Objects to strip.
        #[arg(required = true)]
        objects: Vec<PathBuf>,
    },
    /// Write a stripped object and a `<name>.bundle` holding the debug part, for each object.
    Bundle {
        /// What goes into the bundle.
        #[arg(long, value_enum, default_value = "dwo")]
        kind: KindArg,
        #[command(flatten)]
        out: OutArgs,
        /// Objects to bundle.
        #[arg(required = true)]
        objects: Vec<PathBuf>,
    },
    /// Rebuild the original object from a stripped object and its bundle (byte-identical),
    /// or with `--dwo` extract the `.dwo` inside a bundle.
    Unbundle {
        /// Output file.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Write the bundle's `.dwo` instead of the original object (no stripped object needed).
        #[arg(long)]
        dwo: bool,
        /// The stripped object (omit with `--dwo`), then the bundle.
        #[arg(required = true, num_args = 1..=2, value_name = "STRIPPED BUNDLE")]
        files: Vec<PathBuf>,
    },
    /// Build a `.dwp` package from `.dwo` files, objects with `.dwo` sections, or bundles.
    Package {
        /// Output package (conventionally `<binary>.dwp`).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Linked binary whose skeleton units must all be covered by the inputs.
        #[arg(long, value_name = "BINARY")]
        exe: Option<PathBuf>,
        /// Split DWARF inputs.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// List a binary's skeleton units and report those its `.dwp` lacks (exit 1 if any).
    Verify {
        /// Package to check (default: `<binary>.dwp`).
        #[arg(long, value_name = "FILE")]
        dwp: Option<PathBuf>,
        /// Only list the skeleton units; do not read a package.
        #[arg(long, conflicts_with = "dwp")]
        list: bool,
        /// The linked binary.
        binary: PathBuf,
    },
}

/// Where transformed objects go.
#[derive(Args)]
pub struct OutArgs {
    /// Output directory (outputs keep the input file names).
    #[arg(
        short = 'o',
        long = "out-dir",
        value_name = "DIR",
        required_unless_present = "in_place"
    )]
    out_dir: Option<PathBuf>,
    /// Replace each input object in place.
    #[arg(long, conflicts_with = "out_dir")]
    in_place: bool,
}

/// Bundle kinds on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// The `.dwo` sections of a `-gsplit-dwarf=single` object.
    Dwo,
    /// Every debug section.
    Debug,
}

/// Runs one split subcommand.
pub fn run(cmd: SplitCommand) -> Result<ExitCode> {
    match cmd {
        SplitCommand::Split {
            out,
            dwo_dir,
            objects,
        } => split_all(&out, dwo_dir.as_deref(), &objects),
        SplitCommand::Pair { object, dwo } => check_pair(&object, &dwo),
        SplitCommand::Strip { out, objects } => strip_all(&out, &objects),
        SplitCommand::Bundle { kind, out, objects } => bundle_all(kind, &out, &objects),
        SplitCommand::Unbundle { output, dwo, files } => unbundle(&output, dwo, &files),
        SplitCommand::Package {
            output,
            exe,
            inputs,
        } => package(&output, exe.as_deref(), &inputs),
        SplitCommand::Verify { dwp, list, binary } => verify(&binary, dwp, list),
    }
}

/// `split`: each object into an object without `.dwo` sections and a `.dwo`.
fn split_all(out: &OutArgs, dwo_dir: Option<&Path>, objects: &[PathBuf]) -> Result<ExitCode> {
    for_each(objects, |obj| {
        let input = map(obj)?;
        let split = splitdwarf::split(&input)
            .with_context(|| format!("{}: cannot split", obj.display()))?;
        let out_obj = out.path_for(obj)?;
        let dwo_path = match dwo_dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("cannot create {}", d.display()))?;
                d.join(file_name(obj)?)
            }
            None => out_obj.clone(),
        }
        .with_extension("dwo");
        write_atomic(&dwo_path, &split.dwo)?;
        write_atomic(&out_obj, &split.object)
    })
}

/// `pair`: prints the dwo_ids an object and its `.dwo` share, or fails.
fn check_pair(object: &Path, dwo: &Path) -> Result<ExitCode> {
    let (o, d) = (map(object)?, map(dwo)?);
    let ids = splitdwarf::pair(&o, &d)
        .with_context(|| format!("{} and {} do not pair", object.display(), dwo.display()))?;
    for id in ids {
        println!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `strip`: each object without its debug sections.
fn strip_all(out: &OutArgs, objects: &[PathBuf]) -> Result<ExitCode> {
    for_each(objects, |obj| {
        let input = map(obj)?;
        let stripped = splitdwarf::strip_debug(&input)
            .with_context(|| format!("{}: cannot strip", obj.display()))?;
        write_atomic(&out.path_for(obj)?, &stripped)
    })
}

/// `bundle`: each object as a stripped object and a `.bundle` of its debug part.
fn bundle_all(kind: KindArg, out: &OutArgs, objects: &[PathBuf]) -> Result<ExitCode> {
    for_each(objects, |obj| {
        let input = map(obj)?;
        let kind = match kind {
            KindArg::Dwo => BundleKind::Dwo,
            KindArg::Debug => BundleKind::Debug,
        };
        let b = splitdwarf::bundle(&input, kind)
            .with_context(|| format!("{}: cannot bundle", obj.display()))?;
        drop(input);
        let out_obj = out.path_for(obj)?;
        let mut bundle_path = out_obj.clone().into_os_string();
        bundle_path.push(".bundle");
        write_atomic(Path::new(&bundle_path), &b.bundle)?;
        write_atomic(&out_obj, &b.stripped)
    })
}

/// `unbundle`: the original object from a stripped object and its bundle, or a bundle's `.dwo`.
fn unbundle(output: &Path, dwo: bool, files: &[PathBuf]) -> Result<ExitCode> {
    let bytes = match (dwo, files) {
        (true, [bundle]) => {
            let b = map(bundle)?;
            splitdwarf::bundle_dwo(&b)
                .with_context(|| format!("{}: cannot read bundle", bundle.display()))?
                .with_context(|| {
                    format!("{}: bundle holds no .dwo (kind debug)", bundle.display())
                })?
        }
        (false, [stripped, bundle]) => {
            let (s, b) = (map(stripped)?, map(bundle)?);
            splitdwarf::unbundle(&s, &b).with_context(|| {
                format!(
                    "cannot restore from {} + {}",
                    stripped.display(),
                    bundle.display()
                )
            })?
        }
        (true, _) => bail!("with --dwo give only the bundle"),
        (false, _) => bail!("give the stripped object and the bundle"),
    };
    write_atomic(output, &bytes)?;
    Ok(ExitCode::SUCCESS)
}

/// `package`: a `.dwp` from split DWARF inputs, checked against `exe` when given.
fn package(output: &Path, exe: Option<&Path>, inputs: &[PathBuf]) -> Result<ExitCode> {
    let maps = inputs
        .par_iter()
        .map(|p| map(p))
        .collect::<Result<Vec<_>>>()?;
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let list: Vec<splitdwarf::PackageInput<'_>> = names
        .iter()
        .zip(&maps)
        .map(|(name, data)| splitdwarf::PackageInput { name, data })
        .collect();
    let exe_map = exe.map(map).transpose()?;
    let req = splitdwarf::PackageRequest {
        inputs: &list,
        executable: exe_map.as_deref(),
    };
    write_atomic_with(output, |file| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        splitdwarf::package_to(&req, &mut w)
            .with_context(|| format!("cannot build {}", output.display()))?;
        w.flush()
            .with_context(|| format!("cannot write {}", output.display()))
    })?;
    Ok(ExitCode::SUCCESS)
}

fn verify(binary: &Path, dwp: Option<PathBuf>, list: bool) -> Result<ExitCode> {
    let bin = map(binary)?;
    if list {
        let units = splitdwarf::skeleton_units(&bin)
            .with_context(|| format!("{}: cannot read", binary.display()))?;
        for u in units {
            println!("{} {}", u.dwo_id, u.name);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let dwp_path = dwp.unwrap_or_else(|| {
        let mut p = binary.as_os_str().to_owned();
        p.push(".dwp");
        PathBuf::from(p)
    });
    let package = map(&dwp_path)?;
    let cov = splitdwarf::verify(&bin, &package).with_context(|| {
        format!(
            "cannot verify {} against {}",
            binary.display(),
            dwp_path.display()
        )
    })?;
    for u in &cov.skeletons {
        let status = if cov.missing.contains(u) {
            "MISSING"
        } else {
            "ok"
        };
        println!("{} {status} {}", u.dwo_id, u.name);
    }
    if cov.missing.is_empty() {
        eprintln!(
            "{}: all {} skeleton units present",
            dwp_path.display(),
            cov.skeletons.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{}: {} of {} skeleton units missing",
            dwp_path.display(),
            cov.missing.len(),
            cov.skeletons.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

impl OutArgs {
    /// Output path for input `obj`.
    fn path_for(&self, obj: &Path) -> Result<PathBuf> {
        match &self.out_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                Ok(dir.join(file_name(obj)?))
            }
            None => Ok(obj.to_path_buf()),
        }
    }
}

fn file_name(p: &Path) -> Result<&std::ffi::OsStr> {
    p.file_name()
        .with_context(|| format!("{}: not a file name", p.display()))
}

/// Runs `f` over `files` in parallel; prints every failure, fails if any did.
fn for_each(files: &[PathBuf], f: impl Fn(&Path) -> Result<()> + Sync) -> Result<ExitCode> {
    let errors: Vec<anyhow::Error> = files.par_iter().filter_map(|p| f(p).err()).collect();
    if errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let n = errors.len();
    for e in errors {
        eprintln!("cached-ninja: error: {e:#}");
    }
    bail!("{n} of {} files failed", files.len())
}

/// A memory-mapped input (empty files are not mapped).
enum Input {
    Mapped(memmap2::Mmap),
    Empty,
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Empty => &[],
        }
    }
}

fn map(path: &Path) -> Result<Input> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot stat {}", path.display()))?
        .len();
    if len == 0 {
        return Ok(Input::Empty);
    }
    // SAFETY: the map is read-only; a concurrent writer could change the bytes under us, which
    // the parsers treat like any other hostile input (errors, never undefined reads).
    let m = unsafe { memmap2::Mmap::map(&file) }
        .with_context(|| format!("cannot map {}", path.display()))?;
    Ok(Input::Mapped(m))
}

/// Writes `bytes` to `path` atomically (`fetch::cache::write_atomic`).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    fetch::cache::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Streams `fill`'s output into `path` atomically (`fetch::cache::write_atomic_with`); on any
/// failure `path` is left as it was and `fill`'s own error is returned.
fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let mut failed = None;
    let r = fetch::cache::write_atomic_with(path, fetch::cache::Durability::Synced, |f| {
        fill(f).map_err(|e| {
            let msg = format!("{e:#}");
            failed = Some(e);
            std::io::Error::other(msg)
        })
    });
    match (r, failed) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}
