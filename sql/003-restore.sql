-- 003-restore.sql: telling a log that was rolled back (a backup
-- restored) from the one a peer's cursor points into.  Sequence numbers
-- are reused after a restore; this instance's clock values are not (the
-- clock is ahead of everything the lost log held), so each cursor
-- travels with the clock value at which the log row it ends at was
-- written: its mark.
--
-- _fs_log.at: for a row that came from a peer, this instance's clock
-- when it was written (a peer's change arrives again with its own clock
-- value, so hlc would not tell the two apart); NULL for a change made
-- here, whose hlc is this instance's clock already.  The mark is
-- coalesce(at, hlc).
--
-- recv_mark: the peer's mark for recv_seq, as the peer said.
-- echo_want: 1 while the peer sends again what it logged after our
-- cursor, what came from us included (our log was rolled back: the peer
-- holds changes we lost).
-- echo_give: 1 while we do that for the peer (its log was rolled back).
ALTER TABLE _fs_pair_state ADD COLUMN recv_mark INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _fs_pair_state ADD COLUMN echo_want INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _fs_pair_state ADD COLUMN echo_give INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _fs_log ADD COLUMN at INTEGER;
