//! The one HTTP client the FE reaches BEs' HTTP ports with (scans, INSERT's stream loads,
//! dropping an aborted load's rowsets). Its pool keeps connections to each BE open across
//! requests; a client per request would open a TCP connection for every tablet of every
//! scan, and under many concurrent queries leave sockets in TIME_WAIT by the thousand.

use std::sync::OnceLock;
use std::time::Duration;

/// Idle connections kept per BE: enough for a few scans in a row; a burst of concurrent
/// queries opens more, which are closed once done instead of held (each is a file
/// descriptor here and on the BE).
const IDLE_PER_BE: usize = 16;
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .pool_max_idle_per_host(IDLE_PER_BE)
            .pool_idle_timeout(IDLE_TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    })
}
