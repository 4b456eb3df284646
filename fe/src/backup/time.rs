//! Time formats used by backup/restore, all in the FE's local time zone like upstream.

use chrono::{Local, LocalResult, NaiveDateTime, TimeZone};

/// Upstream's spelling of an unset time or value in SHOW output.
pub const NULL_STRING: &str = "NULL";

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn local(ms: i64) -> Option<chrono::DateTime<Local>> {
    match Local.timestamp_millis_opt(ms) {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(t, _) => Some(t),
        LocalResult::None => None,
    }
}

/// `yyyy-MM-dd HH:mm:ss`, or `NULL` for an unset (<= 0) time, as SHOW BACKUP/RESTORE print.
pub fn format_time(ms: i64) -> String {
    if ms <= 0 {
        return NULL_STRING.to_string();
    }
    local(ms).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_else(|| NULL_STRING.to_string())
}

/// Parse `yyyy-MM-dd HH:mm:ss` (local time) back to milliseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    match Local.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.timestamp_millis()),
        LocalResult::None => None,
    }
}

/// The snapshot timestamp of a backup, `yyyy-MM-dd-HH-mm-ss`: the suffix of the
/// repository's `__info_<timestamp>` file and the RESTORE `backup_timestamp` property.
pub fn snapshot_timestamp(ms: i64) -> String {
    local(ms.max(0)).map(|t| t.format("%Y-%m-%d-%H-%M-%S").to_string()).unwrap_or_default()
}

/// Parse a `yyyy-MM-dd-HH-mm-ss` snapshot timestamp.
pub fn parse_snapshot_timestamp(s: &str) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d-%H-%M-%S").ok()?;
    match Local.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.timestamp_millis()),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_times_print_null() {
        assert_eq!(format_time(0), "NULL");
        assert_eq!(format_time(-1), "NULL");
    }

    #[test]
    fn round_trips() {
        let ms = 1_700_000_123_000;
        let s = format_time(ms);
        assert_eq!(s.len(), 19);
        assert_eq!(parse_time(&s), Some(ms));
        let ts = snapshot_timestamp(ms);
        assert_eq!(ts.len(), 19);
        assert_eq!(ts.matches('-').count(), 5);
        assert_eq!(parse_snapshot_timestamp(&ts), Some(ms));
        assert_eq!(parse_time("2024-13-01 00:00:00"), None);
    }
}
