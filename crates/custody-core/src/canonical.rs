//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of every signed record.
//!
//! Object members sorted by their UTF-16 code units, no insignificant white space, strings
//! escaped minimally, numbers in ECMAScript shortest form.
//!
//! Object member names must be unique (RFC 8785 §3.1, I-JSON). JSON text is read as RFC 8785
//! says: every number is a binary64 value, so `9007199254740993` canonicalises to
//! `9007199254740992`. When serialising Rust values, an integer outside ±2^53 (where binary64
//! stops holding every integer exactly) is refused rather than silently rounded; records
//! carry such values as strings.

use std::cmp::Ordering;
use std::fmt::Write as _;

/// The largest integer magnitude every binary64 number can represent exactly (2^53).
pub const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// A value that has no canonical JSON form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// Serialisation failed or produced a non-finite number.
    #[error("cannot canonicalise: {0}")]
    Serialize(String),
    /// The input bytes are not JSON.
    #[error("not valid JSON: {0}")]
    Parse(String),
    /// An object names the same member twice.
    #[error("duplicate object member {key:?}")]
    DuplicateKey {
        /// The member name.
        key: String,
    },
    /// An integer outside ±2^53, which a binary64 number cannot hold exactly.
    #[error("integer {value} is outside ±2^53 and cannot be canonicalised exactly; carry it as a string")]
    IntegerOutOfRange {
        /// The integer as written.
        value: String,
    },
    /// NaN or an infinity, which JSON cannot express.
    #[error("non-finite number {value}")]
    NonFinite {
        /// The number as Rust formats it.
        value: String,
    },
}

/// A parsed JSON value that keeps every object member, so duplicates can be reported.
enum Json {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Int(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            members.push((key, value));
        }
        Ok(Json::Object(members))
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Json::Int(i.into()),
                (None, Some(u)) => Json::Int(u.into()),
                _ => Json::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Json::String(s),
            Value::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            Value::Object(map) => {
                Json::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

/// Serialises `value` to canonical JSON bytes.
///
/// `serde_json` turns a non-finite `f64` field into `null` before this function sees it;
/// Custody records hold no floating-point fields, so that conversion never arises for them.
pub fn to_canonical_vec<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<u8>, CanonicalError> {
    let value =
        serde_json::to_value(value).map_err(|e| CanonicalError::Serialize(e.to_string()))?;
    let mut out = String::new();
    write_value(&mut out, &Json::from(value), IntegerRule::Exact)?;
    Ok(out.into_bytes())
}

/// Re-encodes JSON bytes canonically.
pub fn canonicalize(json: &[u8]) -> Result<Vec<u8>, CanonicalError> {
    let value: Json =
        serde_json::from_slice(json).map_err(|e| CanonicalError::Parse(e.to_string()))?;
    let mut out = String::new();
    write_value(&mut out, &value, IntegerRule::AsBinary64)?;
    Ok(out.into_bytes())
}

/// Whether `json` is already exactly in canonical form (what a verifier checks before
/// trusting a signature over it).
pub fn is_canonical(json: &[u8]) -> bool {
    canonicalize(json).map(|c| c == json).unwrap_or(false)
}

/// Formats a binary64 number as ECMAScript's `Number.prototype.toString` does
/// (RFC 8785 §3.2.2.3). Non-finite numbers have no JSON form.
pub fn format_number(value: f64) -> Result<String, CanonicalError> {
    if !value.is_finite() {
        return Err(CanonicalError::NonFinite {
            value: value.to_string(),
        });
    }
    if value == 0.0 {
        // Both zeros print as "0".
        return Ok("0".to_owned());
    }
    Ok(ryu_js::Buffer::new().format_finite(value).to_owned())
}

/// Orders member names by their UTF-16 code units (RFC 8785 §3.2.3).
fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// How integers beyond ±2^53 are treated.
#[derive(Clone, Copy)]
enum IntegerRule {
    /// Refuse them (serialising Rust values: rounding would change what is signed).
    Exact,
    /// Read them as the nearest binary64 number (parsing JSON text, per RFC 8785).
    AsBinary64,
}

fn write_value(out: &mut String, value: &Json, rule: IntegerRule) -> Result<(), CanonicalError> {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Int(i) => {
            if i.unsigned_abs() <= u128::from(MAX_EXACT_INTEGER) {
                // Within ±2^53 the ECMAScript form of the number is its plain decimal.
                let _ = write!(out, "{i}");
            } else if let IntegerRule::AsBinary64 = rule {
                // i128 → f64 rounds to nearest, as a JSON parser reading binary64 does.
                out.push_str(&format_number(*i as f64)?);
            } else {
                return Err(CanonicalError::IntegerOutOfRange {
                    value: i.to_string(),
                });
            }
        }
        Json::Float(f) => out.push_str(&format_number(*f)?),
        Json::String(s) => write_string(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, rule)?;
            }
            out.push(']');
        }
        Json::Object(members) => {
            let mut sorted: Vec<&(String, Json)> = members.iter().collect();
            sorted.sort_by(|a, b| utf16_order(&a.0, &b.0));
            if let Some(pair) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(CanonicalError::DuplicateKey {
                    key: pair[0].0.clone(),
                });
            }
            out.push('{');
            for (i, (key, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item, rule)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// Escapes a string per RFC 8785 §3.2.2.2: the two-character escapes for `\b \t \n \f \r
/// " \`, `\u00xx` (lower-case hex) for other controls, every other character as UTF-8.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        String::from_utf8(canonicalize(text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn rfc8785_section_3_2_2_sample() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_section_3_2_3_sorting_with_non_bmp() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
            \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
            \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
        assert_eq!(canon(input), expected);
    }

    /// RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text.
    #[test]
    fn rfc8785_appendix_b_numbers() {
        let table = [
            (0x0000000000000000u64, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
        ];
        for (bits, expected) in table {
            let value = f64::from_bits(bits);
            assert_eq!(format_number(value).unwrap(), expected, "bits {bits:016x}");
            // The same number written in JSON canonicalises to the same text.
            let json = format!("[{}]", format_number(value).unwrap());
            assert_eq!(canon(&json), json, "bits {bits:016x}");
        }
    }

    #[test]
    fn fail_nan_and_infinity() {
        for bits in [
            0x7fffffffffffffffu64,
            0x7ff0000000000000,
            0xfff0000000000000,
        ] {
            assert!(matches!(
                format_number(f64::from_bits(bits)),
                Err(CanonicalError::NonFinite { .. })
            ));
        }
    }

    #[test]
    fn fail_duplicate_member() {
        let err = canonicalize(br#"{"a":1,"b":2,"a":3}"#).unwrap_err();
        assert!(
            matches!(err, CanonicalError::DuplicateKey { ref key } if key == "a"),
            "{err}"
        );
    }

    #[test]
    fn fail_serialising_integer_beyond_2_pow_53() {
        let err = to_canonical_vec(&[9_007_199_254_740_993u64]).unwrap_err();
        assert!(
            matches!(err, CanonicalError::IntegerOutOfRange { ref value } if value == "9007199254740993")
        );
        assert_eq!(
            to_canonical_vec(&[1u64 << 53]).unwrap(),
            b"[9007199254740992]"
        );
    }

    #[test]
    fn parsed_integers_are_binary64_numbers() {
        assert_eq!(
            canon("[9007199254740993,-9007199254740993]"),
            "[9007199254740992,-9007199254740992]"
        );
        assert_eq!(
            canon("[69846875267991220, 1e21, 100000000000000000000]"),
            "[69846875267991220,1e+21,100000000000000000000]"
        );
        assert!(!is_canonical(b"[9007199254740993]"));
    }

    #[test]
    fn fail_not_json() {
        assert!(matches!(
            canonicalize(b"{\"a\":"),
            Err(CanonicalError::Parse(_))
        ));
        assert!(matches!(
            canonicalize(b"[1,]"),
            Err(CanonicalError::Parse(_))
        ));
    }

    #[test]
    fn escapes_controls_in_lower_case_hex() {
        assert_eq!(
            canon(r#""\u001F\u0000\b\t\n\f\r\u007f""#),
            "\"\\u001f\\u0000\\b\\t\\n\\f\\r\u{7f}\""
        );
    }

    #[test]
    fn nested_objects_are_sorted_and_compact() {
        assert_eq!(
            canon(r#" { "b" : [ { "z":1, "a":2 } ], "a" : {} } "#),
            r#"{"a":{},"b":[{"a":2,"z":1}]}"#
        );
    }

    #[test]
    fn struct_serialisation_matches_reparsing() {
        #[derive(serde::Serialize)]
        struct Event {
            zeta: u64,
            alpha: &'static str,
            size: f64,
        }
        let bytes = to_canonical_vec(&Event {
            zeta: 3,
            alpha: "é\n",
            size: 2.5,
        })
        .unwrap();
        assert_eq!(
            bytes,
            "{\"alpha\":\"é\\n\",\"size\":2.5,\"zeta\":3}".as_bytes()
        );
    }

    #[test]
    fn is_canonical_detects_reordering() {
        assert!(is_canonical(br#"{"a":1,"b":2}"#));
        assert!(!is_canonical(br#"{"b":2,"a":1}"#));
        assert!(!is_canonical(br#"{"a": 1}"#));
        assert!(!is_canonical(br#"{"a":1.0}"#));
    }

    proptest::proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point(map in proptest::collection::btree_map(".{0,8}", proptest::num::i32::ANY, 0..8),
                                           floats in proptest::collection::vec(proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO, 0..8),
                                           text in ".{0,16}") {
            let value = serde_json::json!({ "map": map, "floats": floats, "text": text });
            let once = to_canonical_vec(&value).unwrap();
            proptest::prop_assert!(is_canonical(&once));
            proptest::prop_assert_eq!(canonicalize(&once).unwrap(), once.clone());
            let reparsed: serde_json::Value = serde_json::from_slice(&once).unwrap();
            proptest::prop_assert_eq!(&reparsed["text"], &value["text"]);
            proptest::prop_assert_eq!(&reparsed["map"], &value["map"]);
            let back: Vec<f64> = reparsed["floats"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            proptest::prop_assert_eq!(back, floats);
        }
    }
}
