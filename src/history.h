/*
 * history.h - the per-record change log, as people read it.
 *
 * Every captured change is a row of _fs_log (see capture.h); this module
 * only reads it: a record's entries newest first, each with its time
 * (from the hybrid clock), field, old and new value, where it came from
 * (this instance or a pairing) and whether it was a conflict.
 */
#ifndef FS_HISTORY_H
#define FS_HISTORY_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store.h"

/*
 * {table, rowid, sync_id, entries:[{seq, time, field, column, kind, old,
 *  new, origin, source, conflict}]}; FS_ENOTFOUND for an unknown record.
 * limit 0 means no limit.
 */
cJSON *history_record(struct store *s, const char *table, int64_t rowid,
    int limit, struct fs_err *err);
/* Milliseconds since the epoch in a hybrid clock value, as ISO 8601. */
void history_hlc_iso(int64_t hlc, char out[64]);

#endif
