/*
 * pairstate.h - a pairing's sync progress and health (_fs_pair_state).
 *
 * The cursors only change inside the transaction that applies the batch
 * they describe (see merge.h); the health columns are written after each
 * attempt so status can say green or red and why.
 */
#ifndef FS_PAIRSTATE_H
#define FS_PAIRSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "store.h"

struct pairstate {
	int64_t sent_seq, recv_seq, map_epoch, peer_epoch;
	int has_peer_epoch;
	char *peer_instance, *peer_name, *last_ok, *last_error, *error_kind;
	char *last_attempt;
	int64_t peer_pending, offset_ms, failures, ambiguous, peer_interval;
	int has_peer_pending, has_offset;
	int64_t recv_mark;	/* the peer's mark for recv_seq (changes.h) */
	int echo_want, echo_give;	/* resending after a restore */
	int64_t acked_seq;	/* the most of our log the peer acknowledged */
};

int pairstate_load(struct store *s, int64_t pid, struct pairstate *ps,
    struct fs_err *err);
void pairstate_clear(struct pairstate *ps);
/* Run an UPDATE _fs_pair_state SET <assignments> WHERE pid = ?1 with
 * int64 arguments ?2.. (n of them). */
int pairstate_update(struct store *s, int64_t pid, const char *assignments,
    const int64_t *args, int n, struct fs_err *err);
/* Record the outcome of an attempt (own transaction).  kind NULL = ok. */
int pairstate_record(struct store *s, int64_t pid, const char *kind,
    const char *error, struct fs_err *err);
/* Reset both cursors and bump the map epoch (map changed here). */
int pairstate_map_changed(struct store *s, int64_t pid, struct fs_err *err);
/*
 * Append "remapped":[...], (the wire numbers of fields whose mapping
 * changed here and that the peer has not had all again yet) to out, or
 * nothing when there are none.  active: this is the active side.
 */
int pairstate_remapped(struct store *s, int64_t pid, int active,
    struct buf *out, struct fs_err *err);
/*
 * The assignment that raises acked_seq to what the peer acknowledged of
 * our log (the SQL parameter seq), or sets it there when our log was
 * rolled back (the parameter rolled_back is true), for pairstate_update
 * in the statement that moves the cursors.
 */
#define PAIRSTATE_ACKED(seq, rolled_back) "acked_seq = CASE WHEN " \
    rolled_back " THEN " seq " ELSE max(acked_seq, " seq ") END"
/*
 * The peer acknowledged our log up to seq: stop announcing the fields
 * whose remapping it has had all of again.  In the caller's transaction.
 */
int pairstate_unremap(struct store *s, int64_t pid, int64_t seq,
    struct fs_err *err);
/* Seconds since an ISO time written by store_now_iso (huge if NULL). */
double pairstate_age_s(const char *iso);
/* Health columns are refreshed at most this often when nothing changed. */
#define FS_STATE_REFRESH_S 5.0
/*
 * Whether a time of ours is due for a refresh: older than
 * FS_STATE_REFRESH_S, or as far ahead of the clock (which was set back
 * since: it would otherwise stay ahead, and look recent, until the clock
 * caught up).
 */
int pairstate_due(const char *iso);
/*
 * The clocks of two instances further apart than this get a warning:
 * "newest" orders clashing edits by them, and the change log dates
 * changes by them (fieldsync(1), STATUS).
 */
#define FS_CLOCK_WARN_MS (5 * 60 * 1000)
/* A measured offset is written again only when it moved this much. */
#define FS_CLOCK_MOVED_MS 1000
/* Whether offset_ms (the peer's clock minus ours) should be stored. */
int pairstate_offset_moved(const struct pairstate *ps, int64_t offset_ms);
/*
 * The warning for a clock offset into buf; 0 (and "") when the clocks
 * are close enough.
 */
int pairstate_clock_warning(int64_t offset_ms, char *buf, size_t n);
/* Log the warning when a newly stored offset crosses FS_CLOCK_WARN_MS. */
void pairstate_log_offset(const char *pair, const struct pairstate *ps,
    int64_t offset_ms);
/* Open conflicts of a pairing. */
int64_t pairstate_open_conflicts(struct store *s, int64_t pid);
/*
 * The field catalogue the peer published in its last hello (on the
 * passive side: the active's), as the JSON array it sent; NULL with
 * FS_ENOTFOUND when the peer has not said hello yet.
 */
cJSON *pairstate_peer_catalog(struct store *s, int64_t pid,
    struct fs_err *err);
/* [{pair, role, enabled, state, reason, ...}] for every pairing. */
cJSON *pairstate_status(struct store *s, struct fs_err *err);

/*
 * Pairing pid is bound to peer instance inst: the match-key links of
 * removed pairings bound to it become its own (sql/006).
 */
int pairstate_adopt_links(struct store *s, int64_t pid, const char *inst,
    struct fs_err *err);

#endif
