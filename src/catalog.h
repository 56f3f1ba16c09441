/*
 * catalog.h - enrolled tables and their field numbers.
 *
 * Enrolling a table adds the two system fields if missing (record
 * status, time added), gives every column an instance-wide field number
 * that is never reused and never changes for that (table, column), gives
 * every existing row a sync identity and a "created" log entry, and
 * installs the capture triggers.  Removing a table drops its triggers
 * and keeps app data, identities and field numbers, so enrolling it again
 * picks up where it left off.
 */
#ifndef FS_CATALOG_H
#define FS_CATALOG_H

#include <cjson/cJSON.h>

#include "store.h"

#define FS_DEFAULT_STATUS_COL "fs_status"
#define FS_DEFAULT_ADDED_COL "fs_added"

struct catalog_field {
	int64_t fid;
	char *name;
	char *decl_type;
	char *role;	/* data, rowid, status, added */
};

struct catalog_table {
	int64_t tid;
	char *name;
	char *status_col;
	char *added_col;
	int64_t status_fid;
	int64_t added_fid;
	int enrolled;
	struct catalog_field *fields;	/* present columns only */
	int nfields;
};

struct table_opts {
	const char *status_col;	/* NULL: existing value or default */
	const char *added_col;
	const char *match;	/* "a,b" or NULL */
};

int catalog_table_add(struct store *s, const char *table,
    const struct table_opts *opts, struct fs_err *err);
int catalog_table_remove(struct store *s, const char *table,
    struct fs_err *err);
/* [{table, enrolled, status_column, added_column, match, records, fields:[...]}] */
cJSON *catalog_table_list(struct store *s, struct fs_err *err);

/* Load an enrolled table by name (FS_ENOTFOUND if not enrolled). */
struct catalog_table *catalog_table_get(struct store *s, const char *table,
    struct fs_err *err);
struct catalog_table *catalog_table_get_tid(struct store *s, int64_t tid,
    struct fs_err *err);
void catalog_table_free(struct catalog_table *t);
/* Field of t named col, or NULL. */
const struct catalog_field *catalog_field_by_name(
    const struct catalog_table *t, const char *col);
const struct catalog_field *catalog_field_by_fid(
    const struct catalog_table *t, int64_t fid);

/*
 * Every present field of every enrolled table (not the row id), as the
 * catalogue hello publishes: [{field, table, column, type, role, mode,
 * remote_field}], mode and remote_field as mapped in pairing pid ("off"
 * and null when unmapped, or for pid 0).
 */
cJSON *catalog_fields_json(struct store *s, int64_t pid, struct fs_err *err);

/*
 * Records whose app row is gone though no delete was captured: a row a
 * REPLACE removed for a UNIQUE value while the writer had recursive
 * triggers off (SQLite's default) fires no delete trigger.  The sweep
 * logs each as hard-deleted, so that peers delete their copy, and makes
 * it a tombstone, so that a later row with its row id is a new record.
 * It reads every enrolled table, so it runs at most every
 * FS_SWEEP_EVERY_MS (the last time kept in _fs_meta swept_at), and
 * takes the write lock only when it found something; *gone counts the
 * records found.
 */
#define FS_SWEEP_EVERY_MS (60 * 60 * 1000)
int catalog_sweep(struct store *s, int64_t *gone, struct fs_err *err);

#endif
