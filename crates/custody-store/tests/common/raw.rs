//! Raw SQL on either store, as an attacker with write access to the database would use it:
//! [`RawDb::open`] connects past the ledger (SQLite: the file, with the append-only triggers
//! dropped; PostgreSQL: a session with the user triggers on `entries` disabled), and runs
//! statements written once for both. Placeholders are written `?1`, `?2`… (SQLite's form);
//! on PostgreSQL they become `$1`, `$2`… and each value is bound as the type the server
//! infers for its place (a `nodes.level` is an `INTEGER`, a `seq` a `BIGINT`), so the
//! tests do not care which store they tamper with. SQLite's `zeroblob(n)` is defined on
//! PostgreSQL for the same reason.

use std::cell::RefCell;
use std::path::Path;

use postgres::types::Type;

/// One SQL value, given or read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

impl Value {
    /// The value as bytes (a blob, or a text's bytes).
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Value::Bytes(b) => b,
            Value::Text(t) => t.into_bytes(),
            other => panic!("not bytes: {other:?}"),
        }
    }

    /// The value as text.
    pub fn text(self) -> String {
        match self {
            Value::Text(t) => t,
            Value::Bytes(b) => String::from_utf8(b).expect("UTF-8"),
            other => panic!("not text: {other:?}"),
        }
    }

    /// The value as an integer.
    pub fn int(self) -> i64 {
        match self {
            Value::Int(i) => i,
            other => panic!("not an integer: {other:?}"),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::Int(i64::try_from(v).expect("fits in i64"))
            }
        }
    )*};
}
from_int!(i32, i64, u32, u64, usize);

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v)
    }
}
impl From<&Vec<u8>> for Value {
    fn from(v: &Vec<u8>) -> Value {
        Value::Bytes(v.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bytes(v.to_vec())
    }
}
impl<const N: usize> From<&[u8; N]> for Value {
    fn from(v: &[u8; N]) -> Value {
        Value::Bytes(v.to_vec())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

/// `Value::from(x)`, short for parameter lists: `&[v(seq), v(bytes)]`.
pub fn v(x: impl Into<Value>) -> Value {
    x.into()
}

enum Inner {
    Sqlite(rusqlite::Connection),
    Postgres(RefCell<postgres::Client>),
}

/// A connection to a ledger's database that bypasses the ledger (see the module docs).
pub struct RawDb {
    inner: Inner,
}

/// `?N` placeholders as PostgreSQL's `$N`.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_param(value: &Value, ty: &Type) -> Box<dyn postgres::types::ToSql + Sync> {
    match (value, ty) {
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Int(i), t) if *t == Type::INT4 => {
            Box::new(i32::try_from(*i).expect("fits an INTEGER column"))
        }
        (Value::Int(i), t) if *t == Type::INT8 => Box::new(*i),
        (Value::Int(i), _) => Box::new(i.to_string()),
        (Value::Bytes(b), t) if *t == Type::BYTEA => Box::new(b.clone()),
        (Value::Bytes(b), _) => {
            Box::new(String::from_utf8(b.clone()).expect("UTF-8 for a text column"))
        }
        (Value::Text(s), t) if *t == Type::BYTEA => Box::new(s.clone().into_bytes()),
        (Value::Text(s), _) => Box::new(s.clone()),
    }
}

fn pg_value(row: &postgres::Row, i: usize) -> Value {
    let ty = row.columns()[i].type_().clone();
    if ty == Type::BYTEA {
        row.get::<_, Option<Vec<u8>>>(i)
            .map_or(Value::Null, Value::Bytes)
    } else if ty == Type::INT8 {
        row.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int)
    } else if ty == Type::INT4 {
        row.get::<_, Option<i32>>(i)
            .map_or(Value::Null, |x| Value::Int(x.into()))
    } else {
        row.get::<_, Option<String>>(i)
            .map_or(Value::Null, Value::Text)
    }
}

fn sqlite_params(params: &[Value]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(*i),
            Value::Bytes(b) => rusqlite::types::Value::Blob(b.clone()),
            Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
        })
        .collect()
}

type PgParams = Vec<Box<dyn postgres::types::ToSql + Sync>>;

/// `sql` prepared on PostgreSQL, and `params` as the types it infers for them.
fn pg_bind(
    client: &mut postgres::Client,
    sql: &str,
    params: &[Value],
) -> Result<(postgres::Statement, PgParams), String> {
    let stmt = client
        .prepare(&dollar_placeholders(sql))
        .map_err(|e| e.to_string())?;
    let boxed = params
        .iter()
        .zip(stmt.params())
        .map(|(p, t)| pg_param(p, t))
        .collect();
    Ok((stmt, boxed))
}

impl RawDb {
    /// Connects to the ledger at `path` (a SQLite file or a `postgresql://` URL), with the
    /// append-only triggers out of the way.
    pub fn open(path: &Path) -> RawDb {
        let db = RawDb::with_triggers(path);
        match &db.inner {
            Inner::Sqlite(conn) => conn
                .execute_batch(
                    "DROP TRIGGER IF EXISTS entries_no_update; \
                     DROP TRIGGER IF EXISTS entries_no_delete;",
                )
                .expect("drop triggers"),
            Inner::Postgres(client) => client
                .borrow_mut()
                // SQLite's `zeroblob(n)` too, so that one statement serves both stores.
                .batch_execute(
                    "ALTER TABLE entries DISABLE TRIGGER USER; \
                     CREATE OR REPLACE FUNCTION zeroblob(n bigint) RETURNS bytea \
                     LANGUAGE sql IMMUTABLE AS $$ SELECT decode(repeat('00', n::int), 'hex') $$;",
                )
                .expect("disable triggers"),
        }
        db
    }

    /// Connects to the ledger at `path` as it is, triggers included: what a careless
    /// user's ordinary SQL meets.
    pub fn with_triggers(path: &Path) -> RawDb {
        let inner = if super::is_postgres(path) {
            Inner::Postgres(RefCell::new(
                postgres::Client::connect(path.to_str().unwrap(), postgres::NoTls)
                    .expect("connect"),
            ))
        } else {
            Inner::Sqlite(rusqlite::Connection::open(path).expect("open"))
        };
        RawDb { inner }
    }

    /// Whether this is the PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_))
    }

    /// Runs one statement; the number of rows it changed.
    pub fn try_execute(&self, sql: &str, params: &[Value]) -> Result<u64, String> {
        match &self.inner {
            Inner::Sqlite(conn) => {
                let params = sqlite_params(params);
                conn.execute(sql, rusqlite::params_from_iter(params))
                    .map(|n| n as u64)
                    .map_err(|e| e.to_string())
            }
            Inner::Postgres(client) => {
                let mut client = client.borrow_mut();
                let (stmt, boxed) = pg_bind(&mut client, sql, params)?;
                let refs: Vec<_> = boxed.iter().map(|b| b.as_ref()).collect();
                client.execute(&stmt, &refs).map_err(|e| e.to_string())
            }
        }
    }

    /// Runs one statement that must succeed; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> u64 {
        self.try_execute(sql, params)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every row of a query, each as its columns.
    pub fn query(&self, sql: &str, params: &[Value]) -> Vec<Vec<Value>> {
        match &self.inner {
            Inner::Sqlite(conn) => {
                let params = sqlite_params(params);
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                stmt.query_map(rusqlite::params_from_iter(params), |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                                rusqlite::types::Value::Null => Value::Null,
                                rusqlite::types::Value::Integer(i) => Value::Int(i),
                                rusqlite::types::Value::Blob(b) => Value::Bytes(b),
                                rusqlite::types::Value::Text(t) => Value::Text(t),
                                rusqlite::types::Value::Real(x) => Value::Text(x.to_string()),
                            })
                        })
                        .collect()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            Inner::Postgres(client) => {
                let mut client = client.borrow_mut();
                let (stmt, boxed) =
                    pg_bind(&mut client, sql, params).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let refs: Vec<_> = boxed.iter().map(|b| b.as_ref()).collect();
                client
                    .query(&stmt, &refs)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .iter()
                    .map(|row| (0..row.len()).map(|i| pg_value(row, i)).collect())
                    .collect()
            }
        }
    }

    /// The first column of the one row a query returns.
    pub fn one(&self, sql: &str, params: &[Value]) -> Value {
        let mut rows = self.query(sql, params);
        assert_eq!(rows.len(), 1, "{sql}: one row expected");
        rows.remove(0).remove(0)
    }
}

impl Drop for RawDb {
    fn drop(&mut self) {
        if let Inner::Postgres(client) = &self.inner {
            // The triggers come back for whatever the test does next through the ledger.
            let _ = client
                .borrow_mut()
                .batch_execute("ALTER TABLE entries ENABLE TRIGGER USER");
        }
    }
}
