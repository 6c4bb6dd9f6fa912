//! The ownership handoff of a native slot migration, as two sans-IO state
//! machines: `SourceHandoff` on the node that owns the slots and
//! `TargetHandoff` on the node that receives them. The node feeds them
//! messages, gossip observations and clock ticks, and carries out the
//! actions they return; the deterministic simulation in
//! `tests/handoff_simulation.rs` drives the same code over a network that
//! drops, delays and reorders messages.
//!
//! # The protocol
//! ```text
//!  source                                   target
//!  Streaming: Chunk(seq=1..n) ───────────▶ applies in seq order (gaps ignored)
//!  freeze writes to the slots
//!  Draining:  Prepare(final_seq=n) ──────▶ all of 1..n applied? ─▶ Prepared
//!             ◀──────────── Prepared          (else AppliedUpTo: resend the rest)
//!  Releasing: drop the claim (persisted)
//!             Commit ────────────────────▶ claim the slots with a bumped
//!             ◀──────────── Committed          config epoch: Owner
//!  Done: free the data
//! ```
//!
//! # The invariant: never two writers
//! The source accepts writes only while `Streaming`. It drops its claim only
//! after the target said `Prepared` (holds every chunk), and the target
//! accepts writes only once it is `Owner`, which it becomes only after the
//! source dropped its claim: on `Commit`, or, if that message is lost, when
//! gossip shows the source no longer claims the slots. Every write the
//! source acknowledged was applied before the freeze, so it is in a chunk at
//! or below `final_seq`, so the target holds it before it serves.
//!
//! # Failures
//! - Before the source drops its claim, anything (timeout, cancel, a broken
//!   link) aborts: the source unfreezes and keeps the slots, the target
//!   drops its partial data when told, or when gossip shows the source
//!   still owns the slots and no longer runs the migration.
//! - After the source dropped its claim it never takes the slots back while
//!   the target may still claim them: it resends `Commit` until the target
//!   answers or gossip shows the target as owner. Only if the target
//!   restarted (a new gossip generation; its imported data lived in memory
//!   and is gone) does the source reclaim the slots, with a bumped epoch.
//! - Imported data is never persisted before `Owner`, so a restarted target
//!   cannot resurrect half-imported slots.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A migration, unique on its source node.
pub type MigrationId = u64;

/// Control messages of the migration link. Chunk payloads travel with a
/// `Chunk` header; the node encodes all of them with rmp-serde.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandoffMessage {
    /// Source → target: chunk number `seq` follows (numbered from 1).
    Chunk { seq: u64 },
    /// Target → source, answering `Prepare`: only the chunks up to `seq`
    /// are applied; resend the rest.
    AppliedUpTo { seq: u64 },
    /// Source → target: writes are frozen; `final_seq` is the last chunk.
    Prepare { final_seq: u64 },
    /// Target → source: every chunk up to `final_seq` is applied.
    Prepared,
    /// Source → target: the source dropped its claim; take the slots.
    Commit,
    /// Target → source: the target owns the slots.
    Committed,
    /// Source → target: drop the partial data.
    Abort,
    /// Target → source: the partial data is dropped.
    Aborted,
}

/// How long each side waits before it acts on silence.
#[derive(Clone, Copy, Debug)]
pub struct HandoffTimeouts {
    /// Source: `Prepare` without `Prepared` for this long aborts.
    pub prepare: Duration,
    /// Source: resend `Prepare` or `Commit` after this much silence.
    pub resend: Duration,
    /// Target: `Prepared` without `Commit` for this long consults gossip.
    pub commit: Duration,
}

impl Default for HandoffTimeouts {
    fn default() -> Self {
        HandoffTimeouts {
            prepare: Duration::from_secs(5),
            resend: Duration::from_millis(200),
            commit: Duration::from_secs(1),
        }
    }
}

/// What the source side must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceAction {
    Send(HandoffMessage),
    /// Resend every chunk after `after_seq` (the target missed some).
    ResendChunksAfter(u64),
    /// Stop claiming the slots (persist it, gossip it) and answer MOVED to
    /// the target for them from now on.
    DropClaim,
    /// Accept writes to the slots again: the migration was aborted.
    Unfreeze,
    /// The slots are the target's: free the source's copy in the background.
    FreeData,
    /// The target restarted after the source dropped its claim: claim the
    /// slots again with a bumped config epoch and unfreeze.
    Reclaim,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SourcePhase {
    /// Copying; the source owns the slots and accepts writes.
    Streaming,
    /// Writes frozen, `Prepare` sent; still the owner.
    Draining,
    /// Claim dropped, `Commit` sent; nobody accepts writes.
    Releasing,
    /// The target owns the slots.
    Done,
    /// Aborted before the claim was dropped; the source still owns the slots.
    Aborted,
}

/// What gossip currently says about the other side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerObservation {
    /// The peer claims the migrating slots.
    pub claims_slots: bool,
    /// The peer restarted since the migration began.
    pub restarted: bool,
    /// The peer still lists this migration as running (meaningful for the source).
    pub migration_listed: bool,
}

#[derive(Clone, Debug)]
pub struct SourceHandoff {
    pub id: MigrationId,
    phase: SourcePhase,
    timeouts: HandoffTimeouts,
    /// Chunks sent so far (the last seq).
    chunks_sent: u64,
    final_seq: u64,
    phase_started_ms: u64,
    last_send_ms: u64,
}

impl SourceHandoff {
    pub fn new(id: MigrationId, timeouts: HandoffTimeouts, now_ms: u64) -> SourceHandoff {
        SourceHandoff {
            id,
            phase: SourcePhase::Streaming,
            timeouts,
            chunks_sent: 0,
            final_seq: 0,
            phase_started_ms: now_ms,
            last_send_ms: now_ms,
        }
    }

    pub fn phase(&self) -> SourcePhase {
        self.phase
    }

    /// Writes to the slots are accepted while streaming, and again once the
    /// migration aborted (the source kept or took back the slots).
    pub fn accepts_writes(&self) -> bool {
        matches!(self.phase, SourcePhase::Streaming | SourcePhase::Aborted)
    }

    /// The source still claims the slots.
    pub fn claims_slots(&self) -> bool {
        matches!(
            self.phase,
            SourcePhase::Streaming | SourcePhase::Draining | SourcePhase::Aborted
        )
    }

    /// Numbers the next chunk; returns the header to send before its payload.
    pub fn next_chunk(&mut self) -> HandoffMessage {
        assert_eq!(
            self.phase,
            SourcePhase::Streaming,
            "chunks are sent only while streaming"
        );
        self.chunks_sent += 1;
        HandoffMessage::Chunk { seq: self.chunks_sent }
    }

    pub fn chunks_sent(&self) -> u64 {
        self.chunks_sent
    }

    /// The copy and its deltas are out (the caller froze the slots' writes
    /// and sent the last delta chunk): ask the target to prepare.
    pub fn freeze(&mut self, now_ms: u64) -> Vec<SourceAction> {
        if self.phase != SourcePhase::Streaming {
            return Vec::new();
        }
        self.final_seq = self.chunks_sent;
        self.enter(SourcePhase::Draining, now_ms);
        vec![SourceAction::Send(HandoffMessage::Prepare {
            final_seq: self.final_seq,
        })]
    }

    /// An operator cancel, or a broken link: abort unless the claim is gone.
    pub fn cancel(&mut self, now_ms: u64) -> Vec<SourceAction> {
        match self.phase {
            SourcePhase::Streaming | SourcePhase::Draining => {
                let was_frozen = self.phase == SourcePhase::Draining;
                self.enter(SourcePhase::Aborted, now_ms);
                let mut actions = vec![SourceAction::Send(HandoffMessage::Abort)];
                if was_frozen {
                    actions.push(SourceAction::Unfreeze);
                }
                actions
            }
            // Past the point of no return: the handoff completes (or the
            // target restarted and `on_tick` reclaims).
            SourcePhase::Releasing | SourcePhase::Done | SourcePhase::Aborted => Vec::new(),
        }
    }

    pub fn on_message(&mut self, message: &HandoffMessage, now_ms: u64) -> Vec<SourceAction> {
        match (self.phase, message) {
            (SourcePhase::Draining, HandoffMessage::AppliedUpTo { seq }) if *seq < self.final_seq => {
                self.last_send_ms = now_ms;
                vec![
                    SourceAction::ResendChunksAfter(*seq),
                    SourceAction::Send(HandoffMessage::Prepare {
                        final_seq: self.final_seq,
                    }),
                ]
            }
            (SourcePhase::Draining, HandoffMessage::Prepared) => {
                self.enter(SourcePhase::Releasing, now_ms);
                vec![SourceAction::DropClaim, SourceAction::Send(HandoffMessage::Commit)]
            }
            (SourcePhase::Releasing, HandoffMessage::Committed) => {
                self.enter(SourcePhase::Done, now_ms);
                vec![SourceAction::FreeData]
            }
            _ => Vec::new(),
        }
    }

    /// Time passes; `target` is what gossip says about the target.
    pub fn on_tick(&mut self, now_ms: u64, target: PeerObservation) -> Vec<SourceAction> {
        let in_phase_ms = now_ms.saturating_sub(self.phase_started_ms);
        let resend_due = now_ms.saturating_sub(self.last_send_ms) >= millis(self.timeouts.resend);
        match self.phase {
            SourcePhase::Draining if in_phase_ms >= millis(self.timeouts.prepare) || target.restarted => {
                self.cancel(now_ms)
            }
            SourcePhase::Draining if resend_due => {
                self.last_send_ms = now_ms;
                vec![SourceAction::Send(HandoffMessage::Prepare {
                    final_seq: self.final_seq,
                })]
            }
            SourcePhase::Releasing if target.claims_slots => {
                self.enter(SourcePhase::Done, now_ms);
                vec![SourceAction::FreeData]
            }
            SourcePhase::Releasing if target.restarted => {
                self.enter(SourcePhase::Aborted, now_ms);
                vec![SourceAction::Reclaim]
            }
            SourcePhase::Releasing if resend_due => {
                self.last_send_ms = now_ms;
                vec![SourceAction::Send(HandoffMessage::Commit)]
            }
            _ => Vec::new(),
        }
    }

    fn enter(&mut self, phase: SourcePhase, now_ms: u64) {
        assert!(
            phase > self.phase,
            "source phases only move forward: {:?} -> {phase:?}",
            self.phase
        );
        self.phase = phase;
        self.phase_started_ms = now_ms;
        self.last_send_ms = now_ms;
    }
}

/// What the target side must do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetAction {
    Send(HandoffMessage),
    /// Apply the payload of chunk `seq` (it arrived in order).
    ApplyChunk(u64),
    /// Claim the slots with a bumped config epoch, persist, and serve them.
    ClaimSlots,
    /// Drop the partial data of the slots.
    DropData,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TargetPhase {
    Receiving,
    Prepared,
    Owner,
    Discarded,
}

#[derive(Clone, Debug)]
pub struct TargetHandoff {
    pub id: MigrationId,
    phase: TargetPhase,
    timeouts: HandoffTimeouts,
    applied_seq: u64,
    phase_started_ms: u64,
}

impl TargetHandoff {
    pub fn new(id: MigrationId, timeouts: HandoffTimeouts, now_ms: u64) -> TargetHandoff {
        TargetHandoff {
            id,
            phase: TargetPhase::Receiving,
            timeouts,
            applied_seq: 0,
            phase_started_ms: now_ms,
        }
    }

    pub fn phase(&self) -> TargetPhase {
        self.phase
    }

    pub fn accepts_writes(&self) -> bool {
        self.phase == TargetPhase::Owner
    }

    pub fn applied_seq(&self) -> u64 {
        self.applied_seq
    }

    pub fn on_message(&mut self, message: &HandoffMessage, now_ms: u64) -> Vec<TargetAction> {
        match (self.phase, message) {
            (TargetPhase::Receiving, HandoffMessage::Chunk { seq }) if *seq == self.applied_seq + 1 => {
                self.applied_seq = *seq;
                vec![TargetAction::ApplyChunk(*seq)]
            }
            // A gap or a repeat is ignored: the reply to the next Prepare
            // says where the target is, and the source resends from there
            // (answering every gap would multiply resends on a reordering link).
            (TargetPhase::Receiving, HandoffMessage::Prepare { final_seq }) if self.applied_seq >= *final_seq => {
                self.enter(TargetPhase::Prepared, now_ms);
                vec![TargetAction::Send(HandoffMessage::Prepared)]
            }
            (TargetPhase::Receiving, HandoffMessage::Prepare { .. }) => {
                vec![TargetAction::Send(HandoffMessage::AppliedUpTo {
                    seq: self.applied_seq,
                })]
            }
            (TargetPhase::Prepared, HandoffMessage::Prepare { .. }) => {
                vec![TargetAction::Send(HandoffMessage::Prepared)]
            }
            (TargetPhase::Prepared, HandoffMessage::Commit) => {
                self.enter(TargetPhase::Owner, now_ms);
                vec![TargetAction::ClaimSlots, TargetAction::Send(HandoffMessage::Committed)]
            }
            (TargetPhase::Owner, HandoffMessage::Commit) => vec![TargetAction::Send(HandoffMessage::Committed)],
            (TargetPhase::Receiving | TargetPhase::Prepared, HandoffMessage::Abort) => {
                self.enter(TargetPhase::Discarded, now_ms);
                vec![TargetAction::DropData, TargetAction::Send(HandoffMessage::Aborted)]
            }
            (TargetPhase::Discarded, HandoffMessage::Abort) => vec![TargetAction::Send(HandoffMessage::Aborted)],
            _ => Vec::new(),
        }
    }

    /// Time passes; `source` is what gossip says about the source.
    pub fn on_tick(&mut self, now_ms: u64, source: PeerObservation) -> Vec<TargetAction> {
        let waited_ms = now_ms.saturating_sub(self.phase_started_ms);
        match self.phase {
            // The source dropped its claim: that was its commit decision.
            TargetPhase::Prepared if waited_ms >= millis(self.timeouts.commit) && !source.claims_slots => {
                self.enter(TargetPhase::Owner, now_ms);
                vec![TargetAction::ClaimSlots]
            }
            // The source kept (or took back) the slots and no longer runs the
            // migration: it aborted, or it restarted and forgot it.
            TargetPhase::Receiving | TargetPhase::Prepared
                if waited_ms >= millis(self.timeouts.commit)
                    && source.claims_slots
                    && (!source.migration_listed || source.restarted) =>
            {
                self.enter(TargetPhase::Discarded, now_ms);
                vec![TargetAction::DropData]
            }
            _ => Vec::new(),
        }
    }

    fn enter(&mut self, phase: TargetPhase, now_ms: u64) {
        assert!(
            phase > self.phase,
            "target phases only move forward: {:?} -> {phase:?}",
            self.phase
        );
        self.phase = phase;
        self.phase_started_ms = now_ms;
    }
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (SourceHandoff, TargetHandoff) {
        let timeouts = HandoffTimeouts::default();
        (SourceHandoff::new(1, timeouts, 0), TargetHandoff::new(1, timeouts, 0))
    }

    #[test]
    fn the_happy_path_hands_the_slots_over_once() {
        let (mut source, mut target) = pair();
        for _ in 0..3 {
            let chunk = source.next_chunk();
            assert!(matches!(
                target.on_message(&chunk, 1)[..],
                [TargetAction::ApplyChunk(_)]
            ));
        }
        let prepare = source.freeze(2);
        assert!(!source.accepts_writes() && source.claims_slots());
        let SourceAction::Send(prepare) = &prepare[0] else {
            panic!()
        };
        assert_eq!(
            target.on_message(prepare, 3),
            vec![TargetAction::Send(HandoffMessage::Prepared)]
        );
        assert_eq!(
            source.on_message(&HandoffMessage::Prepared, 4),
            vec![SourceAction::DropClaim, SourceAction::Send(HandoffMessage::Commit)]
        );
        assert!(!source.claims_slots() && !target.accepts_writes());
        assert_eq!(
            target.on_message(&HandoffMessage::Commit, 5),
            vec![TargetAction::ClaimSlots, TargetAction::Send(HandoffMessage::Committed)]
        );
        assert!(target.accepts_writes());
        assert_eq!(
            source.on_message(&HandoffMessage::Committed, 6),
            vec![SourceAction::FreeData]
        );
        assert_eq!(source.phase(), SourcePhase::Done);
    }

    #[test]
    fn a_missing_chunk_is_resent_before_prepared() {
        let (mut source, mut target) = pair();
        let first = source.next_chunk();
        let _lost = source.next_chunk();
        target.on_message(&first, 1);
        let [SourceAction::Send(prepare)] = &source.freeze(2)[..] else {
            panic!()
        };
        let reply = target.on_message(prepare, 3);
        assert_eq!(reply, vec![TargetAction::Send(HandoffMessage::AppliedUpTo { seq: 1 })]);
        let actions = source.on_message(&HandoffMessage::AppliedUpTo { seq: 1 }, 4);
        assert_eq!(actions[0], SourceAction::ResendChunksAfter(1));
        target.on_message(&HandoffMessage::Chunk { seq: 2 }, 5);
        assert_eq!(
            target.on_message(prepare, 6),
            vec![TargetAction::Send(HandoffMessage::Prepared)]
        );
    }

    #[test]
    fn a_cancel_before_the_claim_drop_keeps_the_slots_at_the_source() {
        let (mut source, _) = pair();
        source.freeze(1);
        assert_eq!(
            source.cancel(2),
            vec![SourceAction::Send(HandoffMessage::Abort), SourceAction::Unfreeze]
        );
        assert!(source.claims_slots());
        source.on_message(&HandoffMessage::Prepared, 3);
        assert_eq!(source.phase(), SourcePhase::Aborted, "a late Prepared changes nothing");
    }

    #[test]
    fn after_the_claim_drop_a_cancel_is_refused_and_a_restarted_target_gives_the_slots_back() {
        let (mut source, _) = pair();
        source.freeze(1);
        source.on_message(&HandoffMessage::Prepared, 2);
        assert!(source.cancel(3).is_empty());
        let silent = PeerObservation::default();
        assert_eq!(
            source.on_tick(500, silent),
            vec![SourceAction::Send(HandoffMessage::Commit)]
        );
        let restarted = PeerObservation {
            restarted: true,
            ..silent
        };
        assert_eq!(source.on_tick(600, restarted), vec![SourceAction::Reclaim]);
        assert!(source.claims_slots());
    }

    #[test]
    fn a_prepared_target_takes_the_slots_when_gossip_shows_the_source_let_go() {
        let (_, mut target) = pair();
        target.on_message(&HandoffMessage::Prepare { final_seq: 0 }, 0);
        let source_owns = PeerObservation {
            claims_slots: true,
            migration_listed: true,
            restarted: false,
        };
        assert!(target.on_tick(5_000, source_owns).is_empty());
        let source_let_go = PeerObservation {
            claims_slots: false,
            ..source_owns
        };
        assert_eq!(target.on_tick(5_001, source_let_go), vec![TargetAction::ClaimSlots]);
    }

    #[test]
    fn a_target_whose_source_kept_the_slots_drops_its_data() {
        let (_, mut target) = pair();
        target.on_message(&HandoffMessage::Chunk { seq: 1 }, 0);
        let aborted = PeerObservation {
            claims_slots: true,
            migration_listed: false,
            restarted: false,
        };
        assert!(target.on_tick(10, aborted).is_empty(), "waits out the commit timeout");
        assert_eq!(target.on_tick(2_000, aborted), vec![TargetAction::DropData]);
        assert_eq!(target.phase(), TargetPhase::Discarded);
    }
}
