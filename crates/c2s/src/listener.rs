//! Listening sockets: one accept loop per address, one task per client.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};

use crate::{negotiation, Conn, Ctx};

pub struct Listener {
    socket: TcpListener,
    /// XEP-0368 direct TLS rather than STARTTLS.
    direct_tls: bool,
}

impl Listener {
    pub async fn bind(address: SocketAddr, direct_tls: bool) -> io::Result<Listener> {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(address)?;
        Ok(Listener {
            socket: socket.listen(1024)?,
            direct_tls,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()
    }

    pub async fn run(self, ctx: Arc<Ctx>) {
        let mut shutdown = ctx.shutdown.subscribe();
        loop {
            let accepted = tokio::select! {
                a = self.socket.accept() => a,
                _ = shutdown.changed() => return,
            };
            match accepted {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    let conn = Conn::new(ctx.clone(), peer);
                    tokio::spawn(negotiation::serve(conn, tcp, self.direct_tls));
                }
                Err(e) => {
                    // Out of descriptors and the like: keep serving the clients we have.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}
