//! The WebSocket close handshake, seen by a raw client that uses no WebSocket library: a client
//! Close is answered with a Close frame carrying the same code, flushed, and then (over TLS 1.2)
//! the TLS session ends with `close_notify`, so the client reads a clean end of stream. A process
//! that closes normally has ended (no reconnect grace); one whose connection drops is kept for the
//! grace.

use std::sync::Arc;
use std::time::Duration;

use gamelift_local::{RunningServer, Server};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn start(tls: bool) -> RunningServer {
    let directory = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("close-handshake-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    Server::builder()
        .bind("127.0.0.1:0".parse().unwrap())
        .tls(tls)
        .certificate_directory(directory)
        .reconnect_grace(Duration::from_secs(120))
        .start()
        .await
        .expect("the service starts")
}

/// A TLS 1.2 client that trusts the service's certificate.
async fn tls_client(server: &RunningServer) -> tokio_rustls::client::TlsStream<TcpStream> {
    let pem = std::fs::read(server.certificate_path().expect("TLS is on")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let certificate: rustls::pki_types::CertificateDer = certificate.unwrap();
        roots.add(certificate).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let name =
        rustls::pki_types::ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
    connector
        .connect(name, tcp)
        .await
        .expect("TLS 1.2 handshake")
}

/// Sends the upgrade request for process `process` and reads the 101 answer.
async fn upgrade(stream: &mut (impl AsyncRead + AsyncWrite + Unpin), port: u16, process: &str) {
    let request = format!(
        "GET /?pID={process}&sdkVersion=5.4.0&sdkLanguage=Cpp&ComputeId=raw-host&FleetId=fleet-local&IdempotencyToken=t-{process} HTTP/1.1\r\n\
         Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(TIMEOUT, stream.read_u8())
            .await
            .expect("the upgrade answer")
            .expect("a byte of the answer");
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
}

/// A masked Close frame with `code`, as a client must send it.
fn close_frame(code: u16) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let payload = code.to_be_bytes();
    let mut frame = vec![0x88, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads server frames until a Close; returns its status code (None: no code).
async fn read_close(stream: &mut (impl AsyncRead + Unpin)) -> Option<u16> {
    loop {
        let first = tokio::time::timeout(TIMEOUT, stream.read_u8())
            .await
            .expect("a frame within 10 s")
            .expect("a Close frame before the end of the stream");
        let second = stream.read_u8().await.unwrap();
        assert_eq!(second & 0x80, 0, "server frames are not masked");
        let length = match second & 0x7f {
            126 => u64::from(stream.read_u16().await.unwrap()),
            127 => stream.read_u64().await.unwrap(),
            short => u64::from(short),
        };
        let mut payload = vec![0; length as usize];
        stream.read_exact(&mut payload).await.unwrap();
        if first & 0x0f == 0x8 {
            return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        }
    }
}

/// After the Close, the stream ends cleanly: over TLS, `read` returns 0 only after
/// `close_notify` (without it rustls reports an unexpected end of file).
async fn assert_clean_end(stream: &mut (impl AsyncRead + Unpin)) {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(TIMEOUT, stream.read_to_end(&mut rest))
        .await
        .expect("the service ends the stream after the Close");
    assert!(read.is_ok(), "the stream ended uncleanly: {read:?}");
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_close_over_tls_is_answered_then_tls_closes_cleanly() {
    let server = start(true).await;
    let mut stream = tls_client(&server).await;
    upgrade(&mut stream, server.local_addr().port(), "raw-tls").await;
    stream.write_all(&close_frame(1001)).await.unwrap();
    assert_eq!(
        read_close(&mut stream).await,
        Some(1001),
        "the same code comes back"
    );
    assert_clean_end(&mut stream).await;
    let service = server.service().clone();
    eventually("the process to end", || {
        !service
            .process_ids("fleet-local")
            .contains(&"raw-tls".to_string())
    })
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_close_over_plain_tcp_is_answered_with_the_same_code() {
    let server = start(false).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    upgrade(&mut stream, server.local_addr().port(), "raw-plain").await;
    stream.write_all(&close_frame(1000)).await.unwrap();
    assert_eq!(read_close(&mut stream).await, Some(1000));
    assert_clean_end(&mut stream).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_closes_normally_ends_and_one_that_drops_is_kept_for_the_grace() {
    let server = start(false).await;
    let port = server.local_addr().port();
    let service = server.service().clone();

    let mut leaving = TcpStream::connect(server.local_addr()).await.unwrap();
    upgrade(&mut leaving, port, "says-goodbye").await;
    let mut dropping = TcpStream::connect(server.local_addr()).await.unwrap();
    upgrade(&mut dropping, port, "drops").await;
    let ids = service.process_ids("fleet-local");
    assert!(ids.contains(&"says-goodbye".to_string()) && ids.contains(&"drops".to_string()));

    leaving.write_all(&close_frame(1000)).await.unwrap();
    assert_eq!(read_close(&mut leaving).await, Some(1000));
    drop(dropping);
    eventually("the goodbye to end its process", || {
        !service
            .process_ids("fleet-local")
            .contains(&"says-goodbye".to_string())
    })
    .await;
    // The dropped one waits for its reconnect (the grace is 120 s here).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        service
            .process_ids("fleet-local")
            .contains(&"drops".to_string())
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_the_service_starts_is_a_full_handshake_over_tls() {
    let server = start(true).await;
    let mut stream = tls_client(&server).await;
    upgrade(&mut stream, server.local_addr().port(), "closed-by-service").await;
    let service = server.service().clone();
    eventually("the process to be known", || {
        service
            .process_ids("fleet-local")
            .contains(&"closed-by-service".to_string())
    })
    .await;
    assert_eq!(
        service.close_connections("closed-by-service", 1000, "bye"),
        1
    );
    assert_eq!(read_close(&mut stream).await, Some(1000));
    // Answer it, as a client must; the service then ends TLS cleanly.
    stream.write_all(&close_frame(1000)).await.unwrap();
    assert_clean_end(&mut stream).await;
    server.shutdown().await;
}
