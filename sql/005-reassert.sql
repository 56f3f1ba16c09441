-- 005-reassert.sql: a clash this side decided for its own version, told
-- to the peer.
--
-- A clash is decided on the side that sees it.  When its own version
-- wins, the peer may never take it: the peer can have had that version
-- before and replaced it (it then skips it as old), which happens when
-- cursors started over (a map change, a pairing added again, a backup
-- restored).  So the winner is logged once more, with its own version,
-- as a row of kind 8 whose prior is the version it won over: a peer
-- whose current version that is takes it (fieldsync-protocol(7),
-- priors), and sides agree again.
--
-- _fs_log.prior_hlc, prior_origin: on a kind-8 row, the version the
-- change won over; NULL on every other row.
ALTER TABLE _fs_log ADD COLUMN prior_hlc INTEGER;
ALTER TABLE _fs_log ADD COLUMN prior_origin INTEGER;
