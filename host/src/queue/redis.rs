//! The Redis engine: one stream of jobs read by one consumer group, a hash
//! of results and a hash of counts, all under the queue's name.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `tb-host:{NAME}:jobs` | stream | one entry per input entry: `i` (its index) and `job` (a JSON job line), or `line`, `error`, `text` for a bad line; a retry due again also has `a`, its attempts |
//! | `tb-host:{NAME}:results` | hash | index -> the stored result |
//! | `tb-host:{NAME}:order` | list | the indexes of the jobs recorded, in the order they were (`results --order finish`) |
//! | `tb-host:{NAME}:meta` | hash | `enqueued`, `total`, `recorded`, `failed`, `duplicates` |
//! | `tb-host:{NAME}:retries` | sorted set | index of a job parked for a retry, scored by when it is due (ms, the server's clock) |
//! | `tb-host:{NAME}:retry-jobs` | hash | index -> `ATTEMPTS JOB-LINE` of a parked job |
//! | `tb-host:{NAME}:rate` | hash | second (the server's clock) -> records stored in it, the last minute's |
//!
//! The group's pending-entries list is the leases: `XREADGROUP` hands new
//! entries out, `XAUTOCLAIM` takes over those idle longer than a lease,
//! `XCLAIM ... JUSTID` renews them (`lua/lease.lua`), and `lua/record.lua`
//! stores a batch of results, acknowledging and deleting each one's entry
//! and counting it, in one step (one script call per batch: a call costs
//! Redis more than the commands of a result). `lua/retry.lua`
//! parks a retry (acknowledging its entry in the same step) and
//! `lua/due.lua`, run by whichever process takes jobs, at most every
//! [`DUE_EVERY`], moves the retries due back into the stream. The braces make the keys one hash slot, for a Redis Cluster.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamPendingReply, StreamReadReply,
};
use redis::{Client, Connection, RedisError, RedisResult, Script};

use super::{Delivery, Ending, JobQueue, Outcome, QueueAddress, QueueError, Queued, Status};
use crate::input::InputError;

/// The consumer group every process of a queue reads in.
const GROUP: &str = "tb-host";

/// An idle time long past any lease: what handing an entry back sets.
const HANDED_BACK_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

/// How often a process taking jobs looks for retries due: a retry runs
/// that much after its time at worst.
const DUE_EVERY: Duration = Duration::from_millis(100);

/// The most retries due moved into the stream in one step.
const DUE_BATCH: u64 = 1000;

/// How far back `status` counts records for the rate, in seconds.
const RATE_WINDOW: u64 = 60;

/// A queue on a Redis server (7.0 or newer).
pub struct RedisQueue {
    address: QueueAddress,
    client: Client,
    /// Idle connections: each caller takes one, so a consumer blocked in
    /// `XREADGROUP` does not hold up one recording a result.
    idle: Mutex<Vec<Connection>>,
    /// Where the next `XAUTOCLAIM` goes on scanning the leases, and when
    /// a scan last ended.
    claims: Mutex<Claims>,
    /// When this process last moved the retries due into the stream.
    due_moved: Mutex<Option<Instant>>,
    keys: Keys,
    record: Script,
    lease: Script,
    retry: Script,
    due: Script,
}

/// Where the scan for leases run out is.
struct Claims {
    cursor: String,
    ended: Option<Instant>,
}

struct Keys {
    jobs: String,
    results: String,
    /// The indexes of the jobs recorded, in the order they were.
    order: String,
    meta: String,
    retries: String,
    retry_jobs: String,
    rate: String,
}

impl RedisQueue {
    /// Connects to the queue at `address` and makes sure its stream and
    /// consumer group exist.
    pub fn open(address: &QueueAddress) -> Result<RedisQueue, QueueError> {
        let mut url = reqwest::Url::parse(&format!(
            "redis://{}:{}/{}",
            address.host, address.port, address.db
        ))
        .map_err(|e| engine(address, e.to_string()))?;
        if let Some((user, password)) = &address.credentials {
            let _ = url.set_username(user);
            let _ = url.set_password(Some(password));
        }
        let client = Client::open(url.as_str()).map_err(|e| engine(address, e.to_string()))?;
        let name = &address.name;
        let queue = RedisQueue {
            address: address.clone(),
            client,
            idle: Mutex::new(Vec::new()),
            claims: Mutex::new(Claims {
                cursor: "0-0".to_owned(),
                ended: None,
            }),
            due_moved: Mutex::new(None),
            keys: Keys {
                jobs: format!("tb-host:{{{name}}}:jobs"),
                results: format!("tb-host:{{{name}}}:results"),
                order: format!("tb-host:{{{name}}}:order"),
                meta: format!("tb-host:{{{name}}}:meta"),
                retries: format!("tb-host:{{{name}}}:retries"),
                retry_jobs: format!("tb-host:{{{name}}}:retry-jobs"),
                rate: format!("tb-host:{{{name}}}:rate"),
            },
            record: Script::new(include_str!("lua/record.lua")),
            lease: Script::new(include_str!("lua/lease.lua")),
            retry: Script::new(include_str!("lua/retry.lua")),
            due: Script::new(include_str!("lua/due.lua")),
        };
        queue.with(|con| {
            let created = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&queue.keys.jobs)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .exec(con);
            match created {
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                other => other,
            }
        })?;
        Ok(queue)
    }

    /// Runs `f` on an idle connection, or a new one. A connection that
    /// failed is dropped, not kept.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T, QueueError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut con = match idle {
            Some(con) => con,
            None => self
                .client
                .get_connection_with_timeout(Duration::from_secs(5))
                .map_err(|e| self.error(&e))?,
        };
        let result = f(&mut con).map_err(|e| self.error(&e));
        if result.is_ok() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(con);
        }
        result
    }

    fn error(&self, error: &RedisError) -> QueueError {
        engine(&self.address, error.to_string())
    }

    /// The entry `entry` of the stream, as a delivery.
    fn delivery(&self, entry: &StreamId, deliveries: u64) -> Result<Delivery, QueueError> {
        let bad = |reason: &str| QueueError::Entry {
            queue: self.address.to_string(),
            id: entry.id.clone(),
            reason: reason.to_owned(),
        };
        let index: u64 = entry.get("i").ok_or_else(|| bad("it has no index"))?;
        let entry_of = match entry.get::<String>("job") {
            Some(line) => Queued::Job { index, line },
            None => Queued::Rejected {
                index,
                error: InputError {
                    line: entry.get("line").ok_or_else(|| bad("it has no job"))?,
                    message: entry.get("error").unwrap_or_default(),
                    text: entry.get("text").unwrap_or_default(),
                },
            },
        };
        Ok(Delivery {
            id: entry.id.clone(),
            entry: entry_of,
            deliveries,
            attempts: entry.get("a").unwrap_or(0),
        })
    }

    /// Takes over at most `room` entries idle longer than `lease`, from
    /// `cursor` on in the scan of the leases, with how often each was
    /// delivered.
    fn claim(
        &self,
        consumer: &str,
        room: usize,
        lease: Duration,
        cursor: &str,
    ) -> Result<(Vec<StreamId>, Vec<StreamPendingCountReply>), QueueError> {
        let (claimed, counts) = self.with(|con| {
            let claimed: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(&self.keys.jobs)
                .arg(GROUP)
                .arg(consumer)
                .arg(millis(lease))
                .arg(cursor)
                .arg("COUNT")
                .arg(room)
                .query(con)?;
            let mut pipe = redis::pipe();
            for entry in &claimed.claimed {
                pipe.cmd("XPENDING")
                    .arg(&self.keys.jobs)
                    .arg(GROUP)
                    .arg(&entry.id)
                    .arg(&entry.id)
                    .arg(1);
            }
            let counts: Vec<StreamPendingCountReply> = if claimed.claimed.is_empty() {
                Vec::new()
            } else {
                pipe.query(con)?
            };
            Ok((claimed, counts))
        })?;
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        claims.cursor = claimed.next_stream_id;
        if claims.cursor == "0-0" {
            claims.ended = Some(Instant::now());
        }
        Ok((claimed.claimed, counts))
    }

    /// Moves the retries due into the stream, unless this process did
    /// less than [`DUE_EVERY`] ago.
    fn move_due(&self) -> Result<(), QueueError> {
        {
            let mut moved = self
                .due_moved
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if moved.is_some_and(|at| at.elapsed() < DUE_EVERY) {
                return Ok(());
            }
            *moved = Some(Instant::now());
        }
        self.with(|con| {
            self.due
                .key(&self.keys.jobs)
                .key(&self.keys.results)
                .key(&self.keys.retries)
                .key(&self.keys.retry_jobs)
                .arg(DUE_BATCH)
                .invoke::<u64>(con)
        })?;
        Ok(())
    }

    /// Sets the idle time of the entries `ids` that `consumer` holds.
    fn set_idle(&self, consumer: &str, ids: &[String], idle_ms: u64) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.with(|con| {
            let mut call = self.lease.key(&self.keys.jobs);
            call.arg(GROUP).arg(consumer).arg(idle_ms).arg(ids);
            call.invoke::<u64>(con)
        })?;
        Ok(())
    }
}

fn engine(address: &QueueAddress, message: String) -> QueueError {
    QueueError::Engine {
        queue: address.to_string(),
        message,
    }
}

/// A reply of the engine as a `T`; none is an error too.
fn parsed<T: redis::FromRedisValue>(
    address: &QueueAddress,
    reply: Option<redis::Value>,
) -> Result<T, QueueError> {
    redis::from_redis_value(reply.unwrap_or(redis::Value::Nil))
        .map_err(|e| engine(address, e.to_string()))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl JobQueue for RedisQueue {
    fn add(&self, entries: &[Queued], read: u64) -> Result<(), QueueError> {
        self.with(|con| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for entry in entries {
                let add = pipe
                    .cmd("XADD")
                    .arg(&self.keys.jobs)
                    .arg("*")
                    .arg("i")
                    .arg(entry.index());
                match entry {
                    Queued::Job { line, .. } => add.arg("job").arg(line),
                    Queued::Rejected { error, .. } => add
                        .arg("line")
                        .arg(error.line)
                        .arg("error")
                        .arg(&error.message)
                        .arg("text")
                        .arg(&error.text),
                }
                .ignore();
            }
            pipe.cmd("HSET")
                .arg(&self.keys.meta)
                .arg("enqueued")
                .arg(read)
                .ignore();
            pipe.exec(con)
        })
    }

    fn enqueued(&self) -> Result<u64, QueueError> {
        let read: Option<u64> = self.with(|con| {
            redis::cmd("HGET")
                .arg(&self.keys.meta)
                .arg("enqueued")
                .query(con)
        })?;
        Ok(read.unwrap_or(0))
    }

    fn complete(&self, total: u64) -> Result<(), QueueError> {
        self.with(|con| {
            redis::cmd("HSET")
                .arg(&self.keys.meta)
                .arg("total")
                .arg(total)
                .exec(con)
        })
    }

    fn take(
        &self,
        consumer: &str,
        room: usize,
        lease: Duration,
        wait: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        if room == 0 {
            return Ok(Vec::new());
        }
        self.move_due()?;
        // A scan of the leases goes on where it stopped; a new one starts
        // at most every quarter of a lease: a lease runs out that much
        // later at worst, and a busy process does not scan for each take.
        let cursor = {
            let claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
            let due = claims.cursor != "0-0"
                || claims
                    .ended
                    .is_none_or(|ended| ended.elapsed() >= lease / 4);
            due.then(|| claims.cursor.clone())
        };
        let (claimed, counts) = match cursor {
            Some(cursor) => self.claim(consumer, room, lease, &cursor)?,
            None => (Vec::new(), Vec::new()),
        };
        let mut taken = Vec::with_capacity(room);
        for (entry, count) in claimed.iter().zip(&counts) {
            let deliveries = count.ids.first().map_or(1, |p| p.times_delivered as u64);
            taken.push(self.delivery(entry, deliveries)?);
        }
        let left = room - taken.len();
        if left == 0 {
            return Ok(taken);
        }
        let block = if taken.is_empty() { millis(wait) } else { 0 };
        let read: Option<StreamReadReply> = self.with(|con| {
            let mut read = redis::cmd("XREADGROUP");
            read.arg("GROUP")
                .arg(GROUP)
                .arg(consumer)
                .arg("COUNT")
                .arg(left);
            if block > 0 {
                read.arg("BLOCK").arg(block);
            }
            read.arg("STREAMS").arg(&self.keys.jobs).arg(">").query(con)
        })?;
        for key in read.map(|reply| reply.keys).unwrap_or_default() {
            for entry in &key.ids {
                taken.push(self.delivery(entry, 1)?);
            }
        }
        Ok(taken)
    }

    fn renew(&self, consumer: &str, ids: &[String]) -> Result<(), QueueError> {
        self.set_idle(consumer, ids, 0)
    }

    fn hand_back(&self, consumer: &str, ids: &[String]) -> Result<(), QueueError> {
        self.set_idle(consumer, ids, HANDED_BACK_MS)
    }

    fn record(&self, results: &[Outcome]) -> Result<Vec<bool>, QueueError> {
        if results.is_empty() {
            return Ok(Vec::new());
        }
        // The records in one script call, the retries (rare) one call each.
        let (records, retries): (Vec<&Outcome>, Vec<&Outcome>) = results
            .iter()
            .partition(|result| matches!(result.ending, Ending::Record { .. }));
        let mut pipe = redis::pipe();
        if !records.is_empty() {
            let call = pipe
                .cmd("EVALSHA")
                .arg(self.record.get_hash())
                .arg(5)
                .arg(&self.keys.jobs)
                .arg(&self.keys.results)
                .arg(&self.keys.meta)
                .arg(&self.keys.rate)
                .arg(&self.keys.order)
                .arg(GROUP);
            for result in &records {
                if let Ending::Record { record, failed } = &result.ending {
                    call.arg(&result.id)
                        .arg(result.index)
                        .arg(record)
                        .arg(if *failed { "1" } else { "0" });
                }
            }
        }
        for result in &retries {
            if let Ending::Retry { after, attempts } = &result.ending {
                pipe.cmd("EVALSHA")
                    .arg(self.retry.get_hash())
                    .arg(4)
                    .arg(&self.keys.jobs)
                    .arg(&self.keys.results)
                    .arg(&self.keys.retries)
                    .arg(&self.keys.retry_jobs)
                    .arg(GROUP)
                    .arg(&result.id)
                    .arg(result.index)
                    .arg(millis(*after))
                    .arg(attempts);
            }
        }
        let replies: Vec<redis::Value> = self.with(|con| match pipe.query(con) {
            // A server restarted from its files has no scripts: the
            // scripts are idempotent, so all of them go again.
            Err(e) if e.code() == Some("NOSCRIPT") => {
                self.record.load(con)?;
                self.retry.load(con)?;
                pipe.query(con)
            }
            other => other,
        })?;
        let mut replies = replies.into_iter();
        let stored_records: Vec<u64> = if records.is_empty() {
            Vec::new()
        } else {
            parsed(&self.address, replies.next())?
        };
        let parked: Vec<u64> = replies
            .map(|reply| parsed(&self.address, Some(reply)))
            .collect::<Result<_, _>>()?;
        let (mut stored_records, mut parked) = (stored_records.into_iter(), parked.into_iter());
        Ok(results
            .iter()
            .map(|result| {
                let stored = match result.ending {
                    Ending::Record { .. } => stored_records.next(),
                    Ending::Retry { .. } => parked.next(),
                };
                stored == Some(1)
            })
            .collect())
    }

    fn all_recorded(&self) -> Result<bool, QueueError> {
        let (total, recorded): (Option<u64>, Option<u64>) = self.with(|con| {
            redis::cmd("HMGET")
                .arg(&self.keys.meta)
                .arg("total")
                .arg("recorded")
                .query(con)
        })?;
        Ok(total.is_some_and(|total| recorded.unwrap_or(0) >= total))
    }

    fn results(&self, indexes: &[u64]) -> Result<Vec<Option<String>>, QueueError> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|con| {
            redis::cmd("HMGET")
                .arg(&self.keys.results)
                .arg(indexes)
                .query(con)
        })
    }

    fn recorded(&self, from: u64, count: u64) -> Result<Vec<u64>, QueueError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let last = i64::try_from(from + count - 1).unwrap_or(i64::MAX);
        self.with(|con| {
            redis::cmd("LRANGE")
                .arg(&self.keys.order)
                .arg(from)
                .arg(last)
                .query(con)
        })
    }

    fn status(&self) -> Result<Status, QueueError> {
        type Read = (
            [Option<u64>; 5],
            StreamPendingReply,
            u64,
            u64,
            (u64, u64),
            Vec<(u64, u64)>,
        );
        let (counts, pending, length, retrying, (now, _), seconds): Read = self.with(|con| {
            redis::pipe()
                .atomic()
                .cmd("HMGET")
                .arg(&self.keys.meta)
                .arg("enqueued")
                .arg("total")
                .arg("recorded")
                .arg("failed")
                .arg("duplicates")
                .cmd("XPENDING")
                .arg(&self.keys.jobs)
                .arg(GROUP)
                .cmd("XLEN")
                .arg(&self.keys.jobs)
                .cmd("ZCARD")
                .arg(&self.keys.retries)
                .cmd("TIME")
                .cmd("HGETALL")
                .arg(&self.keys.rate)
                .query(con)
        })?;
        let [enqueued, total, recorded, failed, duplicates] = counts;
        let (recent, window) = recent(&seconds, now);
        let in_flight = match &pending {
            StreamPendingReply::Data(data) => data
                .consumers
                .iter()
                .map(|c| (c.name.clone(), c.pending as u64))
                .collect(),
            _ => Default::default(),
        };
        Ok(Status {
            enqueued: enqueued.unwrap_or(0),
            complete: total.is_some(),
            waiting: length.saturating_sub(pending.count() as u64),
            retrying,
            in_flight,
            recorded: recorded.unwrap_or(0),
            failed: failed.unwrap_or(0),
            duplicates: duplicates.unwrap_or(0),
            recent,
            window: Duration::from_secs(window),
        })
    }
}

/// The records of `seconds` (second -> records stored in it) over the
/// last minute before `now` (a whole second: the current one is not over),
/// and that window in seconds: shorter when the first second counted is
/// younger than a minute.
fn recent(seconds: &[(u64, u64)], now: u64) -> (u64, u64) {
    let since = now.saturating_sub(RATE_WINDOW);
    let counted = seconds
        .iter()
        .filter(|(second, _)| (since..now).contains(second));
    let first = counted.clone().map(|(second, _)| *second).min();
    let records = counted.map(|(_, records)| records).sum();
    (records, first.map_or(0, |first| now - first))
}

#[cfg(test)]
mod tests {
    use super::recent;

    #[test]
    fn the_rate_counts_the_last_minute_but_the_current_second() {
        let seconds = [(100, 5), (130, 10), (159, 20), (160, 99), (99, 7)];
        assert_eq!(recent(&seconds, 160), (35, 60), "100..160");
        assert_eq!(
            recent(&[(150, 4), (155, 6)], 160),
            (10, 10),
            "a young queue"
        );
        assert_eq!(recent(&[(160, 4)], 160), (0, 0), "only the current second");
        assert_eq!(recent(&[], 160), (0, 0));
    }
}
