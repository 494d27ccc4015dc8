//! The CLI on a ledger kept in PostgreSQL (a throw-away cluster): the database password a
//! `--ledger` URL carries is never printed, whatever the command, its output form, or the
//! way it ends.

use crate::harness::Sandbox;
use crate::verify::new_key;

#[allow(dead_code)]
#[path = "../../crates/custody-store/tests/common/pg.rs"]
mod pg;

const PASSWORD: &str = "s3cret-Pa55";

#[test]
fn fail_database_password_is_never_printed() {
    let cluster = pg::PgCluster::start();
    let plain = cluster.fresh_database();
    // Trust authentication: the server never asks for the password the URL carries.
    let url = plain.replacen("://custody@", &format!("://custody:{PASSWORD}@"), 1);
    assert_ne!(url, plain);
    let sb = Sandbox::new();
    new_key(sb.dir.path(), "officer", "officer@parquet-paris.example");
    new_key(sb.dir.path(), "other", "other@parquet-paris.example");
    let run = |args: &[&str], code: i32| {
        let mut full = args.to_vec();
        full.extend(["--ledger", &url]);
        let out = sb.run(&full).expect(code);
        for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !text.contains(PASSWORD),
                "custody {args:?} printed the password on {stream}:\n{text}"
            );
        }
        out
    };
    let origin = "ledger.parquet-paris.example/custody";
    run(&["init", "--key", "officer.key", "--origin", origin], 0);
    run(&["init", "--key", "officer.key", "--origin", origin], 2);
    run(
        &["init", "--key", "officer.key", "--origin", origin, "--json"],
        2,
    );
    run(
        &[
            "case",
            "open",
            "C-1",
            "--key",
            "officer.key",
            "--title",
            "Fraud",
        ],
        0,
    );
    // Refused appends name the ledger: an unknown actor, a log key that is not the ledger's.
    run(
        &["case", "open", "C-2", "--key", "other.key", "--title", "T"],
        2,
    );
    std::fs::create_dir_all(sb.path("elsewhere")).unwrap();
    new_key(&sb.path("elsewhere"), "log", "ledger.parquet-paris.example");
    run(
        &[
            "case",
            "open",
            "C-3",
            "--key",
            "officer.key",
            "--title",
            "T",
            "--log-key",
            "elsewhere/log.key",
        ],
        2,
    );
    for args in [
        &["log"][..],
        &["log", "--json"],
        &["log", "--case", "C-404"],
        &["ledger", "verify"],
        &["ledger", "verify", "--json"],
        &["ledger", "info"],
        &["ledger", "info", "--json"],
        &["ledger", "reindex"],
        &["ledger", "reindex", "--json"],
        &["item", "list"],
        &["item", "show", "E-404"],
        &["checkpoint", "--json"],
    ] {
        // Whatever each ends with, its output is checked.
        let out = sb.run(&[args, &["--ledger", &url][..]].concat());
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains(PASSWORD), "custody {args:?}:\n{text}");
        }
    }
    // Once the server is gone, the connection error does not show it either.
    drop(cluster);
    run(&["ledger", "verify"], 2);
    run(&["ledger", "verify", "--json"], 2);
}

/// The password comes from a libpq password file (`PGPASSFILE`) instead of the URL; the
/// server asks for it (SCRAM). Without the file the connection is refused, with a file
/// others may read it is refused before anything is sent, and the password is never
/// printed.
#[test]
fn ledger_password_is_read_from_the_password_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let cluster = pg::PgCluster::start();
    let url = cluster.password_role("keeper", PASSWORD);
    let sb = Sandbox::new();
    new_key(sb.dir.path(), "officer", "officer@parquet-paris.example");
    let passfile = sb.path("pgpass");
    let (host_port, _) = url
        .trim_start_matches("postgresql://keeper@")
        .split_once('/')
        .unwrap();
    std::fs::write(
        &passfile,
        format!("{host_port}:keeper:someone:else\n{host_port}:keeper:keeper:{PASSWORD}\n"),
    )
    .unwrap();
    let run = |file: Option<&std::path::Path>, args: &[&str], code: i32| {
        let mut cmd = sb.cmd(args);
        cmd.env("CUSTODY_LEDGER", &url).env_remove("PGPASSFILE");
        if let Some(file) = file {
            cmd.env("PGPASSFILE", file);
        }
        let out = cmd.output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stdout}{stderr}");
        assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
        stderr.into_owned()
    };
    let origin = "ledger.parquet-paris.example/custody";
    let init = ["init", "--key", "officer.key", "--origin", origin];
    // No file (nor a home directory holding one): the server refuses.
    let refused = run(Some(&sb.path("none")), &init, 2);
    assert!(refused.contains("password"), "{refused}");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = run(Some(&passfile), &init, 2);
    assert!(refused.contains("group or others"), "{refused}");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    run(Some(&passfile), &init, 0);
    run(Some(&passfile), &["ledger", "verify"], 0);
}
