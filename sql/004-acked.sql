-- 004-acked.sql: what a peer has seen of this instance's log, kept
-- across map changes.
--
-- A map change resets a pairing's cursors (sent_seq, recv_seq), so that
-- what the new map lets flow is sent again from the start.  Clash
-- detection asked the cursor whether the peer had seen a change, so for
-- a while every change of ours looked unseen and the peer's next edits
-- of those fields became conflicts.
--
-- _fs_pair_state.acked_seq: the highest sequence number of this log the
-- peer has acknowledged; a map change keeps it, a rolled-back log (a
-- backup restored) lowers it with the cursor.
-- _fs_map.floor_seq: the end of this log when the field's mapping last
-- changed here; changes of the field up to it may not have reached the
-- peer under the mapping it has now, so acked_seq does not count for
-- them.
-- _fs_map.remap_seq: the same, while the peer has not acknowledged our
-- log past it; until then each message tells the peer that the field
-- was remapped here ("remapped", fieldsync-protocol(7)), so that the
-- peer does not count on its own acked_seq for that field either.  0
-- once the peer has had everything again.
ALTER TABLE _fs_pair_state ADD COLUMN acked_seq INTEGER NOT NULL DEFAULT 0;
UPDATE _fs_pair_state SET acked_seq = sent_seq;
ALTER TABLE _fs_map ADD COLUMN floor_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _fs_map ADD COLUMN remap_seq INTEGER NOT NULL DEFAULT 0;
