//! The Prometheus text exposition (feature `prometheus`): the meter provider's
//! pull reader is `opentelemetry-prometheus`'s, into a registry of our own,
//! rendered by the `prometheus` crate's text encoder — and served at
//! `http://HOST:PORT/metrics` by a small server on its own thread.
//!
//! The server is deliberately minimal: one thread, one connection at a time,
//! short read and write timeouts, requests capped at 8 KiB, `GET`/`HEAD
//! /metrics` only. A scrape renders the registry on that thread; the program's
//! own threads never wait for it. (An async HTTP stack would need a runtime the
//! program may not have, for one route polled every few seconds.)

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus::{Encoder, Registry, TextEncoder};

/// The content type of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Longest request accepted (a scrape's request is a few hundred bytes).
const MAX_REQUEST: usize = 8 * 1024;
/// Most input read and discarded after refusing an oversized request.
const MAX_DRAIN: usize = 64 * 1024;
/// How long that draining may wait for the client.
const DRAIN_WAIT: Duration = Duration::from_millis(200);
/// How long a connection may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How long stopping waits for the server thread (it may be reading a slow client).
const STOP_WAIT: Duration = Duration::from_millis(200);

/// The registry the meter provider's Prometheus reader writes to.
#[derive(Clone, Debug)]
pub(crate) struct PrometheusRegistry(pub(crate) Registry);

impl PrometheusRegistry {
    /// A new registry and the metric reader that fills it.
    pub(crate) fn new() -> Result<(Self, opentelemetry_prometheus::PrometheusExporter), String> {
        let registry = Registry::new();
        let reader = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| format!("cannot build the Prometheus exporter: {e}"))?;
        Ok((Self(registry), reader))
    }

    /// The current metrics in the text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.0.gather(), &mut out) {
            crate::base::diag::warn(format_args!("cannot render the Prometheus exposition: {e}"));
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The `/metrics` server; stopped when dropped.
#[derive(Debug)]
pub(crate) struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `host:port` and serves `registry` there.
    pub(crate) fn start(registry: PrometheusRegistry, host: &str, port: u16) -> io::Result<Self> {
        let addr = (host, port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, format!("{host:?} has no address")))?;
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("genai-trace-prometheus".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::Acquire) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        // A client's problem (a reset, a timeout) ends its connection only.
                        let _ = answer(conn, &registry);
                    }
                }
            })?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens (the port chosen when 0 was asked for).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        // Bounded: a client in the middle of a slow request keeps the thread (and
        // the port) at most IO_TIMEOUT longer; the guard's drop does not wait for it.
        if let Some(t) = self.thread.take() {
            let deadline = std::time::Instant::now() + STOP_WAIT;
            while !t.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// Reads one request and answers it; the connection is closed afterwards.
fn answer(mut conn: TcpStream, registry: &PrometheusRegistry) -> io::Result<()> {
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut request = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
        if request.len() > MAX_REQUEST {
            respond(
                &mut conn,
                "431 Request Header Fields Too Large",
                "text/plain",
                b"",
                true,
            )?;
            return close_after_draining(conn);
        }
    }
    let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let body = registry.render();
            respond(&mut conn, "200 OK", CONTENT_TYPE, body.as_bytes(), method == "GET")
        }
        ("GET" | "HEAD", _) => respond(
            &mut conn,
            "404 Not Found",
            "text/plain",
            b"genai-trace serves metrics at /metrics\n",
            method == "GET",
        ),
        _ => respond(&mut conn, "405 Method Not Allowed", "text/plain", b"", true),
    }
}

/// Closes a connection whose request was not read to its end. Closing with
/// unread input makes the kernel reset the connection, and a reset can discard
/// the answer before the client reads it; so stop writing, then read (a
/// bounded amount, briefly) until the client closes its side.
fn close_after_draining(mut conn: TcpStream) -> io::Result<()> {
    conn.shutdown(std::net::Shutdown::Write)?;
    conn.set_read_timeout(Some(DRAIN_WAIT))?;
    let mut buf = [0u8; 1024];
    let mut drained = 0;
    while drained < MAX_DRAIN {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

fn respond(conn: &mut TcpStream, status: &str, content_type: &str, body: &[u8], with_body: bool) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    if with_body {
        conn.write_all(body)?;
    }
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_the_exposition_at_metrics_and_nothing_else() {
        let (registry, _reader) = PrometheusRegistry::new().unwrap();
        let counter = prometheus::IntCounter::new("genai_trace_test_total", "a test counter").unwrap();
        registry.0.register(Box::new(counter.clone())).unwrap();
        counter.inc_by(3);
        let server = MetricsServer::start(registry, "127.0.0.1", 0).unwrap();
        let addr = server.addr();
        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4"), "{ok}");
        assert!(ok.contains("\ngenai_trace_test_total 3\n"), "{ok}");
        let head = get(addr, "HEAD /metrics?x=1 HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK") && !head.contains("genai_trace_test_total"));
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(10_000));
        assert!(get(addr, &huge).starts_with("HTTP/1.1 431"));
        drop(server);
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err(),
            "stopped"
        );
    }

    #[test]
    fn a_client_that_says_nothing_never_holds_the_program() {
        let (registry, _reader) = PrometheusRegistry::new().unwrap();
        let server = MetricsServer::start(registry, "127.0.0.1", 0).unwrap();
        let addr = server.addr();
        let silent = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let t = std::time::Instant::now();
        drop(server);
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "stopping waited {:?}",
            t.elapsed()
        );
        drop(silent);
        // The thread ends within the read timeout, and the port is free again.
        let deadline = std::time::Instant::now() + IO_TIMEOUT + Duration::from_secs(2);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            assert!(std::time::Instant::now() < deadline, "the server thread never ended");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn a_port_in_use_is_an_error_not_a_panic() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let (registry, _reader) = PrometheusRegistry::new().unwrap();
        let err = MetricsServer::start(registry, "127.0.0.1", port).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
