//! `config_keys!` as the services use it: from outside the crate.

use std::path::{Path, PathBuf};

use doris_conf::{bad, ConfValue, ConfigError};

fn positive_seconds(key: &str, v: &str) -> Result<f64, ConfigError> {
    let s = f64::parse_conf(key, v)?;
    if !(s > 0.0 && s.is_finite()) {
        return Err(bad(key, v, "must be a positive number of seconds"));
    }
    Ok(s)
}

doris_conf::config_keys! {
    /// A config with one key of every kind.
    #[derive(Clone)]
    pub struct TestConfig {
        /// port; 0 = any free port
        port: u16 = "9020",
        /// where data goes
        data_dir: PathBuf = "${DORIS_CONF_KEYS_TEST_HOME}/data",
        /// id; empty = generated
        id: Option<i32> = "",
        /// a flag
        flag: bool = "false",
        /// seconds between beats
        /// (fractions allowed)
        interval: f64 = "5" [parse = positive_seconds],
        /// workers
        workers: usize = "3" [parse = doris_conf::at_least_one],
        /// data roots
        roots: String = "/r" [key = "storage_root_path"],
        /// the password
        password: String = "" [secret, key = "root_password"],
    }
}

fn conf(text: &str) -> Result<TestConfig, ConfigError> {
    TestConfig::parse_str(text, Path::new("test.conf"))
}

#[test]
fn defaults_are_parsed_and_expanded() {
    std::env::set_var("DORIS_CONF_KEYS_TEST_HOME", "/home/d");
    let c = TestConfig::default();
    assert_eq!(c.port, 9020);
    assert_eq!(c.data_dir, PathBuf::from("/home/d/data"));
    assert_eq!(c.id, None);
    assert!(!c.flag);
    assert_eq!(c.interval, 5.0);
    assert_eq!(c.workers, 3);
    assert_eq!(c.roots, "/r");
    assert_eq!(c.password, "");
}

#[test]
fn set_parses_by_type_and_by_the_key_parser() {
    let mut c = TestConfig::default();
    assert!(c.set("port", "19020").unwrap());
    assert!(c.set("id", "7").unwrap());
    assert!(c.set("flag", "yes").unwrap());
    assert!(c.set("interval", "0.2").unwrap());
    assert!(c.set("storage_root_path", "/a;/b").unwrap());
    assert!(c.set("root_password", "pw").unwrap());
    assert_eq!((c.port, c.id, c.flag, c.interval), (19020, Some(7), true, 0.2));
    assert_eq!((c.roots.as_str(), c.password.as_str()), ("/a;/b", "pw"));
    // A key is known by its conf name only.
    assert!(!c.set("roots", "/x").unwrap());
    assert!(!c.set("password", "x").unwrap());
    let c = conf("port = 1\nworkers = 9\n").unwrap();
    assert_eq!((c.port, c.workers, c.flag), (1, 9, false));
}

#[test]
fn unknown_keys_are_ignored() {
    let mut c = TestConfig::default();
    assert!(!c.set("sys_log_level", "INFO").unwrap());
    let c = conf("sys_log_level = INFO\nport = 7\n").unwrap();
    assert_eq!(c.port, 7);
}

#[test]
fn bad_values_fail_naming_their_key() {
    let e = conf("port = ninety\n").unwrap_err();
    assert!(matches!(&e, ConfigError::Value { key, value, .. } if key == "port" && value == "ninety"), "{e}");
    let e = conf("interval = 0\n").unwrap_err();
    assert_eq!(e.to_string(), "bad value for interval: `0` (must be a positive number of seconds)");
    let e = conf("workers = 0\n").unwrap_err();
    assert_eq!(e.to_string(), "bad value for workers: `0` (must be at least 1)");
    let e = conf("data_dir =\n").unwrap_err();
    assert_eq!(e.to_string(), "bad value for data_dir: `` (no path given)");
    let e = conf("flag = maybe\n").unwrap_err();
    assert!(e.to_string().starts_with("bad value for flag: `maybe`"), "{e}");
    // A failed set leaves the value as it was.
    let mut c = TestConfig::default();
    assert!(c.set("port", "-1").is_err());
    assert_eq!(c.port, 9020);
}

#[test]
fn secrets_stay_out_of_debug() {
    let mut c = TestConfig::default();
    c.set("root_password", "s3cret").unwrap();
    let d = format!("{c:?}");
    assert!(!d.contains("s3cret") && !d.contains("password"), "{d}");
    assert!(d.starts_with("TestConfig { port: 9020,") && d.ends_with(", .. }"), "{d}");
}

#[test]
fn the_key_table_lists_every_key_once_in_order() {
    let names: Vec<_> = TestConfig::KEYS.iter().map(|k| k.name).collect();
    assert_eq!(
        names,
        ["port", "data_dir", "id", "flag", "interval", "workers", "storage_root_path", "root_password"]
    );
    let interval = &TestConfig::KEYS[4];
    assert_eq!((interval.default, interval.doc), ("5", "seconds between beats (fractions allowed)"));
    assert_eq!(TestConfig::KEYS[1].default, "${DORIS_CONF_KEYS_TEST_HOME}/data");
    let secrets: Vec<_> = TestConfig::KEYS.iter().filter(|k| k.secret).map(|k| k.name).collect();
    assert_eq!(secrets, ["root_password"]);
    let help = doris_conf::help("test.conf", TestConfig::KEYS, 8);
    let lines: Vec<_> = help.lines().collect();
    assert_eq!(lines.len(), 1 + TestConfig::KEYS.len());
    assert_eq!(lines[0], "test.conf keys (key = value):");
    assert_eq!(lines[1], format!("  {:<36} default 9020     port; 0 = any free port", "port"));
    assert_eq!(lines[3], format!("  {:<36} default {:<8} id; empty = generated", "id", ""));
}
