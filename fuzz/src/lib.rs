//! Fuzz targets: each feeds one input to a decoder of outside bytes exactly as the service
//! does (the same transport, parser or handler code, never a copy) and checks the memory it
//! cost (`alloc`). A target returns nothing: an error answer is a pass; a panic, abort,
//! hang or memory blow-up is what AFL keeps. `fuzz/README.md` says how to run them.

pub mod alloc;
mod conf;
mod hdr;
mod http;
mod load;
mod meta;
mod mysql;
mod sql;
mod stream;
mod thrift;

/// Every target's name, as `doris-fuzz <target>` and `fuzz/run.sh <target>` take it.
pub const TARGETS: &[&str] = &["thrift", "mysql", "sql", "http", "load", "meta", "conf", "hdr"];

/// Memory one input may cost: a fixed allowance plus this many bytes per input byte.
/// Decoding legitimately amplifies (a struct is bigger in memory than on the wire); what
/// this catches is allocation driven by a declared length rather than by bytes present.
const BASE_BUDGET: usize = 32 << 20;
const PER_BYTE_BUDGET: usize = 256;

/// Run `target` on one input; panics (a crash for AFL) on an unknown target or when the
/// input cost more memory than its budget.
pub fn run(target: &str, data: &[u8]) {
    let f: fn(&[u8]) = match target {
        "thrift" => thrift::run,
        "mysql" => mysql::run,
        "sql" => sql::run,
        "http" => http::run,
        "load" => load::run,
        "meta" => meta::run,
        "conf" => conf::run,
        "hdr" => hdr::run,
        other => panic!("unknown fuzz target {other:?}; targets: {TARGETS:?}"),
    };
    // One-time set-up (runtimes, a BE's storage) is not the input's cost.
    init(target);
    let base = alloc::reset_peak();
    f(data);
    let peak = alloc::peak_since(base);
    let budget = BASE_BUDGET + PER_BYTE_BUDGET * data.len();
    assert!(peak <= budget, "{target}: an input of {} bytes cost {peak} bytes of memory (budget {budget})", data.len());
}

fn init(target: &str) {
    match target {
        "http" => http::init(),
        "thrift" | "mysql" => {
            let _ = stream::runtime();
        }
        _ => {}
    }
}
