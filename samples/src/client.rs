//! The game client's network layer: connects players to game servers over TCP. It is the
//! handler of `SessionHandlingClientRequests`, which the client manager calls once a player
//! holds a player session.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use game_session::{SessionConnectionConfig, SessionHandlingClientRequests};

use crate::protocol::{BYE, STATE, TICK, WELCOME};

/// How long a connect or a read may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One connected player.
#[derive(Debug)]
struct Connection {
    player_session_id: String,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    fn open(address: SocketAddr, player_session_id: &str) -> Result<(Self, String), String> {
        let stream = TcpStream::connect_timeout(&address, IO_TIMEOUT)
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        let mut connection = Connection {
            player_session_id: player_session_id.to_string(),
            reader: BufReader::new(stream),
            writer,
        };
        let answer = connection.exchange(player_session_id)?;
        Ok((connection, answer))
    }

    /// Sends one line and reads one line.
    fn exchange(&mut self, line: &str) -> Result<String, String> {
        // One write per message: small writes in a row would wait on delayed ACKs.
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .map_err(|e| format!("send failed: {e}"))?;
        let mut answer = String::new();
        match self.reader.read_line(&mut answer) {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(_) => Ok(answer.trim_end().to_string()),
            Err(e) => Err(format!("no answer: {e}")),
        }
    }
}

/// The players this client connected, over TCP.
#[derive(Debug, Default)]
pub struct TcpPlayers {
    connections: Mutex<Vec<Connection>>,
    /// Why the last connection attempt failed (the bus answers only yes or no).
    last_failure: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))
}

impl TcpPlayers {
    /// Connects a player and presents the ticket; `Ok` once the server welcomed them.
    pub fn connect(&self, config: &SessionConnectionConfig) -> Result<(), String> {
        let address = resolve(config.host(), config.port)?;
        let (connection, answer) = Connection::open(address, &config.player_session_id)?;
        if !answer.starts_with(WELCOME) {
            return Err(format!("the server refused the player: {answer}"));
        }
        lock(&self.connections).push(connection);
        Ok(())
    }

    /// Presents `ticket` to the server at `host:port` and returns its answer line
    /// (`WELCOME …` or `DENIED …`), without keeping the connection.
    pub fn try_ticket(host: &str, port: u16, ticket: &str) -> Result<String, String> {
        let address = resolve(host, port)?;
        Connection::open(address, ticket).map(|(_, answer)| answer)
    }

    /// Why the last `request_player_join_session` failed, e.g. the game server's refusal.
    pub fn take_last_failure(&self) -> Option<String> {
        lock(&self.last_failure).take()
    }

    /// How many players are connected.
    pub fn len(&self) -> usize {
        lock(&self.connections).len()
    }

    /// Whether no player is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends tick `n` for every player; returns the server's state lines.
    pub fn tick(&self, n: u32) -> Result<Vec<String>, String> {
        let mut connections = lock(&self.connections);
        let mut states = Vec::new();
        for connection in connections.iter_mut() {
            let answer = connection.exchange(&format!("{TICK} {n}"))?;
            if !answer.starts_with(STATE) {
                return Err(format!(
                    "{}: unexpected answer {answer:?}",
                    connection.player_session_id
                ));
            }
            states.push(answer);
        }
        Ok(states)
    }

    /// Every player says goodbye and disconnects; returns how many left.
    pub fn leave_all(&self) -> usize {
        let connections: Vec<Connection> = lock(&self.connections).drain(..).collect();
        let count = connections.len();
        for mut connection in connections {
            let _ = connection.writer.write_all(format!("{BYE}\n").as_bytes());
            let _ = connection.writer.shutdown(std::net::Shutdown::Both);
        }
        count
    }
}

impl SessionHandlingClientRequests for TcpPlayers {
    fn request_player_join_session(&self, config: &SessionConnectionConfig) -> bool {
        match self.connect(config) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(target: "samples", %error, "joining the game server failed");
                *lock(&self.last_failure) = Some(error);
                false
            }
        }
    }

    fn request_player_leave_session(&self) {
        self.leave_all();
    }
}
