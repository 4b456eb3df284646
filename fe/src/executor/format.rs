//! Value spellings shared by SHOW outputs, as upstream prints them.

/// Upstream's null cell in proc results.
pub const NULL_STRING: &str = "\\N";

/// `yyyy-MM-dd HH:mm:ss` in local time; `\N` for 0 (never).
pub fn time_string(ms: i64) -> String {
    if ms <= 0 {
        return NULL_STRING.to_string();
    }
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => NULL_STRING.to_string(),
    }
}

/// Bytes with a unit and three decimals, as upstream's byte formatting does.
pub fn byte_string(bytes: i64) -> String {
    const UNITS: [(&str, f64); 5] = [
        ("PB", 1024f64 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("TB", 1024f64 * 1024.0 * 1024.0 * 1024.0),
        ("GB", 1024f64 * 1024.0 * 1024.0),
        ("MB", 1024f64 * 1024.0),
        ("KB", 1024f64),
    ];
    let b = bytes as f64;
    for (unit, size) in UNITS {
        if b.abs() >= size {
            return format!("{:.3} {unit}", b / size);
        }
    }
    format!("{:.3} ", b)
}

/// Case-insensitive SQL LIKE.
pub fn like(s: &str, pattern: &str) -> bool {
    crate::sql::like_match(pattern, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_upstream() {
        assert_eq!(byte_string(0), "0.000 ");
        assert_eq!(byte_string(1536), "1.500 KB");
        assert_eq!(byte_string(3 * 1024 * 1024 * 1024), "3.000 GB");
        assert_eq!(time_string(0), "\\N");
    }
}
