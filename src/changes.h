/*
 * changes.h - the outgoing batch: what changed here since a cursor.
 *
 * Notes on the design (DESIGN.md invariants 4 and 6):
 *
 * - The log is scanned from the peer's acknowledged seq in chunks of
 *   log rows; every chunk is emitted whole, so the returned cursor always
 *   means "everything up to here is in this batch or was sent before".
 *   The batch stops after the chunk that crosses the byte budget; one huge
 *   value still goes through, alone.
 * - A record is sent once per chunk with the fields the chunk touched
 *   (all mapped fields for a "created" row, and for a restore: a peer
 *   that hard-deleted the record needs them all to bring it back), each
 *   with its current value and version.  A field whose current version
 *   came from this very pairing is not sent back (no echo), but for a
 *   restore; one that came from another pairing is (relay).
 * - Cost grows with the rows after the cursor, never with table size.
 *   When those rows fit one chunk (an incremental sync), the versions
 *   come from the rows themselves and no per-record index is read,
 *   unless an echo was skipped among them.
 * - The caller holds a transaction: the end of the log and the rows are
 *   read from one snapshot.
 */
#ifndef FS_CHANGES_H
#define FS_CHANGES_H

#include <stdint.h>

#include "buf.h"
#include "store.h"
#include "syncmap.h"

struct batch_out {
	int64_t cursor;		/* seq up to which the batch is complete */
	int more;		/* stopped early: call again from cursor */
	int64_t records;
	int64_t values;
};

/*
 * Append `"origins":[...],"changes":[...]` (JSON members, no braces) to
 * out for pairing m, starting after seq since.  echo: send what came
 * from the peer too (its log was rolled back: it may have lost it).
 */
int changes_build(struct store *s, struct syncmap *m, int64_t since,
    int echo, size_t budget, struct buf *out, struct batch_out *res,
    struct fs_err *err);
/*
 * The mark of a cursor: this instance's clock value when the newest log
 * row at or before seq was written (0 for none; sql/003).  Sequence
 * numbers come back after a backup is restored, those clock values do
 * not: a peer whose cursor's mark is not ours points into a log this
 * one no longer is (-1: error).
 */
int64_t changes_mark(struct store *s, int64_t seq, struct fs_err *err);
/*
 * For a peer whose cursor seq (with mark) points into this log as it was
 * before it was rolled back: the newest seq of the rows it has seen, that
 * is those before the first one newer than the mark (-1: error).
 */
int64_t changes_floor(struct store *s, int64_t seq, int64_t mark,
    struct fs_err *err);
/* Log rows after since that this pairing has not seen (for status). */
int64_t changes_pending(struct store *s, int64_t pid, int64_t since,
    struct fs_err *err);

#endif
