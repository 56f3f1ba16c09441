-- 001-state.sql: fieldsync's state tables, added to an app database by
-- "fieldsync init".  Everything fieldsync keeps lives in tables named
-- _fs_*, so app data and sync state commit together.  See
-- fieldsync-tables(5) for what each table and column means.

CREATE TABLE _fs_meta (
	key	TEXT PRIMARY KEY,
	value
) WITHOUT ROWID;

-- One row.  hlc is the hybrid logical clock: milliseconds since the epoch
-- shifted left 16 bits, plus a counter; every captured change takes the
-- next value.  The ap_* columns are the sync engine's switch: they are
-- non-NULL only inside a transaction in which the engine applies a
-- peer's change, and the capture triggers then stamp the change with the
-- peer's version and source instead of a new local one.  While ap_bulk
-- is set (again only inside the engine's transaction) the insert trigger
-- stands aside: the engine registers the records it creates itself.
CREATE TABLE _fs_clock (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	hlc		INTEGER NOT NULL,
	ap_src		INTEGER,
	ap_hlc		INTEGER,
	ap_origin	INTEGER,
	ap_sid		TEXT,
	ap_bulk		INTEGER,
	sid_prefix	TEXT NOT NULL DEFAULT ''
);

-- Instances whose changes we have seen.  Row 0 is this instance.
CREATE TABLE _fs_origin (
	id		INTEGER PRIMARY KEY,
	instance	TEXT NOT NULL UNIQUE
);

CREATE TABLE _fs_table (
	tid		INTEGER PRIMARY KEY AUTOINCREMENT,
	name		TEXT NOT NULL UNIQUE,
	status_col	TEXT NOT NULL,
	added_col	TEXT NOT NULL,
	match_cols	TEXT,
	enrolled	INTEGER NOT NULL DEFAULT 1,
	enrolled_at	TEXT NOT NULL
);

-- Field numbers: instance-wide, never reused (AUTOINCREMENT), stable for
-- a (table, column) pair even across table remove / table add.
CREATE TABLE _fs_field (
	fid		INTEGER PRIMARY KEY AUTOINCREMENT,
	tid		INTEGER NOT NULL REFERENCES _fs_table(tid),
	name		TEXT NOT NULL,
	decl_type	TEXT NOT NULL DEFAULT '',
	role		TEXT NOT NULL DEFAULT 'data'
			CHECK (role IN ('data', 'rowid', 'status', 'added')),
	present		INTEGER NOT NULL DEFAULT 1,
	UNIQUE (tid, name)
);

-- Records: the link between an app row (tid, lrow) and its sync identity.
-- lrow is NULL once the row was hard-deleted (a tombstone).  sid is 32
-- lower-case hex digits: the creating instance's sid_prefix (the first 16
-- digits of its identity) and the clock value of the creation.
CREATE TABLE _fs_record (
	rid		INTEGER PRIMARY KEY,
	tid		INTEGER NOT NULL,
	lrow		INTEGER,
	sid		TEXT NOT NULL UNIQUE
);
CREATE UNIQUE INDEX _fs_record_row ON _fs_record (tid, lrow);

-- The change log, which is also the outgoing queue: seq is the local
-- sequence number (never reused: rows are only ever appended), a pairing's
-- cursor is a seq.  fid 0 with kind 1 marks a record's creation; the
-- current version of a field is its newest row, else the creation row.
-- kind: low bits 0 field change, 1 created, 2 hard delete (fid = status
-- field); plus 4 when the change was a conflict.
-- origin: _fs_origin.id of the instance that made the change;
-- src: the pairing it arrived through, NULL when made here.
CREATE TABLE _fs_log (
	seq		INTEGER PRIMARY KEY,
	rid		INTEGER NOT NULL,
	fid		INTEGER NOT NULL,
	hlc		INTEGER NOT NULL,
	origin		INTEGER NOT NULL,
	src		INTEGER,
	kind		INTEGER NOT NULL DEFAULT 0,
	old,
	new
);
CREATE INDEX _fs_log_field ON _fs_log (rid, fid, seq, hlc, origin, src, kind);

CREATE TABLE _fs_pair (
	pid		INTEGER PRIMARY KEY AUTOINCREMENT,
	name		TEXT NOT NULL UNIQUE,
	role		TEXT NOT NULL CHECK (role IN ('active', 'passive')),
	transport	TEXT NOT NULL DEFAULT 'http',
	url		TEXT,
	secret		TEXT NOT NULL,
	interval	INTEGER NOT NULL DEFAULT 60 CHECK (interval >= 1),
	policy		TEXT NOT NULL DEFAULT 'newest'
			CHECK (policy IN ('newest', 'active', 'passive')),
	enabled		INTEGER NOT NULL DEFAULT 1,
	deletes		TEXT NOT NULL DEFAULT 'soft'
			CHECK (deletes IN ('soft', 'hard')),
	ca_file		TEXT,
	created_at	TEXT NOT NULL
);

-- Field map: which local fields take part in a pairing and how.
-- remote_fid is the active side's field number on a passive pairing.
CREATE TABLE _fs_map (
	pid		INTEGER NOT NULL REFERENCES _fs_pair(pid),
	fid		INTEGER NOT NULL REFERENCES _fs_field(fid),
	mode		TEXT NOT NULL
			CHECK (mode IN ('two-way', 'upload', 'download', 'off')),
	remote_fid	INTEGER,
	PRIMARY KEY (pid, fid)
) WITHOUT ROWID;

-- Per-pairing sync progress and health.
-- sent_seq: our newest seq the peer has committed (its acknowledgement);
-- recv_seq: the peer's newest seq we have committed.  Both advance only
-- in the transaction that applies the batch they describe.
-- map_epoch: bumped when this side's map changes, so the peer knows to
-- send everything again; peer_epoch: the peer's, as last seen.
CREATE TABLE _fs_pair_state (
	pid		INTEGER PRIMARY KEY REFERENCES _fs_pair(pid),
	sent_seq	INTEGER NOT NULL DEFAULT 0,
	recv_seq	INTEGER NOT NULL DEFAULT 0,
	map_epoch	INTEGER NOT NULL DEFAULT 0,
	peer_epoch	INTEGER,
	peer_instance	TEXT,
	peer_name	TEXT,
	peer_catalog	TEXT,
	peer_pending	INTEGER,
	peer_interval	INTEGER,
	last_ok		TEXT,
	last_attempt	TEXT,
	last_error	TEXT,
	error_kind	TEXT,
	offset_ms	INTEGER,
	failures	INTEGER NOT NULL DEFAULT 0,
	ambiguous	INTEGER NOT NULL DEFAULT 0
);

-- Records linked by a match key on a first sync: the peer's sync identity
-- for one of our records.  Only the side that matched keeps the link.
CREATE TABLE _fs_link (
	pid		INTEGER NOT NULL,
	rsid		TEXT NOT NULL,
	rid		INTEGER NOT NULL,
	PRIMARY KEY (pid, rsid)
) WITHOUT ROWID;
CREATE UNIQUE INDEX _fs_link_rid ON _fs_link (pid, rid);

-- Conflicts: the same field changed on both sides since they last
-- agreed.  Both values are kept so a person can reverse the choice.
CREATE TABLE _fs_conflict (
	id		INTEGER PRIMARY KEY,
	rid		INTEGER NOT NULL,
	fid		INTEGER NOT NULL,
	pid		INTEGER,
	local_value,
	local_hlc	INTEGER NOT NULL,
	local_origin	INTEGER NOT NULL,
	remote_value,
	remote_hlc	INTEGER NOT NULL,
	remote_origin	INTEGER NOT NULL,
	winner		TEXT NOT NULL CHECK (winner IN ('local', 'remote')),
	policy		TEXT NOT NULL,
	at		TEXT NOT NULL,
	resolved_at	TEXT,
	resolution	TEXT
);
CREATE INDEX _fs_conflict_open ON _fs_conflict (resolved_at, id);
CREATE INDEX _fs_conflict_rid ON _fs_conflict (rid);
