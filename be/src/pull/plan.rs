//! What one tablet of a pull is (validated from the FE's `TRemoteTabletSnapshot`), how
//! a remote listing reads, and which files to fetch, keep or delete locally.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use doris_thrift::agent_service::TRemoteTabletSnapshot;

use crate::error::{BeError, Result};

/// Suffix of a file being downloaded; renamed away once complete and verified.
pub const PART_SUFFIX: &str = ".part";

/// One tablet to pull. `remote_path` is the remote `<snapshot>/<tablet_id>/<schema_hash>`
/// directory (the FE builds it) and `local_dir` the local one the files go to.
#[derive(Clone)]
pub struct TabletSpec {
    pub idx: usize,
    pub local_tablet_id: i64,
    pub remote_tablet_id: i64,
    pub local_dir: PathBuf,
    /// `host:port`, brackets around an IPv6 host.
    pub remote_addr: String,
    pub remote_path: String,
    token: String,
}

// The token must never reach a log line, so Debug leaves it out.
impl fmt::Debug for TabletSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TabletSpec")
            .field("local_tablet_id", &self.local_tablet_id)
            .field("remote_tablet_id", &self.remote_tablet_id)
            .field("local_dir", &self.local_dir)
            .field("remote", &format_args!("{}:{}", self.remote_addr, self.remote_path))
            .finish()
    }
}

fn missing(idx: usize, field: &str) -> BeError {
    BeError::InvalidArgument(format!("remote_tablet_snapshots[{idx}]: {field} is not set"))
}

impl TabletSpec {
    pub fn from_thrift(idx: usize, s: &TRemoteTabletSnapshot) -> Result<TabletSpec> {
        let local_tablet_id = s.local_tablet_id.ok_or_else(|| missing(idx, "local_tablet_id"))?;
        let remote_tablet_id = s.remote_tablet_id.ok_or_else(|| missing(idx, "remote_tablet_id"))?;
        let local = s.local_snapshot_path.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| missing(idx, "local_snapshot_path"))?;
        let remote = s.remote_snapshot_path.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| missing(idx, "remote_snapshot_path"))?;
        let addr = s.remote_be_addr.as_ref().ok_or_else(|| missing(idx, "remote_be_addr"))?;
        let token = s.remote_token.as_deref().filter(|t| !t.is_empty()).ok_or_else(|| missing(idx, "remote_token"))?;
        if addr.hostname.is_empty() || !(1..=65535).contains(&addr.port) {
            return Err(BeError::InvalidArgument(format!(
                "remote_tablet_snapshots[{idx}]: bad remote_be_addr {}:{}",
                addr.hostname, addr.port
            )));
        }
        if !remote.starts_with('/') || remote.contains('\0') {
            return Err(BeError::InvalidArgument(format!(
                "remote_tablet_snapshots[{idx}]: remote_snapshot_path must be absolute: {remote}"
            )));
        }
        let host = if addr.hostname.contains(':') && !addr.hostname.starts_with('[') {
            format!("[{}]", addr.hostname)
        } else {
            addr.hostname.clone()
        };
        // Upstream appends "/<name>" to the path as given; drop a trailing slash so the
        // URLs stay clean (the remote canonicalizes either way).
        let trimmed = remote.trim_end_matches('/');
        Ok(TabletSpec {
            idx,
            local_tablet_id,
            remote_tablet_id,
            local_dir: PathBuf::from(local),
            remote_addr: format!("{host}:{}", addr.port),
            remote_path: if trimmed.is_empty() { "/".into() } else { trimmed.into() },
            token: token.to_string(),
        })
    }

    fn url(&self, file: &str, extra: &str) -> String {
        format!(
            "http://{}/api/_tablet/_download?token={}&file={}{extra}",
            self.remote_addr,
            encode(&self.token),
            encode(file)
        )
    }

    /// The directory listing URL; `with_stat` asks our BEs for sizes (and md5s unless
    /// `with_md5` is false) too. A real BE ignores both.
    pub fn dir_url(&self, with_stat: bool, with_md5: bool) -> String {
        let extra = match (with_stat, with_md5) {
            (false, _) => "",
            (true, true) => "&with_stat=true",
            (true, false) => "&with_stat=true&with_md5=false",
        };
        self.url(&self.remote_path, extra)
    }

    pub fn remote_file(&self, name: &str) -> String {
        if self.remote_path == "/" {
            format!("/{name}")
        } else {
            format!("{}/{name}", self.remote_path)
        }
    }

    pub fn file_url(&self, name: &str, acquire_md5: bool) -> String {
        self.url(&self.remote_file(name), if acquire_md5 { "&acquire_md5=true" } else { "" })
    }

    /// How a remote file is named in errors and logs (no token).
    pub fn shown(&self, name: Option<&str>) -> String {
        match name {
            Some(n) => format!("{}:{}", self.remote_addr, self.remote_file(n)),
            None => format!("{}:{}", self.remote_addr, self.remote_path),
        }
    }

    /// The local name of a remote file: only the header is renamed, to
    /// `<local_tablet_id>.hdr`; data, index and binlog files keep their names.
    pub fn local_name(&self, remote_name: &str) -> String {
        if is_hdr(remote_name) {
            format!("{}.hdr", self.local_tablet_id)
        } else {
            remote_name.to_string()
        }
    }
}

pub fn is_hdr(name: &str) -> bool {
    name.ends_with(".hdr")
}

/// Percent-encode a query value; `/` stays as is so URLs read like upstream's.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub name: String,
    pub size: u64,
    /// Lowercase hex, when the remote told us.
    pub md5: Option<String>,
}

/// A directory answer: ours carries `name\tsize\tmd5` lines, a real BE names only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    Stat(Vec<RemoteFile>),
    Names(Vec<String>),
}

/// A remote name becomes a local path, so anything that could leave the directory or
/// clash with our temporary files is refused.
pub fn check_remote_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(format!("remote listed an unusable file name {name:?}"));
    }
    if name.ends_with(PART_SUFFIX) {
        return Err(format!("remote listed {name:?}, which clashes with our partial-download suffix"));
    }
    Ok(())
}

pub fn parse_listing(body: &str) -> std::result::Result<Listing, String> {
    let lines: Vec<&str> = body.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()).collect();
    let stat = lines.iter().any(|l| l.contains('\t'));
    let mut seen = HashSet::new();
    if stat {
        let mut files = Vec::with_capacity(lines.len());
        for l in lines {
            let mut parts = l.split('\t');
            let (Some(name), Some(size), md5, None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                return Err(format!("bad listing line {l:?}"));
            };
            check_remote_name(name)?;
            let size: u64 = size.parse().map_err(|_| format!("bad size in listing line {l:?}"))?;
            let md5 = match md5.map(str::trim).filter(|m| !m.is_empty()) {
                Some(m) if m.len() == 32 && m.bytes().all(|c| c.is_ascii_hexdigit()) => Some(m.to_ascii_lowercase()),
                Some(_) => return Err(format!("bad md5 in listing line {l:?}")),
                None => None,
            };
            if !seen.insert(name.to_string()) {
                return Err(format!("remote listed {name:?} twice"));
            }
            files.push(RemoteFile { name: name.to_string(), size, md5 });
        }
        Ok(Listing::Stat(files))
    } else {
        let mut names = Vec::with_capacity(lines.len());
        for l in lines {
            // Upstream splits with SkipWhitespace; names never carry spaces.
            let name = l.trim();
            check_remote_name(name)?;
            if !seen.insert(name.to_string()) {
                return Err(format!("remote listed {name:?} twice"));
            }
            names.push(name.to_string());
        }
        Ok(Listing::Names(names))
    }
}

/// Regular files of a local directory with their sizes. Blocking.
pub fn scan_local(dir: &Path) -> std::io::Result<HashMap<String, u64>> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if !e.file_type()?.is_file() {
            continue;
        }
        if let Ok(name) = e.file_name().into_string() {
            out.insert(name, e.metadata()?.len());
        }
    }
    Ok(out)
}

/// One file to bring into a local tablet dir.
#[derive(Debug, Clone)]
pub struct FileJob {
    pub tablet: usize,
    pub tablet_id: i64,
    pub remote_name: String,
    /// Full URL including the token: never log it.
    pub url: String,
    pub shown: String,
    pub dest: PathBuf,
    pub size: u64,
    pub md5: Option<String>,
    /// A local file of the right size exists: hash it, and skip the transfer when the
    /// md5 matches.
    pub check_local: bool,
    /// Bytes of a `.part` left by an earlier attempt that a Range request may continue.
    pub partial: u64,
}

impl FileJob {
    pub fn part_path(&self) -> PathBuf {
        part_path(&self.dest)
    }
}

pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_os_string();
    s.push(PART_SUFFIX);
    PathBuf::from(s)
}

#[derive(Debug, Default)]
pub struct TabletPlan {
    pub jobs: Vec<FileJob>,
    /// Complete locally, decided without a transfer.
    pub skipped: u64,
    /// Local files the remote lacks (and stray partial files): to delete.
    pub delete: Vec<String>,
    /// Bytes the jobs will need on disk at most, counting what `.part` files already hold.
    pub need_bytes: u64,
}

/// Decide per remote file. `md5_known` files of the right size are left to the fetcher
/// to hash; without md5s, upstream's rule applies: same size means done, except the
/// header, which is always fetched again.
pub fn plan_tablet(spec: &TabletSpec, remote: &[RemoteFile], local: &HashMap<String, u64>, resume: bool) -> Result<TabletPlan> {
    let mut plan = TabletPlan::default();
    let mut expected = HashSet::new();
    for rf in remote {
        let lname = spec.local_name(&rf.name);
        if !expected.insert(lname.clone()) {
            return Err(BeError::Http(format!(
                "remote snapshot {} lists several files that land on local name {lname}",
                spec.shown(None)
            )));
        }
        let dest = spec.local_dir.join(&lname);
        let part = format!("{lname}{PART_SUFFIX}");
        let same_size = local.get(&lname) == Some(&rf.size);
        // Next to a complete-looking file a partial one is stale.
        if same_size && local.contains_key(&part) {
            plan.delete.push(part.clone());
        }
        let partial = match local.get(&part) {
            Some(&n) if resume && !same_size && n > 0 && n < rf.size => n,
            _ => 0,
        };
        if same_size && rf.md5.is_none() && !is_hdr(&rf.name) {
            plan.skipped += 1;
            continue;
        }
        if !same_size {
            plan.need_bytes += rf.size - partial;
        }
        plan.jobs.push(FileJob {
            tablet: spec.idx,
            tablet_id: spec.local_tablet_id,
            remote_name: rf.name.clone(),
            url: spec.file_url(&rf.name, false),
            shown: spec.shown(Some(&rf.name)),
            dest,
            size: rf.size,
            md5: rf.md5.clone(),
            check_local: same_size && rf.md5.is_some(),
            partial,
        });
    }
    for name in local.keys() {
        let keep = expected.contains(name)
            || name.strip_suffix(PART_SUFFIX).is_some_and(|base| expected.contains(base));
        if !keep && !plan.delete.contains(name) {
            plan.delete.push(name.clone());
        }
    }
    plan.delete.sort();
    Ok(plan)
}

/// Remove the planned extras. Blocking.
pub fn delete_extras(dir: &Path, names: &[String]) -> Result<()> {
    for n in names {
        let p = dir.join(n);
        match std::fs::remove_file(&p) {
            Ok(()) => tracing::info!(file = %p.display(), "deleted local file the remote snapshot lacks"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BeError::io(format!("delete {}", p.display()), e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use doris_thrift::types::TNetworkAddress;

    fn spec() -> TabletSpec {
        let t = TRemoteTabletSnapshot::new(
            11,
            "/l/snap/11/5".to_string(),
            22,
            3,
            TNetworkAddress { hostname: "10.0.0.1".into(), port: 8040 },
            "/r/snapshot/x/22/5/".to_string(),
            "tok en".to_string(),
        );
        TabletSpec::from_thrift(0, &t).unwrap()
    }

    #[test]
    fn urls_names_and_redaction() {
        let s = spec();
        assert_eq!(s.remote_path, "/r/snapshot/x/22/5");
        assert_eq!(s.file_url("22.hdr", true), "http://10.0.0.1:8040/api/_tablet/_download?token=tok%20en&file=/r/snapshot/x/22/5/22.hdr&acquire_md5=true");
        assert_eq!(s.local_name("22.hdr"), "11.hdr");
        assert_eq!(s.local_name("abc_0.dat"), "abc_0.dat");
        assert_eq!(s.local_name("abc_0.binlog"), "abc_0.binlog");
        assert!(!format!("{s:?}").contains("tok"));
        assert!(!s.shown(Some("a")).contains("tok"));
    }

    #[test]
    fn missing_fields_are_named() {
        // (the generated Default fills optional fields with Some(zero value))
        let t = TRemoteTabletSnapshot::new(1, None, None, None, None, None, None);
        let e = TabletSpec::from_thrift(3, &t).unwrap_err().to_string();
        assert!(e.contains("[3]") && e.contains("remote_tablet_id"), "{e}");
    }

    #[test]
    fn listings() {
        assert_eq!(
            parse_listing("a.dat\n22.hdr\n\n").unwrap(),
            Listing::Names(vec!["a.dat".into(), "22.hdr".into()])
        );
        let l = parse_listing("a.dat\t3\t900150983CD24FB0D6963F7D28E17F72\n").unwrap();
        assert_eq!(l, Listing::Stat(vec![RemoteFile { name: "a.dat".into(), size: 3, md5: Some("900150983cd24fb0d6963f7d28e17f72".into()) }]));
        // Our BEs send blank keep-alive lines while hashing for a listing.
        let l = parse_listing("\n\n\na.dat\t3\t900150983cd24fb0d6963f7d28e17f72\nb.dat\t0\t\n").unwrap();
        assert_eq!(
            l,
            Listing::Stat(vec![
                RemoteFile { name: "a.dat".into(), size: 3, md5: Some("900150983cd24fb0d6963f7d28e17f72".into()) },
                RemoteFile { name: "b.dat".into(), size: 0, md5: None },
            ])
        );
        assert!(parse_listing("../x\n").is_err());
        assert!(parse_listing("a/b\t1\t\n").is_err());
        assert!(parse_listing("x.part\n").is_err());
        assert!(parse_listing("a\tnot\tmd5\n").is_err());
        assert!(parse_listing("a\n a\n").is_err());
    }

    #[test]
    fn plans_keep_fetch_delete() {
        let s = spec();
        let remote = vec![
            RemoteFile { name: "22.hdr".into(), size: 5, md5: None },
            RemoteFile { name: "a.dat".into(), size: 10, md5: None },
            RemoteFile { name: "b.dat".into(), size: 10, md5: None },
            RemoteFile { name: "c.dat".into(), size: 10, md5: Some("00".repeat(16)) },
        ];
        let local: HashMap<String, u64> = [
            ("11.hdr", 5),
            ("a.dat", 10),
            ("b.dat.part", 4),
            ("c.dat", 10),
            ("old.dat", 1),
            ("old.dat.part", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let p = plan_tablet(&s, &remote, &local, true).unwrap();
        let names: Vec<_> = p.jobs.iter().map(|j| j.remote_name.as_str()).collect();
        assert_eq!(names, ["22.hdr", "b.dat", "c.dat"]);
        assert_eq!(p.skipped, 1);
        assert_eq!(p.jobs[1].partial, 4);
        assert!(p.jobs[2].check_local);
        assert_eq!(p.delete, ["old.dat", "old.dat.part"]);
        assert_eq!(p.need_bytes, 6);
        assert_eq!(p.jobs[0].dest, PathBuf::from("/l/snap/11/5/11.hdr"));
    }
}
