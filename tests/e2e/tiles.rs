//! `custody ledger export-tiles`: a ledger published as C2SP tlog-tiles, read by an
//! independent tlog-tiles client (`tlog-scales`, pinned in scripts/validators.txt; its
//! `python3` must be on PATH: source scripts/validators.sh). A missing client fails the
//! test, never skips it.

use std::process::Command;

use crate::ledger::{custody, ledger_with_alice, with_bob_case_and_item};

/// Checks an exported directory with tlog-scales alone: the checkpoint's signature under
/// the log verifier key, the root recomputed from the tiles, and every entry's inclusion.
/// Prints the entries, one hex line each.
const CLIENT: &str = r#"
import sys
from tlog_scales import backend, signing, tiles
from tlog_scales.reader import TilesReader
reader = TilesReader(backend.make_backend(sys.argv[1]))
cp = reader.get_checkpoint()
cp.verify(signing.Vkey.from_string(sys.argv[2]))
assert reader.calculate_root_hash() == cp.root_hash, "root"
for i in range(cp.size):
    leaf = reader.get_entry(i)
    reader.get_inclusion_proof(i, cp.size).check(tiles.leaf_hash(leaf), cp.root_hash)
    print(leaf.hex())
"#;

#[test]
fn an_independent_tlog_tiles_client_reads_the_exported_ledger() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let info = custody(&sb, &["ledger", "info", "--json"]).expect(0);
    let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    let log_key = info["log_verifier_key"].as_str().unwrap().to_owned();
    let size = info["size"].as_u64().unwrap();

    let run = custody(&sb, &["ledger", "export-tiles", "published", "--json"]).expect(0);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["size"], size);
    assert_eq!(out["entry_bundles"], 1);

    let dir = sb.path("published");
    let client = Command::new("python3")
        .args(["-c", CLIENT, &format!("{}/", dir.display()), &log_key])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); source scripts/validators.sh"));
    assert!(
        client.status.success(),
        "tlog-scales refused the export:\n{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let leaves: Vec<String> = String::from_utf8(client.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(leaves.len() as u64, size);
    for (seq, hex) in leaves.iter().enumerate() {
        let entry = sb
            .cmd(&["ledger", "export-entry", &seq.to_string()])
            .env_remove("CUSTODY_LOG_KEY")
            .output()
            .unwrap();
        assert_eq!(
            hex,
            &custody_core::hex::encode(&entry.stdout),
            "entry {seq}"
        );
    }
}

#[test]
fn fail_export_tiles_over_an_existing_directory() {
    let sb = ledger_with_alice();
    std::fs::create_dir(sb.path("published")).unwrap();
    let run = custody(&sb, &["ledger", "export-tiles", "published"]).expect(2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(sb.path("published")).unwrap().count(), 0);
}

pub(crate) fn log_verifier_key(sb: &crate::harness::Sandbox) -> String {
    let info = custody(sb, &["ledger", "info", "--json"]).expect(0);
    let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    info["log_verifier_key"].as_str().unwrap().to_owned()
}

pub(crate) fn verify_url(
    sb: &crate::harness::Sandbox,
    url: &str,
    key: &str,
    code: i32,
) -> serde_json::Value {
    let seen = sb.path("seen");
    let run = custody(
        sb,
        &[
            "ledger",
            "verify",
            "--url",
            url,
            "--log-verifier-key",
            key,
            "--seen-dir",
            seen.to_str().unwrap(),
            "--json",
        ],
    )
    .expect(code);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn a_published_ledger_verifies_from_its_tiles_and_stays_consistent_as_it_grows() {
    let sb = ledger_with_alice();
    let key = log_verifier_key(&sb);
    custody(&sb, &["ledger", "export-tiles", "v1"]).expect(0);
    let dir = sb.path("v1");
    let first = verify_url(&sb, dir.to_str().unwrap(), &key, 0);
    assert_eq!(first["verdict"], "verified");
    assert_eq!(first["size"], 1);
    assert_eq!(first["seen_checkpoints"], 0);
    assert_eq!(first["newly_seen"], true);

    with_bob_case_and_item(&sb);
    custody(&sb, &["ledger", "export-tiles", "v2"]).expect(0);
    let grown = verify_url(&sb, sb.path("v2").to_str().unwrap(), &key, 0);
    assert_eq!(grown["verdict"], "verified");
    assert_eq!(grown["seen_checkpoints"], 1);
    assert!(grown["size"].as_u64().unwrap() > 1);

    // Served again, the old publication shows less than was seen since: a rolled-back
    // (cut) log is reported, never accepted as current.
    let old = verify_url(&sb, dir.to_str().unwrap(), &key, 1);
    assert_eq!(old["newly_seen"], false);
    assert_eq!(old["findings"][0]["code"], "outside_checkpoint_ahead");
    assert_eq!(old["findings"][0]["ledger_size"], 1);
}

#[test]
fn fail_published_entry_edited_is_reported() {
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let key = log_verifier_key(&sb);
    custody(&sb, &["ledger", "export-tiles", "pub"]).expect(0);
    // The same entry edited in both bundle formats (the client reads the Custody one, and
    // the tlog-tiles one when no Custody bundle is published).
    for dir in ["pub/tile/entries/000.p", "pub/custody/entries/000.p"] {
        let file = std::fs::read_dir(sb.path(dir))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut bytes = std::fs::read(&file).unwrap();
        let at = bytes.windows(5).position(|w| w == b"Fraud").unwrap();
        bytes[at] = b'G';
        std::fs::write(&file, bytes).unwrap();
    }
    let out = verify_url(&sb, sb.path("pub").to_str().unwrap(), &key, 1);
    assert_eq!(out["verdict"], "failed");
    assert_eq!(out["findings"][0]["code"], "leaf_hash_mismatch");
}

#[test]
fn fail_published_checkpoint_under_another_key_is_reported() {
    let sb = ledger_with_alice();
    custody(&sb, &["ledger", "export-tiles", "pub"]).expect(0);
    let other = crate::ledger::new_key(&sb, "other.example", "other.key");
    let out = verify_url(&sb, sb.path("pub").to_str().unwrap(), &other, 1);
    assert_eq!(out["findings"][0]["code"], "checkpoint_signature");
    assert!(
        !sb.path("seen").exists()
            || std::fs::read_dir(sb.path("seen")).unwrap().all(|d| {
                std::fs::read_dir(d.unwrap().path())
                    .unwrap()
                    .next()
                    .is_none()
            })
    );
}

/// A static web server (Python's http.server on the loopback interface) publishes the
/// export; the client fetches it over HTTP.
#[test]
fn a_ledger_served_by_a_static_web_server_verifies_over_http() {
    use std::io::BufRead as _;
    let sb = ledger_with_alice();
    with_bob_case_and_item(&sb);
    let key = log_verifier_key(&sb);
    custody(&sb, &["ledger", "export-tiles", "pub"]).expect(0);
    let mut server = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(sb.path("pub"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "Serving HTTP on 127.0.0.1 port 12345 (http://127.0.0.1:12345/) ..."
    let port: u16 = line
        .split_whitespace()
        .skip_while(|w| *w != "port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    let url = format!("http://127.0.0.1:{port}/");
    let ok = verify_url(&sb, &url, &key, 0);
    let missing = verify_url(&sb, &format!("{url}nothing-here"), &key, 1);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(ok["verdict"], "verified");
    assert_eq!(missing["findings"][0]["code"], "missing_resource");
}

/// `custody serve` running in the sandbox; killed when dropped.
pub(crate) struct Server {
    child: std::process::Child,
    addr: String,
}

impl Server {
    pub(crate) fn start(sb: &crate::harness::Sandbox) -> Server {
        Self::start_with(sb, &["serve", "--listen", "127.0.0.1:0"])
    }

    pub(crate) fn start_with(sb: &crate::harness::Sandbox, args: &[&str]) -> Server {
        use std::io::BufRead as _;
        let mut child = sb
            .cmd(args)
            .env_remove("CUSTODY_LOG_KEY")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn custody serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "serving ORIGIN on http://127.0.0.1:PORT/"
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{line:?}");
        Server { child, addr }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The `host:port` it listens on.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A request announcing a `Content-Length` of `length` and sending no body: (status,
    /// lower-cased head, body).
    pub(crate) fn announce(&self, method: &str, path: &str, length: u64) -> (u16, String, Vec<u8>) {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {length}\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
        let status = head[9..12].parse().unwrap();
        (status, head, raw[split + 4..].to_vec())
    }

    /// One raw HTTP/1.0 request: (status, lower-cased head, body).
    pub(crate) fn request(&self, method: &str, path: &str) -> (u16, String, Vec<u8>) {
        self.send(method, path, b"")
    }

    pub(crate) fn send(&self, method: &str, path: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
        self.send_with(method, path, "", body)
    }

    /// `extra` holds further header lines, each ending in CRLF.
    pub(crate) fn send_with(
        &self,
        method: &str,
        path: &str,
        extra: &str,
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {}\r\n{extra}Content-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        )
        .unwrap();
        stream.write_all(body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
        let status = head[9..12].parse().unwrap();
        (status, head, raw[split + 4..].to_vec())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn custody_serve_publishes_tiles_with_cache_headers_and_follows_appends() {
    let sb = ledger_with_alice();
    let key = log_verifier_key(&sb);
    let server = Server::start(&sb);

    let (status, head, body) = server.request("GET", "/checkpoint");
    assert_eq!(status, 200);
    assert!(
        head.contains("content-type: text/plain; charset=utf-8"),
        "{head}"
    );
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(String::from_utf8(body).unwrap().contains("\n1\n"));

    let (status, head, body) = server.request("GET", "/tile/0/000.p/1");
    assert_eq!(status, 200);
    assert!(
        head.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    assert!(
        head.contains("content-type: application/octet-stream"),
        "{head}"
    );
    assert_eq!(body.len(), 32);
    let (status, head, plain) = server.request("GET", "/tile/entries/000.p/1");
    assert_eq!(status, 200);
    assert!(head.contains("immutable"), "{head}");
    assert!(!head.contains("content-encoding"), "{head}");
    // Compressed for a client that accepts gzip, and the same bundle once decompressed.
    let (status, head, gz) = server.send_with(
        "GET",
        "/tile/entries/000.p/1",
        "Accept-Encoding: gzip, identity\r\n",
        b"",
    );
    assert_eq!(status, 200);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, plain);
    let (_, head, _) = server.send_with(
        "GET",
        "/tile/entries/000.p/1",
        "Accept-Encoding: gzip;q=0\r\n",
        b"",
    );
    assert!(!head.contains("content-encoding"), "{head}");

    // A tile the tree does not hold yet, a path outside the spec, a write.
    for path in [
        "/tile/0/000",
        "/tile/0/000.p/2",
        "/tile/0/5",
        "/../custody.db",
    ] {
        let (status, head, body) = server.request("GET", path);
        assert_eq!(status, 404, "{path}");
        assert!(head.contains("application/json"), "{head}");
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(error["error"]["code"], "not_found");
    }
    assert_eq!(server.request("POST", "/checkpoint").0, 405);

    let first = verify_url(&sb, &server.url(), &key, 0);
    assert_eq!(first["verdict"], "verified");
    assert_eq!(first["size"], 1);

    // Appends by another process are published at the next checkpoint request.
    with_bob_case_and_item(&sb);
    let grown = verify_url(&sb, &server.url(), &key, 0);
    assert_eq!(grown["verdict"], "verified");
    assert_eq!(grown["seen_checkpoints"], 1);
    assert!(grown["size"].as_u64().unwrap() > 1);

    // And the independent client reads the served ledger too.
    let client = Command::new("python3")
        .args(["-c", CLIENT, &server.url(), &key])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); source scripts/validators.sh"));
    assert!(
        client.status.success(),
        "tlog-scales refused the served ledger:\n{}",
        String::from_utf8_lossy(&client.stderr)
    );
    assert_eq!(
        String::from_utf8(client.stdout).unwrap().lines().count() as u64,
        grown["size"].as_u64().unwrap()
    );
}

/// Another authority's Custody witnesses this ledger: it cosigns the first checkpoint, then
/// a grown one with a consistency proof, tells a stale submitter the size it holds, and
/// refuses a log it was not configured with.
#[test]
fn custody_witness_cosigns_consistent_checkpoints_only() {
    let sb = ledger_with_alice();
    let key = log_verifier_key(&sb);
    crate::ledger::new_key(&sb, "witness.example/w", "witness.key");
    let witness_key = custody_core::keys::Identity::load(&sb.path("witness.key")).unwrap();
    let server = Server::start_with(
        &sb,
        &[
            "witness",
            "--key",
            "witness.key",
            "--log",
            &key,
            "--state-dir",
            "wstate",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let checkpoint = |sb: &crate::harness::Sandbox| {
        let info = custody(sb, &["ledger", "info", "--json"]).expect(0);
        let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
        info["latest_checkpoint"]["note"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let cosigned = |note: &str, body: &[u8]| {
        let line = String::from_utf8(body.to_vec()).unwrap();
        assert!(line.starts_with("\u{2014} witness.example/w "), "{line}");
        let with = format!("{note}{line}");
        let parsed = custody_core::note::Note::parse(with.as_bytes()).unwrap();
        let body = custody_core::checkpoint::Checkpoint::parse_body(&parsed.text).unwrap();
        custody_core::checkpoint::verify_cosignature(
            &body,
            parsed.signatures.last().unwrap(),
            &witness_key.cosigner_key(),
        )
        .unwrap();
    };

    let first = checkpoint(&sb);
    let (status, _, body) = server.send(
        "POST",
        "/add-checkpoint",
        format!("old 0\n\n{first}").as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    cosigned(&first, &body);

    with_bob_case_and_item(&sb);
    let second = checkpoint(&sb);
    let size: u64 = second.lines().nth(1).unwrap().parse().unwrap();
    let proof = custody_store::Ledger::open(&sb.path("custody.db"))
        .unwrap()
        .consistency_proof(1, size)
        .unwrap();
    let mut request = String::from("old 1\n");
    for h in &proof.hashes {
        use base64::Engine as _;
        request.push_str(&base64::engine::general_purpose::STANDARD.encode(h));
        request.push('\n');
    }
    request.push('\n');
    request.push_str(&second);
    let (status, _, body) = server.send("POST", "/add-checkpoint", request.as_bytes());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    cosigned(&second, &body);

    // A submitter that thinks the witness is still at 1: 409 with the size it holds.
    let (status, head, body) = server.send(
        "POST",
        "/add-checkpoint",
        format!("old 1\n\n{second}").as_bytes(),
    );
    assert_eq!(status, 409);
    assert!(head.contains("content-type: text/x.tlog.size"), "{head}");
    assert_eq!(body, format!("{size}\n").into_bytes());

    // A ledger the witness was not configured with: 404.
    let other = crate::harness::Sandbox::new();
    new_key_at(&other);
    custody(
        &other,
        &[
            "init",
            "--key",
            "carol.key",
            "--origin",
            "other.example/log",
        ],
    )
    .expect(0);
    let foreign = checkpoint(&other);
    let (status, _, _) = server.send(
        "POST",
        "/add-checkpoint",
        format!("old 0\n\n{foreign}").as_bytes(),
    );
    assert_eq!(status, 404);
}

fn new_key_at(sb: &crate::harness::Sandbox) {
    crate::ledger::new_key(sb, "carol@other.example", "carol.key");
}
