//! The two LLM-observability UIs the tests export to: Arize Phoenix and the
//! MLflow tracking server. Each is a Python application installed into its own
//! venv (`scripts/backends/install-pyapp.sh`), started per test binary on free
//! loopback ports with a fresh database, offline, and read back through its
//! own API: Phoenix's REST API, MLflow's Python client.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backend::{
    BackendError, Supervised, announce_skip, backends_dir, free_port, http_get, repo_root, run_install_script,
    skip_requested,
};

/// Phoenix needs 12–17 s to come up on a 2-core machine, MLflow 9–11 s.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the read-back helpers wait for what was exported to be stored.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(60);

fn install(backend: &'static str) -> Result<PathBuf, BackendError> {
    run_install_script(backend, &format!("install-{backend}.sh"), &backends_dir(), &[])
}

fn run_dir(backend: &'static str) -> Result<PathBuf, BackendError> {
    let dir = backends_dir().join(backend).join(format!("run-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| BackendError {
        backend,
        what: format!("cannot create {}: {e}", dir.display()),
        fix: "make target/backends writable, or set GENAI_TRACE_BACKENDS_DIR".into(),
    })?;
    Ok(dir)
}

/// Waits until `GET path` answers 200.
fn wait_http_ok(process: &Supervised, backend: &'static str, addr: SocketAddr, path: &str) -> Result<(), BackendError> {
    let deadline = Instant::now() + START_TIMEOUT;
    while !http_get(addr, path).is_ok_and(|(status, _)| status == 200) {
        if Instant::now() > deadline {
            return Err(BackendError {
                backend,
                what: format!(
                    "{path} not ready after {START_TIMEOUT:?}; log:\n{}",
                    process.log_tail(40)
                ),
                fix: "see the log above".into(),
            });
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}

/// A running Arize Phoenix (UI, REST API and OTLP/HTTP on one port).
#[derive(Debug)]
pub struct Phoenix {
    /// Where Phoenix listens.
    pub addr: SocketAddr,
    /// Its run folder (database, log).
    pub run_dir: PathBuf,
    _process: Supervised,
}

impl Phoenix {
    /// A new Phoenix; `None` only when `GENAI_TRACE_SKIP_BACKENDS=1`.
    ///
    /// # Panics
    ///
    /// When Phoenix cannot be installed or started, with what is missing.
    pub fn require(test: &str) -> Option<Phoenix> {
        if skip_requested() {
            announce_skip(test, "Arize Phoenix");
            return None;
        }
        Some(Phoenix::start().unwrap_or_else(|e| panic!("{test}: {e}")))
    }

    /// Installs Phoenix when needed and starts one.
    ///
    /// # Errors
    ///
    /// When the install fails or Phoenix does not come up (with its log).
    pub fn start() -> Result<Phoenix, BackendError> {
        let venv = install("phoenix")?;
        let run_dir = run_dir("phoenix")?;
        let (port, grpc) = (free_port(), free_port());
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let (port_s, grpc_s, wd) = (port.to_string(), grpc.to_string(), run_dir.join("wd"));
        // Quiet and offline: no analytics, no external fetches, no assistant.
        let env: Vec<(&str, &Path)> = vec![
            ("PHOENIX_HOST", Path::new("127.0.0.1")),
            ("PHOENIX_PORT", Path::new(&port_s)),
            ("PHOENIX_GRPC_PORT", Path::new(&grpc_s)),
            ("PHOENIX_WORKING_DIR", &wd),
            ("PHOENIX_TELEMETRY_ENABLED", Path::new("false")),
            ("PHOENIX_ALLOW_EXTERNAL_RESOURCES", Path::new("false")),
            ("PHOENIX_DISABLE_AGENT_ASSISTANT", Path::new("true")),
            ("PHOENIX_ENABLE_MCP_SERVER", Path::new("false")),
        ];
        let process = Supervised::start(
            "phoenix",
            &venv.join("bin").join("phoenix"),
            &["serve".to_owned()],
            &env,
            &run_dir.join("phoenix.log"),
        )?;
        wait_http_ok(&process, "phoenix", addr, "/healthz")?;
        Ok(Phoenix {
            addr,
            run_dir,
            _process: process,
        })
    }

    /// `http://127.0.0.1:PORT`: the UI, and the OTLP/HTTP base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span of `project`, as Phoenix's REST API returns them (`name`,
    /// `context.trace_id`, `parent_id`, `span_kind`, nested `attributes`, ...).
    ///
    /// # Errors
    ///
    /// When the API cannot be reached or answers with an error.
    pub fn spans(&self, project: &str) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut target = format!("/v1/projects/{project}/spans?limit=1000");
            if let Some(c) = &cursor {
                target.push_str("&cursor=");
                target.push_str(c);
            }
            let (status, body) = http_get(self.addr, &target)?;
            if status == 404 {
                return Ok(out); // the project does not exist yet
            }
            let page: Value =
                serde_json::from_str(&body).map_err(|e| format!("HTTP {status}, not JSON ({e}): {body}"))?;
            if status != 200 {
                return Err(format!("HTTP {status}: {body}"));
            }
            out.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    /// Waits until `project` holds at least `n` spans, and returns them.
    ///
    /// # Panics
    ///
    /// When they do not arrive in time.
    pub fn wait_spans(&self, project: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + ARRIVAL_TIMEOUT;
        loop {
            let spans = self.spans(project);
            match &spans {
                Ok(s) if s.len() >= n => return s.clone(),
                _ if Instant::now() > deadline => panic!("phoenix: {n} spans not stored in {project}: {spans:?}"),
                _ => std::thread::sleep(Duration::from_millis(300)),
            }
        }
    }
}

/// A running MLflow tracking server (UI, REST API, OTLP/HTTP at `/v1/traces`
/// with header `x-mlflow-experiment-id`).
#[derive(Debug)]
pub struct Mlflow {
    /// Where MLflow listens.
    pub addr: SocketAddr,
    /// Its run folder (SQLite database, artifacts, log).
    pub run_dir: PathBuf,
    venv: PathBuf,
    _process: Supervised,
}

impl Mlflow {
    /// A new MLflow server; `None` only when `GENAI_TRACE_SKIP_BACKENDS=1`.
    ///
    /// # Panics
    ///
    /// When MLflow cannot be installed or started, with what is missing.
    pub fn require(test: &str) -> Option<Mlflow> {
        if skip_requested() {
            announce_skip(test, "MLflow");
            return None;
        }
        Some(Mlflow::start().unwrap_or_else(|e| panic!("{test}: {e}")))
    }

    /// Installs MLflow when needed and starts a server.
    ///
    /// # Errors
    ///
    /// When the install fails or the server does not come up (with its log).
    pub fn start() -> Result<Mlflow, BackendError> {
        let venv = install("mlflow")?;
        let run_dir = run_dir("mlflow")?;
        let port = free_port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let args = vec![
            "server".to_owned(),
            "--host".to_owned(),
            "127.0.0.1".to_owned(),
            "--port".to_owned(),
            port.to_string(),
            "--workers".to_owned(),
            "1".to_owned(),
            "--backend-store-uri".to_owned(),
            format!("sqlite:///{}", run_dir.join("mlflow.db").display()),
            "--default-artifact-root".to_owned(),
            run_dir.join("artifacts").display().to_string(),
        ];
        // No usage telemetry, no background job workers.
        let env: Vec<(&str, &Path)> = vec![
            ("MLFLOW_DISABLE_TELEMETRY", Path::new("true")),
            ("DO_NOT_TRACK", Path::new("true")),
            ("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", Path::new("false")),
        ];
        let process = Supervised::start(
            "mlflow",
            &venv.join("bin").join("mlflow"),
            &args,
            &env,
            &run_dir.join("mlflow.log"),
        )?;
        wait_http_ok(&process, "mlflow", addr, "/health")?;
        Ok(Mlflow {
            addr,
            run_dir,
            venv,
            _process: process,
        })
    }

    /// `http://127.0.0.1:PORT`: the UI, and the OTLP/HTTP base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every trace of experiment 0 through MLflow's own client
    /// (`scripts/backends/mlflow_traces.py`): `trace_id`, `state`,
    /// `request_preview`, `response_preview`, `metadata`, and `spans` with
    /// `name`, `span_type`, `inputs`, `outputs`, `attributes`.
    ///
    /// # Errors
    ///
    /// When the client fails.
    pub fn traces(&self) -> Result<Vec<Value>, String> {
        let out = Command::new(self.venv.join("bin").join("python"))
            .arg(repo_root().join("scripts/backends/mlflow_traces.py"))
            .arg(self.url())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }

    /// Waits until `n` traces are stored with all their spans (`spans_each`
    /// at least), and returns every trace.
    ///
    /// # Panics
    ///
    /// When they do not arrive in time.
    pub fn wait_traces(&self, n: usize, spans_each: usize) -> Vec<Value> {
        let deadline = Instant::now() + ARRIVAL_TIMEOUT;
        loop {
            let traces = self.traces();
            let complete = |t: &Vec<Value>| {
                t.len() >= n
                    && t.iter()
                        .all(|t| t["spans"].as_array().is_some_and(|s| s.len() >= spans_each))
            };
            match &traces {
                Ok(t) if complete(t) => return t.clone(),
                _ if Instant::now() > deadline => panic!("mlflow: {n} traces not stored: {traces:?}"),
                _ => std::thread::sleep(Duration::from_millis(500)),
            }
        }
    }
}
