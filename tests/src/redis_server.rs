//! A real `redis-server` for one test: on loopback, on a free port, in a
//! directory of its own, with the append-only file on (as the README
//! advises for a queue), stopped when dropped. `redis-cli` talks to it for
//! what a test needs to see or arrange behind tb-host's back.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one with its files in `dir`; panics if it does not answer
    /// within 10 s. Needs Debian's `redis-server` (and `redis-cli`).
    pub fn start(dir: &Path) -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let server = RedisServer {
            child: spawn(port, dir),
            port,
            dir: dir.to_owned(),
        };
        server.wait_until_ready();
        server
    }

    /// Kills the server (SIGKILL: what it had not written to its
    /// append-only file is lost), waits `down`, and starts it again on the
    /// same port from the same files.
    pub fn kill_and_restart(&mut self, down: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down);
        self.child = spawn(self.port, &self.dir);
        self.wait_until_ready();
    }

    /// Sends `signal` to the server: SIGSTOP freezes it (a client's calls
    /// hang, nothing is lost), SIGCONT lets it go on.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits an i32");
        // SAFETY: kill(2) on the server this value owns, which has not
        // been waited for, so its pid is still its own.
        unsafe { libc::kill(pid, signal) };
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]) != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address of queue `name` on this server.
    pub fn queue(&self, name: &str) -> String {
        format!("redis://127.0.0.1:{}/{name}", self.port)
    }

    /// What `redis-cli` prints for the command `args`, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// A count of the meta hash of queue `name` (`recorded`, `duplicates`,
    /// ...), 0 when unset.
    pub fn count(&self, name: &str, field: &str) -> u64 {
        self.cli(&["HGET", &format!("tb-host:{{{name}}}:meta"), field])
            .parse()
            .unwrap_or(0)
    }
}

/// A `redis-server` on `port` with its files in `dir`, AOF on.
fn spawn(port: u16, dir: &Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--appendonly", "yes", "--save", ""])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server (apt-get install redis-server)")
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
