/*
 * records.h - reading the rows of an enrolled table, for people.
 *
 * The web UI's records browser and record view read through here.  Table
 * and column names come from the catalog and are checked against the
 * database's real schema before they are quoted into SQL; the search
 * text and numbers are always bound.  Read only: nothing here writes.
 */
#ifndef FS_RECORDS_H
#define FS_RECORDS_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store.h"

#define FS_RECORDS_PAGE_MAX 500		/* rows per page at most */
#define FS_RECORDS_SEARCH_MAX 200	/* bytes of search text at most */
#define FS_RECORDS_CELL_MAX 200		/* bytes of a text shown in a list */

/*
 * A page of rows of enrolled table, ordered by row id:
 * {table, columns:[{name, field, type, role}], total, offset, limit,
 *  search, rows:[{rowid, deleted, values:[...]}]}.  search (may be NULL
 * or empty) keeps rows where any column's text contains it.  Long texts
 * and blobs are cut short ({"blob": hex, "bytes": n, "cut": true}).
 * FS_ENOTFOUND for a table that is not enrolled, FS_EINVAL for bad
 * arguments.
 */
cJSON *records_list(struct store *s, const char *table, const char *search,
    int64_t offset, int limit, struct fs_err *err);
/*
 * One row in full: {table, rowid, deleted, columns:[{name, field, type,
 * role, value}]}; FS_ENOTFOUND when there is no such row.
 */
cJSON *records_get(struct store *s, const char *table, int64_t rowid,
    struct fs_err *err);

#endif
