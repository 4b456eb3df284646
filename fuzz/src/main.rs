//! `doris-fuzz <target>`: one AFL binary for every target (see `doris_fuzz::TARGETS`).
//! Built by fuzz/run.sh; outside afl-fuzz it runs one input from stdin, to replay a crash.

#[global_allocator]
static COUNTING: doris_fuzz::alloc::Counting = doris_fuzz::alloc::Counting;

fn main() {
    let target = std::env::args().nth(1).unwrap_or_default();
    if !doris_fuzz::TARGETS.contains(&target.as_str()) {
        eprintln!("usage: doris-fuzz <target>; targets: {}", doris_fuzz::TARGETS.join(" "));
        std::process::exit(2);
    }
    afl::fuzz!(|data: &[u8]| doris_fuzz::run(&target, data));
}
