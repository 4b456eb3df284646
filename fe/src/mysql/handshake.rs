//! The connection phase (greeting, login, auth switch), done by us rather
//! than by opensrv-mysql: opensrv can only refuse a login with its own error
//! (1698, fixed text) and switches plugins only for empty responses, while
//! clients expect 1045 "Access denied ..." and MySQL 8 clients open with
//! caching_sha2_password. After a successful login opensrv takes over the
//! command phase; [`opensrv_handoff`] replays the login to it.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use opensrv_mysql::{CapabilityFlags, ErrorKind, StatusFlags};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::auth::{self, Authenticator, NATIVE_PASSWORD_PLUGIN, SALT_LEN};
use super::probes::SERVER_VERSION;
use crate::error::FeError;

/// utf8_general_ci, the collation id upstream announces in its greeting.
const SERVER_CHARSET: u8 = 33;
const MAX_LOGIN_PACKET: usize = 64 * 1024;

/// What we advertise. opensrv's command phase relies on PROTOCOL_41 and
/// honours DEPRECATE_EOF, so both sides agree on these.
pub(crate) fn server_capabilities() -> CapabilityFlags {
    CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_DEPRECATE_EOF
}

/// A logged-in client.
#[derive(Debug)]
pub(crate) struct Login {
    pub user: String,
    /// The host pattern of the identity the login matched (`%` for any host).
    pub user_host: String,
    pub db: Option<String>,
    /// Capabilities both sides have.
    pub capabilities: CapabilityFlags,
    pub max_packet: u32,
    pub charset: u8,
    /// Sequence id of the client's last login packet; our OK follows it.
    pub last_seq: u8,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LoginError {
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Refused(FeError),
    #[error("bad handshake: {0}")]
    Protocol(String),
    /// The client sent nothing for `connect_timeout` while we waited for its packet.
    #[error("no packet from the client in {0} s (connect_timeout)")]
    Silent(u64),
}

struct HandshakeResponse {
    capabilities: CapabilityFlags,
    max_packet: u32,
    charset: u8,
    user: String,
    auth_response: Vec<u8>,
    db: Option<String>,
    plugin: Option<String>,
}

/// Runs the connection phase on `stream` up to (not including) the final OK.
/// On refusal the client has already been sent the error packet. Each packet of the
/// client's must come within `client_timeout` of our asking (MySQL's connect_timeout): our
/// own slowness under load does not count against the client, its silence does.
pub(crate) async fn login<S>(
    stream: &mut S,
    connection_id: u32,
    client_host: &str,
    authenticator: &dyn Authenticator,
    client_timeout: std::time::Duration,
) -> Result<Login, LoginError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let salt = auth::new_salt();
    write_packet(stream, 0, &greeting(connection_id, &salt)).await?;

    let (mut seq, payload) = read_client_packet(stream, client_timeout).await?;
    let resp = match parse_handshake_response(&payload) {
        Ok(r) => r,
        Err(msg) => {
            write_err(stream, seq.wrapping_add(1), ErrorKind::ER_HANDSHAKE_ERROR, "Bad handshake").await?;
            return Err(LoginError::Protocol(msg));
        }
    };

    let mut auth_response = resp.auth_response;
    let wants_other_plugin = matches!(&resp.plugin, Some(p) if !p.is_empty() && p != NATIVE_PASSWORD_PLUGIN);
    if wants_other_plugin {
        // Ask the client to redo the login with mysql_native_password and our salt.
        let mut switch = Vec::with_capacity(1 + NATIVE_PASSWORD_PLUGIN.len() + 2 + SALT_LEN);
        switch.push(0xfe);
        switch.extend_from_slice(NATIVE_PASSWORD_PLUGIN.as_bytes());
        switch.push(0);
        switch.extend_from_slice(&salt);
        switch.push(0);
        write_packet(stream, seq.wrapping_add(1), &switch).await?;
        let (s, data) = read_client_packet(stream, client_timeout).await?;
        seq = s;
        auth_response = data;
    }

    let entry = authenticator.login_entry(&resp.user, client_host);
    let user_host = match &entry {
        Some((host, stage2)) if auth::verify(&auth_response, &salt, stage2) => host.clone(),
        _ => {
            let err = FeError::AccessDenied {
                user: resp.user.clone(),
                host: client_host.to_string(),
                // Upstream says YES when no identity matches, whatever was sent.
                using_password: entry.is_none() || !auth_response.is_empty(),
            };
            write_err(stream, seq.wrapping_add(1), err.mysql_error_kind(), &err.to_string()).await?;
            return Err(LoginError::Refused(err));
        }
    };

    Ok(Login {
        user: resp.user,
        user_host,
        db: resp.db.filter(|d| !d.is_empty()),
        capabilities: resp.capabilities & server_capabilities(),
        max_packet: resp.max_packet,
        charset: resp.charset,
        last_seq: seq,
    })
}

fn greeting(connection_id: u32, salt: &[u8; SALT_LEN]) -> Vec<u8> {
    let caps = server_capabilities().bits().to_le_bytes();
    let mut g = Vec::with_capacity(128);
    g.push(10); // protocol version
    g.extend_from_slice(SERVER_VERSION.as_bytes());
    g.push(0);
    g.extend_from_slice(&connection_id.to_le_bytes());
    g.extend_from_slice(&salt[..8]);
    g.push(0);
    g.extend_from_slice(&caps[..2]);
    g.push(SERVER_CHARSET);
    g.extend_from_slice(&StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits().to_le_bytes());
    g.extend_from_slice(&caps[2..]);
    g.push((SALT_LEN + 1) as u8);
    g.extend_from_slice(&[0u8; 10]);
    g.extend_from_slice(&salt[8..]);
    g.push(0);
    g.extend_from_slice(NATIVE_PASSWORD_PLUGIN.as_bytes());
    g.push(0);
    g
}

fn parse_handshake_response(p: &[u8]) -> Result<HandshakeResponse, String> {
    let mut r = Reader { buf: p, pos: 0 };
    let capabilities = CapabilityFlags::from_bits_truncate(r.u32()?);
    if !capabilities.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return Err("client does not speak protocol 4.1".into());
    }
    if capabilities.contains(CapabilityFlags::CLIENT_SSL) {
        return Err("client asked for SSL, which is not offered".into());
    }
    let max_packet = r.u32()?;
    let charset = r.u8()?;
    r.take(23)?;
    let user = String::from_utf8_lossy(r.nul_terminated()?).into_owned();
    let auth_response = if capabilities.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        let n = r.lenenc()?;
        r.take(n)?.to_vec()
    } else if capabilities.contains(CapabilityFlags::CLIENT_SECURE_CONNECTION) {
        let n = r.u8()? as usize;
        r.take(n)?.to_vec()
    } else {
        r.nul_terminated()?.to_vec()
    };
    let db = if capabilities.contains(CapabilityFlags::CLIENT_CONNECT_WITH_DB) && !r.done() {
        Some(String::from_utf8_lossy(r.nul_terminated()?).into_owned())
    } else {
        None
    };
    let plugin = if capabilities.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) && !r.done() {
        Some(String::from_utf8_lossy(r.nul_terminated()?).into_owned())
    } else {
        None
    };
    Ok(HandshakeResponse { capabilities, max_packet, charset, user, auth_response, db, plugin })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.buf.len() - self.pos < n {
            return Err("handshake response is truncated".into());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn lenenc(&mut self) -> Result<usize, String> {
        let n = match self.u8()? {
            v @ 0..=0xfa => v as u64,
            0xfc => u16::from_le_bytes(self.take(2)?.try_into().unwrap_or_default()) as u64,
            0xfd => {
                let b = self.take(3)?;
                u32::from_le_bytes([b[0], b[1], b[2], 0]) as u64
            }
            0xfe => u64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default()),
            _ => return Err("bad length-encoded integer".into()),
        };
        usize::try_from(n).map_err(|_| "length out of range".to_string())
    }

    /// Bytes up to a NUL (consumed), or to the end when the NUL is missing.
    fn nul_terminated(&mut self) -> Result<&'a [u8], String> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|b| *b == 0) {
            Some(i) => {
                self.pos += i + 1;
                Ok(&rest[..i])
            }
            None => {
                self.pos = self.buf.len();
                Ok(rest)
            }
        }
    }
}

async fn read_client_packet<S: AsyncRead + Unpin>(stream: &mut S, within: std::time::Duration) -> Result<(u8, Vec<u8>), LoginError> {
    tokio::time::timeout(within, read_packet(stream)).await.map_err(|_| LoginError::Silent(within.as_secs()))?
}

async fn read_packet<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(u8, Vec<u8>), LoginError> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    if len > MAX_LOGIN_PACKET {
        return Err(LoginError::Protocol(format!("login packet of {len} bytes")));
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await?;
    Ok((header[3], payload))
}

async fn write_packet<S: AsyncWrite + Unpin>(stream: &mut S, seq: u8, payload: &[u8]) -> io::Result<()> {
    stream.write_all(&frame(seq, payload)).await?;
    stream.flush().await
}

fn frame(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&[len[0], len[1], len[2], seq]);
    out.extend_from_slice(payload);
    out
}

async fn write_err<S: AsyncWrite + Unpin>(stream: &mut S, seq: u8, kind: ErrorKind, msg: &str) -> io::Result<()> {
    let mut p = Vec::with_capacity(9 + msg.len());
    p.push(0xff);
    p.extend_from_slice(&(kind as u16).to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(kind.sqlstate());
    p.extend_from_slice(msg.as_bytes());
    write_packet(stream, seq, &p).await
}

/// Ends a successful login: the OK after the client's last login packet, exactly as
/// opensrv writes one (PROTOCOL_41, no session tracking: header, two zero lengths, no
/// status flags, no warnings).
pub(crate) async fn write_login_ok<S: AsyncWrite + Unpin>(stream: &mut S, login: &Login) -> io::Result<()> {
    write_packet(stream, login.last_seq.wrapping_add(1), &[0, 0, 0, 0, 0, 0, 0]).await
}

/// Refuses a login after it was authenticated (its database cannot be used): the error
/// follows the client's last login packet.
pub(crate) async fn write_login_err<S: AsyncWrite + Unpin>(stream: &mut S, login: &Login, err: &FeError) -> io::Result<()> {
    write_err(stream, login.last_seq.wrapping_add(1), err.mysql_error_kind(), &err.to_string()).await
}

/// The login as opensrv expects to read it, already authenticated: no
/// password, no plugin name (our shim names no plugin, so opensrv neither
/// switches nor re-checks), and no database: the login thread used it already. opensrv
/// answers this with its plain OK, which [`SkipLogin`] drops.
pub(crate) fn opensrv_handoff(login: &Login) -> Vec<u8> {
    let mut caps = login.capabilities
        - CapabilityFlags::CLIENT_SSL
        - CapabilityFlags::CLIENT_PLUGIN_AUTH
        - CapabilityFlags::CLIENT_CONNECT_WITH_DB;
    caps |= CapabilityFlags::CLIENT_PROTOCOL_41 | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&caps.bits().to_le_bytes());
    p.extend_from_slice(&login.max_packet.to_le_bytes());
    p.push(login.charset);
    p.extend_from_slice(&[0u8; 23]);
    p.extend_from_slice(login.user.as_bytes());
    p.push(0);
    p.push(0); // empty auth response, length-encoded
    frame(login.last_seq, &p)
}

/// Drops the first packets written through it, opensrv's greeting and its login OK (the
/// client already got ours from the login thread), then passes bytes through.
pub(crate) struct SkipLogin<W> {
    inner: W,
    header: [u8; 4],
    header_len: usize,
    remaining: usize,
    /// Packets still to drop.
    packets: usize,
    done: bool,
}

impl<W> SkipLogin<W> {
    pub(crate) fn new(inner: W) -> Self {
        SkipLogin::dropping(inner, 2)
    }

    fn dropping(inner: W, packets: usize) -> Self {
        SkipLogin { inner, header: [0; 4], header_len: 0, remaining: 0, packets, done: packets == 0 }
    }

    /// Swallows bytes of the packets to drop from `buf`; returns how many.
    fn swallow(&mut self, buf: &[u8]) -> usize {
        let mut used = 0;
        while used < buf.len() && !self.done {
            if self.header_len < 4 {
                let n = (4 - self.header_len).min(buf.len() - used);
                self.header[self.header_len..self.header_len + n].copy_from_slice(&buf[used..used + n]);
                self.header_len += n;
                used += n;
                if self.header_len == 4 {
                    self.remaining = u32::from_le_bytes([self.header[0], self.header[1], self.header[2], 0]) as usize;
                }
            } else {
                let n = self.remaining.min(buf.len() - used);
                self.remaining -= n;
                used += n;
            }
            if self.header_len == 4 && self.remaining == 0 {
                self.packets -= 1;
                self.header_len = 0;
                self.done = self.packets == 0;
            }
        }
        used
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for SkipLogin<W> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if !self.done {
            let used = self.swallow(buf);
            if used > 0 {
                return Poll::Ready(Ok(used));
            }
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_login_drops_exactly_the_greeting_and_the_ok() {
        let mut s = SkipLogin::new(Vec::<u8>::new());
        let mut login = frame(0, b"greeting");
        login.extend_from_slice(&frame(2, &[0, 0, 0, 0, 0, 0, 0]));
        // Fed in odd pieces, as a writer may split them.
        assert_eq!(s.swallow(&login[..2]), 2);
        assert_eq!(s.swallow(&login[2..7]), 5);
        assert_eq!(s.swallow(&login[7..14]), 7);
        assert!(!s.done);
        let mut rest = login[14..].to_vec();
        rest.extend_from_slice(b"next");
        assert_eq!(s.swallow(&rest), login.len() - 14);
        assert!(s.done);
        assert_eq!(s.swallow(b"next"), 0);
        // An empty packet counts as one.
        let mut s = SkipLogin::dropping(Vec::<u8>::new(), 1);
        assert_eq!(s.swallow(&[0, 0, 0, 0, 9]), 4);
        assert!(s.done);
    }

    #[test]
    fn handshake_response_round_trip() {
        let login = Login {
            user: "root".into(),
            user_host: "%".into(),
            db: Some("db1".into()),
            capabilities: server_capabilities(),
            max_packet: 1 << 24,
            charset: 45,
            last_seq: 3,
        };
        let packet = opensrv_handoff(&login);
        assert_eq!(packet[3], 3);
        let r = parse_handshake_response(&packet[4..]).unwrap();
        assert_eq!(r.user, "root");
        // The login thread used the database; opensrv is not asked to.
        assert_eq!(r.db, None);
        assert!(r.auth_response.is_empty());
        assert_eq!(r.plugin, None);
        assert_eq!(r.charset, 45);
    }

    #[test]
    fn truncated_response_is_an_error() {
        let login = Login {
            user: "u".into(),
            user_host: "%".into(),
            db: None,
            capabilities: server_capabilities(),
            max_packet: 0,
            charset: 33,
            last_seq: 1,
        };
        let packet = opensrv_handoff(&login);
        assert!(parse_handshake_response(&packet[4..20]).is_err());
        assert!(parse_handshake_response(&[]).is_err());
    }
}
