//! What every end-to-end test shares: one loopback server (and fault
//! servers of the same crate, `tb_loopback`), a URL whose connection is
//! refused, the real `tb-host` binary (run to its end, or in the
//! background: [`Running`]), and the check that every job ended exactly
//! once.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use socket2::{Domain, Protocol, Socket, Type};
use tb_loopback::Server;

/// The loopback server of the standard routes ([`tb_loopback::Routes`])
/// all tests of one test binary share. Tests keep out of each other's way
/// by putting their own key in scripted paths.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start().expect("start the loopback server"))
}

/// A server of the hostile routes ([`tb_loopback::Faults`]) for one test,
/// on a port of its own, one request per connection.
pub fn fault_server() -> Server {
    tb_loopback::faults::start().expect("start the fault server")
}

/// `http://127.0.0.1:PORT{path}` on a port where nothing listens: a
/// connection to it is refused (a `connect` failure). `path` may be empty,
/// for a proxy URL.
///
/// The port is held, for the whole test binary, by a socket bound to it
/// that never listens: the kernel refuses connections to it, and no other
/// socket (another test's server, another test binary's) can bind the port
/// while it is held. A port found free and let go would be free for anyone
/// to take before the test connects to it.
pub fn refused_url(path: &str) -> String {
    static REFUSED: OnceLock<(Socket, u16)> = OnceLock::new();
    let (_, port) = REFUSED.get_or_init(|| {
        let socket =
            Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("a TCP socket");
        socket
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .expect("bind a free loopback port");
        let port = socket
            .local_addr()
            .ok()
            .and_then(|addr| addr.as_socket())
            .expect("the bound address")
            .port();
        (socket, port)
    });
    format!("http://127.0.0.1:{port}{path}")
}

/// The command that runs the binary with `args`, its stdin, stdout and
/// stderr piped: what every way of running it here starts from.
pub fn piped(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs the shell `command` on a pseudo-terminal (util-linux's `script`),
/// as a user's terminal would, and returns what it wrote there (in
/// `stdout`) and how it exited.
pub fn on_a_terminal(command: &str) -> Output {
    Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .output()
        .expect("script (util-linux) runs a command on a pseudo-terminal")
}

/// The `tb-host` command under test: `tb-host-e2e`, this package's build
/// of the same entry point as `host/cli/src/main.rs`, which `cargo test` builds
/// beside the test binaries (in `target/<profile>/`).
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // The test binary is target/<profile>/deps/<name>.
        let exe = std::env::current_exe().expect("path of the test binary");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test binary lives in target/<profile>/deps");
        let binary = profile_dir.join(format!("tb-host-e2e{}", std::env::consts::EXE_SUFFIX));
        assert!(
            binary.is_file(),
            "{} is missing: run the tests with `cargo test -p tb-host-tests`, which builds it",
            binary.display()
        );
        binary
    })
}

/// A scratch directory for one test, removed when dropped.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A new empty directory named after `test`, mode 0755 on unix
    /// whatever the umask: only its owner may write to it, so bodies may be
    /// saved in it (see `PoolBuilder::save_bodies`).
    pub fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tb-host-test-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                .expect("set the scratch dir's mode");
        }
        Scratch { dir }
    }

    /// The path of `name` inside the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `lines` to `name`, one per line, and returns its path.
    pub fn write_lines<S: AsRef<str>>(&self, name: &str, lines: &[S]) -> PathBuf {
        let path = self.path(name);
        let mut file = std::fs::File::create(&path).expect("create file");
        for line in lines {
            writeln!(file, "{}", line.as_ref()).expect("write line");
        }
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The outcome of one run of the binary.
pub struct Run {
    /// The exit status code.
    pub code: i32,
    /// One JSON value per output line, in the order written.
    pub records: Vec<Value>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Run {
    /// The records by index; panics unless every index in `0..jobs` occurs
    /// exactly once and no other: the exactly-once invariant.
    pub fn by_index(&self, jobs: usize) -> BTreeMap<u64, &Value> {
        exactly_once(&self.records, 0..jobs as u64, &self.stderr)
    }
}

/// The records by index; panics unless every index of `expected` occurs
/// exactly once and no other. `context` is shown when it fails.
pub fn exactly_once<'a>(
    records: &'a [Value],
    expected: impl IntoIterator<Item = u64>,
    context: &str,
) -> BTreeMap<u64, &'a Value> {
    let mut seen = BTreeMap::new();
    for record in records {
        let index = record["index"].as_u64().expect("every record has an index");
        assert!(
            seen.insert(index, record).is_none(),
            "index {index} written twice; {context}"
        );
    }
    let expected: Vec<u64> = expected.into_iter().collect();
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        expected,
        "every job must end exactly once; {context}"
    );
    seen
}

/// The exactly-once invariant for the library: the indexes of every
/// response and failure a pool gave are `0..jobs`, each once.
pub fn each_once(indexes: impl IntoIterator<Item = u64>, jobs: usize) {
    let mut seen: Vec<u64> = indexes.into_iter().collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..jobs as u64).collect::<Vec<_>>(),
        "every job must end exactly once"
    );
}

/// The records of an output file, one JSON value per line.
pub fn read_records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

/// Runs `tb-host` with `args`, feeding `stdin`, and parses its JSON lines.
pub fn tb_host(args: &[&str], stdin: &(impl AsRef<[u8]> + ?Sized)) -> Run {
    tb_host_env(args, &[], stdin)
}

/// Like [`tb_host()`], with the variables `env` added to the environment
/// (for `--plugin-env` grants).
pub fn tb_host_env(
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &(impl AsRef<[u8]> + ?Sized),
) -> Run {
    tb_host_with(args, stdin, |command| {
        command.envs(env.iter().copied());
    })
}

/// Like [`tb_host()`], with the command set up further by `setup` before
/// it starts: an environment, or limits set in a `pre_exec`.
pub fn tb_host_with(
    args: &[&str],
    stdin: &(impl AsRef<[u8]> + ?Sized),
    setup: impl FnOnce(&mut Command),
) -> Run {
    let mut command = piped(args);
    setup(&mut command);
    let mut child = command.spawn().expect("start tb-host");
    let mut input = child.stdin.take().expect("stdin is piped");
    // tb-host may exit before reading it all (a set-up error): a broken
    // pipe here is part of the outcome under test, not a harness fault.
    if let Err(error) = input.write_all(stdin.as_ref()) {
        assert_eq!(
            error.kind(),
            std::io::ErrorKind::BrokenPipe,
            "write stdin: {error}"
        );
    }
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for tb-host");
    Run::parse(args, status.code().unwrap_or(-1), stdout, stderr)
}

/// A run of the binary in the background, for a test that acts on it
/// while it runs (a signal): its input written on a thread of its own, its
/// stdout and stderr read on threads of their own as they come, so a full
/// pipe never blocks it unless the test wants that
/// ([`Running::start_stalled`]).
pub struct Running {
    child: Child,
    /// Writes the input, then holds stdin open until the run has exited,
    /// unless it is to be closed.
    stdin: JoinHandle<Option<ChildStdin>>,
    /// None when nobody reads stdout.
    stdout: Option<Collected>,
    stderr: Collected,
    /// The arguments it was started with.
    args: Vec<String>,
}

impl Running {
    /// Starts `tb-host` with `args` and writes `input` to its stdin, which
    /// stays open: the run waits for more input when the test acts.
    pub fn start(args: &[&str], input: &str) -> Running {
        Running::spawn(args, input, StdinEnd::KeptOpen, true)
    }

    /// Like [`Running::start`], with stdin closed once `input` is written:
    /// the run has its whole input.
    pub fn start_closing_stdin(args: &[&str], input: &str) -> Running {
        Running::spawn(args, input, StdinEnd::Closed, true)
    }

    /// Like [`Running::start`], and nobody reads stdout: a stalled reader,
    /// whose pipe fills up.
    pub fn start_stalled(args: &[&str], input: &str) -> Running {
        Running::spawn(args, input, StdinEnd::KeptOpen, false)
    }

    fn spawn(args: &[&str], input: &str, end: StdinEnd, read_stdout: bool) -> Running {
        let mut child = piped(args).spawn().expect("start tb-host");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_owned();
        // On a thread: a run that stalls stops reading its input too.
        let stdin = std::thread::spawn(move || {
            // A run that exits before reading it all breaks the pipe.
            let _ = stdin.write_all(input.as_bytes());
            match end {
                StdinEnd::KeptOpen => Some(stdin),
                StdinEnd::Closed => None,
            }
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout = if read_stdout {
            Some(Collected::start(stdout))
        } else {
            // Kept open and never read.
            std::mem::forget(stdout);
            None
        };
        let stderr = Collected::start(child.stderr.take().expect("stderr is piped"));
        Running {
            child,
            stdin,
            stdout,
            stderr,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    /// Whether the run is still running (has not exited).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait for tb-host").is_none()
    }

    /// Sends `signal` (`libc::SIGINT`, ...) to the run.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits an i32");
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
    }

    /// Waits until the run has written `lines` whole lines to stdout, at
    /// most `limit`; panics if it does not, or if stdout ends first.
    pub fn wait_for_stdout_lines(&self, lines: usize, limit: Duration) {
        let stdout = self.stdout.as_ref().expect("stdout is read");
        let deadline = Instant::now() + limit;
        let mut pipe = stdout.lock();
        while pipe.bytes.iter().filter(|&&b| b == b'\n').count() < lines {
            assert!(!pipe.ended, "stdout ended before {lines} lines");
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("fewer than {lines} lines on stdout after {limit:?}"));
            pipe = stdout
                .shared
                .grew
                .wait_timeout(pipe, left)
                .expect("the lock")
                .0;
        }
    }

    /// Waits for the run to exit, at most `limit`; panics (after killing
    /// it) if it does not. Returns the run and how long it took to exit.
    pub fn finish_within(mut self, limit: Duration) -> (Run, Duration) {
        let waiting = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for tb-host") {
                break status;
            }
            if waiting.elapsed() > limit {
                self.child.kill().expect("kill tb-host");
                self.child.wait().expect("wait for tb-host");
                let stderr = String::from_utf8_lossy(&self.stderr.finish()).into_owned();
                panic!("tb-host did not exit within {limit:?}; stderr: {stderr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = waiting.elapsed();
        drop(self.stdin.join().expect("the stdin thread"));
        let stdout = self.stdout.map(Collected::finish).unwrap_or_default();
        let stderr = self.stderr.finish();
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let code = status.code().unwrap_or(-1);
        (Run::parse(&args, code, stdout, stderr), took)
    }
}

/// What becomes of a [`Running`]'s stdin once its input is written.
#[derive(Clone, Copy)]
enum StdinEnd {
    /// Held open until the run has exited.
    KeptOpen,
    /// Closed.
    Closed,
}

/// What a child wrote to one of its pipes so far, read on a thread of its
/// own as it comes.
struct Collected {
    shared: Arc<Shared>,
    reader: JoinHandle<()>,
}

/// What a [`Collected`] shares with its reader.
struct Shared {
    pipe: Mutex<Pipe>,
    /// Notified whenever the pipe gains bytes or ends.
    grew: Condvar,
}

/// The bytes read from a pipe, and whether it has ended.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
    ended: bool,
}

impl Collected {
    /// Reads `from` to its end on a thread of its own.
    fn start(mut from: impl Read + Send + 'static) -> Collected {
        let shared = Arc::new(Shared {
            pipe: Mutex::new(Pipe::default()),
            grew: Condvar::new(),
        });
        let filled = Arc::clone(&shared);
        let reader = std::thread::spawn(move || {
            let mut buffer = [0; 8192];
            loop {
                let read = match from.read(&mut buffer) {
                    Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                    Ok(0) | Err(_) => 0,
                    Ok(read) => read,
                };
                let mut pipe = filled.pipe.lock().expect("the lock");
                pipe.bytes.extend_from_slice(&buffer[..read]);
                pipe.ended = read == 0;
                filled.grew.notify_all();
                if pipe.ended {
                    break;
                }
            }
        });
        Collected { shared, reader }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pipe> {
        self.shared.pipe.lock().expect("the lock")
    }

    /// Everything read, once the pipe has ended.
    fn finish(self) -> Vec<u8> {
        let Collected { shared, reader } = self;
        reader.join().expect("the reader thread");
        let mut pipe = shared.pipe.lock().expect("the lock");
        std::mem::take(&mut pipe.bytes)
    }
}

impl Run {
    /// The share of the exactly-once invariant every run is held to, on top
    /// of what its test checks: no index is written twice, and when `run`
    /// wrote its records to stdout (not to `-o` nor to a queue), there are
    /// as many as the summary counts jobs. (A test that knows which jobs to expect checks the rest with
    /// [`Run::by_index`].)
    fn check_each_job_once(&self, args: &[&str]) {
        let mut seen = std::collections::HashSet::new();
        for index in self.records.iter().filter_map(|r| r["index"].as_u64()) {
            assert!(
                seen.insert(index),
                "index {index} written twice; {}",
                self.stderr
            );
        }
        let to_stdout = args.first() == Some(&"run")
            && !args
                .iter()
                .any(|a| *a == "-o" || a.starts_with("--output") || *a == "--queue");
        if let Some(jobs) = summary_jobs(&self.stderr).filter(|_| to_stdout) {
            assert_eq!(
                seen.len() as u64,
                jobs,
                "the summary counts {jobs} jobs, stdout has {} records; {}",
                seen.len(),
                self.stderr
            );
        }
    }

    /// The run of `tb-host` with `args` that exited with `code` after
    /// writing `stdout` (JSON lines, parsed here) and `stderr`, checked
    /// for the exactly-once invariant every run is held to. Every way a
    /// test runs the binary ends here.
    pub fn parse(args: &[&str], code: i32, stdout: Vec<u8>, stderr: Vec<u8>) -> Run {
        let stdout = String::from_utf8(stdout).expect("stdout is UTF-8");
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        let records = stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
            .collect();
        let run = Run {
            code,
            records,
            stdout,
            stderr,
        };
        run.check_each_job_once(args);
        run
    }
}

/// The job count of the summary line `N jobs in T s (...)`, if stderr has
/// one.
pub fn summary_jobs(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        let (jobs, rest) = line.split_once(" jobs in ")?;
        rest.ends_with("retries").then_some(())?;
        jobs.trim().parse().ok()
    })
}
