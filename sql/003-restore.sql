-- 003-restore.sql: telling a log that was rolled back (a backup
-- restored) from the one a peer's cursor points into.  Sequence numbers
-- are reused after a restore; clock values are not (the clock is ahead
-- of everything the lost log held), so each cursor travels with the
-- clock value of the log row it ends at: its mark.
--
-- recv_mark: the peer's mark for recv_seq, as the peer said.
-- echo_want: 1 while the peer sends again what it logged after our
-- cursor, what came from us included (our log was rolled back: the peer
-- holds changes we lost).
-- echo_give: 1 while we do that for the peer (its log was rolled back).
ALTER TABLE _fs_pair_state ADD COLUMN recv_mark INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _fs_pair_state ADD COLUMN echo_want INTEGER NOT NULL DEFAULT 0;
ALTER TABLE _fs_pair_state ADD COLUMN echo_give INTEGER NOT NULL DEFAULT 0;
