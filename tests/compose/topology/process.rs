//! Processes that cannot outlive the test: each runs under a small shell
//! whose stdin is a pipe from this process, and that SIGKILLs it when the
//! pipe closes: when the harness lets go of it, or when the test process
//! dies, however it dies (a SIGKILL of the test included).

use std::{
    ffi::OsString,
    path::Path,
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::process::{Child, Command};

/// A process under its lifeline.
#[derive(Debug)]
pub struct Lifelined {
    /// The shell: its exit status is the process's.
    shell: Child,
    /// The process itself (what `argv` became after its `exec`s).
    pub pid: u32,
}

/// Runs `argv` with stdin from /dev/null and stdout and stderr appended to
/// `log`.
pub fn spawn(argv: &[OsString], log: &Path) -> anyhow::Result<Lifelined> {
    // The child gets /dev/null rather than the pipe (fd 3 keeps it for the
    // watcher); the watcher is killed once the child is reaped, so that it
    // never signals a pid that was reused.
    const LIFELINE: &str = r#"log=$1; shift
exec 3<&0
"$@" </dev/null >>"$log" 2>&1 3<&- & j=$!
echo "$j"
{ cat <&3 >/dev/null; kill -9 "$j" 2>/dev/null; } & w=$!
exec 3<&-
wait "$j"; s=$?
kill "$w" 2>/dev/null
exit "$s""#;
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(LIFELINE)
        .arg("food-lifeline")
        .arg(log)
        .args(argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {:?}", argv.first()))?;
    let pid = read_pid(&mut shell)?;
    Ok(Lifelined { shell, pid })
}

fn read_pid(shell: &mut Child) -> anyhow::Result<u32> {
    use std::io::BufRead;
    let stdout = shell.stdout.take().context("the lifeline's stdout")?;
    let fd = stdout.into_owned_fd()?;
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::from(fd)).read_line(&mut line)?;
    line.trim()
        .parse()
        .with_context(|| format!("the lifeline printed {line:?}, not a pid"))
}

impl Lifelined {
    /// The exit status once the process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.shell.try_wait().ok().flatten()
    }

    /// Sends `signal` (`KILL`, `INT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        signal_pid(self.pid, signal);
    }

    /// Waits for the process to end by itself, at most `within`.
    pub async fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        // Not `Child::wait`: it closes stdin first, which is the lifeline.
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if start.elapsed() > within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Lifelined {
    /// SIGKILLs the process if it still runs and waits for the lifeline to
    /// reap it (and call off its watcher).
    fn drop(&mut self) {
        if self.try_wait().is_none() {
            signal_pid(self.pid, "KILL");
            let start = Instant::now();
            while self.try_wait().is_none() && start.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// `kill -<signal> <pid>` (the process is the shell's child, not ours).
pub fn signal_pid(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// Whether `pid` still runs (a zombie does not).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Waits (blocking: this runs in `Drop`) until none of `pids` runs.
pub fn wait_gone(pids: &[u32], within: Duration) {
    let start = Instant::now();
    while pids.iter().any(|&p| alive(p)) && start.elapsed() < within {
        std::thread::sleep(Duration::from_millis(20));
    }
}
