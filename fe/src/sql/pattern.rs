//! SQL `LIKE` matching for the SHOW statements' filters.

/// Matches `text` against a `LIKE` pattern: `%` any run, `_` one character,
/// `\` escapes the next character. Case-insensitive, as MySQL's SHOW filters are.
pub fn like_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    matches_from(&p, &t)
}

fn matches_from(p: &[char], t: &[char]) -> bool {
    // Iterative with one backtrack point for the last '%': linear in practice
    // and no recursion depth to worry about.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('%') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('_') => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some('\\') if pi + 1 < p.len() && p[pi + 1] == t[ti] => {
                pi += 2;
                ti += 1;
                continue;
            }
            // An escaped character that does not match: only a '%' can help.
            Some('\\') if pi + 1 < p.len() => {}
            Some(c) if *c == t[ti] => {
                pi += 1;
                ti += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}
