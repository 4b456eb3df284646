//! fe.conf and be.conf: the `key = value` reader and every key's value parser, as both
//! services load their conf file at start.

use std::path::Path;

pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = doris_fe::config::FeConfig::parse_str(text, Path::new("fe.conf"));
        let _ = doris_be::BeConfig::parse_str(text, Path::new("be.conf"));
    }
}
