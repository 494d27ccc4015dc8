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
//!
//! Reading signed JSON from outside goes through [`parse_strict`] and nothing else: the
//! bytes must already be the canonical form (no white space, members sorted, no duplicate
//! member at any depth, minimal escapes, ECMAScript numbers), within [`MAX_STRICT_JSON_BYTES`]
//! and [`MAX_STRICT_JSON_DEPTH`], and the record they decode to must re-encode to exactly
//! the same bytes (so no field the record type does not keep, and no value it would write
//! differently). What a signature was checked over is then exactly what was read.

use std::cmp::Ordering;
use std::fmt::Write as _;

/// The largest integer magnitude every binary64 number can represent exactly (2^53).
pub const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// A value that has no canonical JSON form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
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

/// The largest JSON text [`parse_strict`] reads: 64 MiB, the same ceiling as a package's tag
/// files. An acquisition entry listing 100,000 files is about 20 MiB.
pub const MAX_STRICT_JSON_BYTES: usize = 64 << 20;

/// The deepest nesting of arrays and objects [`parse_strict`] accepts. Custody records nest
/// at most six levels (an entry's `event.evidence.files[i]`); the scan keeps its own stack,
/// so depth never reaches the call stack.
pub const MAX_STRICT_JSON_DEPTH: usize = 32;

/// Why JSON read from outside is not the canonical form of a record. Offsets are byte
/// offsets into the input; paths are JSON Pointers (RFC 6901) to the member or element at
/// fault (`""` is the whole document).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrictJsonError {
    /// The input is larger than [`MAX_STRICT_JSON_BYTES`].
    #[error("larger than the {limit}-byte limit for a JSON record ({size} bytes read)")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Arrays and objects nest deeper than [`MAX_STRICT_JSON_DEPTH`].
    #[error("nesting deeper than {limit} levels at byte {offset}")]
    TooDeep {
        /// Where the level that is one too many opens.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is not UTF-8.
    #[error("not UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// The first byte that is not.
        offset: usize,
    },
    /// The input is not JSON.
    #[error("not JSON: expected {expected} at byte {offset}")]
    Syntax {
        /// Where.
        offset: usize,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// White space outside strings, which the canonical form never has.
    #[error("white space at byte {offset} (not canonical)")]
    WhiteSpace {
        /// Where.
        offset: usize,
    },
    /// Bytes after the JSON value.
    #[error("data after the JSON value at byte {offset}")]
    TrailingData {
        /// Where they start.
        offset: usize,
    },
    /// An object names the same member twice.
    #[error("duplicate member {key:?} in the object at {path:?}")]
    DuplicateKey {
        /// The object.
        path: String,
        /// The member name.
        key: String,
    },
    /// Members not in the canonical order (UTF-16 code units, RFC 8785 §3.2.3).
    #[error("member {key:?} follows {previous:?} in the object at {path:?} (not canonical order)")]
    KeyOrder {
        /// The object.
        path: String,
        /// The member out of place.
        key: String,
        /// The member before it.
        previous: String,
    },
    /// A number not written in its ECMAScript form (`1.0`, `1e2`, `-0`, `1E+30`), or one
    /// outside binary64.
    #[error("number {found} at {path:?} is not canonical ({})", match .canonical { Some(c) => format!("canonical form: {c}"), None => "outside binary64".to_owned() })]
    NonCanonicalNumber {
        /// Where.
        path: String,
        /// The number as written.
        found: String,
        /// Its canonical form, if it has one.
        canonical: Option<String>,
    },
    /// A string escape the canonical form does not use (`\u0041`, `\/`, `\u001F`).
    #[error("string escape {escape} at byte {offset} is not canonical")]
    NonCanonicalEscape {
        /// Where the escape starts.
        offset: usize,
        /// The escape as written.
        escape: String,
    },
    /// Canonical JSON, but not of the record's shape (a missing field, a wrong type).
    #[error("not a valid record: {message}")]
    Shape {
        /// The decoder's message (it names the field and position).
        message: String,
    },
    /// Canonical JSON of the record's shape that the record re-encodes differently: a field
    /// the record does not have, or a value it would write in another form.
    #[error(
        "the record re-encodes differently from byte {offset} (a field or form it does not have)"
    )]
    NotRoundTrip {
        /// The first byte that differs.
        offset: usize,
    },
    /// The record decoded but has no canonical form (an integer beyond ±2^53).
    #[error("{0}")]
    NoCanonicalForm(CanonicalError),
}

/// Reads a signed record from outside: `bytes` must be exactly the canonical JSON of a `T`
/// (see the module documentation and [`check_strict`]), nothing more and nothing less.
pub fn parse_strict<T>(bytes: &[u8]) -> Result<T, StrictJsonError>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    check_strict(bytes)?;
    let value: T = serde_json::from_slice(bytes).map_err(|e| StrictJsonError::Shape {
        message: e.to_string(),
    })?;
    let again = to_canonical_vec(&value).map_err(StrictJsonError::NoCanonicalForm)?;
    if again != bytes {
        let offset = again
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(again.len().min(bytes.len()));
        return Err(StrictJsonError::NotRoundTrip { offset });
    }
    Ok(value)
}

/// Reads a JSON file for [`parse_strict`] without holding more than it can accept: at
/// most [`MAX_STRICT_JSON_BYTES`] + 1 bytes, so a larger file is refused as
/// [`StrictJsonError::TooLarge`] instead of being read whole.
pub fn read_for_strict(reader: impl std::io::Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_STRICT_JSON_BYTES).unwrap_or(u64::MAX) + 1;
    std::io::Read::read_to_end(&mut reader.take(limit), &mut bytes)?;
    Ok(bytes)
}

/// Checks that `bytes` are canonical JSON (RFC 8785) with unique member names at every
/// depth, within [`MAX_STRICT_JSON_BYTES`] and [`MAX_STRICT_JSON_DEPTH`]. One pass, no
/// recursion; memory is the member names of the open objects.
pub fn check_strict(bytes: &[u8]) -> Result<(), StrictJsonError> {
    if bytes.len() > MAX_STRICT_JSON_BYTES {
        return Err(StrictJsonError::TooLarge {
            size: bytes.len(),
            limit: MAX_STRICT_JSON_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| StrictJsonError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    StrictScanner {
        text,
        pos: 0,
        stack: Vec::new(),
    }
    .run()
}

/// An open array or object.
enum Frame {
    Array {
        index: usize,
    },
    Object {
        /// Offset of its `{` (to look back for a duplicate once order is broken).
        start: usize,
        /// The last member name. Names must increase strictly, so this is all the scan
        /// keeps: memory stays bounded by the depth, not by the number of members.
        last: String,
    },
}

struct StrictScanner<'a> {
    text: &'a str,
    pos: usize,
    stack: Vec<Frame>,
}

impl StrictScanner<'_> {
    /// Reads values in document order with an explicit stack of open containers.
    fn run(mut self) -> Result<(), StrictJsonError> {
        loop {
            let opened = match self.peek() {
                Some(b'{') => Some(true),
                Some(b'[') => Some(false),
                Some(b'"') => self.string(false).map(|_| None)?,
                Some(b'-' | b'0'..=b'9') => self.number().map(|()| None)?,
                Some(b't') => self.literal("true").map(|()| None)?,
                Some(b'f') => self.literal("false").map(|()| None)?,
                Some(b'n') => self.literal("null").map(|()| None)?,
                _ => return Err(self.syntax("a JSON value")),
            };
            if let Some(object) = opened {
                if self.open(object)? {
                    // The container's first value follows.
                    continue;
                }
            }
            if !self.after_value()? {
                return self.end();
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn syntax(&self, expected: &'static str) -> StrictJsonError {
        match self.peek() {
            Some(b' ' | b'\t' | b'\n' | b'\r') => StrictJsonError::WhiteSpace { offset: self.pos },
            _ => StrictJsonError::Syntax {
                offset: self.pos,
                expected,
            },
        }
    }

    fn end(&self) -> Result<(), StrictJsonError> {
        match self.peek() {
            None => Ok(()),
            Some(b' ' | b'\t' | b'\n' | b'\r') => {
                Err(StrictJsonError::WhiteSpace { offset: self.pos })
            }
            Some(_) => Err(StrictJsonError::TrailingData { offset: self.pos }),
        }
    }

    /// Opens an array or object (at its bracket). Returns whether a value follows (`false`:
    /// it is empty, and its closing bracket is next).
    fn open(&mut self, object: bool) -> Result<bool, StrictJsonError> {
        if self.stack.len() >= MAX_STRICT_JSON_DEPTH {
            return Err(StrictJsonError::TooDeep {
                offset: self.pos,
                limit: MAX_STRICT_JSON_DEPTH,
            });
        }
        let start = self.pos;
        self.pos += 1;
        let close = if object { b'}' } else { b']' };
        self.stack.push(if object {
            Frame::Object {
                start,
                last: String::new(),
            }
        } else {
            Frame::Array { index: 0 }
        });
        if self.peek() == Some(close) {
            return Ok(false);
        }
        if object {
            self.member_name(true)?;
        }
        Ok(true)
    }

    /// Reads `"name":` in the innermost object and checks it against the names before it.
    fn member_name(&mut self, first: bool) -> Result<(), StrictJsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.syntax("a member name"));
        }
        let name_start = self.pos;
        let key = self.string(true)?;
        let raw = &self.text[name_start..self.pos];
        if self.peek() != Some(b':') {
            return Err(self.syntax("':'"));
        }
        self.pos += 1;
        let path = self.pointer(self.stack.len().saturating_sub(1));
        let Some(Frame::Object { start, last }) = self.stack.last_mut() else {
            unreachable!("member names are only read inside an object");
        };
        if !first && utf16_order(last, &key) != Ordering::Less {
            // Order is broken: name it a duplicate if the name came before. The text up
            // to here is canonical, so equal names are equal bytes.
            if *last == key || earlier_member(self.text, *start, name_start, raw) {
                return Err(StrictJsonError::DuplicateKey { path, key });
            }
            return Err(StrictJsonError::KeyOrder {
                path,
                key,
                previous: last.clone(),
            });
        }
        *last = key;
        Ok(())
    }

    /// After a complete value: closes every container that ends here. Returns whether
    /// another value follows (`false`: the document's value is complete).
    fn after_value(&mut self) -> Result<bool, StrictJsonError> {
        loop {
            let (close, expected) = match self.stack.last() {
                None => return Ok(false),
                Some(Frame::Array { .. }) => (b']', "',' or ']'"),
                Some(Frame::Object { .. }) => (b'}', "',' or '}'"),
            };
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    if let Some(Frame::Array { index }) = self.stack.last_mut() {
                        *index += 1;
                    } else {
                        self.member_name(false)?;
                    }
                    return Ok(true);
                }
                Some(b) if b == close => {
                    self.pos += 1;
                    self.stack.pop();
                }
                _ => return Err(self.syntax(expected)),
            }
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), StrictJsonError> {
        if !self.text[self.pos..].starts_with(word) {
            return Err(self.syntax("true, false or null"));
        }
        self.pos += word.len();
        Ok(())
    }

    fn number(&mut self) -> Result<(), StrictJsonError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - from
        };
        let mut pos = start;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        let int_start = pos;
        let int_digits = digits(&mut pos);
        if int_digits == 0 || (int_digits > 1 && bytes[int_start] == b'0') {
            self.pos = pos;
            return Err(StrictJsonError::Syntax {
                offset: int_start,
                expected: "a number",
            });
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            if digits(&mut pos) == 0 {
                return Err(StrictJsonError::Syntax {
                    offset: pos,
                    expected: "a digit",
                });
            }
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                return Err(StrictJsonError::Syntax {
                    offset: pos,
                    expected: "a digit",
                });
            }
        }
        self.pos = pos;
        let found = &self.text[start..pos];
        // The grammar above is a subset of what `f64::from_str` reads, and it rounds
        // correctly, as an ECMAScript reader does.
        let value: f64 = found.parse().unwrap_or(f64::NAN);
        let canonical = format_number(value).ok();
        if canonical.as_deref() == Some(found) {
            return Ok(());
        }
        Err(StrictJsonError::NonCanonicalNumber {
            path: self.path_of_value(),
            found: found.to_owned(),
            canonical,
        })
    }

    /// Reads a string (at its opening quote) and returns its value if `keep` (member names;
    /// values are only checked, not copied); every escape must be the one the canonical
    /// form writes.
    fn string(&mut self, keep: bool) -> Result<String, StrictJsonError> {
        let bytes = self.text.as_bytes();
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match bytes.get(self.pos) {
                None => return Err(self.syntax("'\"'")),
                Some(b'"') => {
                    if keep {
                        out.push_str(&self.text[run..self.pos]);
                    }
                    self.pos += 1;
                    return Ok(out);
                }
                Some(&b) if b < 0x20 => {
                    return Err(StrictJsonError::Syntax {
                        offset: self.pos,
                        expected: "an escaped control character",
                    })
                }
                Some(b'\\') => {
                    let escape_start = self.pos;
                    let c = self.escape()?;
                    if keep {
                        out.push_str(&self.text[run..escape_start]);
                        out.push(c);
                    }
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// One escape (at its backslash), as RFC 8785 §3.2.2.2 writes it.
    fn escape(&mut self) -> Result<char, StrictJsonError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let simple = match bytes.get(start + 1) {
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'b') => Some('\u{08}'),
            Some(b't') => Some('\t'),
            Some(b'n') => Some('\n'),
            Some(b'f') => Some('\u{0c}'),
            Some(b'r') => Some('\r'),
            _ => None,
        };
        if let Some(c) = simple {
            self.pos += 2;
            return Ok(c);
        }
        let hex = match bytes.get(start + 1) {
            Some(b'u') => self.text.get(start + 2..start + 6),
            Some(b'/') => {
                return Err(StrictJsonError::NonCanonicalEscape {
                    offset: start,
                    escape: "\\/".to_owned(),
                })
            }
            _ => None,
        };
        let Some(code) = hex.and_then(|h| {
            h.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| u32::from_str_radix(h, 16).ok())
                .flatten()
        }) else {
            return Err(StrictJsonError::Syntax {
                offset: start,
                expected: "a string escape",
            });
        };
        let written = &self.text[start..start + 6];
        let c = char::from_u32(code).filter(|_| code < 0x20);
        // `\b \t \n \f \r` have their short forms, and the hex is lower case.
        match c {
            Some(c) if !"\u{08}\t\n\u{0c}\r".contains(c) && format!("\\u{code:04x}") == written => {
                self.pos += 6;
                Ok(c)
            }
            _ => Err(StrictJsonError::NonCanonicalEscape {
                offset: start,
                escape: written.to_owned(),
            }),
        }
    }

    /// The JSON Pointer of the value being read.
    fn path_of_value(&self) -> String {
        self.pointer(self.stack.len())
    }

    /// The JSON Pointer through the first `depth` open containers.
    fn pointer(&self, depth: usize) -> String {
        let mut out = String::new();
        for frame in &self.stack[..depth] {
            out.push('/');
            match frame {
                Frame::Array { index } => {
                    let _ = write!(out, "{index}");
                }
                Frame::Object { last, .. } => {
                    out.push_str(&last.replace('~', "~0").replace('/', "~1"));
                }
            }
        }
        out
    }
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

/// Whether the object opening at `object_start` has a member named `raw` (quoted, as
/// written) before `end`. Only called on text the strict scan has already accepted, once,
/// when it stops: one pass, no recursion.
fn earlier_member(text: &str, object_start: usize, end: usize, raw: &str) -> bool {
    let bytes = text.as_bytes();
    let mut pos = object_start + 1;
    while pos < end {
        let name_end = skip_string(bytes, pos);
        if text.get(pos..name_end) == Some(raw) {
            return true;
        }
        // Past the name and ':', past the value, past the ','.
        pos = skip_value(bytes, name_end + 1) + 1;
    }
    false
}

/// The offset after the string starting (at its quote) at `pos`.
fn skip_string(bytes: &[u8], pos: usize) -> usize {
    let mut i = pos + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The offset after the value starting at `pos`.
fn skip_value(bytes: &[u8], pos: usize) -> usize {
    let mut depth = 0usize;
    let mut i = pos;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i = skip_string(bytes, i);
                if depth == 0 {
                    return i;
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b',' | b'}' | b']' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    bytes.len()
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

    mod strict {
        use super::super::*;
        use std::collections::BTreeMap;
        use std::io::Read as _;

        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Record {
            a: u64,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            b: Option<String>,
            #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
            m: BTreeMap<String, u64>,
        }

        /// The same record without `deny_unknown_fields`: only the round trip refuses an
        /// unknown member.
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Lenient {
            a: u64,
        }

        fn strict(text: &str) -> Result<(), StrictJsonError> {
            check_strict(text.as_bytes())
        }

        #[test]
        fn canonical_records_parse() {
            let record: Record = parse_strict(br#"{"a":1,"b":"x","m":{"k":2}}"#).unwrap();
            assert_eq!(record.m["k"], 2);
            assert_eq!(
                strict(
                    r#"{"":[],"a":[1,-2,0.5,1e+30,"\u001f\n\"",{}],"b":null,"c":true,"d":false}"#
                ),
                Ok(())
            );
            assert_eq!(strict("[[[]],{}]"), Ok(()));
            assert_eq!(strict("0"), Ok(()));
        }

        #[test]
        fn fail_duplicate_member_at_any_depth() {
            assert_eq!(
                strict(r#"{"a":1,"a":1}"#),
                Err(StrictJsonError::DuplicateKey {
                    path: String::new(),
                    key: "a".into()
                })
            );
            // Not adjacent: still named a duplicate, not a misplaced member.
            assert_eq!(
                strict(r#"{"a":1,"b":2,"a":3}"#),
                Err(StrictJsonError::DuplicateKey {
                    path: String::new(),
                    key: "a".into()
                })
            );
            // Inside a free map, two levels down, and inside an array element.
            assert_eq!(
                parse_strict::<Record>(br#"{"a":1,"m":{"k":1,"k":2}}"#),
                Err(StrictJsonError::DuplicateKey {
                    path: "/m".into(),
                    key: "k".into()
                })
            );
            assert_eq!(
                strict(r#"{"x":[0,{"y":{"z":1,"z":1}}]}"#),
                Err(StrictJsonError::DuplicateKey {
                    path: "/x/1/y".into(),
                    key: "z".into()
                })
            );
            // Looking back past nested values and strings holding brackets and quotes.
            assert_eq!(
                strict(r#"{"a":{"x":[1,"}\"]",{"a":0}]},"b":2,"a":3}"#),
                Err(StrictJsonError::DuplicateKey {
                    path: String::new(),
                    key: "a".into()
                })
            );
            // A name inside a nested object is not a member of the outer one.
            assert_eq!(
                strict(r#"{"a":1,"c":{"b":1},"b":2}"#),
                Err(StrictJsonError::KeyOrder {
                    path: String::new(),
                    key: "b".into(),
                    previous: "c".into()
                })
            );
            // The same name spelt with an escape is the same name.
            assert!(strict(r#"{"\u001f":1,"\u001f":2}"#).is_err());
        }

        #[test]
        fn fail_members_out_of_order() {
            assert_eq!(
                strict(r#"{"b":1,"a":2}"#),
                Err(StrictJsonError::KeyOrder {
                    path: String::new(),
                    key: "a".into(),
                    previous: "b".into()
                })
            );
            // UTF-16 order: U+1F600 (surrogates D83D…) sorts before U+FB33.
            assert!(strict("{\"\u{fb33}\":1,\"\u{1f600}\":2}").is_err());
            assert_eq!(strict("{\"\u{1f600}\":1,\"\u{fb33}\":2}"), Ok(()));
        }

        #[test]
        fn fail_white_space_anywhere_outside_strings() {
            for (text, offset) in [
                (r#" {"a":1}"#, 0),
                (r#"{"a":1} "#, 7),
                (
                    r#"{"a":1}
"#,
                    7,
                ),
                (r#"{ "a":1}"#, 1),
                (r#"{"a" :1}"#, 4),
                (r#"{"a": 1}"#, 5),
                (r#"{"a":1 }"#, 6),
                ("[1,\t2]", 3),
                ("[1\r]", 2),
            ] {
                assert_eq!(
                    strict(text),
                    Err(StrictJsonError::WhiteSpace { offset }),
                    "{text:?}"
                );
            }
            assert_eq!(strict(r#""a b""#), Ok(()));
        }

        #[test]
        fn fail_non_canonical_numbers() {
            for (text, canonical) in [
                ("1.0", Some("1")),
                ("1e2", Some("100")),
                ("1E2", Some("100")),
                ("-0", Some("0")),
                ("0.0", Some("0")),
                ("1e30", Some("1e+30")),
                ("1E+30", Some("1e+30")),
                ("0.10", Some("0.1")),
                ("9007199254740993", Some("9007199254740992")),
                ("1e400", None),
                ("-1e400", None),
            ] {
                assert_eq!(
                    strict(&format!(r#"{{"n":[{text}]}}"#)),
                    Err(StrictJsonError::NonCanonicalNumber {
                        path: "/n/0".into(),
                        found: text.into(),
                        canonical: canonical.map(str::to_owned)
                    }),
                    "{text}"
                );
            }
            for text in ["01", "-", "1.", ".5", "1e", "+1", "0x10", "NaN", "Infinity"] {
                assert!(
                    matches!(
                        strict(text),
                        Err(StrictJsonError::Syntax { .. } | StrictJsonError::TrailingData { .. })
                    ),
                    "{text}: {:?}",
                    strict(text)
                );
            }
        }

        #[test]
        fn fail_non_canonical_escapes() {
            for escape in [
                r"\u0041",
                r"\/",
                r"\u001F",
                r"\u000a",
                r"\u0008",
                r"\u0022",
                r"\u005c",
                r"\u00e9",
                r"\ud83d\ude00",
                r"\u007f",
            ] {
                let text = format!(r#"{{"k":"x{escape}"}}"#);
                let first = escape.split('\\').nth(1).unwrap();
                assert_eq!(
                    strict(&text),
                    Err(StrictJsonError::NonCanonicalEscape {
                        offset: 7,
                        escape: format!("\\{}", &first[..first.len().min(5)])
                    }),
                    "{text}"
                );
            }
            for bad in [
                r#""\x41""#,
                r#""\u00g1""#,
                r#""\u00"#,
                "\"\u{1}\"",
                r#""abc"#,
            ] {
                assert!(
                    matches!(strict(bad), Err(StrictJsonError::Syntax { .. })),
                    "{bad:?}: {:?}",
                    strict(bad)
                );
            }
        }

        #[test]
        fn fail_unknown_or_defaulted_members() {
            // The record type refuses a member it does not have...
            assert!(matches!(
                parse_strict::<Record>(br#"{"a":1,"z":2}"#),
                Err(StrictJsonError::Shape { .. })
            ));
            // ...and a type that would ignore it is caught by the round trip.
            assert_eq!(
                parse_strict::<Lenient>(br#"{"a":1,"z":2}"#),
                Err(StrictJsonError::NotRoundTrip { offset: 6 })
            );
            // A member written as `null` that the record omits when absent.
            assert_eq!(
                parse_strict::<Record>(br#"{"a":1,"b":null}"#),
                Err(StrictJsonError::NotRoundTrip { offset: 6 })
            );
            assert!(matches!(
                parse_strict::<Record>(br#"{"b":"x"}"#),
                Err(StrictJsonError::Shape { .. })
            ));
        }

        #[test]
        fn fail_not_json_at_all() {
            assert!(matches!(
                strict(""),
                Err(StrictJsonError::Syntax { offset: 0, .. })
            ));
            assert_eq!(
                strict("{}{}"),
                Err(StrictJsonError::TrailingData { offset: 2 })
            );
            assert_eq!(
                strict("[1,]").map_err(|e| matches!(e, StrictJsonError::Syntax { offset: 3, .. })),
                Err(true)
            );
            assert_eq!(
                strict(r#"{"a"}"#)
                    .map_err(|e| matches!(e, StrictJsonError::Syntax { offset: 4, .. })),
                Err(true)
            );
            assert!(matches!(
                strict("{1:2}"),
                Err(StrictJsonError::Syntax { offset: 1, .. })
            ));
            assert!(matches!(strict("tru"), Err(StrictJsonError::Syntax { .. })));
            assert!(matches!(
                strict("[}"),
                Err(StrictJsonError::Syntax { offset: 1, .. })
            ));
            assert_eq!(
                check_strict(b"[\"\xff\"]"),
                Err(StrictJsonError::InvalidUtf8 { offset: 2 })
            );
        }

        #[test]
        fn depth_at_the_limit_and_one_past() {
            let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(strict(&nested(MAX_STRICT_JSON_DEPTH)), Ok(()));
            assert_eq!(
                strict(&nested(MAX_STRICT_JSON_DEPTH + 1)),
                Err(StrictJsonError::TooDeep {
                    offset: MAX_STRICT_JSON_DEPTH,
                    limit: MAX_STRICT_JSON_DEPTH
                })
            );
            let objects = format!(
                "{}1{}",
                r#"{"a":"#.repeat(MAX_STRICT_JSON_DEPTH + 1),
                "}".repeat(MAX_STRICT_JSON_DEPTH + 1)
            );
            assert!(matches!(
                strict(&objects),
                Err(StrictJsonError::TooDeep { .. })
            ));
            // Far deeper than any call stack would survive: refused, not a crash.
            assert!(matches!(
                strict(&"[".repeat(1_000_000)),
                Err(StrictJsonError::TooDeep { .. })
            ));
        }

        #[test]
        fn size_at_the_limit_and_one_past() {
            let mut text = vec![b'a'; MAX_STRICT_JSON_BYTES];
            text[0] = b'"';
            text[MAX_STRICT_JSON_BYTES - 1] = b'"';
            assert_eq!(check_strict(&text), Ok(()));
            text.insert(1, b'a');
            assert_eq!(
                check_strict(&text),
                Err(StrictJsonError::TooLarge {
                    size: MAX_STRICT_JSON_BYTES + 1,
                    limit: MAX_STRICT_JSON_BYTES
                })
            );
        }

        #[test]
        fn read_for_strict_stops_one_past_the_limit() {
            let big = std::io::repeat(b' ').take(MAX_STRICT_JSON_BYTES as u64 * 2);
            let bytes = read_for_strict(big).unwrap();
            assert_eq!(bytes.len(), MAX_STRICT_JSON_BYTES + 1);
            assert!(matches!(
                check_strict(&bytes),
                Err(StrictJsonError::TooLarge { .. })
            ));
            assert_eq!(read_for_strict(&b"{}"[..]).unwrap(), b"{}");
        }

        #[test]
        fn strict_check_agrees_with_canonicalize() {
            // Whatever check_strict accepts canonicalize leaves unchanged, and the reverse.
            for text in [
                r#"{"a":1,"b":[true,null,"\u0000"]}"#,
                r#"{"b":1,"a":2}"#,
                r#"{"a":1.5e-7}"#,
                r#"{"a":1.5e-7 }"#,
                r#"["\u00e9"]"#,
                "[\"\u{e9}\"]",
                "[1e+21,1e21]",
                "[100000000000000000000]",
            ] {
                let canonical = canonicalize(text.as_bytes()).ok();
                assert_eq!(
                    check_strict(text.as_bytes()).is_ok(),
                    canonical.as_deref() == Some(text.as_bytes()),
                    "{text}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point(map in proptest::collection::btree_map(".{0,8}", proptest::num::i32::ANY, 0..8),
                                           floats in proptest::collection::vec(proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO, 0..8),
                                           text in ".{0,16}") {
            let value = serde_json::json!({ "map": map, "floats": floats, "text": text });
            let once = to_canonical_vec(&value).unwrap();
            proptest::prop_assert!(is_canonical(&once));
            proptest::prop_assert_eq!(check_strict(&once), Ok(()));
            proptest::prop_assert_eq!(canonicalize(&once).unwrap(), once.clone());
            let reparsed: serde_json::Value = serde_json::from_slice(&once).unwrap();
            proptest::prop_assert_eq!(&reparsed["text"], &value["text"]);
            proptest::prop_assert_eq!(&reparsed["map"], &value["map"]);
            let back: Vec<f64> = reparsed["floats"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            proptest::prop_assert_eq!(back, floats);
        }
    }
}
