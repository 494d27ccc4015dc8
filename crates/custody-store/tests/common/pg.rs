//! A throw-away PostgreSQL cluster for the ledger tests: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port, trust authentication for one
//! superuser, and `pg_ctl stop` (immediate) when dropped. PostgreSQL refuses to run as
//! root, so under root the server runs as `nobody`, who owns the directory.
//!
//! The binaries are taken from `CUSTODY_PG_BIN`, else `/usr/lib/postgresql/15/bin` (the
//! Debian `postgresql-15` package `.ci/run` installs). A missing server fails the test
//! that needs it: no test passes without having run.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";
const SUPERUSER: &str = "custody";
const UNPRIVILEGED: &str = "nobody";

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    options: String,
    next_db: AtomicU32,
}

fn is_root() -> bool {
    // The uid of /proc/self is the process's own (no libc call needed).
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// `tool` from `bin`, to run as the cluster's owner.
fn owner_command(bin: &Path, tool: &str) -> Command {
    let program = bin.join(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", UNPRIVILEGED, "--"]).arg(&program);
        c
    } else {
        Command::new(&program)
    }
}

fn run_as_owner(bin: &Path, tool: &str, args: &[&str]) {
    let program = bin.join(tool);
    let out = owner_command(bin, tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgCluster {
    pub fn start() -> PgCluster {
        let bin = std::env::var_os("CUSTODY_PG_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN));
        let dir = tempfile::Builder::new()
            .prefix("custody-pg-")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            let status = Command::new("chown")
                .arg(format!("{UNPRIVILEGED}:"))
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the cluster directory");
        }
        let data = dir.path().join("data");
        let data = data.to_str().expect("utf-8 temp path");
        run_as_owner(
            &bin,
            "initdb",
            &[
                "-D",
                data,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        // A port the kernel just handed out and released: free unless another process
        // takes it in between, in which case `pg_ctl start` fails and says so.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let socket_dir = dir.path().to_str().expect("utf-8 temp path");
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={socket_dir}"
        );
        let cluster = PgCluster {
            dir,
            bin,
            port,
            options,
            next_db: AtomicU32::new(0),
        };
        cluster.start_server();
        cluster
    }

    fn data_dir(&self) -> String {
        let data = self.dir.path().join("data");
        data.to_str().expect("utf-8 temp path").to_owned()
    }

    fn start_server(&self) {
        let log = self.dir.path().join("server.log");
        run_as_owner(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-l",
                log.to_str().expect("utf-8 temp path"),
                "-o",
                &self.options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server for good (immediate), as a server that went away would.
    pub fn stop(&self) {
        run_as_owner(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Ends every other session on database `db` from the server's side
    /// (`pg_terminate_backend`), as a dropped connection would.
    pub fn terminate_sessions(&self, db: &str) {
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test cluster");
        let ended = admin
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&db],
            )
            .expect("terminate");
        assert!(!ended.is_empty(), "no session on {db}");
    }

    /// Kills the server as a crash would (`pg_ctl stop -m immediate`: no shutdown
    /// checkpoint, recovery from the WAL on the next start), then starts it again.
    pub fn crash_and_restart(&self) {
        run_as_owner(
            &self.bin,
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "-w", "stop"],
        );
        self.start_server();
    }

    fn url(&self, db: &str) -> String {
        format!("postgresql://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Adds a login role `user` that must give `password` (SCRAM) over TCP, and a database
    /// of the same name it owns; the URL of that database, without the password.
    pub fn password_role(&self, user: &str, password: &str) -> String {
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test cluster");
        admin
            .batch_execute(&format!(
                "SET password_encryption = 'scram-sha-256'; \
                 CREATE ROLE {user} LOGIN PASSWORD '{password}'"
            ))
            .expect("create role");
        admin
            .batch_execute(&format!("CREATE DATABASE {user} OWNER {user}"))
            .expect("create database");
        let hba = self.dir.path().join("data/pg_hba.conf");
        let rest = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        std::fs::write(
            &hba,
            format!("host all {user} 127.0.0.1/32 scram-sha-256\n{rest}"),
        )
        .expect("pg_hba.conf");
        admin
            .batch_execute("SELECT pg_reload_conf()")
            .expect("reload");
        format!("postgresql://{user}@127.0.0.1:{}/{user}", self.port)
    }

    /// A new, empty database on the cluster, as a `postgresql://` URL.
    pub fn fresh_database(&self) -> String {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("ledger_{n}");
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the test cluster");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        // Never panics (a drop during unwinding must not): a server left running is
        // stopped by its data directory's removal at worst.
        let _ = owner_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}
