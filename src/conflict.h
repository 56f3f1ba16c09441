/*
 * conflict.h - conflicts waiting for a person, and reversing a choice.
 *
 * A conflict row keeps both values (see merge.h).  Resolving it with
 * "keep local" or "keep remote" writes the kept value as a new local
 * change when it is not already the field's value, so the choice syncs
 * to every peer like any edit; either way the conflict is closed.
 * "keep winner" accepts the policy's choice.
 */
#ifndef FS_CONFLICT_H
#define FS_CONFLICT_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store.h"

#define FS_CONFLICTS_PAGE_MAX 500	/* conflicts per API page at most */

/*
 * [{id, table, rowid, sync_id, field, column, pair, local, remote, ...}],
 * oldest first, from offset; at most limit of them (0: all).
 */
cJSON *conflict_list(struct store *s, int all, int64_t offset, int64_t limit,
    struct fs_err *err);
/*
 * keep is "local", "remote" or "winner" (the side the policy chose).
 * When the field changed again after the conflict, writing its value
 * would undo that later change: the conflict is closed without writing
 * and *superseded (may be NULL) set.
 */
int conflict_resolve(struct store *s, int64_t id, const char *keep,
    int *superseded, struct fs_err *err);
/*
 * Resolve every open conflict alike, in one transaction.  A conflict
 * whose kept value has no row to go into here (hard-deleted) stays open
 * and is counted in *skipped; one whose field changed again since is
 * closed without writing and counted in *superseded.
 */
int conflict_resolve_all(struct store *s, const char *keep,
    int64_t *resolved, int64_t *skipped, int64_t *superseded,
    struct fs_err *err);

#endif
