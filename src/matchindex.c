/* matchindex.c - the index for first-sync matching; see matchindex.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "ident.h"
#include "matchindex.h"

static void
index_name(struct buf *b, int64_t tid)
{
	char name[64];

	snprintf(name, sizeof name, "_fs_match_%" PRId64, tid);
	ident_quote(b, name);
}

int
matchindex_drop(struct store *s, int64_t tid, struct fs_err *err)
{
	struct buf b;
	int ret;

	buf_init(&b, 0);
	buf_addstr(&b, "DROP INDEX IF EXISTS ");
	index_name(&b, tid);
	ret = store_exec(s, b.data, err);
	buf_free(&b);
	return ret;
}

/*
 * Whether the planner searches table by the columns in cols (rather than
 * scanning it), asked the way merge-create.c's lookup asks.
 */
static int
searchable(struct store *s, const char *table, const cJSON *cols,
    int *yes, struct fs_err *err)
{
	const cJSON *c;
	sqlite3_stmt *st;
	struct buf b;
	int rc, k = 0;

	buf_init(&b, 0);
	buf_addstr(&b, "EXPLAIN QUERY PLAN SELECT 1 FROM ");
	ident_quote(&b, table);
	cJSON_ArrayForEach(c, cols) {
		buf_addstr(&b, k++ ? " AND " : " WHERE ");
		ident_quote(&b, c->valuestring);
		buf_addstr(&b, " = ?");
	}
	st = store_prepare(s, b.data, err);
	buf_free(&b);
	if (st == NULL)
		return -1;
	*yes = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 3);

		if (d != NULL && strncmp(d, "SEARCH", 6) == 0 &&
		    strstr(d, "INDEX") != NULL && strstr(d, "AUTOMATIC") == NULL)
			*yes = 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_dberr(s, err, "plan the match lookup");
	return 0;
}

int
matchindex_update(struct store *s, int64_t tid, const char *table,
    const char *match_json, struct fs_err *err)
{
	cJSON *cols;
	const cJSON *c;
	struct buf b;
	int ret = -1, yes, k = 0;

	/* Ours goes first, so that the planner is asked about the app's. */
	if (matchindex_drop(s, tid, err) == -1)
		return -1;
	if (match_json == NULL)
		return 0;
	if ((cols = cJSON_Parse(match_json)) == NULL || !cJSON_IsArray(cols) ||
	    cJSON_GetArraySize(cols) == 0) {
		cJSON_Delete(cols);
		return fs_err_set(err, FS_EDB, "bad match columns for %s",
		    table);
	}
	if (searchable(s, table, cols, &yes, err) == -1)
		goto out;
	if (yes) {
		ret = 0;
		goto out;
	}
	buf_init(&b, 0);
	buf_addstr(&b, "CREATE INDEX ");
	index_name(&b, tid);
	buf_addstr(&b, " ON ");
	ident_quote(&b, table);
	buf_addstr(&b, " (");
	cJSON_ArrayForEach(c, cols) {
		if (k++)
			buf_addstr(&b, ", ");
		ident_quote(&b, c->valuestring);
	}
	buf_addstr(&b, ")");
	ret = store_exec(s, b.data, err);
	buf_free(&b);
out:
	cJSON_Delete(cols);
	return ret;
}
