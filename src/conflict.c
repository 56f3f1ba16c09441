/* conflict.c - listing and resolving conflicts; see conflict.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conflict.h"
#include "history.h"
#include "ident.h"
#include "util.h"
#include "value.h"

static const char SQL_LIST[] =
    "SELECT c.id, t.name, r.lrow, r.sid, c.fid, f.name, p.name, "
    "c.local_value, c.local_hlc, lo.instance, c.remote_value, c.remote_hlc, "
    "ro.instance, c.winner, c.policy, c.at, c.resolved_at, c.resolution "
    "FROM _fs_conflict c JOIN _fs_record r ON r.rid = c.rid "
    "JOIN _fs_table t ON t.tid = r.tid JOIN _fs_field f ON f.fid = c.fid "
    "LEFT JOIN _fs_pair p ON p.pid = c.pid "
    "LEFT JOIN _fs_origin lo ON lo.id = c.local_origin "
    "LEFT JOIN _fs_origin ro ON ro.id = c.remote_origin "
    "WHERE ?1 OR c.resolved_at IS NULL ORDER BY c.id LIMIT ?3 OFFSET ?2";

static const char SQL_CONFLICT_GET[] =
    "SELECT c.local_value, c.remote_value, t.name, f.name, r.lrow, "
    "c.resolved_at, (SELECT k.name FROM _fs_field k WHERE k.tid = t.tid AND "
    "k.role = 'rowid'), c.winner, "
    /* 8, 9: whether the field's version is still the winner's */
    "coalesce((SELECT l.hlc FROM _fs_log l WHERE l.rid = c.rid AND l.fid = "
    "c.fid ORDER BY l.seq DESC LIMIT 1), (SELECT l.hlc FROM _fs_log l WHERE "
    "l.rid = c.rid AND l.fid = 0 ORDER BY l.seq DESC LIMIT 1)) IS "
    "iif(c.winner = 'remote', c.remote_hlc, c.local_hlc), "
    "coalesce((SELECT l.origin FROM _fs_log l WHERE l.rid = c.rid AND l.fid "
    "= c.fid ORDER BY l.seq DESC LIMIT 1), (SELECT l.origin FROM _fs_log l "
    "WHERE l.rid = c.rid AND l.fid = 0 ORDER BY l.seq DESC LIMIT 1)) IS "
    "iif(c.winner = 'remote', c.remote_origin, c.local_origin) "
    "FROM _fs_conflict c JOIN _fs_record r ON "
    "r.rid = c.rid JOIN _fs_table t ON t.tid = r.tid JOIN _fs_field f ON "
    "f.fid = c.fid WHERE c.id = ?1";
static const char SQL_CONFLICT_CLOSE[] =
    "UPDATE _fs_conflict SET resolved_at = ?2, resolution = ?3 WHERE id = ?1";

static void
add_text(cJSON *o, const char *k, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		cJSON_AddNullToObject(o, k);
	else
		cJSON_AddStringToObject(o, k,
		    (const char *)sqlite3_column_text(st, i));
}

cJSON *
conflict_list(struct store *s, int all, int64_t offset, int64_t limit,
    struct fs_err *err)
{
	sqlite3_stmt *st;
	cJSON *arr;
	int rc;

	if (store_check_ready(s, err) == -1)
		return NULL;
	if ((st = store_prepare(s, SQL_LIST, err)) == NULL)
		return NULL;
	sqlite3_bind_int(st, 1, all);
	sqlite3_bind_int64(st, 2, offset);
	sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
	arr = cJSON_CreateArray();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		char when[64];

		cJSON_AddNumberToObject(o, "id",
		    (double)sqlite3_column_int64(st, 0));
		add_text(o, "table", st, 1);
		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			cJSON_AddNullToObject(o, "rowid");
		else
			cJSON_AddNumberToObject(o, "rowid",
			    (double)sqlite3_column_int64(st, 2));
		add_text(o, "sync_id", st, 3);
		cJSON_AddNumberToObject(o, "field",
		    (double)sqlite3_column_int64(st, 4));
		add_text(o, "column", st, 5);
		add_text(o, "pair", st, 6);
		cJSON_AddItemToObject(o, "local", value_column_json(st, 7));
		history_hlc_iso(sqlite3_column_int64(st, 8), when);
		cJSON_AddStringToObject(o, "local_time", when);
		add_text(o, "local_origin", st, 9);
		cJSON_AddItemToObject(o, "remote", value_column_json(st, 10));
		history_hlc_iso(sqlite3_column_int64(st, 11), when);
		cJSON_AddStringToObject(o, "remote_time", when);
		add_text(o, "remote_origin", st, 12);
		add_text(o, "winner", st, 13);
		add_text(o, "policy", st, 14);
		add_text(o, "at", st, 15);
		add_text(o, "resolved_at", st, 16);
		add_text(o, "resolution", st, 17);
		cJSON_AddItemToArray(arr, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(arr);
		store_dberr(s, err, "list conflicts");
		return NULL;
	}
	return arr;
}

/*
 * Resolve open conflict id inside the caller's transaction: keep is 0
 * (local), 1 (remote) or 2 (whichever won).  *skipped: the kept value
 * has no row to go into here (hard-deleted), so nothing was done; only
 * with tolerate, else that is an error.  *superseded: the field changed
 * again after the conflict, so the conflict is closed without writing:
 * its value would overwrite that later change.
 */
static int
resolve_one(struct store *s, int64_t id, int keep, int tolerate,
    int *skipped, int *superseded, struct fs_err *err)
{
	sqlite3_stmt *st, *close, *up = NULL;
	struct buf b;
	char now[64];
	const char *how;
	int ret = -1, col;

	*skipped = *superseded = 0;
	buf_init(&b, 0);
	/* Cached: --all runs these once per open conflict. */
	if ((st = store_stmt(s, SQL_CONFLICT_GET, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		fs_err_set(err, FS_ENOTFOUND, "no conflict %" PRId64, id);
		goto out;
	}
	if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
		fs_err_set(err, FS_ECONFLICT, "conflict %" PRId64 " was already "
		    "resolved", id);
		goto out;
	}
	col = keep < 2 ? keep : strcmp((const char *)sqlite3_column_text(st,
	    7), "remote") == 0;
	how = col ? "kept remote" : "kept local";
	if (!sqlite3_column_int(st, 8) || !sqlite3_column_int(st, 9)) {
		*superseded = 1;
		how = "superseded: the field changed again since";
		goto close;
	}
	if (sqlite3_column_type(st, 4) == SQLITE_NULL && col == 1) {
		/*
		 * The row was hard-deleted here: there is nothing to write
		 * the value into.  The peer kept its copy.
		 */
		if (tolerate) {
			*skipped = 1;
			ret = 0;
			goto out;
		}
		fs_err_set(err, FS_ECONFLICT, "the record of conflict %" PRId64
		    " is deleted here (its row is gone): restore it on the "
		    "peer, which kept it, and the restore brings it back",
		    id);
		goto out;
	}
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		/* A plain local write: captured, versioned and synced. */
		/* The key qualified: never a string if it was renamed. */
		buf_addstr(&b, "UPDATE ");
		ident_quote(&b, (const char *)sqlite3_column_text(st, 2));
		buf_addstr(&b, " SET ");
		ident_quote(&b, (const char *)sqlite3_column_text(st, 3));
		buf_addstr(&b, " = ?1 WHERE ");
		ident_quote(&b, (const char *)sqlite3_column_text(st, 2));
		buf_addstr(&b, ".");
		ident_quote(&b, sqlite3_column_text(st, 6) ?
		    (const char *)sqlite3_column_text(st, 6) : "rowid");
		buf_addstr(&b, " = ?2");
		if ((up = store_prepare(s, b.data, err)) == NULL)
			goto out;
		sqlite3_bind_value(up, 1, sqlite3_column_value(st, col));
		sqlite3_bind_int64(up, 2, sqlite3_column_int64(st, 4));
		if (sqlite3_step(up) != SQLITE_DONE) {
			char what[160];

			/* Most often the app's own constraint: say where. */
			snprintf(what, sizeof what, "cannot keep the %s value "
			    "of conflict %" PRId64 " (%s.%s of row %lld)",
			    col ? "remote" : "local", id,
			    (const char *)sqlite3_column_text(st, 2),
			    (const char *)sqlite3_column_text(st, 3),
			    (long long)sqlite3_column_int64(st, 4));
			store_dberr(s, err, what);
			goto out;
		}
	}
close:
	if ((close = store_stmt(s, SQL_CONFLICT_CLOSE, err)) == NULL)
		goto out;
	store_now_iso(now);
	sqlite3_bind_int64(close, 1, id);
	sqlite3_bind_text(close, 2, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(close, 3, how, -1, SQLITE_STATIC);
	if (store_step_done(s, close, err) == -1)
		goto out;
	ret = 0;
out:
	if (st != NULL)
		sqlite3_reset(st);
	sqlite3_finalize(up);
	buf_free(&b);
	return ret;
}

static int
keep_code(const char *keep, struct fs_err *err)
{
	if (strcmp(keep, "local") == 0)
		return 0;
	if (strcmp(keep, "remote") == 0)
		return 1;
	if (strcmp(keep, "winner") == 0)
		return 2;
	return fs_err_set(err, FS_EINVAL, "keep must be local, remote or "
	    "winner");
}

int
conflict_resolve(struct store *s, int64_t id, const char *keep,
    int *superseded, struct fs_err *err)
{
	int k = keep_code(keep, err), skipped, sup;

	if (superseded == NULL)
		superseded = &sup;
	if (k == -1 || store_check_ready(s, err) == -1 ||
	    store_begin(s, err) == -1)
		return -1;
	if (resolve_one(s, id, k, 0, &skipped, superseded, err) == -1) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s, err);
}

int
conflict_resolve_all(struct store *s, const char *keep, int64_t *resolved,
    int64_t *skipped, int64_t *superseded, struct fs_err *err)
{
	int k = keep_code(keep, err);
	sqlite3_stmt *st;
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*resolved = *skipped = *superseded = 0;
	if (k == -1 || store_check_ready(s, err) == -1 ||
	    store_begin(s, err) == -1)
		return -1;
	/* The ids first: resolving writes app rows while this would read. */
	if ((st = store_prepare(s, "SELECT id FROM _fs_conflict WHERE "
	    "resolved_at IS NULL ORDER BY id", err)) == NULL)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((ids = realloc(ids, cap * sizeof *ids)) == NULL)
				abort();
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_dberr(s, err, "list conflicts");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		int sk, sup;

		if (resolve_one(s, ids[i], k, 1, &sk, &sup, err) == -1)
			goto fail;
		*resolved += !sk && !sup;
		*skipped += sk;
		*superseded += sup;
	}
	free(ids);
	return store_commit(s, err);
fail:
	free(ids);
	store_rollback(s);
	return -1;
}
