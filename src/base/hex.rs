//! serde helpers that write addresses as `"0x7f3a…"` strings: JSON numbers lose precision past
//! 2^53, and addresses are read in hex (as gdb, pmap and /proc/PID/maps print them).
//! Use with `#[serde(serialize_with = "crate::base::hex::hex")]`.

use serde::Serializer;

/// Serialize an address as a `0x`-prefixed lower-case hex string.
pub fn hex<S: Serializer>(v: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#x}"))
}

/// [`hex`] of a present address; `null` when absent.
pub fn hex_opt<S: Serializer>(v: &Option<u64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => hex(v, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct A {
        #[serde(serialize_with = "super::hex")]
        pc: u64,
        #[serde(serialize_with = "super::hex_opt")]
        cfa: Option<u64>,
        #[serde(serialize_with = "super::hex_opt")]
        sp: Option<u64>,
    }

    #[test]
    fn addresses_as_hex_strings() {
        let a = A {
            pc: 0x7f3a_0000_1234,
            cfa: Some(0),
            sp: None,
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"pc":"0x7f3a00001234","cfa":"0x0","sp":null}"#
        );
        let max = A {
            pc: u64::MAX,
            cfa: None,
            sp: None,
        };
        assert!(serde_json::to_string(&max)
            .unwrap()
            .contains("0xffffffffffffffff"));
    }
}
