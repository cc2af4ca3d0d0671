//! The patterns ACLs and filters use: `*` matches any run of characters (also none); all other
//! characters match themselves, ASCII case-insensitively (domains are case-insensitive).

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and how much of the text it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_literals() {
        assert!(matches("*", ""));
        assert!(matches("*", "anything"));
        assert!(matches("localhost", "LocalHost"));
        assert!(!matches("localhost", "localhost2"));
        assert!(matches("*.example.org", "muc.example.org"));
        assert!(!matches("*.example.org", "example.org"));
        assert!(matches("*@blocked.example", "y@blocked.example"));
        assert!(!matches("*@blocked.example", "blocked.example"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("sm*", "sm"));
    }
}
