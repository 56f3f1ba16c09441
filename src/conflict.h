/*
 * conflict.h - conflicts waiting for a person, and reversing a choice.
 *
 * A conflict row keeps both values (see merge.h).  Resolving it with
 * "keep local" or "keep remote" writes the kept value as a new local
 * change when it is not already the field's value, so the choice syncs
 * to every peer like any edit; either way the conflict is closed.
 */
#ifndef FS_CONFLICT_H
#define FS_CONFLICT_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store.h"

/* [{id, table, rowid, sync_id, field, column, pair, local, remote, ...}] */
cJSON *conflict_list(struct store *s, int all, struct fs_err *err);
/* keep is "local" or "remote". */
int conflict_resolve(struct store *s, int64_t id, const char *keep,
    struct fs_err *err);

#endif
