//! A real small file system for disk-full tests: a tmpfs the test mounts (it needs root,
//! as CI runs; a test that cannot mount says so and passes), and a filler that takes
//! every free byte of it. Shared with the FE's tests (`#[path]`), so std only.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const MIB: usize = 1024 * 1024;

/// Unmounts on drop, even when an assertion failed.
pub struct Mounted(pub PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

pub fn mount_tmpfs(at: &Path, size_mib: usize) -> Option<Mounted> {
    std::fs::create_dir_all(at).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
        .arg(at)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("cannot mount a tmpfs here (not root?): disk-full test skipped");
        return None;
    }
    Some(Mounted(at.to_path_buf()))
}

/// Fill the file system holding `dir` to its last byte with `<dir>/filler`; returns it.
/// Removing it gives the space back.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
    // Big pieces first, then pages, until nothing more fits.
    for piece in [MIB, 4096, 1] {
        let buf = vec![0xAB; piece];
        while f.write_all(&buf).is_ok() {}
    }
    let _ = f.sync_all();
    // Not a byte more fits (the loop above ended on a failed 1-byte write).
    path
}

/// Names of the entries directly in `dir`, sorted (empty when it is missing).
pub fn entries(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<String> = rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}
