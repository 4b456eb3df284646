//! A load's error log: the rows it filtered, with their reasons, kept on the BE that
//! coordinated it and served by `GET /api/_load_error_log?file=<name>` (the answer's
//! `ErrorURL`).
//!
//! Like upstream, the logs live in `error_log/` under the first storage root, one file per
//! load, one line per filtered row (`Reason: <reason>. src line [<row>]; `), at most
//! [`MAX_ERROR_SAMPLES`] rows, then one line saying there were more. Files older than
//! `load_error_log_reserve_hours` are deleted at start-up, hourly and whenever a new log
//! is written. File names are flat (no sub-directories), so a requested name with a path
//! separator or `..` is refused rather than resolved.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::csv::MAX_ERROR_SAMPLES;
use crate::context::BeContext;

/// The directory under the first storage root (upstream's name).
pub const DIR_NAME: &str = "error_log";
const FILE_PREFIX: &str = "error_log_";

pub fn dir(ctx: &BeContext) -> PathBuf {
    ctx.config.storage_root_paths.first().map(|r| r.join(DIR_NAME)).unwrap_or_else(|| PathBuf::from(DIR_NAME))
}

/// A name a request may ask for: one plain file name of ours, nothing to resolve.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains("..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Label and database as a file name part: anything but `[A-Za-z0-9_-]` becomes `_`.
fn sanitize(s: &str) -> String {
    s.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// The log's text: one line per kept reason, and upstream's line when more rows were
/// filtered than kept.
pub fn render(errors: &[String], filtered: u64) -> String {
    let mut out = String::new();
    for e in errors {
        out.push_str(e);
        out.push('\n');
    }
    if filtered > errors.len() as u64 {
        out.push_str(&format!("TOO MUCH ERROR! already reach {MAX_ERROR_SAMPLES}. show no more next error.\n"));
    }
    out
}

/// Write the log of one load into `dir`; its file name. Old logs are swept first.
pub fn write(dir: &Path, reserve_hours: u64, db: &str, label: &str, errors: &[String], filtered: u64) -> std::io::Result<String> {
    std::fs::create_dir_all(dir)?;
    sweep(dir, reserve_hours);
    let name = format!("{FILE_PREFIX}{}_{}_{}", sanitize(db), sanitize(label), uuid::Uuid::new_v4().simple());
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, render(errors, filtered))?;
    std::fs::rename(&tmp, dir.join(&name))?;
    Ok(name)
}

/// Delete the logs in `dir` last modified more than `reserve_hours` ago; how many.
pub fn sweep(dir: &Path, reserve_hours: u64) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let keep = Duration::from_secs(reserve_hours.saturating_mul(3600));
    let now = SystemTime::now();
    let mut removed = 0;
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let old = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > keep);
        if old {
            match std::fs::remove_file(e.path()) {
                Ok(()) => removed += 1,
                Err(err) => warn!(path = %e.path().display(), error = %err, "cannot delete an old load error log"),
            }
        }
    }
    if removed > 0 {
        info!(removed, dir = %dir.display(), "deleted load error logs past load_error_log_reserve_hours");
    }
    removed
}

/// The sweeper: at start-up, then hourly, until `stop`.
pub async fn run(ctx: Arc<BeContext>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (d, hours) = (dir(&ctx), ctx.config.load_error_log_reserve_hours);
        let _ = tokio::task::spawn_blocking(move || sweep(&d, hours)).await;
    }
}

/// `GET /api/_load_error_log?file=<name>`: the log as text; 400 for a name that is not a
/// plain file name, 404 for one that does not exist (or was swept).
pub async fn serve(State(ctx): State<Arc<BeContext>>, Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let Some(name) = q.get("file") else {
        return (StatusCode::BAD_REQUEST, "the file parameter is required: /api/_load_error_log?file=<name>\n").into_response();
    };
    if !valid_name(name) {
        return (StatusCode::BAD_REQUEST, format!("invalid error log name '{name}': a file name of the error log directory is expected\n"))
            .into_response();
    }
    let path = dir(&ctx).join(name);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (StatusCode::OK, [("Content-Type", "text/plain; charset=UTF-8")], bytes).into_response(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (StatusCode::NOT_FOUND, format!("error log '{name}' not found (it may have been deleted after load_error_log_reserve_hours)\n"))
                .into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("reading error log '{name}': {e}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_confined_to_the_directory() {
        for bad in ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b", "x..y", "a b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_name("error_log_db_label-1_0123abcd"));
    }

    #[test]
    fn write_render_and_sweep() {
        let d = tempfile::tempdir().unwrap();
        let errors: Vec<String> = (0..MAX_ERROR_SAMPLES).map(|i| format!("Reason: r{i}. src line [{i}]; ")).collect();
        let name = write(d.path(), 48, "db", "lab/el 1", &errors, 60).unwrap();
        assert!(name.starts_with("error_log_db_lab_el_1_"), "{name}");
        assert!(valid_name(&name));
        let text = std::fs::read_to_string(d.path().join(&name)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), MAX_ERROR_SAMPLES + 1);
        assert_eq!(lines[0], "Reason: r0. src line [0]; ");
        assert_eq!(lines[MAX_ERROR_SAMPLES], "TOO MUCH ERROR! already reach 50. show no more next error.");
        assert_eq!(render(&errors[..1], 1), "Reason: r0. src line [0]; \n");

        // A log older than the reserve goes; a fresh one stays.
        let old = d.path().join("error_log_old");
        std::fs::write(&old, "x").unwrap();
        let f = std::fs::File::options().write(true).open(&old).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(3 * 3600)).unwrap();
        assert_eq!(sweep(d.path(), 2), 1);
        assert!(!old.exists());
        assert!(d.path().join(&name).exists());
    }
}
