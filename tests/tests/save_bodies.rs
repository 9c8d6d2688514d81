//! `--save-bodies DIR` under attack: links planted in DIR are never
//! followed, a DIR others could plant names in is refused at start, and a
//! job keeps the body of the attempt that ended it, or none.
//!
//! Every attack aims at a file outside DIR with known content and checks
//! it is unchanged after the run. The tests run as root, so the refusals
//! are about the mode bits and owner tb-host checks, not about the kernel
//! refusing a write.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use tb_host::{BodyDirError, Pool, PoolError, RequestDefaults};
use tb_host_tests::fixtures;
use tb_host_tests::harness::{Run, Scratch, fault_server, server, tb_host};

/// What the file outside DIR holds before and, if all is well, after.
const PRECIOUS: &[u8] = b"precious, not the server's\n";

/// A scratch directory with DIR (`bodies`, mode 0755) and a file outside
/// it, `outside`, holding [`PRECIOUS`].
struct Setup {
    scratch: Scratch,
    dir: PathBuf,
    outside: PathBuf,
}

impl Setup {
    fn new(test: &str) -> Setup {
        let scratch = Scratch::new(test);
        let dir = scratch.path("bodies");
        fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o755);
        let outside = scratch.path("outside");
        fs::write(&outside, PRECIOUS).unwrap();
        Setup {
            scratch,
            dir,
            outside,
        }
    }

    /// Plants a symbolic link at `DIR/name` pointing to `target`.
    fn plant(&self, name: &str, target: &Path) {
        symlink(target, self.dir.join(name)).unwrap();
    }

    /// `tb-host run --save-bodies DIR` with `args` on `urls`.
    fn run(&self, args: &[&str], urls: &[String]) -> Run {
        let mut all = vec!["run", "--save-bodies", self.dir.to_str().unwrap()];
        all.extend(args);
        all.push("-");
        tb_host(&all, &(urls.join("\n") + "\n"))
    }

    /// Asserts the file outside DIR still holds what it held.
    fn assert_outside_untouched(&self) {
        assert_eq!(
            String::from_utf8_lossy(&fs::read(&self.outside).unwrap()),
            String::from_utf8_lossy(PRECIOUS),
            "the file outside DIR was written through a planted link"
        );
    }

    /// The names in DIR, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Asserts `path` is a regular file (not a link) holding `content`.
fn assert_regular_file(path: &Path, content: &[u8]) {
    let meta = fs::symlink_metadata(path).unwrap();
    assert!(meta.is_file(), "{} is not a regular file", path.display());
    assert_eq!(fs::read(path).unwrap(), content);
}

#[test]
fn a_link_planted_at_the_part_name_is_not_followed() {
    let setup = Setup::new("planted-part-link");
    setup.plant("0.body.part", &setup.outside);
    let run = setup.run(&[], &[server().url("/bytes/5")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    setup.assert_outside_untouched();
    let body = setup.dir.join("0.body");
    assert_regular_file(&body, b"xxxxx");
    assert_eq!(run.by_index(1)[&0]["body_path"], body.to_str().unwrap());
}

#[test]
fn a_link_planted_at_the_body_name_is_replaced_not_followed() {
    let setup = Setup::new("planted-body-link");
    setup.plant("0.body", &setup.outside);
    let run = setup.run(&[], &[server().url("/bytes/5")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    setup.assert_outside_untouched();
    assert_regular_file(&setup.dir.join("0.body"), b"xxxxx");
}

#[test]
fn a_dangling_link_at_the_part_name_creates_nothing_at_its_target() {
    let setup = Setup::new("dangling-part-link");
    let target = setup.scratch.path("created-through-the-link");
    setup.plant("0.body.part", &target);
    let run = setup.run(&[], &[server().url("/bytes/5")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        fs::symlink_metadata(&target).is_err(),
        "a file was created through the dangling link"
    );
    assert_regular_file(&setup.dir.join("0.body"), b"xxxxx");
}

#[test]
fn a_failed_job_leaves_the_target_of_a_planted_link_untouched() {
    let faults = fault_server();
    let setup = Setup::new("failed-job-part-link");
    setup.plant("0.body.part", &setup.outside);
    // 100 bytes of a declared 1000, then the server closes: the body was
    // being saved when the job failed.
    let run = setup.run(&[], &[faults.url("/short-body/save-bodies")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let record = run.by_index(1)[&0];
    assert_eq!(record["error"]["kind"], "reset", "{record}");
    assert!(record["body_path"].is_null(), "{record}");
    setup.assert_outside_untouched();
    assert!(!setup.dir.join("0.body").exists());
}

#[test]
fn a_dir_writable_by_group_or_others_is_refused_unless_sticky() {
    for mode in [0o777, 0o775, 0o757] {
        let setup = Setup::new(&format!("shared-dir-{mode:o}"));
        set_mode(&setup.dir, mode);
        let run = setup.run(&[], &[server().url("/bytes/5")]);
        assert_eq!(run.code, 2, "mode {mode:o} is refused: {}", run.stderr);
        assert!(
            run.stderr.contains(setup.dir.to_str().unwrap()),
            "names DIR: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("writable by group or others") && run.stderr.contains("chmod go-w"),
            "says why and what to do: {}",
            run.stderr
        );
        assert!(run.records.is_empty(), "no job ran");
        assert!(setup.names().is_empty(), "nothing written in DIR");
    }
}

#[test]
fn the_library_refuses_a_shared_dir_before_any_request() {
    let setup = Setup::new("library-shared-dir");
    set_mode(&setup.dir, 0o777);
    let path = "/echo/save-bodies-library-shared-dir";
    let started = Pool::builder()
        .save_bodies(&setup.dir)
        .from_urls([server().url(path)], &RequestDefaults::default());
    assert!(
        matches!(
            started,
            Err(PoolError::BodyDir(BodyDirError::Shared { mode: 0o777, .. }))
        ),
        "{:?}",
        started.err()
    );
    assert_eq!(server().hits(path), 0, "nothing was sent");
}

#[test]
fn a_sticky_shared_dir_of_another_user_is_refused() {
    let setup = Setup::new("sticky-dir-of-nobody");
    set_mode(&setup.dir, 0o1777);
    // 65534 is `nobody`: a user other than the one running the tests.
    std::os::unix::fs::chown(&setup.dir, Some(65534), Some(65534)).unwrap();
    let run = setup.run(&[], &[server().url("/bytes/5")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(setup.dir.to_str().unwrap()) && run.stderr.contains("uid 65534"),
        "names DIR and its owner: {}",
        run.stderr
    );
    assert!(setup.names().is_empty(), "nothing written in DIR");
}

#[test]
fn a_sticky_shared_dir_of_our_own_is_accepted() {
    let setup = Setup::new("sticky-dir-of-our-own");
    set_mode(&setup.dir, 0o1777);
    let run = setup.run(&[], &[server().url("/bytes/5")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_regular_file(&setup.dir.join("0.body"), b"xxxxx");
}

/// `/proc/self` is a directory of the process's own user that not even
/// root may create a file in.
#[cfg(target_os = "linux")]
#[test]
fn a_dir_no_file_can_be_created_in_is_refused_at_start() {
    let run = tb_host(
        &["run", "--save-bodies", "/proc/self", "-"],
        &server().url("/bytes/5"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("/proc/self") && run.stderr.contains("cannot create a file"),
        "names DIR and says why: {}",
        run.stderr
    );
    assert!(run.records.is_empty(), "no job ran");
}

/// The args that have retry-backoff retry 503 at once.
const RETRY_503: [&str; 6] = [
    "--plugin",
    fixtures::RETRY_BACKOFF,
    "--plugin-config",
    "base-ms=1",
    "--plugin-config",
    "max-ms=2",
];

#[test]
fn a_retry_whose_last_attempt_fails_leaves_no_body() {
    let setup = Setup::new("last-attempt-fails");
    // Attempt 1: 503 with an empty body, retried. Attempt 2: 200 `ok\n`,
    // three bytes, over the limit of two: the job fails.
    let url = server().url("/flaky/save-bodies-last-fails/1/503");
    let mut args = RETRY_503.to_vec();
    args.extend(["--body-limit", "2"]);
    let run = setup.run(&args, &[url]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let record = run.by_index(1)[&0];
    assert_eq!(record["attempts"], 2, "{record}");
    assert_eq!(record["error"]["kind"], "body", "{record}");
    assert!(record["body_path"].is_null(), "{record}");
    assert!(
        setup.names().is_empty(),
        "the first attempt's body is not kept: {:?}",
        setup.names()
    );
}

#[test]
fn a_retried_job_keeps_only_the_last_attempts_body() {
    let setup = Setup::new("last-attempt-kept");
    let url = server().url("/flaky/save-bodies-last-kept/2/503");
    let run = setup.run(&RETRY_503, &[url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let record = run.by_index(1)[&0];
    assert_eq!(record["attempts"], 3, "{record}");
    assert_eq!(record["status"], 200, "{record}");
    assert_regular_file(&setup.dir.join("0.body"), b"ok\n");
    assert_eq!(setup.names(), ["0.body"], "no part file left behind");
}
