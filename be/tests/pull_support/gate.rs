//! A TCP proxy that stops passing replies once `limit` bytes went through, until opened:
//! it holds a transfer mid-way so a test can act (fill the disk, kill a process) at a
//! known point of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Gate {
    pub port: u16,
    /// Reply bytes passed so far, over all connections.
    pub passed: Arc<AtomicU64>,
    open: watch::Sender<bool>,
}

impl Gate {
    pub async fn start(target: std::net::SocketAddr, limit: u64) -> Gate {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let passed = Arc::new(AtomicU64::new(0));
        let (open_tx, open_rx) = watch::channel(false);
        let p = passed.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = l.accept().await {
                let (p, mut open) = (p.clone(), open_rx.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else { return };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        while !*open.borrow_and_update() && p.load(Ordering::SeqCst) >= limit {
                            if open.changed().await.is_err() {
                                return;
                            }
                        }
                        let room = if *open.borrow() { buf.len() } else { (limit - p.load(Ordering::SeqCst)).min(buf.len() as u64) as usize };
                        let n = match sr.read(&mut buf[..room]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        p.fetch_add(n as u64, Ordering::SeqCst);
                        if cw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Gate { port, passed, open: open_tx }
    }

    /// Let every byte through from now on.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// Whether the proxy is holding replies back.
    pub fn holding(&self, limit: u64) -> bool {
        self.passed.load(Ordering::SeqCst) >= limit
    }
}
