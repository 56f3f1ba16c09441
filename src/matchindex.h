/*
 * matchindex.h - the index that makes first-sync matching a lookup.
 *
 * On a pairing's first sync every incoming record is looked up by the
 * table's match columns (merge-create.c).  Match columns are often not
 * indexed (an e-mail, a tax number), and without an index each lookup
 * reads the whole table: 20,000 records on each side never finished.  So when a
 * table has match columns and SQLite's planner finds no index to search
 * them by, fieldsync adds one of its own, "_fs_match_<tid>", and drops it
 * again when the match columns go or the table is removed.
 */
#ifndef FS_MATCHINDEX_H
#define FS_MATCHINDEX_H

#include <stdint.h>

#include "store.h"

/*
 * Bring table's own match index in line with match_json (a JSON array of
 * column names as the schema spells them, or NULL for none).  The caller
 * holds a write transaction.
 */
int matchindex_update(struct store *s, int64_t tid, const char *table,
    const char *match_json, struct fs_err *err);
/* Drop table tid's match index, if fieldsync made one. */
int matchindex_drop(struct store *s, int64_t tid, struct fs_err *err);

#endif
