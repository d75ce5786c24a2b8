//! rotel, the real OTLP collector the tests export to: gRPC and HTTP
//! (protobuf and JSON) for traces, metrics and logs. A Python processor of
//! ours (`scripts/backends/rotel_jsonl.py`) appends everything it receives to
//! JSON-lines files, which this module reads back.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backend::{
    BackendError, Supervised, announce_skip, backends_dir, free_port, repo_root, run_install_script, skip_requested,
};

/// How long rotel may take to listen (0.02–0.6 s measured).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Rotel::wait_spans`] and friends wait for records to arrive (only
/// a failing test waits that long).
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);

/// Collectors this test binary has started, naming their run folders.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Where and how to start rotel; the defaults are what the tests use.
#[derive(Debug, Clone, Default)]
pub struct RotelOptions {
    /// The Python that builds rotel's venv (default `python3`).
    pub python: Option<PathBuf>,
    /// Install and run state (default [`backends_dir`]).
    pub dir: Option<PathBuf>,
    /// The (gRPC, HTTP) ports to listen on, to start a collector again where a
    /// stopped one was (default: two free ports).
    pub ports: Option<(u16, u16)>,
}

/// A running rotel on free loopback ports.
#[derive(Debug)]
pub struct Rotel {
    /// OTLP/HTTP base URL, `http://127.0.0.1:PORT` (append `/v1/traces` ...).
    pub http: String,
    /// OTLP/gRPC endpoint, `http://127.0.0.1:PORT`.
    pub grpc: String,
    ports: (u16, u16),
    run_dir: PathBuf,
    process: Supervised,
}

impl Rotel {
    /// The rotel of this test binary, started on first use and shared by its
    /// tests; `None` only when `GENAI_TRACE_SKIP_BACKENDS=1` (the skip of `test`
    /// is announced).
    ///
    /// # Panics
    ///
    /// When rotel cannot be installed or started, with what is missing and the
    /// command that fixes it: a test that needs a collector never passes without one.
    pub fn require(test: &str) -> Option<&'static Rotel> {
        static SHARED: OnceLock<Result<Rotel, BackendError>> = OnceLock::new();
        if skip_requested() {
            announce_skip(test, "rotel (a real OTLP collector)");
            return None;
        }
        match SHARED.get_or_init(|| Rotel::start(&RotelOptions::default())) {
            Ok(r) => Some(r),
            Err(e) => panic!("{test}: {e}"),
        }
    }

    /// Installs rotel when needed and starts a new one.
    ///
    /// # Errors
    ///
    /// What is missing (Python, its venv module, the network to `PyPI`, the system
    /// libpython rotel links) and the command that fixes it; or, when rotel does
    /// not come up, its log.
    pub fn start(options: &RotelOptions) -> Result<Rotel, BackendError> {
        let dir = options.dir.clone().unwrap_or_else(backends_dir);
        let agent = install(&dir, options.python.as_deref())?;
        // One folder per collector this binary starts: a restarted one keeps the
        // first one's records apart.
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let run_dir = dir.join("rotel").join(format!("run-{}-{n}", std::process::id()));
        remove_stale_runs(&dir.join("rotel"));
        let _ = fs::remove_dir_all(&run_dir);
        fs::create_dir_all(&run_dir).map_err(|e| BackendError {
            backend: "rotel",
            what: format!("cannot create {}: {e}", run_dir.display()),
            fix: format!("make {} writable, or set GENAI_TRACE_BACKENDS_DIR", dir.display()),
        })?;
        for file in ["spans.jsonl", "metrics.jsonl", "logs.jsonl"] {
            let _ = fs::write(run_dir.join(file), "");
        }
        let (grpc_port, http_port) = options.ports.unwrap_or_else(|| (free_port(), free_port()));
        let processor = repo_root().join("scripts/backends/rotel_jsonl.py");
        let processor = processor.to_string_lossy().into_owned();
        let args: Vec<String> = [
            "start",
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{grpc_port}"),
            "--otlp-http-endpoint",
            &format!("127.0.0.1:{http_port}"),
            "--otlp-with-trace-processor",
            &processor,
            "--otlp-with-metrics-processor",
            &processor,
            "--otlp-with-logs-processor",
            &processor,
            "--batch-timeout",
            "50ms",
            "--exporter",
            "blackhole",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        let mut process = Supervised::start(
            "rotel",
            &agent,
            &args,
            &[("GENAI_TRACE_JSONL_DIR", &run_dir)],
            &run_dir.join("rotel.log"),
        )?;
        let addrs = [
            SocketAddr::from((Ipv4Addr::LOCALHOST, grpc_port)),
            SocketAddr::from((Ipv4Addr::LOCALHOST, http_port)),
        ];
        process.wait_listening(&addrs, START_TIMEOUT)?;
        Ok(Rotel {
            http: format!("http://127.0.0.1:{http_port}"),
            grpc: format!("http://127.0.0.1:{grpc_port}"),
            ports: (grpc_port, http_port),
            run_dir,
            process,
        })
    }

    /// The (gRPC, HTTP) ports it listens on.
    pub fn ports(&self) -> (u16, u16) {
        self.ports
    }

    /// Stops this collector (its clients see their connections go) and waits until its
    /// ports no longer accept connections.
    pub fn stop(self) {
        let (grpc, http) = self.ports();
        drop(self);
        let deadline = Instant::now() + Duration::from_secs(10);
        let addrs = [grpc, http].map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
        while Instant::now() < deadline
            && addrs
                .iter()
                .any(|a| std::net::TcpStream::connect_timeout(a, Duration::from_millis(100)).is_ok())
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The folder with rotel's log and the JSON-lines files.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Value> {
        self.read("spans.jsonl")
    }

    /// Every metric data point received so far.
    pub fn metrics(&self) -> Vec<Value> {
        self.read("metrics.jsonl")
    }

    /// Every log record received so far.
    pub fn logs(&self) -> Vec<Value> {
        self.read("logs.jsonl")
    }

    /// Waits until at least `n` received spans match `filter`, and returns the matches.
    ///
    /// # Panics
    ///
    /// When they have not arrived within 30 s, with what did arrive.
    pub fn wait_spans(&self, n: usize, filter: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.wait("spans.jsonl", n, filter)
    }

    /// Waits until at least `n` received metric data points match `filter`.
    ///
    /// # Panics
    ///
    /// When they have not arrived within 30 s.
    pub fn wait_metrics(&self, n: usize, filter: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.wait("metrics.jsonl", n, filter)
    }

    /// Waits until at least `n` received log records match `filter`.
    ///
    /// # Panics
    ///
    /// When they have not arrived within 30 s.
    pub fn wait_logs(&self, n: usize, filter: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.wait("logs.jsonl", n, filter)
    }

    fn wait(&self, file: &str, n: usize, filter: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + ARRIVAL_TIMEOUT;
        loop {
            let all = self.read(file);
            let found: Vec<Value> = all.iter().filter(|r| filter(r)).cloned().collect();
            if found.len() >= n {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "rotel: {} of {n} expected records in {file} after {ARRIVAL_TIMEOUT:?}; {} records in all \
                 (run dir {}, processor errors: {:?}, log tail:\n{})",
                found.len(),
                all.len(),
                self.run_dir.display(),
                fs::read_to_string(self.run_dir.join("processor-errors.log")).unwrap_or_default(),
                self.process.log_tail(20),
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn read(&self, file: &str) -> Vec<Value> {
        let text = fs::read_to_string(self.run_dir.join(file)).unwrap_or_default();
        // A line being appended right now may be incomplete: only whole lines count.
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// Runs `scripts/backends/install-rotel.sh` (idempotent, one at a time across
/// test binaries) and returns the path of rotel-agent.
fn install(dir: &Path, python: Option<&Path>) -> Result<PathBuf, BackendError> {
    let env: Vec<(&str, &Path)> = python.map(|p| ("PYTHON", p)).into_iter().collect();
    let agent = run_install_script("rotel", "install-rotel.sh", dir, &env)?;
    if agent.is_file() {
        Ok(agent)
    } else {
        Err(BackendError {
            backend: "rotel",
            what: format!("install-rotel.sh printed no rotel-agent path ({})", agent.display()),
            fix: format!(
                "rm -rf {}/venv-rotel and rerun scripts/backends/install-rotel.sh",
                dir.display()
            ),
        })
    }
}

/// Removes the run folders of test binaries that are gone.
fn remove_stale_runs(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("run-"))
            .and_then(|n| n.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpStream;

    use super::*;

    /// POSTs `body` as JSON over plain HTTP/1.1; returns the status line.
    fn post_json(base: &str, path: &str, body: &str) -> String {
        let addr = base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connect to rotel");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut status = String::new();
        BufReader::new(stream).read_line(&mut status).unwrap();
        status.trim_end().to_owned()
    }

    #[test]
    fn a_missing_python_fails_with_the_fix() {
        let dir = std::env::temp_dir().join(format!("genai-trace-no-python-{}", std::process::id()));
        let err = Rotel::start(&RotelOptions {
            python: Some(PathBuf::from("/nonexistent/python3")),
            dir: Some(dir.clone()),
            ports: None,
        })
        .unwrap_err();
        let _ = fs::remove_dir_all(&dir);
        let shown = err.to_string();
        assert!(shown.contains("no /nonexistent/python3 on PATH"), "{shown}");
        assert!(
            shown.contains("Fix: install Python 3 (Debian: apt-get install -y python3 python3-venv)"),
            "{shown}"
        );
        assert!(shown.contains("GENAI_TRACE_SKIP_BACKENDS=1"), "{shown}");
    }

    #[test]
    fn a_shared_collector_receives_otlp_json() {
        let Some(rotel) = Rotel::require("a_shared_collector_receives_otlp_json") else {
            return;
        };
        let trace_id = format!("{:032x}", u128::from(std::process::id()) << 64 | 0x5eed);
        let body = serde_json::json!({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "test-support"}}]},
            "scopeSpans": [{"spans": [{
                "traceId": trace_id, "spanId": "00000000000000a1", "name": "probe", "kind": 3,
                "startTimeUnixNano": "1", "endTimeUnixNano": "2",
                "attributes": [{"key": "n", "value": {"intValue": "7"}}]
            }]}]
        }]});
        let status = post_json(&rotel.http, "/v1/traces", &body.to_string());
        assert!(status.starts_with("HTTP/1.1 200"), "rotel answered {status:?}");
        let spans = rotel.wait_spans(1, |s| s["trace_id"] == trace_id.as_str());
        assert_eq!(spans[0]["name"], "probe");
        assert_eq!(spans[0]["kind"], "CLIENT");
        assert_eq!(spans[0]["attributes"]["n"], 7);
        assert_eq!(spans[0]["resource"]["service.name"], "test-support");
    }
}
