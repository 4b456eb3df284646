//! A moto S3 server (a child process) with bucket [`BUCKET`], for the tests that need a real
//! S3 API. moto is a test dependency (`pip install 'moto[server]'`, tests/requirements.txt):
//! without it a test fails and says so, it never skips.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "doris-backup";
/// How long moto gets to listen.
const DEADLINE: Duration = Duration::from_secs(60);

/// A moto server child process, killed when dropped.
pub struct Moto {
    child: Child,
    log: PathBuf,
    pub port: u16,
    pub access_key: String,
    pub secret_key: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Creates the bucket; with `auth`, also an IAM user allowed s3:* and prints its key
/// pair. moto checks signatures once its first INITIAL_NO_AUTH_ACTION_COUNT requests are
/// used up; the script spends any left with a wrong key until moto refuses one, so
/// checking is on whatever this moto version counts.
const SETUP: &str = r#"
import sys, boto3, botocore
ep, bucket, auth = sys.argv[1], sys.argv[2], sys.argv[3] == "auth"
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
boto3.client("s3", **kw).create_bucket(Bucket=bucket)
if not auth:
    print("any-access-key any-secret-key")
    sys.exit(0)
iam = boto3.client("iam", **kw)
iam.create_user(UserName="doris-be")
key = iam.create_access_key(UserName="doris-be")["AccessKey"]
iam.put_user_policy(UserName="doris-be", PolicyName="s3", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
bad = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="not-the-secret")
for _ in range(20):
    try:
        bad.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError:
        break
else:
    sys.exit("moto never started checking signatures")
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn start_moto(auth: bool) -> Moto {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("doris-rs-moto-{port}.log"));
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()]);
    // With auth, the bucket and the IAM user are made unauthenticated (4 calls), then
    // moto checks every request; unset, it never checks.
    if auth {
        cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "4");
    } else {
        cmd.env_remove("INITIAL_NO_AUTH_ACTION_COUNT");
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 -m moto.server (install moto[server]): {e}"));
    let mut moto = Moto { child, log: log.clone(), port, access_key: String::new(), secret_key: String::new() };
    // Ready once it accepts connections. A TCP connect sends no request, so it spends
    // none of the unauthenticated calls.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = moto.child.try_wait().unwrap() {
            panic!(
                "moto server exited ({status}); this test needs `pip install 'moto[server]'`: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        assert!(start.elapsed() < DEADLINE, "moto server did not listen on {addr} within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new("python3")
        .args(["-c", SETUP, &format!("http://127.0.0.1:{port}"), BUCKET, if auth { "auth" } else { "open" }])
        .output()
        .expect("run the moto setup script");
    assert!(out.status.success(), "moto setup failed: {}", String::from_utf8_lossy(&out.stderr));
    let keys = String::from_utf8(out.stdout).unwrap();
    let mut it = keys.split_whitespace();
    moto.access_key = it.next().expect("access key").to_string();
    moto.secret_key = it.next().expect("secret key").to_string();
    moto
}

