//! Prometheus, the real scraper the metrics tests are checked against: Debian's
//! package (server 2.42 and `promtool`), installed by
//! `scripts/backends/install-prometheus.sh`, started on a free loopback port,
//! scraping the `/metrics` endpoints a test names every second; its query API
//! answers the assertions.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backend::{
    BackendError, Supervised, announce_skip, backends_dir, free_port, http_get, run_install_script, skip_requested,
};

/// How long Prometheus may take to be ready (0.3 s measured).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Prometheus::wait_query`] polls (two scrapes take 2 s).
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// A running Prometheus on a free loopback port.
#[derive(Debug)]
pub struct Prometheus {
    /// Its HTTP address, `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    bin_dir: PathBuf,
    run_dir: PathBuf,
    process: Supervised,
}

impl Prometheus {
    /// A new Prometheus scraping `targets` (`host:port`, path `/metrics`) every
    /// second; `None` only when `GENAI_TRACE_SKIP_BACKENDS=1` (the skip of
    /// `test` is announced).
    ///
    /// # Panics
    ///
    /// When Prometheus cannot be installed or started, with what is missing and
    /// the command that fixes it.
    pub fn require(test: &str, targets: &[SocketAddr]) -> Option<Prometheus> {
        if skip_requested() {
            announce_skip(test, "Prometheus (a real scraper)");
            return None;
        }
        match Prometheus::start(targets) {
            Ok(p) => Some(p),
            Err(e) => panic!("{test}: {e}"),
        }
    }

    /// Installs Prometheus when needed and starts one scraping `targets`.
    ///
    /// # Errors
    ///
    /// What is missing (apt-get, the package lists) and the command that fixes
    /// it; or, when Prometheus does not come up, its log.
    pub fn start(targets: &[SocketAddr]) -> Result<Prometheus, BackendError> {
        let dir = backends_dir();
        let bin_dir = install(&dir)?;
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let run_dir = dir.join("prometheus").join(format!("run-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&run_dir);
        fs::create_dir_all(run_dir.join("data")).map_err(|e| BackendError {
            backend: "prometheus",
            what: format!("cannot create {}: {e}", run_dir.display()),
            fix: format!("make {} writable, or set GENAI_TRACE_BACKENDS_DIR", dir.display()),
        })?;
        let port = free_port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: app\n    \
             metrics_path: /metrics\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        let config_path = run_dir.join("prometheus.yml");
        fs::write(&config_path, config).map_err(|e| BackendError {
            backend: "prometheus",
            what: format!("cannot write {}: {e}", config_path.display()),
            fix: format!("make {} writable", run_dir.display()),
        })?;
        let args = vec![
            format!("--config.file={}", config_path.display()),
            format!("--storage.tsdb.path={}", run_dir.join("data").display()),
            format!("--web.listen-address={addr}"),
        ];
        let mut process = Supervised::start(
            "prometheus",
            &bin_dir.join("prometheus"),
            &args,
            &[],
            &run_dir.join("prometheus.log"),
        )?;
        process.wait_listening(&[addr], START_TIMEOUT)?;
        let p = Prometheus {
            addr,
            bin_dir,
            run_dir,
            process,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !p.get("/-/ready").is_ok_and(|(status, _)| status == 200) {
            if Instant::now() > deadline {
                return Err(BackendError {
                    backend: "prometheus",
                    what: format!("not ready after {START_TIMEOUT:?}; log:\n{}", p.process.log_tail(30)),
                    fix: format!("see {}", p.run_dir.display()),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(p)
    }

    /// Runs an instant `PromQL` query: the result's series, each
    /// `{"metric": {label: value}, "value": [time, "number"]}`.
    ///
    /// # Errors
    ///
    /// When Prometheus cannot be reached or refuses the query.
    pub fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let (status, body) = self.get(&format!("/api/v1/query?query={}", percent_encode(promql)))?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("HTTP {status}, not JSON ({e}): {body}"))?;
        if v["status"] != "success" {
            return Err(format!("HTTP {status}: {body}"));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// Polls `promql` until `done` accepts its result, and returns that result.
    ///
    /// # Panics
    ///
    /// When 30 s pass first, with the last result and the targets' scrape state.
    pub fn wait_query(&self, promql: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + QUERY_TIMEOUT;
        loop {
            let last = self.query(promql);
            if let Ok(series) = &last
                && done(series)
            {
                return series.clone();
            }
            assert!(
                Instant::now() < deadline,
                "prometheus: {promql} never gave the expected result in {QUERY_TIMEOUT:?}; last: {last:?}\n\
                 targets: {:?}\nlog tail:\n{}",
                self.get("/api/v1/targets").map(|(_, b)| b),
                self.process.log_tail(20)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs `promtool check metrics` on a text exposition: `Ok` with what it
    /// printed when it accepts it, `Err` with its complaints otherwise.
    ///
    /// # Errors
    ///
    /// When promtool rejects the exposition (or cannot be run).
    pub fn check_metrics(&self, exposition: &str) -> Result<String, String> {
        check_metrics(&self.bin_dir, exposition)
    }

    /// A plain HTTP/1.0 GET (the answer is neither chunked nor kept alive).
    fn get(&self, target: &str) -> Result<(u16, String), String> {
        http_get(self.addr, target)
    }
}

/// Runs `promtool check metrics` (installing Prometheus when needed) on a text
/// exposition, without starting a server.
///
/// # Errors
///
/// When promtool rejects the exposition, or cannot be installed or run.
pub fn promtool_check_metrics(exposition: &str) -> Result<String, String> {
    let bin_dir = install(&backends_dir()).map_err(|e| e.to_string())?;
    check_metrics(&bin_dir, exposition)
}

fn check_metrics(bin_dir: &Path, exposition: &str) -> Result<String, String> {
    let mut child = Command::new(bin_dir.join("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run promtool: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(exposition.as_bytes())
        .map_err(|e| format!("cannot feed promtool: {e}"))?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() { Ok(said) } else { Err(said) }
}

/// Percent-encodes a query parameter's value (everything but unreserved bytes).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Runs `scripts/backends/install-prometheus.sh` (idempotent, one at a time
/// across test binaries) and returns the folder holding prometheus and promtool.
fn install(dir: &Path) -> Result<PathBuf, BackendError> {
    run_install_script("prometheus", "install-prometheus.sh", dir, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            percent_encode("sum(rate(x{a=\"b c\"}[1m]))"),
            "sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B1m%5D%29%29"
        );
    }

    #[test]
    fn promtool_tells_a_good_exposition_from_a_bad_one() {
        if skip_requested() {
            announce_skip("promtool_tells_a_good_exposition_from_a_bad_one", "promtool");
            return;
        }
        let good = "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n";
        assert!(promtool_check_metrics(good).is_ok());
        // A counter without `_total` is a lint problem promtool names.
        let bad = "# HELP jobs Jobs done.\n# TYPE jobs counter\njobs 3\n";
        let said = promtool_check_metrics(bad).unwrap_err();
        assert!(said.contains("_total"), "{said}");
    }
}
