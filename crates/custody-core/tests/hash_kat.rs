//! Known-answer tests for the streaming hasher: FIPS 180-4 SHA-256 / SHA-512 examples,
//! RFC 1321 MD5 and RFC 3174 SHA-1 examples, and the official BLAKE3 test vectors, each
//! checked through both `hash_reader` and `copy_and_hash` (whose writer must receive exactly
//! the input).

use std::io::{self, Read};

use custody_core::hash::{
    copy_and_hash, hash_reader, hash_reader_multi, Algorithm, Digests, CHUNK_SIZE,
};
use custody_core::hex;

const BLAKE3_VECTORS: &str = include_str!("testdata/blake3_test_vectors.json");

/// A reader that hands out at most `step` bytes per call, to exercise short reads.
struct Dribble<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Hashes `input` every way the module offers and checks that all agree and the copy is exact.
fn digests_of(input: &[u8]) -> Digests {
    let mut seen = Vec::new();
    let by_reader = hash_reader(input, &mut |n| seen.push(n)).unwrap();
    assert_eq!(by_reader.size, input.len() as u64);
    assert_eq!(
        seen.last().copied(),
        Some(input.len() as u64),
        "progress reaches the end"
    );
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back"
    );

    let mut copy = Vec::new();
    let by_copy = copy_and_hash(input, &mut copy, &mut |_| {}).unwrap();
    assert_eq!(by_copy, by_reader);
    assert!(copy == input, "writer received exactly the input");

    let dribbled = hash_reader(
        Dribble {
            data: input,
            step: 4099,
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(dribbled, by_reader);
    by_reader
}

fn sha256_of(input: &[u8]) -> String {
    digests_of(input).sha256_hex()
}

fn multi_hex(input: &[u8], algorithm: Algorithm) -> String {
    let out = hash_reader_multi(input, &[algorithm], &mut |_| {}).unwrap();
    hex::encode(&out[0])
}

#[test]
fn sha256_fips_180_abc() {
    assert_eq!(
        sha256_of(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn sha256_fips_180_two_block_message() {
    assert_eq!(
        sha256_of(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}

#[test]
fn sha256_fips_180_million_a() {
    // Just under one chunk: hashed on the calling thread.
    let input = vec![b'a'; 1_000_000];
    assert_eq!(
        sha256_of(&input),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
}

#[test]
fn sha256_of_empty_input() {
    let d = digests_of(b"");
    assert_eq!(d.size, 0);
    assert_eq!(
        d.sha256_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn sha512_fips_180_abc() {
    assert_eq!(
        multi_hex(b"abc", Algorithm::Sha512),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
         2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
}

#[test]
fn md5_rfc_1321_examples() {
    let cases: [(&[u8], &str); 4] = [
        (b"", "d41d8cd98f00b204e9800998ecf8427e"),
        (b"a", "0cc175b9c0f1b6a831c399e269772661"),
        (b"abc", "900150983cd24fb0d6963f7d28e17f72"),
        (b"message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
    ];
    for (input, expected) in cases {
        assert_eq!(multi_hex(input, Algorithm::Md5), expected);
    }
}

#[test]
fn sha1_rfc_3174_examples() {
    assert_eq!(
        multi_hex(b"abc", Algorithm::Sha1),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        multi_hex(
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            Algorithm::Sha1
        ),
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    );
}

#[test]
fn multi_returns_digests_in_the_order_asked() {
    let algorithms = [Algorithm::Blake3, Algorithm::Md5, Algorithm::Sha256];
    let input = vec![7u8; CHUNK_SIZE + 5];
    let out = hash_reader_multi(&input[..], &algorithms, &mut |_| {}).unwrap();
    let d = digests_of(&input);
    assert_eq!(out[0], d.blake3);
    assert_eq!(
        out[1],
        hex::decode(&multi_hex(&input, Algorithm::Md5)).unwrap()
    );
    assert_eq!(out[2], d.sha256);
    for (digest, algorithm) in out.iter().zip(algorithms) {
        assert_eq!(digest.len(), algorithm.digest_len());
    }
}

#[test]
fn blake3_official_vectors() {
    let json: serde_json::Value = serde_json::from_str(BLAKE3_VECTORS).unwrap();
    let cases = json["cases"].as_array().unwrap();
    assert!(cases.len() >= 20, "the vector file is complete");
    for case in cases {
        let len = case["input_len"].as_u64().unwrap() as usize;
        let input: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let expected = &case["hash"].as_str().unwrap()[..64];
        assert_eq!(digests_of(&input).blake3_hex(), expected, "input_len {len}");
        assert_eq!(
            multi_hex(&input, Algorithm::Blake3),
            expected,
            "multi, input_len {len}"
        );
    }
}

/// Inputs around the chunk boundaries, through the threaded path, agree with one-shot hashes
/// of the same bytes.
#[test]
fn chunk_boundaries_agree_with_one_shot_hashes() {
    let sizes = [
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        2 * CHUNK_SIZE,
        5 * CHUNK_SIZE + 12345,
        9 * CHUNK_SIZE,
    ];
    for size in sizes {
        let input: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let d = digests_of(&input);
        let multi = hash_reader_multi(
            &input[..],
            &[Algorithm::Sha256, Algorithm::Blake3],
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(d.sha256.to_vec(), multi[0], "sha256 at {size}");
        assert_eq!(d.blake3.to_vec(), multi[1], "blake3 at {size}");
        assert_eq!(d.size, size as u64);
    }
}

/// The "abc" vectors of FIPS 180-4 (SHA-224, SHA-384), FIPS 202 (SHA3) and RFC 7693
/// Appendices A and B (BLAKE2b-512, BLAKE2s-256): every algorithm `bagit.py` can write.
#[test]
fn bagit_py_algorithms_abc_vectors() {
    let cases = [
        (
            Algorithm::Sha224,
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
        ),
        (
            Algorithm::Sha384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            Algorithm::Sha3_224,
            "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf",
        ),
        (
            Algorithm::Sha3_256,
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
        ),
        (
            Algorithm::Sha3_384,
            "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b2\
             98d88cea927ac7f539f1edf228376d25",
        ),
        (
            Algorithm::Sha3_512,
            "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e\
             10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
        ),
        (
            Algorithm::Blake2b,
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
             7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
        ),
        (
            Algorithm::Blake2s,
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
        ),
    ];
    for (algorithm, expected) in cases {
        let got = multi_hex(b"abc", algorithm);
        assert_eq!(got, expected, "{algorithm:?}");
        assert_eq!(got.len(), algorithm.digest_len() * 2, "{algorithm:?}");
    }
}

#[test]
fn bagit_py_manifest_names_parse() {
    for (name, algorithm) in [
        ("sha3_256", Algorithm::Sha3_256),
        ("sha3-256", Algorithm::Sha3_256),
        ("SHA3_512", Algorithm::Sha3_512),
        ("blake2b", Algorithm::Blake2b),
        ("blake2s", Algorithm::Blake2s),
        ("sha224", Algorithm::Sha224),
        ("sha384", Algorithm::Sha384),
    ] {
        assert_eq!(Algorithm::from_bagit_name(name), Some(algorithm), "{name}");
    }
    for name in ["shake_128", "sha3", "blake2", "sha3_257"] {
        assert_eq!(Algorithm::from_bagit_name(name), None, "{name}");
    }
}
