/*
 * merge.h - applying a peer's batch: field-level merge and conflicts.
 *
 * Notes on the design (DESIGN.md invariants 2, 3, 4, 5 and 7):
 *
 * - The caller holds one write transaction around merge_apply and the
 *   cursor it advances, so a batch is applied whole or not at all, and
 *   what a side acknowledges is what it has committed.
 * - Every write to an app table goes through the capture triggers with
 *   the engine switch (_fs_clock.ap_*) set to the change's own version,
 *   origin, source pairing and sync identity: the log shows where the
 *   change came from, it is relayed to other pairings, never echoed.
 * - A field whose incoming version equals the local one, or that was
 *   applied here before (a re-sent batch), is skipped: applying is
 *   idempotent and order-independent.
 * - A conflict is an incoming change to a field that also has a local
 *   change the peer has not acknowledged yet.  The policy picks the
 *   winner (newest: larger (clock, origin instance); active; passive),
 *   and both values go to _fs_conflict.  Equal values are no conflict:
 *   both sides just keep the larger version.
 * - Only mapped columns in a receiving mode are written.
 * - A record hard-deleted here keeps its identity (a tombstone); a
 *   restore from a peer that kept a soft-deleted copy, sent whole, puts
 *   the row back under it, unless it loses a clash with the deletion.
 * - Unknown records are created with the sender's sync identity, or on a
 *   first sync linked to one existing record by the table's match
 *   columns; an ambiguous match is counted and reported, never guessed.
 *   A creation the app's own UNIQUE index refuses is linked the same way
 *   to the row holding its key, if the peer does not know that row yet;
 *   otherwise the refusal fails the batch.
 * - A created record's _fs_record row and "created" log row are not
 *   written one statement each: the record waits in a pending list (of
 *   bounded length, owned by merge_apply for one call), and a flush
 *   writes the list with multi-row INSERTs, giving the records the
 *   consecutive rids, and the log rows the seq order, that writing them
 *   one by one would have.  The list is flushed before anything else
 *   reads or writes _fs_record or _fs_log: the update of a record found
 *   by link, identity or match key; field versions of a new record that
 *   differ from its creation's; an app insert that can fire triggers; a
 *   record whose identity is still pending (a batch can hold a record
 *   twice); a full list; the end of the batch.  A chunk that hits a
 *   constraint (a stale row link) is written again row by row the old
 *   way, so odd cases behave exactly as before.
 */
#ifndef FS_MERGE_H
#define FS_MERGE_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store.h"
#include "syncmap.h"

struct merge_stats {
	int64_t records;	/* records in the batch */
	int64_t applied;	/* field values written */
	int64_t created;	/* records created */
	int64_t adopted;	/* rows the app's triggers inserted meanwhile */
	int64_t linked;		/* records linked by match key */
	int64_t conflicts;
	int64_t ambiguous;
	int64_t max_hlc;
};

struct merge_ctx {
	struct store *s;
	struct syncmap *m;
	int64_t acked;		/* our seq the peer has acknowledged */
	const char *policy;	/* newest, active, passive */
	int matching;		/* first sync: link by match columns */
	const char *self_instance;
	char now[64];		/* time added for records created here */
	int has_links;		/* the pairing has match-key links */
	int64_t at;		/* _fs_log.at of the rows this batch writes */
	/*
	 * What the peer ever acknowledged of our log (sql/004): it still
	 * counts for a field whose mapping has not changed since, on
	 * either side, while a map change makes the cursors start over.
	 */
	int64_t watermark;
	const int64_t *remapped;	/* our fids the peer says it remapped */
	int nremapped;
	char **dupkeys;		/* match keys a batch holds twice, sorted */
	int ndupkeys;
	/* Writes the app's constraints refused for now (merge-defer.c). */
	enum { MERGE_DEFER_OFF, MERGE_DEFER_PUSH, MERGE_DEFER_TRY } defer_mode;
	struct merge_deferred *deferred;
	int ndeferred, capdeferred;
};

/* Apply {"origins":[...],"changes":[...]} members of batch. */
int merge_apply(struct merge_ctx *c, const cJSON *batch,
    struct merge_stats *st, struct fs_err *err);
/* Clear the engine switch and advance the clock past max_hlc. */
int merge_finish(struct store *s, int64_t max_hlc, struct fs_err *err);

#endif
