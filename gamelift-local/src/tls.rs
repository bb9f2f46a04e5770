//! `--tls`: https and wss on the same port, with a self-signed certificate made at start (the
//! official C++ Server SDK always connects with TLS).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Makes a new directory in `parent` that only this user can enter (0700 on Unix), so the
/// certificate's path cannot be predicted or prepared by another user. Creating it fails rather
/// than reuse anything already there, a symbolic link included.
pub fn private_directory(parent: &Path) -> Result<PathBuf, String> {
    let path = parent.join(format!("gamelift-local-{}", uuid::Uuid::new_v4().simple()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&path)
        .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
    Ok(path)
}

/// Writes `contents` to a new file at `path` (0600 on Unix). Whatever is at `path` already (a
/// stale certificate, or a symbolic link planted there) is removed first, never followed.
fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if std::fs::symlink_metadata(path).is_ok() {
        std::fs::remove_file(path)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)
}

/// A certificate for `localhost` and `127.0.0.1`, written to `path` as PEM for clients to trust.
pub struct SelfSigned {
    pub acceptor: TlsAcceptor,
    pub path: PathBuf,
}

/// Makes a certificate and the acceptor that serves it; writes the certificate to `directory`.
pub fn self_signed(directory: &Path, port: u16) -> Result<SelfSigned, String> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|error| format!("cannot generate a certificate: {error}"))?;
    let path = directory.join(format!("gamelift-local-{port}.pem"));
    write_new(&path, certified.cert.pem().as_bytes()).map_err(|error| {
        format!(
            "cannot write the certificate to {}: {error}",
            path.display()
        )
    })?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("TLS set-up failed: {error}"))?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .map_err(|error| format!("TLS set-up failed: {error}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(SelfSigned {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        path,
    })
}

/// A server-side TLS stream that ends the session properly: when the connection is dropped
/// (after a WebSocket close handshake, or an HTTP connection's last response) it still sends
/// TLS `close_notify` and shuts the socket down, instead of cutting TCP under the TLS session,
/// which a client reads as an abnormal close.
pub struct GracefulTls(Option<TlsStream<TcpStream>>);

impl GracefulTls {
    /// Wraps an established TLS session.
    pub fn new(stream: TlsStream<TcpStream>) -> Self {
        Self(Some(stream))
    }

    fn stream(&mut self) -> io::Result<&mut TlsStream<TcpStream>> {
        self.0
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl tokio::io::AsyncRead for GracefulTls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.stream() {
            Ok(stream) => std::pin::Pin::new(stream).poll_read(cx, buf),
            Err(error) => std::task::Poll::Ready(Err(error)),
        }
    }
}

impl tokio::io::AsyncWrite for GracefulTls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        match self.stream() {
            Ok(stream) => std::pin::Pin::new(stream).poll_write(cx, buf),
            Err(error) => std::task::Poll::Ready(Err(error)),
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.stream() {
            Ok(stream) => std::pin::Pin::new(stream).poll_flush(cx),
            Err(error) => std::task::Poll::Ready(Err(error)),
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        match self.stream() {
            Ok(stream) => std::pin::Pin::new(stream).poll_shutdown(cx),
            Err(error) => std::task::Poll::Ready(Err(error)),
        }
    }
}

impl Drop for GracefulTls {
    fn drop(&mut self) {
        let Some(mut stream) = self.0.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            use tokio::io::AsyncWriteExt;
            // close_notify, then FIN; bounded, a peer that stopped reading cannot hold it.
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.shutdown()).await;
        });
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch() -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("gl-tls-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&path).unwrap();
        path
    }

    #[test]
    fn the_default_directory_is_private_and_new() {
        let parent = scratch();
        let directory = private_directory(&parent).unwrap();
        let mode = std::fs::metadata(&directory).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let written = self_signed(&directory, 1234).unwrap();
        let mode = std::fs::metadata(&written.path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(parent).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let directory = scratch();
        let victim = directory.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, directory.join("gamelift-local-4321.pem")).unwrap();
        let written = self_signed(&directory, 4321).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let link = std::fs::symlink_metadata(&written.path).unwrap();
        assert!(
            link.file_type().is_file(),
            "a regular file replaced the link"
        );
        std::fs::remove_dir_all(directory).unwrap();
    }
}
