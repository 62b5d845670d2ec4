//! A proxy that makes a fake look killed and restarted to the bridge.

use std::sync::Mutex;

/// A TCP proxy in front of a fake that can be stopped and started again on the same
/// address, the way a Jira that is killed and restarted looks to a client: while it is
/// down, connections are refused, and stopping it cuts the connections in flight.
pub struct Restartable {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    target: std::net::SocketAddr,
    running: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// While down: the port, bound but not listening (connections are refused, and no
    /// other socket of a test running alongside can take it).
    held: Mutex<Option<tokio::net::TcpSocket>>,
}

impl Restartable {
    /// A proxy to `target`, up.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let local = socket.local_addr().unwrap();
        let proxy = Self {
            address: format!("http://{local}"),
            target,
            running: Mutex::new(None),
            held: Mutex::new(None),
        };
        proxy.serve(socket.listen(128).unwrap());
        proxy
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let target = self.target;
        let task = tokio::spawn(async move {
            // Connections live in this set: dropping the task (stop) cuts them all.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        *self.running.lock().unwrap() = Some(task);
    }

    /// Down: the listener closes and every open connection is cut.
    pub async fn stop(&self) {
        let local: std::net::SocketAddr = self.address["http://".len()..].parse().unwrap();
        let task = self.running.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(local).expect("the proxy's own port");
        *self.held.lock().unwrap() = Some(socket);
    }

    /// Up again, on the same address.
    pub async fn restart(&self) {
        let socket = self.held.lock().unwrap().take().expect("stopped first");
        self.serve(socket.listen(128).unwrap());
    }
}
