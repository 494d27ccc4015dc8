//! The password of a PostgreSQL ledger, read from a password file instead of the URL.
//!
//! A URL given with `--ledger` or `CUSTODY_LEDGER` ends up in shell history, process
//! listings and service files; the password should not be in it. When the URL has no
//! password, the store looks it up as libpq does, in the file named by the `PGPASSFILE`
//! environment variable, else `~/.pgpass` (`$HOME/.pgpass`), in libpq's format
//! (PostgreSQL documentation, "The Password File"):
//!
//! ```text
//! hostname:port:database:username:password
//! ```
//!
//! one entry a line; the first line whose first four fields match the connection is used;
//! `*` in any of those fields matches anything; `\:` and `\\` stand for `:` and `\`; lines
//! starting with `#` and lines with fewer than five fields are skipped. A connection over a
//! Unix socket matches the host name `localhost`. As libpq does, a file that group or
//! others may read or write is not used; unlike libpq, that is an error
//! ([`StoreError::PassFile`]), not a warning, as is a file larger than
//! [`MAX_PASSFILE_BYTES`]. No file at all is not an error: the server decides whether a
//! password was needed. A `passfile=` URL parameter is not read.

use std::path::{Path, PathBuf};

use crate::error::StoreError;

/// The largest password file read.
pub const MAX_PASSFILE_BYTES: u64 = 64 * 1024;

/// The environment variable naming the password file (libpq's).
pub const PASSFILE_ENV: &str = "PGPASSFILE";

/// Where the password file is: `PGPASSFILE`, else `$HOME/.pgpass`.
pub fn passfile_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(PASSFILE_ENV) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass"))
}

/// One field of a line, unescaped, and the rest of the line after its `:`.
fn field(line: &str) -> (String, Option<&str>) {
    let mut out = String::new();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            ':' => return (out, Some(&line[i + 1..])),
            _ => out.push(c),
        }
    }
    (out, None)
}

/// The password `contents` (a password file) gives for the connection, if any.
pub fn lookup(contents: &str, host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    let wanted = [host, port.as_str(), database, user];
    'lines: for line in contents.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        for want in wanted {
            let (value, after) = field(rest);
            let Some(after) = after else { continue 'lines };
            if value != "*" && value != want {
                continue 'lines;
            }
            rest = after;
        }
        return Some(field(rest).0);
    }
    None
}

/// Reads the password file at `path` for the connection: `Ok(None)` when there is no file
/// or no line matches.
pub fn password_from_file(
    path: &Path,
    host: &str,
    port: u16,
    database: &str,
    user: &str,
) -> Result<Option<String>, StoreError> {
    let problem = |problem: &str| StoreError::PassFile {
        path: path.to_path_buf(),
        problem: problem.to_owned(),
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(problem(&e.to_string())),
    };
    if !meta.is_file() {
        return Err(problem("not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(problem(
                "group or others may access it; allow its owner alone (chmod 0600)",
            ));
        }
    }
    if meta.len() > MAX_PASSFILE_BYTES {
        return Err(problem(&format!("longer than {MAX_PASSFILE_BYTES} bytes")));
    }
    let mut contents = String::new();
    {
        use std::io::Read as _;
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_PASSFILE_BYTES + 1).read_to_string(&mut contents))
            .map_err(|e| problem(&e.to_string()))?;
    }
    if contents.len() as u64 > MAX_PASSFILE_BYTES {
        return Err(problem(&format!("longer than {MAX_PASSFILE_BYTES} bytes")));
    }
    Ok(lookup(&contents, host, port, database, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_line_with_wildcards_and_escapes() {
        let file = "# comment\n\
                    db.example:5432:other:custody:wrong\n\
                    db.example:5432:ledger:custody:pa\\:ss\\\\word\n\
                    *:*:*:custody:fallback\n\
                    too:few:fields\n";
        assert_eq!(
            lookup(file, "db.example", 5432, "ledger", "custody").as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            lookup(file, "db.example", 5433, "ledger", "custody").as_deref(),
            Some("fallback")
        );
        assert_eq!(lookup(file, "db.example", 5432, "ledger", "alice"), None);
        assert_eq!(lookup("too:few:fields:x", "too", 1, "few", "x"), None);
    }

    /// What the file at `path` gives for a fixed connection.
    fn read(path: &Path) -> Result<Option<String>, StoreError> {
        password_from_file(path, "h", 1, "d", "u")
    }

    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn fail_passfile_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        set_mode(&path, 0o644);
        assert!(matches!(read(&path), Err(StoreError::PassFile { .. })));
        set_mode(&path, 0o600);
        assert_eq!(read(&path).unwrap().as_deref(), Some("secret"));
        assert_eq!(read(&dir.path().join("none")).unwrap(), None);
    }

    #[test]
    fn passfile_at_and_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        let line = "*:*:*:*:secret\n";
        let pad = "#".repeat(usize::try_from(MAX_PASSFILE_BYTES).unwrap() - line.len() - 1);
        std::fs::write(&path, format!("{pad}\n{line}")).unwrap();
        set_mode(&path, 0o600);
        assert_eq!(read(&path).unwrap().as_deref(), Some("secret"));
        std::fs::write(&path, format!("#{pad}\n{line}")).unwrap();
        assert!(matches!(read(&path), Err(StoreError::PassFile { .. })));
    }
}
