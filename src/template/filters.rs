//! Filters a Kubernetes author needs beyond minijinja's built-ins (helm's names where they exist).

use crate::yaml;
use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_json", to_json);
    env.add_filter("b64encode", |s: String| b64encode(s.as_bytes()));
    env.add_filter("b64decode", b64decode_filter);
    env.add_filter("sha256", |s: String| {
        crate::manifest::sha256_hex(s.as_bytes())
    });
    env.add_filter("quote", quote);
    env.add_filter("nindent", nindent);
    env.add_filter("required", required);
    env.add_filter("trunc", trunc);
    env.add_filter("dns_label", |s: String| dns_label(&s));
}

fn to_serde(v: &Value) -> Result<serde_yaml::Value, Error> {
    serde_yaml::to_value(v).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

/// YAML of a value without the trailing newline (as helm's `toYaml`), for `nindent`.
fn to_yaml(v: Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "to_yaml of an undefined value",
        ));
    }
    let mut s = yaml::to_string(&to_serde(&v)?);
    if s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}

fn to_json(v: Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "to_json of an undefined value",
        ));
    }
    serde_json::to_string(&v).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

/// A double-quoted scalar that YAML reads back as exactly this string.
fn quote(v: Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            "quote of an undefined value",
        ));
    }
    let s = match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    };
    serde_json::to_string(&s).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))
}

/// A newline, then every non-empty line indented by `width` (helm's `nindent`).
fn nindent(s: String, width: usize) -> String {
    let pad = " ".repeat(width);
    let mut out = String::with_capacity(s.len() + 16);
    out.push('\n');
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// Fails with `message` when the value is undefined, none or an empty string.
fn required(v: Value, message: Option<String>) -> Result<Value, Error> {
    let missing = v.is_undefined()
        || v.is_none()
        || (v.kind() == ValueKind::String && v.as_str().is_some_and(str::is_empty));
    if missing {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            message.unwrap_or_else(|| "a required value is missing".into()),
        ));
    }
    Ok(v)
}

/// The first `n` characters (the last `-n` when negative), as helm's `trunc`.
fn trunc(s: String, n: i64) -> String {
    let count = s.chars().count();
    if n >= 0 {
        s.chars().take(n as usize).collect()
    } else {
        let keep = n.unsigned_abs() as usize;
        s.chars().skip(count.saturating_sub(keep)).collect()
    }
}

/// Lower-case, `[a-z0-9-]` only, at most 63 characters, no leading or trailing `-`.
pub fn dns_label(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches('-');
    let cut: String = trimmed.chars().take(63).collect();
    cut.trim_end_matches('-').to_string()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn b64encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn b64decode(s: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if clean.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(clean.len() / 4 * 3);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        let mut pad = 0;
        for (i, &c) in chunk.iter().enumerate() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' if i >= 2 => {
                    pad += 1;
                    0
                }
                _ => return None,
            };
            if pad > 0 && c != b'=' {
                return None;
            }
            n = (n << 6) | u32::from(v);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

fn b64decode_filter(s: String) -> Result<String, Error> {
    let bytes = b64decode(&s)
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "b64decode: not valid base64"))?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "b64decode: decoded bytes are not UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar", "{}\n"] {
            let e = b64encode(s.as_bytes());
            assert_eq!(b64decode(&e).unwrap(), s.as_bytes(), "{s}");
        }
        assert_eq!(b64encode(b"{}\n"), "e30K");
        assert!(b64decode("abc").is_none());
        assert!(b64decode("a=bc").is_none());
    }

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label("Team_A.user-1"), "team-a-user-1");
        assert_eq!(dns_label("--x--"), "x");
        assert_eq!(dns_label(&"a".repeat(70)).len(), 63);
        assert_eq!(dns_label(&format!("{}-b", "a".repeat(62))), "a".repeat(62));
    }

    #[test]
    fn trunc_and_nindent() {
        assert_eq!(trunc("abcdef".into(), 3), "abc");
        assert_eq!(trunc("abcdef".into(), -2), "ef");
        assert_eq!(nindent("a: 1\nb: 2".into(), 2), "\n  a: 1\n  b: 2");
    }
}
