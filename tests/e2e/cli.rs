//! Conventions of the command line: shell completions and the man page generated from the
//! clap definition, exit codes in the help, `-q` and `-v`, and what `verify` shows a
//! receiving authority before it uses the evidence.

use crate::harness::Sandbox;
use crate::verify::{custody, sandbox_with};

#[test]
fn completions_and_man_page_are_generated() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = sb.run(&["completions", shell]).expect(0);
        assert!(run.stdout.contains("custody"), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("verify"), "{shell}");
        assert!(run.stdout.contains("trust"), "{shell}");
    }
    let bash = sb.run(&["completions", "bash"]).expect(0);
    assert!(
        bash.stdout.contains("complete -F _custody"),
        "{}",
        bash.stdout
    );
    let run = sb.run(&["completions", "tcsh"]).expect(2);
    assert!(
        run.stderr.contains("invalid value 'tcsh'"),
        "{}",
        run.stderr
    );

    let man = sb.run(&["man"]).expect(0);
    assert!(
        man.stdout.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        man.stdout
    );
    assert!(man.stdout.contains(".TH custody 1"), "{}", man.stdout);
    assert!(man.stdout.contains("Exit codes:"), "{}", man.stdout);

    std::fs::create_dir(sb.path("man")).unwrap();
    let run = sb.run(&["man", "--out-dir", "man"]).expect(0);
    assert!(
        run.stdout.contains("man/custody-verify.1\n"),
        "{}",
        run.stdout
    );
    let verify = std::fs::read_to_string(sb.path("man/custody-verify.1")).unwrap();
    assert!(verify.contains(".TH custody-verify 1"), "{verify}");
    assert!(verify.contains("Exit codes:"), "{verify}");
    assert!(sb.path("man/custody-trust-add.1").is_file());
    assert!(sb.path("man/custody-ledger-info.1").is_file());
    assert!(!sb.path("man/custody-help.1").exists());
    // Only pages: no temporary file left behind.
    assert!(std::fs::read_dir(sb.path("man")).unwrap().all(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".1")));
    let run = sb.run(&["man", "--out-dir", "missing/dir"]).expect(2);
    assert!(
        run.stderr
            .starts_with("custody: error: cannot write man pages into missing/dir"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_codes_are_in_the_help_of_every_verifying_command() {
    let sb = Sandbox::new();
    let exit_codes = "Exit codes:\n  0  verified / done\n  1  verification ran and failed (tampering, mismatch, untrusted or revoked signer)\n  2  could not run: usage error, malformed or unreadable input, I/O error\n";
    for args in [
        &["--help"][..],
        &["verify", "--help"],
        &["receive", "--help"],
        &["acknowledge", "--help"],
        &["verify-proof", "--help"],
        &["ledger", "verify", "--help"],
    ] {
        let run = sb.run(args).expect(0);
        assert!(
            run.stdout.ends_with(exit_codes),
            "{args:?}:\n{}",
            run.stdout
        );
    }
    let run = sb.run(&["--help"]).expect(0);
    assert!(run.stdout.contains("-q, --quiet"), "{}", run.stdout);
    assert!(run.stdout.contains("-v, --verbose"), "{}", run.stdout);
}

#[test]
fn quiet_keeps_the_verdict_line_only() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["-q", "verify", "pkg.zip", "--trust", "officer.pub"]).expect(0);
    // The verdict and what it proved; not the statement, not the signers.
    assert!(
        run.stdout
            .starts_with("VERIFIED: package PKG-1 (pkg.zip)\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("recipient:"), "{}", run.stdout);
    assert!(!run.stdout.contains("signer "), "{}", run.stdout);
    assert_eq!(run.stderr, "");
    let run = custody(
        &sb,
        &["verify", "pkg.zip", "--trust", "stranger.pub", "--quiet"],
    )
    .expect(1);
    assert_eq!(run.stderr, "");
    assert!(
        run.stdout
            .starts_with("NOT VERIFIED: pkg.zip (2 findings)\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("recipient:"), "{}", run.stdout);
    // Nothing on success for a command that does not verify; errors still shown.
    let run = custody(&sb, &["-q", "trust", "add", "paris", "officer.pub"]).expect(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    let run = custody(&sb, &["-q", "trust", "add", "paris", "officer.pub"]).expect(2);
    assert!(run.stderr.starts_with("custody: error: "), "{}", run.stderr);
    // The warning that the store is empty is not shown under -q.
    custody(&sb, &["-q", "trust", "remove", "paris"]).expect(0);
    let run = custody(&sb, &["-q", "verify", "pkg.zip"]).expect(1);
    assert_eq!(run.stderr, "");
    let run = custody(&sb, &["-q", "-v", "verify", "pkg.zip"]).expect(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}

#[test]
fn verbose_adds_step_detail_on_stderr() {
    let sb = sandbox_with("pkg.zip");
    custody(&sb, &["trust", "add", "paris", "officer.pub"]).expect(0);
    let quiet = custody(&sb, &["verify", "pkg.zip"]).expect(0);
    let run = custody(&sb, &["verify", "-v", "pkg.zip"]).expect(0);
    assert_eq!(run.stdout, quiet.stdout);
    assert!(
        run.stderr
            .contains("trusting 1 signer key(s) from the trust store "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("payload: 2 item(s), 32 B hashed with SHA-256 and BLAKE3"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "signatures: 1 file(s), 1 by a trusted, active, unrevoked key\nfindings: 0\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn verify_shows_the_conditions_of_use() {
    let sb = sandbox_with("pkg.zip");
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "officer.pub"]).expect(0);
    let expected = "\
package PKG-1 (verified statement):
  case:              C-1
  sealed:            2026-03-02T12:00:00Z
  sender:            Parquet de Paris, FR (ledger ledger.parquet-paris.example/custody)
  recipient:         Staatsanwaltschaft Berlin
  request reference: not stated
  legal basis:       not stated
  use limitations:   none stated
  confidential:      no
  personal data:     none stated
  retention until:   not stated
  items:             2
    C-1-1  data/C-1-1/disk.img          23 B
    C-1-2  data/C-1-2                    9 B
";
    assert!(
        run.stdout
            .starts_with("VERIFIED: package PKG-1 (pkg.zip)\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(expected), "{}", run.stdout);
    let json = custody(
        &sb,
        &["verify", "pkg.zip", "--trust", "officer.pub", "--json"],
    )
    .expect(0)
    .json();
    let package = &json["package"];
    assert_eq!(package["verified"], true);
    assert_eq!(
        package["recipient"]["authority"],
        "Staatsanwaltschaft Berlin"
    );
    assert_eq!(package["use_limitations"], serde_json::json!([]));
    assert_eq!(package["items"][0]["id"], "C-1-1");
    assert_eq!(package["items"][0]["size"], 23);
    assert_eq!(package["items"][0]["sha256"].as_str().unwrap().len(), 64);

    // A package that does not verify: the statement is marked, never presented as fact.
    let run = custody(&sb, &["verify", "pkg.zip", "--trust", "stranger.pub"]).expect(1);
    assert!(
        run.stdout
            .contains("package statement, NOT VERIFIED (do not rely on it):\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("verified statement"), "{}", run.stdout);
}
