//! `custody hash FILE...`: size, SHA-256 and BLAKE3 of each file, read once.

use std::path::PathBuf;

use custody_core::hash::{self, Digests};

use crate::output;
use crate::Outcome;

/// Arguments of `custody hash`.
#[derive(clap::Args)]
#[command(after_help = "\
Output: one line per file, fields separated by two spaces:
  <sha256>  <blake3>  <size in bytes>  <path>
Digests are lower-case hex. With --json, a JSON array of objects
{\"path\", \"size\", \"sha256\", \"blake3\"} in the order the files were given.

A file that cannot be read is reported on stderr and the others are still
hashed; the exit status is then 2.")]
pub struct HashArgs {
    /// Files to hash.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One line of the report.
#[derive(serde::Serialize)]
struct FileDigests {
    path: String,
    #[serde(flatten)]
    digests: Digests,
}

impl FileDigests {
    fn text_line(&self) -> String {
        format!(
            "{}  {}  {}  {}\n",
            self.digests.sha256_hex(),
            self.digests.blake3_hex(),
            self.digests.size,
            self.path
        )
    }
}

/// Runs `custody hash`.
pub fn run(args: HashArgs) -> anyhow::Result<Outcome> {
    let mut hashed = Vec::with_capacity(args.files.len());
    let mut failures = 0usize;
    for path in &args.files {
        let shown = path.display().to_string();
        let total = std::fs::metadata(path).map_or(0, |m| m.len());
        let bar = output::byte_progress(total, &shown);
        let result = hash::hash_file(path, &mut |done| bar.set_position(done));
        bar.finish_and_clear();
        match result {
            Ok(digests) => {
                let line = FileDigests {
                    path: shown,
                    digests,
                };
                // Text lines go out as soon as each file is done, so a long run shows results.
                if !args.json {
                    output::data(&line.text_line())?;
                }
                hashed.push(line);
            }
            Err(err) => {
                failures += 1;
                output::eprint(&output::line(&format!("custody: error: {err}")));
            }
        }
    }
    if args.json {
        output::print_json(&hashed)?;
    }
    if failures > 0 {
        anyhow::bail!(
            "{failures} of {} files could not be hashed",
            args.files.len()
        );
    }
    Ok(Outcome::Ok)
}
