/*
 * active.h - the active side: hello, test, and one sync pass of a pairing.
 *
 * A pass repeats exchanges until neither side has more: each round sends
 * our changes since the passive's acknowledgement and asks for the
 * passive's since ours; the response is applied in one transaction with
 * both cursors (see merge.h).  A pass is run under an exclusive lock on
 * the database's lock file, so "fieldsync sync" from cron and the daemon
 * never run the same database's passes at once.
 */
#ifndef FS_ACTIVE_H
#define FS_ACTIVE_H

#include <signal.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "pairing.h"
#include "store.h"

struct client;

struct sync_progress {
	int64_t rounds, sent_records, sent_values, recv_records, recv_values;
	int64_t conflicts, created;
	int done;
	void (*cb)(void *ctx, const struct sync_progress *p);
	void *ctx;
	/* When set and *stop turns non-zero, the pass ends after the round
	 * under way (what was applied is committed; the rest waits). */
	const volatile sig_atomic_t *stop;
};

/*
 * Check the peer: reachable, authenticated, same protocol, and a map
 * through which something flows.  Fills *report with {ok, peer, name,
 * protocol, clock_offset_ms, flows, warnings[], problem}; returns -1
 * only when the report could not be made at all.
 */
int active_test(struct store *s, const struct pairing *p, cJSON **report,
    struct fs_err *err);
/*
 * One pass.  *clp is a client reused across passes (created when NULL,
 * the caller frees it with client_free); need_hello forces a hello
 * first.  The outcome is recorded in the pairing's state either way.
 */
int active_sync(struct store *s, const struct pairing *p, struct client **clp,
    int need_hello, struct sync_progress *prog, struct fs_err *err);
/* Classify an error for status: unreachable, auth, map, protocol, error. */
const char *active_error_kind(int code);
/* Take the database's sync lock; waits up to timeout_s seconds. */
int active_lock(const char *db, int timeout_s, int *fd, struct fs_err *err);
void active_unlock(int fd);

#endif
