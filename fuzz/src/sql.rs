//! The FE's SQL parser (`doris_fe::sql::parse`), on every statement text a client can send.

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = doris_fe::sql::parse(text);
    }
}
