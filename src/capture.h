/*
 * capture.h - the triggers that record every write to an enrolled table.
 *
 * Notes on the design (DESIGN.md invariants 1, 3 and 4):
 *
 * - Pure SQL.  Any SQLite client that writes the table fires the
 *   triggers; nothing is asked of the writer.
 * - One AFTER UPDATE OF trigger per column, guarded by a WHEN that
 *   compares old and new by value, type and binary collation, so an
 *   UPDATE that changes nothing records nothing, and SQLite skips the
 *   triggers of columns not in the SET list entirely.
 * - Each change takes the next value of the hybrid logical clock in
 *   _fs_clock and appends one row to _fs_log; the row's seq is the local
 *   sequence number.  An INSERT appends one "created" row (fid 0), not
 *   one per column, which keeps the insert path cheap; a record's field
 *   versions fall back to that row.
 * - A hard DELETE appends a kind-2 row on the status field and turns the
 *   record into a tombstone (lrow NULL); its sync identity survives.
 *   REPLACE by a writer whose recursive triggers are off deletes the old
 *   row without firing the delete trigger; the insert trigger finds the
 *   stale link and logs that tombstone itself (old value NULL).
 * - Row ids are read through the INTEGER PRIMARY KEY column by name,
 *   never as rowid/oid/_rowid_, which app columns may shadow; the key
 *   trigger also fires on "SET rowid = ..." so the link follows.
 * - The sync engine's switch: while _fs_clock.ap_* are set (only inside
 *   the engine's own transaction), changes are stamped with the peer's
 *   clock, origin, source pairing and sync identity instead of local
 *   ones.  They still get a fresh seq, which is what relays them to the
 *   instance's other pairings, while src keeps them from echoing back.
 */
#ifndef FS_CAPTURE_H
#define FS_CAPTURE_H

#include "store.h"

struct catalog_table;

/* Drop and recreate the triggers of an enrolled table. */
int capture_install(struct store *s, const struct catalog_table *t,
    struct fs_err *err);
/*
 * How many of an enrolled table's capture triggers are missing (-1:
 * error).  An app that rebuilds a table (create a new one, copy the rows,
 * drop the old, rename: SQLite's way to change a column) drops them with
 * the old one, and its writes are then recorded nowhere.
 */
int capture_missing(struct store *s, int64_t tid, const char *table,
    struct fs_err *err);
/*
 * The column field fid's update trigger follows now, when that is not
 * col: SQLite rewrites triggers to a column's new name (ALTER TABLE ...
 * RENAME COLUMN), so the trigger still captures the renamed column under
 * the field.  NULL when it follows col, or has gone.
 */
char *capture_follows(struct store *s, int64_t tid, int64_t fid,
    const char *col);
/*
 * The table enrolled table tid's insert trigger is on, when it is not
 * `table`: SQLite moves triggers with a table renamed by ALTER TABLE ...
 * RENAME TO.  NULL when it is on `table`, or gone.
 */
char *capture_moved_to(struct store *s, int64_t tid, const char *table);
/*
 * The enrolled table whose capture triggers are on `table` though it is
 * enrolled under another name that no table has now (renamed): 0 when
 * none.
 */
int64_t capture_renamed_from(struct store *s, const char *table);
/* Drop every fieldsync trigger on table name. */
int capture_remove(struct store *s, const char *table, struct fs_err *err);
/* SQL condition: trigger name n is one of the capture triggers. */
#define CAPTURE_TRIGGER_SQL(n) \
    "(" n " GLOB '_fs_ins_*' OR " n " GLOB '_fs_upd_*' OR " n " GLOB " \
    "'_fs_del_*' OR " n " GLOB '_fs_key_*')"
/* SQL expression for "now" in hybrid clock units. */
#define CAPTURE_HLC_NOW \
    "(CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) << 16)"

#endif
