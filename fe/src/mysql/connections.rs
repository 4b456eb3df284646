//! The connections on the MySQL port: SHOW PROCESSLIST lists them, KILL ends one or
//! interrupts its statement.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::results::{ColType, OutColumn, QueryOutput, Value};
use crate::error::FeError;

/// Upstream's SHOW PROCESSLIST columns.
const PROCESSLIST_TITLES: &[&str] =
    &["CurrentConnected", "Id", "User", "Host", "LoginTime", "Catalog", "Db", "Command", "Time", "State", "QueryId", "Info"];

/// Without FULL, Info shows at most this many characters, as upstream.
const INFO_CHARS: usize = 100;

/// Users who may see and kill every connection (upstream: ADMIN privilege).
fn is_admin(user: &str) -> bool {
    matches!(user, "root" | "admin")
}

pub(super) struct Connection {
    id: u32,
    user: String,
    /// `ip:port` of the client.
    host: String,
    login_time: String,
    /// Cancelled by `KILL CONNECTION`: the server drops the connection.
    pub(super) closed: CancellationToken,
    state: Mutex<Current>,
}

struct Current {
    db: Option<String>,
    since: Instant,
    /// The statement running now: what Info shows, and what `KILL QUERY` cancels.
    running: Option<(String, CancellationToken)>,
}

impl Connection {
    /// Marks a statement as running; its token is cancelled by `KILL QUERY`.
    pub(super) fn start(&self, info: String, db: Option<String>) -> CancellationToken {
        let token = CancellationToken::new();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = Current { db, since: Instant::now(), running: Some((info, token.clone())) };
        token
    }

    pub(super) fn finish(&self, db: Option<String>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        *s = Current { db, since: Instant::now(), running: None };
    }
}

#[derive(Default)]
pub(super) struct Connections {
    by_id: Mutex<BTreeMap<u32, Arc<Connection>>>,
}

/// Removes its connection from the list when the connection ends.
pub(super) struct Registered<'a> {
    list: &'a Connections,
    pub(super) conn: Arc<Connection>,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.list.by_id.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.conn.id);
    }
}

impl Connections {
    pub(super) fn register(&self, id: u32, user: &str, host: String) -> Registered<'_> {
        let login_time = chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string();
        let conn = Arc::new(Connection {
            id,
            user: user.to_string(),
            host,
            login_time,
            closed: CancellationToken::new(),
            state: Mutex::new(Current { db: None, since: Instant::now(), running: None }),
        });
        self.by_id.lock().unwrap_or_else(|e| e.into_inner()).insert(id, conn.clone());
        Registered { list: self, conn }
    }

    /// `SHOW [FULL] PROCESSLIST` as `user` on connection `me` sees it: every connection for
    /// an admin, its own user's otherwise.
    pub(super) fn show(&self, me: u32, user: &str, full: bool) -> QueryOutput {
        let list: Vec<Arc<Connection>> = self.by_id.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        let mut rows = Vec::new();
        for c in list.iter().filter(|c| is_admin(user) || c.user == user) {
            let s = c.state.lock().unwrap_or_else(|e| e.into_inner());
            let (command, info) = match &s.running {
                Some((info, _)) => {
                    let info = if full { info.clone() } else { info.chars().take(INFO_CHARS).collect() };
                    ("Query", info)
                }
                None => ("Sleep", String::new()),
            };
            rows.push(vec![
                Value::from(if c.id == me { "Yes" } else { "No" }),
                Value::Int(c.id as i64),
                c.user.as_str().into(),
                c.host.as_str().into(),
                c.login_time.as_str().into(),
                "internal".into(),
                s.db.clone().unwrap_or_default().into(),
                command.into(),
                Value::Int(s.since.elapsed().as_secs() as i64),
                "OK".into(),
                "".into(),
                info.into(),
            ]);
        }
        let columns = PROCESSLIST_TITLES
            .iter()
            .map(|t| match *t {
                "Id" => OutColumn::bigint(*t),
                "Time" => OutColumn::new(*t, ColType::Int),
                _ => OutColumn::text(*t),
            })
            .collect();
        QueryOutput::rows(columns, rows)
    }

    /// `KILL [QUERY] id` by `user`: an admin may end any connection, others only their own
    /// user's (MySQL's errors 1094 and 1095 otherwise).
    pub(super) fn kill(&self, user: &str, id: u32, query_only: bool) -> Result<(), FeError> {
        let conn = self.by_id.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned();
        let conn = conn.ok_or(FeError::NoSuchThread(id))?;
        if !is_admin(user) && conn.user != user {
            return Err(FeError::KillDenied(id));
        }
        if query_only {
            if let Some((_, token)) = &conn.state.lock().unwrap_or_else(|e| e.into_inner()).running {
                token.cancel();
            }
        } else {
            conn.closed.cancel();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(out: &QueryOutput) -> Vec<i64> {
        let QueryOutput::Rows { rows, .. } = out else { panic!() };
        rows.iter().map(|r| match r[1] { Value::Int(i) => i, _ => panic!() }).collect()
    }

    #[test]
    fn listed_while_open_and_killed_by_owner_or_admin() {
        let list = Connections::default();
        let a = list.register(1, "alice", "10.0.0.1:5000".into());
        let b = list.register(2, "bob", "10.0.0.2:5000".into());
        assert_eq!(ids(&list.show(1, "root", false)), [1, 2]);
        assert_eq!(ids(&list.show(1, "alice", false)), [1]);

        let q = b.conn.start("SELECT ".to_string() + &"x".repeat(200), Some("db1".into()));
        let QueryOutput::Rows { rows, .. } = list.show(2, "bob", false) else { panic!() };
        assert_eq!((rows[0][7].clone(), rows[0][6].clone()), (Value::from("Query"), Value::from("db1")));
        assert_eq!(rows[0][11].to_text().unwrap().len(), INFO_CHARS);

        assert!(matches!(list.kill("alice", 2, true), Err(FeError::KillDenied(2))));
        assert!(matches!(list.kill("alice", 9, false), Err(FeError::NoSuchThread(9))));
        list.kill("bob", 2, true).unwrap();
        assert!(q.is_cancelled() && !b.conn.closed.is_cancelled());
        list.kill("root", 1, false).unwrap();
        assert!(a.conn.closed.is_cancelled());

        drop(a);
        assert_eq!(ids(&list.show(2, "root", false)), [2]);
    }
}
