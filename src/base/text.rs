//! Text shown on one line: a name or value from the machine (a file name with a newline, a
//! process name with escape sequences) printed escaped, so it can neither break a line of a
//! table or message nor be interpreted by the terminal. Also the one cache of the parsers'
//! fixed regular expressions ([`static_regex`]).

/// The compiled regex of the fixed pattern `pat`, compiled once into `cell`. For patterns
/// written in this crate only (never user input): one that does not compile is a bug, caught
/// by the tests of its parser, so it panics.
pub fn static_regex(
    cell: &'static std::sync::OnceLock<regex::Regex>,
    pat: &str,
) -> &'static regex::Regex {
    cell.get_or_init(|| regex::Regex::new(pat).expect("static regex"))
}

/// `s` with `\n` and `\t` written as `\n` and `\t` and every other control character as
/// `\u{…}`; everything else unchanged.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            super::one_line("new\nline\t\u{1b}[31m.log"),
            "new\\nline\\t\\u{1b}[31m.log"
        );
        assert_eq!(super::one_line("plain é.log"), "plain é.log");
    }
}
