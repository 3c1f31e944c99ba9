//! A little JSON writer for the recording, with no dependency: the runtime may not
//! use serde.
//!
//! # Ground rules
//! - Strings come out exactly as JavaScript's `JSON.stringify` writes them (`\"`,
//!   `\\`, the short escapes `\b \f \n \r \t`, `\u00xx` in lower case for the other
//!   control characters, everything else as it is), so that the page, which
//!   stringifies the state it rebuilt, gets the very text this side hashed.
//! - A number JavaScript cannot hold exactly (above 2^53 − 1) is written as a string
//!   of its digits: a far timer's deadline would otherwise change on the way.

use std::fmt::Write;

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Appends `text` to `out` as a JSON string.
pub(crate) fn string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `value` as a JSON number, or as a string above 2^53 − 1.
pub(crate) fn number(out: &mut String, value: u64) {
    if value > MAX_SAFE_INTEGER {
        let _ = write!(out, "\"{value}\"");
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Appends `"key":` (after a comma unless `first`).
pub(crate) fn key(out: &mut String, first: bool, name: &str) {
    if !first {
        out.push(',');
    }
    string(out, name);
    out.push(':');
}

/// Appends `[a,b,…]`, each item written by `item`.
pub(crate) fn array<T>(out: &mut String, items: &[T], mut item: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, value) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, value);
    }
    out.push(']');
}

/// Appends a string, or `null`.
pub(crate) fn optional_string(out: &mut String, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.push_str("null"),
    }
}

/// The 32-bit FNV-1a hash of `text`'s UTF-8 bytes, as 8 hex digits: the digest the
/// page recomputes over the state it rebuilt (`viewer.js`: `digest`).
pub(crate) fn digest(text: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

/// `json` made safe to sit inside an HTML `<script>` element: no `<`, `>` or `&`
/// (each only ever inside a string, where `\u003c` reads back the same).
pub(crate) fn for_html(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json_stringify_escapes_them() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\n\t\u{1}\u{1f}é</script>");
        assert_eq!(out, r#""a\"b\\c\n\t\u0001\u001fé</script>""#);
    }

    #[test]
    fn numbers_past_what_javascript_holds_become_strings() {
        let mut out = String::new();
        number(&mut out, MAX_SAFE_INTEGER);
        out.push(' ');
        number(&mut out, MAX_SAFE_INTEGER + 1);
        assert_eq!(out, "9007199254740991 \"9007199254740992\"");
    }

    #[test]
    fn the_digest_is_fnv_1a_over_utf8() {
        // Reference values of 32-bit FNV-1a.
        assert_eq!(digest(""), "811c9dc5");
        assert_eq!(digest("a"), "e40c292c");
        assert_eq!(digest("foobar"), "bf9cf968");
    }

    #[test]
    fn html_safe_json_reads_back_the_same_text() {
        assert_eq!(
            for_html(r#"{"a":"</script><b>&"}"#),
            r#"{"a":"\u003c/script\u003e\u003cb\u003e\u0026"}"#
        );
    }
}
