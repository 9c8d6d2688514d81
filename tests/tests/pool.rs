//! The `Pool` library, for parity with Python's requests-toolbelt pool and
//! for what it promises beyond it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tb_host::hooks::{AttemptOutcome, Decision, NativeHook};
use tb_host::plugin::{Manifest, PluginRuntime};
use tb_host::{FailureKind, Job, Numbered, Pool, PoolError, RequestDefaults, threaded};
use tb_host_tests::fixtures;
use tb_host_tests::harness::{each_once, refused_url, server, tb_host};

#[test]
fn zero_threads_is_rejected() {
    let result = Pool::builder()
        .threads(0)
        .from_urls([server().url("/fast/zero")], &RequestDefaults::default());
    assert!(matches!(result, Err(PoolError::ZeroThreads)));
}

#[test]
fn from_urls_merges_the_request_defaults() {
    let defaults = RequestDefaults {
        method: "POST".into(),
        headers: vec![("X-Default".into(), "yes".into())],
        body: Some(b"payload".to_vec().into()),
        timeout: Some(Duration::from_secs(5)),
        ..RequestDefaults::default()
    };
    let urls: Vec<String> = (0..3)
        .map(|i| server().url(&format!("/echo/defaults/{i}")))
        .collect();
    let mut pool = Pool::from_urls(urls.clone(), &defaults).unwrap();
    pool.join_all();
    let responses: Vec<_> = pool.responses().collect();
    assert_eq!(pool.exceptions().count(), 0);
    each_once(responses.iter().map(|r| r.index()), 3);
    for response in &responses {
        assert_eq!(response.status(), 200);
        assert_eq!(response.job().method, "POST", "request_kwargs carried");
        let echo: serde_json::Value = response.json().unwrap();
        assert_eq!(echo["method"], "POST");
        assert_eq!(echo["headers"]["x-default"], "yes");
        assert_eq!(echo["body"], "payload");
    }
}

#[test]
fn initializer_and_auth_generator_run_once_per_session() {
    let threads = 4;
    let inits = Arc::new(Mutex::new(Vec::new()));
    let auths = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(Mutex::new(Vec::new()));
    let (inits2, auths2, order_init, order_auth) =
        (inits.clone(), auths.clone(), order.clone(), order.clone());
    let jobs: Vec<Job> = (0..200)
        .map(|i| Job::get(server().url(&format!("/echo/sessions/{i}"))))
        .collect();
    let mut pool = Pool::builder()
        .threads(threads)
        .auth_generator(move |mut session| {
            auths2.fetch_add(1, Ordering::SeqCst);
            order_auth.lock().unwrap().push((session.worker, "auth"));
            session
                .headers
                .push(("Authorization".into(), "Bearer from-auth-generator".into()));
            Ok(session)
        })
        .initializer(move |mut session| {
            inits2.lock().unwrap().push(session.worker);
            order_init.lock().unwrap().push((session.worker, "init"));
            session.headers.push(("X-Init".into(), "1".into()));
            Ok(session)
        })
        .from_jobs(jobs)
        .unwrap();
    pool.join_all();
    let responses: Vec<_> = pool.responses().collect();
    assert_eq!(pool.exceptions().count(), 0);
    each_once(responses.iter().map(|r| r.index()), 200);
    for response in &responses {
        let echo: serde_json::Value = response.json().unwrap();
        assert_eq!(echo["headers"]["x-init"], "1");
        assert_eq!(
            echo["headers"]["authorization"],
            "Bearer from-auth-generator"
        );
    }
    let workers = inits.lock().unwrap().clone();
    let distinct: BTreeSet<u32> = workers.iter().copied().collect();
    assert_eq!(
        workers.len(),
        distinct.len(),
        "one initializer call per session"
    );
    assert!(!workers.is_empty() && workers.len() <= threads);
    assert_eq!(auths.load(Ordering::SeqCst), workers.len());
    let order = order.lock().unwrap();
    for worker in distinct {
        let calls: Vec<&str> = order
            .iter()
            .filter(|(w, _)| *w == worker)
            .map(|(_, call)| *call)
            .collect();
        assert_eq!(calls, ["init", "auth"], "the initializer runs first, once");
    }
}

#[test]
fn many_workers_share_a_carrier_thread_per_cpu_and_keep_a_session_each() {
    let workers = 64;
    let threads_seen = Arc::new(Mutex::new(BTreeSet::new()));
    let sessions = Arc::new(Mutex::new(BTreeSet::new()));
    let (threads2, sessions2) = (threads_seen.clone(), sessions.clone());
    let jobs: Vec<Job> = (0..workers)
        .map(|i| Job::get(server().url(&format!("/slow/300?worker={i}"))))
        .collect();
    let started = std::time::Instant::now();
    let mut pool = Pool::builder()
        .threads(workers)
        .initializer(move |session| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            threads2.lock().unwrap().insert(name);
            sessions2.lock().unwrap().insert(session.worker);
            Ok(session)
        })
        .from_jobs(jobs)
        .unwrap();
    pool.join_all();
    let took = started.elapsed();
    let responses: Vec<_> = pool.responses().collect();
    assert_eq!(pool.exceptions().count(), 0);
    each_once(responses.iter().map(|r| r.index()), workers);
    assert!(responses.iter().all(|r| r.status() == 200));
    // Every job waits 300 ms at the server, and each worker has one in
    // flight: the 64 overlap. Made one after another on two threads they
    // would take 9.6 s.
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(
        sessions.lock().unwrap().len(),
        workers,
        "each worker took a job and opened its own session"
    );
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads_seen.lock().unwrap();
    assert!(
        !threads.is_empty() && threads.len() <= cpus,
        "hooks ran on {threads:?}, more threads than {cpus} CPUs"
    );
    assert!(
        threads.iter().all(|name| name.starts_with("tb-carrier-")),
        "{threads:?}"
    );
}

#[test]
fn from_exceptions_requeues_failed_jobs() {
    let urls: Vec<String> = (0..5)
        .map(|i| server().url(&format!("/reset/from-exceptions-{i}/1")))
        .collect();
    let mut first = Pool::builder()
        .threads(2)
        .from_urls(urls.clone(), &RequestDefaults::default())
        .unwrap();
    first.join_all();
    assert_eq!(first.responses().count(), 0);
    let failures: Vec<_> = first.exceptions().collect();
    each_once(failures.iter().map(|f| f.index()), 5);
    assert!(failures.iter().all(|f| f.kind() == FailureKind::Reset));

    let mut second = Pool::from_exceptions(failures).unwrap();
    second.join_all();
    let mut again: Vec<String> = second.responses().map(|r| r.job().url.clone()).collect();
    again.sort();
    let mut expected = urls;
    expected.sort();
    assert_eq!(again, expected);
    assert!(second.get_exception().is_none());
}

#[test]
fn map_rejects_an_empty_job_list_and_returns_responses_and_failures() {
    assert!(matches!(threaded::map(Vec::new()), Err(PoolError::NoJobs)));
    let (responses, failures) = threaded::map(vec![
        Job::get(server().url("/json")),
        Job::get(server().url("/status/404")),
        Job::get(refused_url("/refused")),
    ])
    .unwrap();
    each_once(
        responses
            .iter()
            .map(|r| r.index())
            .chain(failures.iter().map(|f| f.index())),
        3,
    );
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 404]);
    let json = responses.iter().find(|r| r.status() == 200).unwrap();
    assert_eq!(json.json::<serde_json::Value>().unwrap()["n"], 42);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].kind(), FailureKind::Connect);
    assert_eq!(failures[0].job().url, refused_url("/refused"));
}

#[test]
fn results_stream_while_the_pool_runs_and_each_job_ends_once() {
    let jobs = 3000;
    let mut pool = Pool::builder()
        .threads(8)
        .max_in_flight(64)
        .keep_bodies(false)
        .from_jobs((0..jobs).map(|i| Job::get(server().url(&format!("/fast/stream/{i}")))))
        .unwrap();
    let first = pool
        .results()
        .next()
        .expect("a first result before the end");
    assert!(first.is_ok());
    let mut seen = BTreeSet::from([first.unwrap().index()]);
    for result in pool.results() {
        let index = result.map(|r| r.index()).unwrap_or_else(|f| f.index());
        assert!(seen.insert(index), "index {index} ended twice");
    }
    assert_eq!(seen.len(), jobs);
    assert_eq!(seen.last(), Some(&(jobs as u64 - 1)));
}

#[test]
fn in_input_order_results_wait_for_a_slow_job_and_skip_what_select_skips() {
    // Job 0 answers after 300 ms; the others at once. With 8 jobs in
    // flight at most, 7 may finish behind it and wait; the rest wait to
    // be admitted. Every third index is not selected and never waited for.
    let jobs = 200;
    let urls = (0..jobs).map(|i| match i {
        0 => server().url("/slow/300?input-order-lib"),
        i => server().url(&format!("/echo/input-order-lib/{i}")),
    });
    let mut pool = Pool::builder()
        .threads(4)
        .max_in_flight(8)
        .keep_bodies(false)
        .select(|index| index % 3 != 2)
        .in_input_order()
        .from_urls(urls, &RequestDefaults::default())
        .unwrap();
    let count_sent = || {
        (1..jobs)
            .filter(|i| server().hits(&format!("/echo/input-order-lib/{i}")) > 0)
            .count()
    };
    let (handed_out, sent_while_slow) = std::thread::scope(|scope| {
        let taking = scope.spawn(|| {
            pool.results()
                .map(|result| result.map(|r| r.index()).unwrap_or_else(|f| f.index()))
                .collect::<Vec<u64>>()
        });
        std::thread::sleep(Duration::from_millis(150));
        let sent = count_sent();
        (taking.join().unwrap(), sent)
    });
    let expected: Vec<u64> = (0..jobs).filter(|index| index % 3 != 2).collect();
    assert_eq!(handed_out, expected);
    assert!(
        sent_while_slow <= 7,
        "{sent_while_slow} jobs were sent while job 0 held the results back"
    );
    assert_eq!(count_sent(), expected.len() - 1, "all sent in the end");
}

#[test]
fn native_retry_policy_is_scheduled_and_capped() {
    let path = "/flaky/native-policy/100/503";
    let mut pool = Pool::builder()
        .threads(2)
        .max_attempts(4)
        .hook(NativeHook::retry_policy(
            "always",
            |_, outcome, _| match outcome {
                AttemptOutcome::Response(head) if head.status == 503 => Decision::RetryAfter(1),
                _ => Decision::Defer,
            },
        ))
        .from_urls([server().url(path)], &RequestDefaults::default())
        .unwrap();
    pool.join_all();
    let response = pool.get_response().expect("a response");
    assert!(pool.get_exception().is_none() && pool.get_response().is_none());
    each_once([response.index()], 1);
    assert_eq!(response.status(), 503);
    assert_eq!(response.attempts(), 4, "max_attempts caps the policy");
    assert_eq!(server().hits(path), 4);
}

#[test]
fn a_pool_that_hands_its_retries_out_takes_them_back_with_their_attempts() {
    let path = "/flaky/handed-out/100/503";
    let policy = || {
        NativeHook::retry_policy("in 60 s", |_, outcome, _| match outcome {
            AttemptOutcome::Response(head) if head.status == 503 => Decision::RetryAfter(60_000),
            _ => Decision::Defer,
        })
    };
    let job = Job::get(server().url(path));
    let mut pool = Pool::builder()
        .threads(1)
        .max_attempts(3)
        .hand_out_retries(true)
        .hook(policy())
        .from_jobs([job.clone()])
        .unwrap();
    // At once, not in 60 s: the wait is the caller's.
    let handed = pool.results().next().expect("a result").unwrap_err();
    assert!(pool.results().next().is_none(), "one result");
    assert_eq!(handed.kind(), FailureKind::Retry);
    assert_eq!(handed.retry_in(), Some(Duration::from_secs(60)));
    assert_eq!(handed.attempts(), 1);
    // Given back with its two attempts, it makes the third, the last.
    let mut pool = Pool::builder()
        .threads(1)
        .max_attempts(3)
        .hand_out_retries(true)
        .hook(policy())
        .from_numbered([Numbered {
            index: 7,
            entry: Ok(job),
            attempts: 2,
        }])
        .unwrap();
    let response = pool.results().next().expect("a result").unwrap();
    assert_eq!((response.index(), response.attempts()), (7, 3));
    assert_eq!(
        response.status(),
        503,
        "max_attempts counts the earlier ones"
    );
    assert_eq!(server().hits(path), 2);
}

#[test]
fn plugin_hooks_work_from_the_library() {
    let runtime = PluginRuntime::new().unwrap();
    let bearer = runtime
        .load(Manifest {
            config: vec![("token".into(), "library-token".into())],
            ..Manifest::new(fixtures::BEARER_AUTH)
        })
        .unwrap();
    assert_eq!(bearer.name(), "bearer-auth");
    let trapping = runtime.load(Manifest::new(fixtures::TRAPPING)).unwrap();
    let urls = [
        server().url("/echo/library-plugin/ok"),
        server().url("/echo/library-plugin/trap"),
        server().url("/echo/library-plugin/ok-again"),
    ];
    let mut pool = Pool::builder()
        .threads(1)
        .hook(bearer)
        .hook(trapping)
        .from_urls(urls, &RequestDefaults::default())
        .unwrap();
    pool.join_all();
    let failure = pool.get_exception().expect("the trap failed one job");
    assert_eq!(failure.kind(), FailureKind::Plugin);
    assert!(
        failure.message().contains("trapping-plugin: authorize"),
        "{}",
        failure.message()
    );
    assert!(pool.get_exception().is_none());
    let responses: Vec<_> = pool.responses().collect();
    each_once(
        responses.iter().map(|r| r.index()).chain([failure.index()]),
        3,
    );
    for response in responses {
        let echo: serde_json::Value = response.json().unwrap();
        assert_eq!(echo["headers"]["authorization"], "Bearer library-token");
    }
}

#[test]
fn cancel_ends_every_job_taken_exactly_once_even_on_endless_input() {
    // An endless source: only cancelling ends this run.
    let urls = (0u64..).map(|i| server().url(&format!("/slow/20?cancel={i}")));
    let mut pool = Pool::builder()
        .threads(4)
        .max_in_flight(64)
        .from_urls(urls, &RequestDefaults::default())
        .unwrap();
    let canceller = pool.canceller();
    let mut seen = BTreeSet::new();
    let (mut responses, mut cancelled) = (0, 0);
    for result in pool.results() {
        let index = match &result {
            Ok(response) => {
                responses += 1;
                response.index()
            }
            Err(failure) => {
                assert_eq!(failure.kind(), FailureKind::Cancelled, "{failure}");
                assert!(failure.message().contains("cancelled"), "{failure}");
                cancelled += 1;
                failure.index()
            }
        };
        assert!(seen.insert(index), "index {index} ended twice");
        if responses == 8 {
            canceller.cancel();
        }
    }
    assert!(canceller.is_cancelled());
    assert!(
        responses >= 8 && cancelled > 0,
        "{responses} responses, {cancelled} cancelled"
    );
    let last = *seen.last().unwrap();
    assert_eq!(
        seen.len() as u64,
        last + 1,
        "indices 0..={last} each ended once"
    );
}

#[test]
fn an_error_returned_by_a_hook_fails_only_its_job_unsent() {
    let hook = NativeHook::authorizer("refuse-private", |request| {
        if request.url().contains("private") {
            Err("will not sign a private URL".to_owned())
        } else {
            Ok(())
        }
    });
    let urls = [
        server().url("/echo/hook-error/public-1"),
        server().url("/echo/hook-error/private"),
        server().url("/echo/hook-error/public-2"),
    ];
    let mut pool = Pool::builder()
        .threads(1)
        .hook(hook)
        .from_urls(urls, &RequestDefaults::default())
        .unwrap();
    pool.join_all();
    let failures: Vec<_> = pool.exceptions().collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].kind(), FailureKind::Plugin);
    assert_eq!(failures[0].index(), 1);
    let message = failures[0].message();
    assert!(
        message.contains("refuse-private") && message.contains("authorize"),
        "names the hook and its plugin: {message}"
    );
    assert!(message.contains("will not sign a private URL"), "{message}");
    each_once(
        pool.responses()
            .map(|r| r.index())
            .chain(failures.iter().map(|f| f.index())),
        3,
    );
    assert_eq!(server().hits("/echo/hook-error/private"), 0, "never sent");
}

#[test]
fn a_hook_that_panics_fails_its_job_and_the_worker_goes_on() {
    // Hook calls are made by the carrier thread outside its runtime: a
    // panic there must end only the job it was made for, on a worker that
    // then takes the next job with a fresh chain of hooks.
    let hook = NativeHook::authorizer("panicky", |request| {
        assert!(!request.url().contains("boom"), "the hook panics on boom");
        Ok(())
    });
    let urls: Vec<String> = (0..40)
        .map(|i| {
            let word = if i % 10 == 3 { "boom" } else { "fine" };
            server().url(&format!("/echo/panic/{word}/{i}"))
        })
        .collect();
    let mut pool = Pool::builder()
        .threads(2)
        .hook(hook)
        .from_urls(urls, &RequestDefaults::default())
        .unwrap();
    pool.join_all();
    let failures: Vec<_> = pool.exceptions().collect();
    let responses: Vec<_> = pool.responses().collect();
    let failed: BTreeSet<u64> = failures.iter().map(|f| f.index()).collect();
    assert_eq!(failed, BTreeSet::from([3, 13, 23, 33]), "{failures:?}");
    for failure in &failures {
        assert_eq!(failure.kind(), FailureKind::Other);
        assert!(failure.message().contains("panicked"), "{failure}");
    }
    assert!(responses.iter().all(|r| r.status() == 200));
    each_once(
        responses
            .iter()
            .map(|r| r.index())
            .chain(failures.iter().map(|f| f.index())),
        40,
    );
}

/// A worker keeps to one connection to a host: the connection of its last
/// request is back in its client's pool before it sends the next. (With
/// hundreds of workers on a carrier, each used to open a second one: 2,000
/// connections for `-j 1000` in a release build; this debug build against
/// a thread-per-connection server answers too unevenly to show it, so
/// `benches/bench.sh` counts nginx's connections too.) The real binary, on
/// a server of its own so that no other test's connections count.
#[test]
fn each_worker_keeps_to_one_connection() {
    let own = tb_loopback::Server::start().expect("start a loopback server");
    let (workers, jobs) = (200, 2_000);
    let input: String = (0..jobs)
        .map(|_| format!("{}\n", own.url("/slow/20")))
        .collect();
    let run = tb_host(&["run", "-j", &workers.to_string(), "-"], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.by_index(jobs);
    assert!(
        own.connections() <= workers as u64,
        "{} connections for {workers} workers",
        own.connections()
    );
}

#[test]
fn a_job_read_from_input_goes_where_its_url_says_after_the_caller_changes_it() {
    let input = format!("{}\n", server().url("/echo/input/before"));
    let mut job = tb_host::input::Format::Urls
        .jobs(std::io::Cursor::new(input), RequestDefaults::default())
        .next()
        .unwrap()
        .unwrap();
    job.url = server().url("/echo/input/after");
    let mut pool = Pool::builder().threads(1).from_jobs([job]).unwrap();
    pool.join_all();
    let response = pool.responses().next().expect("one response");
    let echo: serde_json::Value = response.json().unwrap();
    assert_eq!(
        echo["path"], "/echo/input/after",
        "the URL read was changed"
    );
    assert_eq!(response.job().url, server().url("/echo/input/after"));
}
