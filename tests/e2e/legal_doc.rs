//! docs/legal.md names the commands and options that serve each treaty provision; every
//! `custody …` command it writes must exist as written in the binary's own help, so that
//! the page cannot promise an option the program does not have.

use crate::harness::Sandbox;

/// The text of `docs/<name>`.
fn doc(name: &str) -> String {
    let path = format!("{}/../../docs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `code` spans of `text` that start with `custody `.
fn commands(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("custody "))
        .map(str::to_owned)
        .collect()
}

/// A command as the page writes it: the subcommand words (lower-case words right after
/// `custody`), the event kind written after an `ITEM` placeholder, and the options.
struct Written {
    path: Vec<String>,
    kind: Option<String>,
    options: Vec<String>,
}

fn is_word(token: &str) -> bool {
    !token.is_empty() && token.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

fn parse(command: &str) -> Written {
    let tokens: Vec<&str> = command.split_whitespace().skip(1).collect();
    let path: Vec<String> = tokens
        .iter()
        .take_while(|t| is_word(t) && !t.starts_with('-'))
        .map(|t| (*t).to_owned())
        .collect();
    let rest = &tokens[path.len()..];
    let kind = match rest {
        ["ITEM", kind, ..] if is_word(kind) && !kind.starts_with('-') => Some((*kind).to_owned()),
        _ => None,
    };
    let options = rest
        .iter()
        .filter(|t| t.starts_with("--"))
        .map(|t| (*t).to_owned())
        .collect();
    Written {
        path,
        kind,
        options,
    }
}

/// Whether `help` lists `option` as one of its options (`--name`, `--name <VALUE>`, or
/// `-x, --name …`).
fn lists_option(help: &str, option: &str) -> bool {
    help.lines().any(|line| {
        let line = line.trim_start();
        let (short, long) = match line.split_once(", ") {
            Some((short, rest)) if short.len() == 2 && short.starts_with('-') => {
                (Some(short), rest)
            }
            _ => (None, line),
        };
        short == Some(option) || long == option || long.starts_with(&format!("{option} "))
    })
}

/// The event kinds `custody event --help` names in its `<KIND>` description.
fn event_kinds(help: &str) -> Vec<String> {
    let line = help
        .lines()
        .find(|l| l.contains("What happened:"))
        .unwrap_or_else(|| panic!("no list of kinds in:\n{help}"));
    line.split(|c: char| !(c.is_ascii_lowercase() || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_command_in_legal_md_exists_as_written() {
    let sb = Sandbox::new();
    let written = commands(&doc("legal.md"));
    // The page names the commands of every row of its table; fewer than this means the
    // spans were not found, and the test would check nothing.
    assert!(written.len() >= 10, "{written:?}");
    let mut problems = Vec::new();
    for command in &written {
        let Written {
            path,
            kind,
            options,
        } = parse(command);
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = sb.run(&args);
        let usage = format!("Usage: custody {}", path.join(" "));
        if run.code != 0 || !run.stdout.contains(&usage) {
            problems.push(format!(
                "`{command}`: no such command ({})",
                run.stderr.trim()
            ));
            continue;
        }
        for option in options {
            if !lists_option(&run.stdout, &option) {
                problems.push(format!(
                    "`{command}`: `custody {}` has no {option}",
                    path.join(" ")
                ));
            }
        }
        if let Some(kind) = kind.filter(|_| path == ["event"]) {
            if !event_kinds(&run.stdout).contains(&kind) {
                problems.push(format!("`{command}`: no event kind {kind}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn fail_an_option_the_binary_lacks_is_caught() {
    let sb = Sandbox::new();
    let help = sb.run(&["seal", "--help"]).expect(0).stdout;
    assert!(lists_option(&help, "--encrypt-to"));
    assert!(lists_option(&help, "-q"), "short options count too: {help}");
    assert!(
        !lists_option(&help, "--encrypt"),
        "a prefix is not the option"
    );
    assert!(!lists_option(&help, "--identity"));
    let written = parse("custody event ITEM destroyed --method TEXT --authority REF");
    assert_eq!(written.path, ["event"]);
    assert_eq!(written.kind.as_deref(), Some("destroyed"));
    assert_eq!(written.options, ["--method", "--authority"]);
    let kinds = event_kinds(&sb.run(&["event", "--help"]).expect(0).stdout);
    assert!(kinds.iter().any(|k| k == "onward-transfer-authorised"));
    assert!(!kinds.iter().any(|k| k == "deleted"));
}
