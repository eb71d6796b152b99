//! Text shown on one line: a name or value from the machine (a file name with a newline, a
//! process name with escape sequences) printed escaped, so it can neither break a line of a
//! table or message nor be interpreted by the terminal.

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
