//! Credentials out of text we pass on: kubectl's and kapp's stderr, and error messages that
//! carry it. One function, used wherever external-command output reaches the user.

/// Keys whose value is a credential: `key: v`, `key=v`, `"key":"v"`, `--key=v`, `--key v`.
const KEYS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "client-key-data",
    "client-secret",
    "client_secret",
    "secret-access-key",
    "access_token",
    "refresh_token",
    "api-key",
    "apikey",
];

/// Schemes of an `Authorization` header value: `Bearer v`, `Basic v`.
const SCHEMES: &[&str] = &["bearer", "basic"];

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where a credential value ends: at a blank, a quote, or a separator of the text around it.
fn value_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| {
            b.is_ascii_whitespace()
                || matches!(b, b'"' | b'\'' | b',' | b'}' | b';' | b'&' | b'`' | b')')
        })
        .map_or(bytes.len(), |i| start + i)
}

/// The span of the credential value after a match of a key at `key_start..after`, if any.
fn key_value(bytes: &[u8], key_start: usize, after: usize, scheme: bool) -> Option<(usize, usize)> {
    let mut i = after;
    let blanks = |i: usize| bytes[i..].iter().take_while(|&&b| b == b' ').count();
    if scheme {
        // `Bearer <v>`: blanks, then the value.
        let n = blanks(i);
        if n == 0 {
            return None;
        }
        i += n;
    } else {
        // `key: v`, `key=v`, `"key": "v"`, or a flag `--key v`.
        let flag = key_start >= 2 && &bytes[key_start - 2..key_start] == b"--";
        if matches!(bytes.get(i), Some(b'"' | b'\'')) {
            i += 1;
        }
        let n = blanks(i);
        match bytes.get(i + n) {
            Some(b':' | b'=') => i += n + 1,
            Some(_) if flag && n > 0 => i += n,
            _ => return None,
        }
        i += blanks(i);
        if matches!(bytes.get(i), Some(b'"' | b'\'')) {
            i += 1;
        }
    }
    let end = value_end(bytes, i);
    (end > i).then_some((i, end))
}

/// `s` with every credential value replaced by `***`: bearer and basic authorization values,
/// and the values of token, password, client-key-data and similar keys or flags, in YAML,
/// JSON, `key=value` and command-line form. Key names are matched case-insensitively.
pub fn mask_credentials(s: &str) -> String {
    let bytes = s.as_bytes();
    let lower = s.to_ascii_lowercase();
    let lower = lower.as_bytes();
    // Spans to mask, found for every key, then merged.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (list, scheme) in [(KEYS, false), (SCHEMES, true)] {
        for key in list {
            let k = key.as_bytes();
            let mut from = 0;
            while let Some(i) = find(&lower[from..], k).map(|i| from + i) {
                from = i + k.len();
                let before_ok = i == 0 || !is_word(lower[i - 1]);
                let after = i + k.len();
                let after_ok = lower.get(after).is_none_or(|&b| !is_word(b) || b == b'_');
                if !before_ok || !after_ok {
                    continue;
                }
                if let Some(span) = key_value(bytes, i, after, scheme) {
                    spans.push(span);
                    from = span.1;
                }
            }
        }
    }
    if spans.is_empty() {
        return s.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    for (start, end) in spans {
        if start < pos {
            pos = pos.max(end);
            continue;
        }
        out.push_str(&s[pos..start]);
        out.push_str("***");
        pos = end;
    }
    out.push_str(&s[pos..]);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::mask_credentials as m;

    #[test]
    fn authorization_headers() {
        assert_eq!(
            m("GET https://x -H \"Authorization: Bearer abc.def\" ok"),
            "GET https://x -H \"Authorization: Bearer ***\" ok"
        );
        assert_eq!(
            m("authorization: basic dXNlcjpwYXNz"),
            "authorization: basic ***"
        );
        assert_eq!(m("Bearer"), "Bearer");
    }

    #[test]
    fn keys_and_flags() {
        assert_eq!(m("--token=s3cr3t ok"), "--token=*** ok");
        assert_eq!(m("kubectl --token s3cr3t get"), "kubectl --token *** get");
        assert_eq!(m("token: abc.def rest"), "token: *** rest");
        assert_eq!(
            m("{\"token\":\"abc\",\"x\":1}"),
            "{\"token\":\"***\",\"x\":1}"
        );
        assert_eq!(m("{\"token\": \"abc\"}"), "{\"token\": \"***\"}");
        assert_eq!(
            m("client-key-data: LS0tLS1CRUdJTg=="),
            "client-key-data: ***"
        );
        assert_eq!(m("Password=hunter2;user=x"), "Password=***;user=x");
        assert_eq!(m("id-token: eyJ.x.y"), "id-token: ***");
        assert_eq!(m("access_token=abc&x=1"), "access_token=***&x=1");
        assert_eq!(m("client-secret: 'abc'"), "client-secret: '***'");
    }

    #[test]
    fn ordinary_text_unchanged() {
        for s in [
            "no secrets here",
            "tokens are fine",
            "the token expired",
            "passwords: many",
            "error: the server has asked for the client to provide credentials",
            "",
        ] {
            assert_eq!(m(s), s);
        }
    }

    #[test]
    fn several_and_unicode() {
        assert_eq!(
            m("é token: a password: b Bearer c é"),
            "é token: *** password: *** Bearer *** é"
        );
    }
}
