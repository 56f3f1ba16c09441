-- 006-links-kept.sql: the links a removed pairing made, kept for the
-- same peer.
--
-- A record linked by a match key (or the app's UNIQUE index) is known to
-- the peer under the peer's own sync identity (_fs_link).  "pair remove"
-- and "pair add" again for the same peer used to lose those links: the
-- peer's records then came back as new records here, one more copy each,
-- or stopped the pass on the app's UNIQUE index.
--
-- _fs_pair_gone: a removed pairing's pid and the peer instance it was
-- bound to.  Its _fs_link rows stay; when a pairing is bound to that
-- peer instance again (its first hello), they become the new pairing's.
CREATE TABLE _fs_pair_gone (
	pid		INTEGER PRIMARY KEY,
	peer_instance	TEXT NOT NULL
);
CREATE INDEX _fs_pair_gone_peer ON _fs_pair_gone (peer_instance);
