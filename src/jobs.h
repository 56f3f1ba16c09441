/*
 * jobs.h - "sync now" and "test connection" requests from the web UI,
 * handed from the server thread to the daemon's loop.
 *
 * The HTTP server has one thread, which also serves the sync endpoint:
 * a pass (or a connection test against a peer that does not answer)
 * must never run there.  The API only posts a job on this board; the
 * daemon loop claims it, runs it with its own store under the sync lock
 * (see active.h), reports progress, and posts the outcome; the page
 * polls the board.  One mutex guards the board; nothing here touches
 * the database or the network.
 *
 * A pairing has at most one job waiting or running at a time (of either
 * kind), and the board keeps the latest job of each kind per pairing so
 * the page can show how the last one ended.
 */
#ifndef FS_JOBS_H
#define FS_JOBS_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "active.h"
#include "err.h"

#define FS_JOBS_MAX 64		/* jobs remembered */
#define FS_JOB_NAME 65		/* pairing names are at most 64 bytes */

enum job_kind { JOB_SYNC, JOB_TEST };

struct job_board;

struct job_board *jobs_new(void);
void jobs_free(struct job_board *b);

/*
 * Queue a job of kind for pairing pair; *id receives its number.
 * FS_EBUSY when the pairing already has one waiting or running.
 */
int jobs_submit(struct job_board *b, const char *pair, enum job_kind kind,
    int64_t *id, struct fs_err *err);
/*
 * Loop side: claim the oldest waiting job (it becomes running).  Returns
 * its id and fills pair and kind, or 0 when nothing waits.
 */
int64_t jobs_claim(struct job_board *b, char pair[FS_JOB_NAME],
    enum job_kind *kind);
/* Put a claimed job back to waiting, with a note for the page. */
void jobs_requeue(struct job_board *b, int64_t id, const char *note);
void jobs_progress(struct job_board *b, int64_t id,
    const struct sync_progress *p);
/*
 * The job is done: ok or the error (kind and message), and for a test
 * the report (consumed; may be NULL).
 */
void jobs_finish(struct job_board *b, int64_t id, int ok,
    const struct fs_err *err, cJSON *report);
/*
 * The latest job of kind for pair as {id, state, note, rounds, sent_*,
 * recv_*, conflicts, ok, error, report}; state is queued, running or
 * done.  NULL when there has been none.
 */
cJSON *jobs_get(struct job_board *b, const char *pair, enum job_kind kind);

#endif
