//! State that survives a restart, `kill -9` included: the whole state, written to an embedded
//! `redb` database in the state directory before a request that changed it is answered.
//!
//! Writes are grouped: a request that changed the state asks for a write and waits for the next
//! one that starts after its change; one writer serializes the state (a short hold of the state
//! lock, once per group) and commits it in one durable `redb` transaction. Changes no request
//! waits for (timers, connections coming and going, heartbeats) are written within a second.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use redb::{Database, ReadableDatabase, TableDefinition};
use tokio::sync::{Notify, watch};

use crate::state::State;

/// The one table: key [`SNAPSHOT`] holds the state, CBOR-encoded.
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("gamelift-local");
const SNAPSHOT: &str = "state";
/// The format of what is stored, so a future version can refuse or convert an older one.
const FORMAT: &str = "format";
const FORMAT_VERSION: &[u8] = b"1";

/// The database's page cache.
const CACHE_BYTES: usize = 16 * 1024 * 1024;
/// How long a request waits for its change to be written before it is answered with an error.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often changes no request waits for are written.
const BACKGROUND_PERIOD: Duration = Duration::from_secs(1);

/// The state directory and its database.
pub(crate) struct Persistence {
    database: Database,
    path: PathBuf,
    /// Write requests made so far (each request takes the next number).
    requested: AtomicU64,
    /// The highest request number whose change is on disk.
    written: watch::Sender<u64>,
    /// A change no request waits for is not yet written.
    dirty: AtomicBool,
    wake: Notify,
    failure: Mutex<Option<String>>,
}

impl std::fmt::Debug for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persistence")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Persistence {
    /// Opens (or creates) the database in `directory` and reads the state it holds, if any.
    pub(crate) fn open(directory: &Path) -> Result<(Self, Option<State>), String> {
        std::fs::create_dir_all(directory).map_err(|error| {
            format!(
                "cannot create the state directory {}: {error}",
                directory.display()
            )
        })?;
        let path = directory.join("state.redb");
        // The state is one value read once at start: a small page cache is enough.
        let database = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path).map_err(|error| {
            format!(
                "cannot open the state database {}: {error} (is another gamelift-local using this state directory? give each one its own --state-dir, or use --in-memory)",
                path.display()
            )
        })?;
        let state = {
            let read = database
                .begin_read()
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            match read.open_table(TABLE) {
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
                Ok(table) => {
                    if let Some(format) = table
                        .get(FORMAT)
                        .map_err(|error| format!("cannot read {}: {error}", path.display()))?
                        && format.value() != FORMAT_VERSION
                    {
                        return Err(format!(
                            "{} was written by an incompatible version of gamelift-local; move it away or use another --state-dir",
                            path.display()
                        ));
                    }
                    match table
                        .get(SNAPSHOT)
                        .map_err(|error| format!("cannot read {}: {error}", path.display()))?
                    {
                        None => None,
                        Some(bytes) => Some(ciborium::from_reader(bytes.value()).map_err(
                            |error| {
                                format!(
                                    "the state in {} cannot be read ({error}); move it away or use another --state-dir",
                                    path.display()
                                )
                            },
                        )?),
                    }
                }
            }
        };
        Ok((
            Self {
                database,
                path,
                requested: AtomicU64::new(0),
                written: watch::channel(0).0,
                dirty: AtomicBool::new(false),
                wake: Notify::new(),
                failure: Mutex::new(None),
            },
            state,
        ))
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Notes a change no request waits for; it is written within a second.
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Waits until everything changed before this call is on disk.
    pub(crate) async fn durable(&self) -> Result<(), String> {
        let ticket = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        self.wake.notify_one();
        let mut written = self.written.subscribe();
        match tokio::time::timeout(WRITE_TIMEOUT, written.wait_for(|done| *done >= ticket)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(format!(
                "the change could not be written to {}: {}",
                self.path.display(),
                self.failure
                    .lock()
                    .clone()
                    .unwrap_or_else(|| "the write did not finish in time".into())
            )),
        }
    }

    fn write(&self, bytes: &[u8]) -> Result<(), String> {
        let commit = || -> Result<(), redb::Error> {
            let transaction = self.database.begin_write()?;
            {
                let mut table = transaction.open_table(TABLE)?;
                table.insert(FORMAT, FORMAT_VERSION)?;
                table.insert(SNAPSHOT, bytes)?;
            }
            transaction.commit()?;
            Ok(())
        };
        commit().map_err(|error| error.to_string())
    }
}

/// Encodes the state for the database.
fn encode(state: &State) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(64 * 1024);
    ciborium::into_writer(state, &mut bytes).map_err(|error| error.to_string())?;
    Ok(bytes)
}

/// The writer: runs until `stop` is set, then writes once more.
pub(crate) async fn run(
    persistence: Arc<Persistence>,
    state: Arc<dyn Fn() -> Result<Vec<u8>, String> + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let mut stopping = false;
    loop {
        if !stopping {
            tokio::select! {
                () = persistence.wake.notified() => {}
                () = tokio::time::sleep(BACKGROUND_PERIOD) => {}
                _ = stop.changed() => stopping = true,
            }
        }
        let target = persistence.requested.load(Ordering::Acquire);
        let dirty = persistence.dirty.swap(false, Ordering::AcqRel);
        if dirty || target > *persistence.written.borrow() || stopping {
            let bytes = state();
            let writer = Arc::clone(&persistence);
            let result = match bytes {
                Ok(bytes) => tokio::task::spawn_blocking(move || writer.write(&bytes))
                    .await
                    .unwrap_or_else(|error| Err(error.to_string())),
                Err(error) => Err(error),
            };
            match result {
                Ok(()) => {
                    *persistence.failure.lock() = None;
                    persistence.written.send_replace(target);
                }
                Err(error) => {
                    tracing::error!(target: "gamelift_local", path = %persistence.path.display(), %error, "cannot write the state; retrying");
                    *persistence.failure.lock() = Some(error);
                    persistence.dirty.store(true, Ordering::Release);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        if stopping {
            return;
        }
    }
}

/// Serializes `state` (called by the writer with the state lock held).
pub(crate) fn snapshot(state: &State) -> Result<Vec<u8>, String> {
    encode(state)
}
