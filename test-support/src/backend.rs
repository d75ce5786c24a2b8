//! What every backend shares: where their files live, free ports, a process that
//! never outlives the test binary, readiness waits, logs on failure, and the
//! explicit skip.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root folder (where `scripts/` is): test-support's parent.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where backends are installed and run: `$GENAI_TRACE_BACKENDS_DIR`, default
/// `<repository>/target/backends`.
pub fn backends_dir() -> PathBuf {
    std::env::var_os("GENAI_TRACE_BACKENDS_DIR")
        .map_or_else(|| repo_root().join("target").join("backends"), PathBuf::from)
}

/// The example binary `name` that `cargo test` built beside the running test
/// binary (`target/<profile>/examples/<name>`).
///
/// # Panics
///
/// When it is missing, with the command that builds it (a test run alone with
/// `--test` does not build the examples).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = profile_dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds it; alone, run `cargo build --examples --all-features`",
        bin.display()
    );
    bin
}

/// A loopback port nobody listens on right now.
///
/// # Panics
///
/// When the system has no free port to give.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `true` when `GENAI_TRACE_SKIP_BACKENDS=1`: tests that need a real backend are
/// skipped, loudly. For machines without Python only; CI never sets it.
pub fn skip_requested() -> bool {
    std::env::var("GENAI_TRACE_SKIP_BACKENDS").is_ok_and(|v| v.trim() == "1")
}

/// Says, where nobody can miss it, that `test` did not run: straight to the
/// process's stderr (not captured by the test harness) and into
/// `target/backends/skipped.txt`, which `scripts/test.sh` prints at the end.
pub(crate) fn announce_skip(test: &str, backend: &str) {
    let line = format!("SKIPPED {test}: needs {backend}, and GENAI_TRACE_SKIP_BACKENDS=1 is set");
    let _ = writeln!(std::io::stderr(), "\n!!!!! {line} !!!!!\n");
    let dir = backends_dir();
    let _ = fs::create_dir_all(&dir);
    if let Ok(mut f) = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("skipped.txt"))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Why a backend could not be had: what is missing, and the one command that
/// fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    /// The backend (`rotel`, ...).
    pub backend: &'static str,
    /// What went wrong, with the log's tail when there is one.
    pub what: String,
    /// The command (or step) that fixes it.
    pub fix: String,
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the test backend {} is not available: {}\nFix: {}\n(or, on a machine that cannot run it, \
             GENAI_TRACE_SKIP_BACKENDS=1 skips the tests that need it, loudly)",
            self.backend, self.what, self.fix
        )
    }
}

impl std::error::Error for BackendError {}

/// Runs `scripts/backends/<script>` (an idempotent install script taking
/// `GENAI_TRACE_BACKENDS_DIR`, plus `env`) and returns the path it prints. A
/// failure is the script's last line, split at its ` Fix: `.
pub(crate) fn run_install_script(
    backend: &'static str,
    script: &str,
    dir: &Path,
    env: &[(&str, &Path)],
) -> Result<PathBuf, BackendError> {
    let path = repo_root().join("scripts/backends").join(script);
    let mut cmd = Command::new("bash");
    cmd.arg(&path).env("GENAI_TRACE_BACKENDS_DIR", dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| BackendError {
        backend,
        what: format!("cannot run {}: {e}", path.display()),
        fix: "install bash (Debian: apt-get install -y bash)".into(),
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
        let prefix = format!("{}: ", script.trim_end_matches(".sh"));
        let (what, fix) = last
            .trim_start_matches(prefix.as_str())
            .split_once(" Fix: ")
            .unwrap_or((last, "see the output above"));
        return Err(BackendError {
            backend,
            what: format!("{what}\n----- {} said -----\n{stderr}", path.display()),
            fix: fix.to_owned(),
        });
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A backend process started through `scripts/backends/supervise.sh`, which
/// stops it as soon as this test binary is gone (normal exit, failure, panic,
/// abort or kill). Dropping a `Supervised` stops it too.
#[derive(Debug)]
pub struct Supervised {
    name: &'static str,
    supervisor: Child,
    log: PathBuf,
}

impl Supervised {
    /// Starts `command` with `args` (its output to `log`) under supervision.
    ///
    /// # Errors
    ///
    /// When the supervisor cannot be started (no bash).
    pub fn start(
        name: &'static str,
        command: &Path,
        args: &[String],
        env: &[(&str, &Path)],
        log: &Path,
    ) -> Result<Self, BackendError> {
        let script = repo_root().join("scripts/backends/supervise.sh");
        let mut cmd = Command::new("bash");
        cmd.arg(&script)
            .arg(std::process::id().to_string())
            .arg(log)
            .arg("--")
            .arg(command)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let supervisor = cmd.spawn().map_err(|e| BackendError {
            backend: name,
            what: format!("cannot run {}: {e}", script.display()),
            fix: "install bash (Debian: apt-get install -y bash)".into(),
        })?;
        Ok(Self {
            name,
            supervisor,
            log: log.to_path_buf(),
        })
    }

    /// Waits until every address accepts TCP connections.
    ///
    /// # Errors
    ///
    /// When the backend exits first or `timeout` passes, with its log's tail.
    pub fn wait_listening(&mut self, addrs: &[SocketAddr], timeout: Duration) -> Result<(), BackendError> {
        let deadline = Instant::now() + timeout;
        loop {
            if addrs
                .iter()
                .all(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok())
            {
                return Ok(());
            }
            if let Ok(Some(status)) = self.supervisor.try_wait() {
                return Err(self.error(&format!("it exited ({status}) before listening on {addrs:?}")));
            }
            if Instant::now() > deadline {
                return Err(self.error(&format!("it did not listen on {addrs:?} within {timeout:?}")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last `lines` lines of the backend's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn error(&self, what: &str) -> BackendError {
        BackendError {
            backend: self.name,
            what: format!(
                "{what}\n----- last lines of {} -----\n{}",
                self.log.display(),
                self.log_tail(30)
            ),
            fix: format!(
                "read the log above; rerun one test with `cargo test --test collector -- --nocapture`, and see {}",
                self.log.display()
            ),
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // The supervisor stops the backend when it gets SIGTERM.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.supervisor.id().to_string())
            .status();
        let _ = self.supervisor.wait();
    }
}

/// A plain HTTP/1.0 GET on loopback: the status and the body.
///
/// # Errors
///
/// When the server cannot be reached or sends no HTTP answer.
pub(crate) fn http_get(addr: SocketAddr, target: &str) -> Result<(u16, String), String> {
    use std::io::Read as _;
    let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    c.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        c,
        "GET {target} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP answer: {raw:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok((status, body.to_owned()))
}
