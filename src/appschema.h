/*
 * appschema.h - what the app's own tables look like.
 *
 * Reads sqlite_schema and PRAGMA table_xinfo so that every table or
 * column name a user or peer gives is matched against something real
 * before it is quoted into SQL.
 */
#ifndef FS_APPSCHEMA_H
#define FS_APPSCHEMA_H

#include "store.h"

struct app_column {
	char *name;
	char *decl_type;
	int pk;		/* position in the primary key, 0 if not */
	int notnull;
	int hidden;	/* generated or hidden column */
	int has_default;
};

struct app_table {
	char *name;
	struct app_column *cols;
	int ncols;
	int rowid_col;	/* index of the INTEGER PRIMARY KEY, -1 if none */
	int without_rowid;
	int is_virtual;
};

/*
 * Describe table name; FS_ENOTFOUND if there is no such table.  State
 * tables (_fs_*) and sqlite_* tables are reported as not found.
 */
struct app_table *appschema_table(struct store *s, const char *name,
    struct fs_err *err);
void appschema_table_free(struct app_table *t);
/* Index of column name in t, -1 when absent. */
int appschema_column(const struct app_table *t, const char *name);
/* Names of all app tables (not _fs_*, not sqlite_*), NULL-terminated. */
char **appschema_list_tables(struct store *s, struct fs_err *err);
void appschema_strv_free(char **v);

#endif
