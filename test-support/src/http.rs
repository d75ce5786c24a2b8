//! A plain HTTP/1.1 receiver on loopback that records every request (method,
//! path, headers, body) and answers each with `200 OK` and an empty body: what
//! an exporter really sends, header by header, for tests that check the exact
//! endpoint, headers and protocol a backend's documentation requires.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The request target, e.g. `/api/public/otel/v1/traces`.
    pub path: String,
    /// Header names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body (`content-length` bytes).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// The receiver; it runs until the test binary exits.
#[derive(Debug, Clone)]
pub struct RecordingServer {
    /// The loopback port it listens on.
    pub port: u16,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl RecordingServer {
    /// Starts a receiver on a free loopback port.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        Self { port, requests }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far.
    ///
    /// # Panics
    ///
    /// When a receiving thread panicked while holding the list.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().expect("request list").clone()
    }

    /// Waits up to 10 s for at least `n` requests, and returns all of them.
    pub fn wait_requests(&self, n: usize) -> Vec<RecordedRequest> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.requests();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve(stream: std::net::TcpStream, seen: &Mutex<Vec<RecordedRequest>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    // One request per loop (keep-alive): request line, headers, body.
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let len = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(mut list) = seen.lock() {
            list.push(RecordedRequest {
                method,
                path,
                headers,
                body,
            });
        }
        let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if reader.get_mut().write_all(reply.as_bytes()).is_err() {
            return;
        }
        line.clear();
    }
}
