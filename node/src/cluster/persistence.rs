//! The node state file in the data directory (`--dir`): what a node must
//! remember across restarts to come back as itself.
//!
//! ```text
//! # Starling cluster node state. Rewritten (temp file + rename) on every change.
//! node-id 3b2edfefe09c26ab8acba924e8c43762c5ef47b0
//! shard-id 6f9d1c1a35f1b0e6bb9d2c9d0f1b1de3a1b2c3d4
//! generation 1795681975000
//! config-epoch 3
//! current-epoch 5
//! slots r:0-5460
//! slot-marks [100->-7bea776dc79ee8c17543b66d4d528b9c90511d82] [7000-<-eb0ff38aa4adec5c0dbfd9ead4e5873d233e02bc]
//! peers 127.0.0.1:17001 127.0.0.1:17002
//! ```
//!
//! - Writes are atomic: the text goes to `<file>.tmp`, is synced, and
//!   renamed over the file, so a crash leaves either the old or the new
//!   state, never a torn one.
//! - A lock file (`flock`) keeps two processes from sharing one directory,
//!   as Redis does with nodes.conf.
//! - `slot-marks` holds the slots being migrated (`->-`) or imported
//!   (`-<-`), as CLUSTER NODES shows them; a file without the line (written
//!   before slot migration existed) has none.
//! - A file that cannot be parsed stops the start-up: guessing an identity
//!   or slots could make two nodes claim the same slots.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use starling_cluster::{NodeId, SlotMarks, SlotSet};

pub const STATE_FILE_NAME: &str = "starling-cluster.state";
const LOCK_FILE_NAME: &str = "starling-cluster.lock";
/// Peers remembered as gossip seeds for the next start; a few are enough.
pub const SAVED_PEERS_MAX: usize = 32;

/// Everything the state file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedState {
    pub node_id: NodeId,
    pub shard_id: NodeId,
    /// The chitchat generation of the last start; the next start takes a larger one.
    pub generation: u64,
    pub config_epoch: u64,
    pub current_epoch: u64,
    pub slots: SlotSet,
    /// Slots being migrated or imported (CLUSTER SETSLOT).
    pub slot_marks: SlotMarks,
    /// Gossip addresses of known peers, used as seeds after a restart.
    pub peers: Vec<String>,
}

impl SavedState {
    pub fn render(&self) -> String {
        assert!(self.peers.len() <= SAVED_PEERS_MAX, "too many saved peers");
        format!(
            "# Starling cluster node state. Rewritten (temp file + rename) on every change.\n\
             node-id {}\nshard-id {}\ngeneration {}\nconfig-epoch {}\ncurrent-epoch {}\nslots {}\nslot-marks {}\npeers {}\n",
            self.node_id,
            self.shard_id,
            self.generation,
            self.config_epoch,
            self.current_epoch,
            self.slots.encode(),
            self.slot_marks.encode(),
            self.peers.join(" ")
        )
    }

    pub fn parse(text: &str) -> anyhow::Result<SavedState> {
        let mut node_id_opt = None;
        let mut shard_id_opt = None;
        let mut generation_opt = None;
        let mut config_epoch_opt = None;
        let mut current_epoch_opt = None;
        let mut slots_opt = None;
        let mut slot_marks = SlotMarks::default();
        let mut peers = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            let value = value.trim();
            let context = || format!("line {}: {line}", index + 1);
            match name {
                "node-id" => node_id_opt = Some(value.parse::<NodeId>().with_context(context)?),
                "shard-id" => shard_id_opt = Some(value.parse::<NodeId>().with_context(context)?),
                "generation" => generation_opt = Some(value.parse::<u64>().with_context(context)?),
                "config-epoch" => config_epoch_opt = Some(value.parse::<u64>().with_context(context)?),
                "current-epoch" => current_epoch_opt = Some(value.parse::<u64>().with_context(context)?),
                "slots" => slots_opt = Some(SlotSet::decode(value).with_context(context)?),
                "slot-marks" => slot_marks = SlotMarks::decode(value).with_context(context)?,
                "peers" => {
                    peers = value.split_whitespace().map(str::to_string).collect();
                    peers.truncate(SAVED_PEERS_MAX);
                }
                _ => bail!("unknown entry at {}", context()),
            }
        }
        let missing = |name: &str| anyhow::anyhow!("missing '{name}'");
        let config_epoch = config_epoch_opt.ok_or_else(|| missing("config-epoch"))?;
        let current_epoch = current_epoch_opt.ok_or_else(|| missing("current-epoch"))?;
        if current_epoch < config_epoch {
            bail!("current-epoch {current_epoch} is below config-epoch {config_epoch}");
        }
        Ok(SavedState {
            node_id: node_id_opt.ok_or_else(|| missing("node-id"))?,
            shard_id: shard_id_opt.ok_or_else(|| missing("shard-id"))?,
            generation: generation_opt.ok_or_else(|| missing("generation"))?,
            config_epoch,
            current_epoch,
            slots: slots_opt.ok_or_else(|| missing("slots"))?,
            slot_marks,
            peers,
        })
    }
}

/// The state file of one data directory, locked for this process. Clones
/// share the lock, so that a write can run on a blocking thread.
#[derive(Clone)]
pub struct StateFile {
    path: PathBuf,
    /// Holds the `flock` for as long as the node runs.
    _lock: Arc<File>,
}

impl StateFile {
    /// Creates the directory if needed and takes its lock.
    pub fn open(dir: &Path) -> anyhow::Result<StateFile> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
        let lock_path = dir.join(LOCK_FILE_NAME);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        // SAFETY: flock only reads the descriptor of a file we keep open.
        let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            bail!(
                "the data directory {} is already used by another starling-server; give each node its own --dir",
                dir.display()
            );
        }
        Ok(StateFile {
            path: dir.join(STATE_FILE_NAME),
            _lock: Arc::new(lock),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, or None if this directory has never held one.
    pub fn load(&self) -> anyhow::Result<Option<SavedState>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).with_context(|| format!("reading {}", self.path.display())),
        };
        SavedState::parse(&text)
            .map(Some)
            .with_context(|| format!("corrupt cluster state file {}", self.path.display()))
    }

    /// Replaces the file atomically with `state`, on a blocking thread (it
    /// syncs to disk), so that the caller's event loop keeps running.
    pub async fn save_in_background(&self, state: SavedState, durability: Durability) -> std::io::Result<()> {
        let file = self.clone();
        tokio::task::spawn_blocking(move || file.save_with(&state, durability))
            .await
            .unwrap_or_else(|error| Err(std::io::Error::other(error)))
    }

    /// Replaces the file atomically and durably with `state`.
    pub fn save(&self, state: &SavedState) -> std::io::Result<()> {
        self.save_with(state, Durability::Synced)
    }

    fn save_with(&self, state: &SavedState, durability: Durability) -> std::io::Result<()> {
        let temporary_path = self.path.with_extension("state.tmp");
        {
            let mut temporary = File::create(&temporary_path)?;
            temporary.write_all(state.render().as_bytes())?;
            if durability == Durability::Synced {
                temporary.sync_all()?;
            }
        }
        std::fs::rename(&temporary_path, &self.path)?;
        if durability == Durability::Unsynced {
            return Ok(());
        }
        // Make the rename itself durable; not every file system supports
        // syncing a directory, and the rename has happened either way.
        if let Some(dir) = self.path.parent() {
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    }
}

/// Whether a save waits for the disk. Claims and epochs are always synced
/// (a node must never come back with claims older than its peers saw);
/// a change of slot marks alone is not, as Redis writes nodes.conf without
/// fsync after CLUSTER SETSLOT: the write is still atomic (rename).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    Synced,
    Unsynced,
}

#[cfg(test)]
mod tests {
    use super::*;
    use starling_cluster::SlotRange;

    fn temporary_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("starling-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn sample() -> SavedState {
        SavedState {
            node_id: NodeId::random(),
            shard_id: NodeId::random(),
            generation: 1_795_681_975_000,
            config_epoch: 3,
            current_epoch: 5,
            slots: SlotSet::from_ranges(&[SlotRange::new(0, 5460), SlotRange::new(7000, 7000)]),
            slot_marks: {
                let mut marks = SlotMarks::default();
                marks.set_migrating(7000, NodeId::random());
                marks.set_importing(9000, NodeId::random());
                marks
            },
            peers: vec!["127.0.0.1:17001".into(), "10.0.0.2:17000".into()],
        }
    }

    #[test]
    fn state_round_trips_through_text() {
        let state = sample();
        let text = state.render();
        assert!(text.contains("slots r:0-5460,7000\n"), "{text}");
        assert_eq!(SavedState::parse(&text).unwrap(), state);
        let without_marks: String = text
            .lines()
            .filter(|line| !line.starts_with("slot-marks"))
            .map(|line| format!("{line}\n"))
            .collect();
        let mut expected = state;
        expected.slot_marks = SlotMarks::default();
        assert_eq!(SavedState::parse(&without_marks).unwrap(), expected);
    }

    #[test]
    fn bad_files_are_refused() {
        let text = sample().render();
        assert!(SavedState::parse(&text.replace("config-epoch 3", "config-epoch x")).is_err());
        assert!(SavedState::parse(&text.replace("current-epoch 5", "current-epoch 1")).is_err());
        assert!(SavedState::parse(&text.replace("node-id", "no-id")).is_err());
        assert!(SavedState::parse("node-id abc\n").is_err());
    }

    #[test]
    fn saves_atomically_and_locks_the_directory() {
        let dir = temporary_dir("save");
        let file = StateFile::open(&dir).unwrap();
        assert_eq!(file.load().unwrap(), None);
        assert!(StateFile::open(&dir).is_err(), "a second process is refused");
        let state = sample();
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap(), Some(state.clone()));
        let mut changed = state;
        changed.config_epoch = 4;
        file.save(&changed).unwrap();
        assert_eq!(file.load().unwrap(), Some(changed));
        assert!(!file.path().with_extension("state.tmp").exists());
        drop(file);
        assert!(StateFile::open(&dir).is_ok(), "the lock goes with the process");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
