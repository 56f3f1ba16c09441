/*
 * catalog.c - enrolling tables, field numbers, registering existing rows.
 * See catalog.h.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appschema.h"
#include "buf.h"
#include "capture.h"
#include "catalog.h"
#include "ident.h"
#include "matchindex.h"
#include "util.h"

/* Case-blind, as SQL names are: "log mixed 1" finds table "Mixed". */
static const char SQL_TABLE_BY_NAME[] =
    "SELECT tid, name, status_col, added_col, enrolled FROM _fs_table "
    "WHERE name = ?1 COLLATE NOCASE";
static const char SQL_TABLE_BY_TID[] =
    "SELECT tid, name, status_col, added_col, enrolled FROM _fs_table "
    "WHERE tid = ?1";
static const char SQL_FIELDS_OF[] =
    "SELECT fid, name, decl_type, role FROM _fs_field "
    "WHERE tid = ?1 AND present = 1 ORDER BY fid";

void
catalog_table_free(struct catalog_table *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->nfields; i++) {
		free(t->fields[i].name);
		free(t->fields[i].decl_type);
		free(t->fields[i].role);
	}
	free(t->fields);
	free(t->name);
	free(t->status_col);
	free(t->added_col);
	free(t);
}

static struct catalog_table *
load(struct store *s, sqlite3_stmt *st, int need_enrolled, const char *what,
    struct fs_err *err)
{
	struct catalog_table *t;
	sqlite3_stmt *fs;
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			fs_err_set(err, FS_ENOTFOUND, "table %s is not enrolled",
			    what);
		else
			store_dberr(s, err, "read catalog");
		sqlite3_reset(st);
		return NULL;
	}
	t = xcalloc(1, sizeof *t);
	t->tid = sqlite3_column_int64(st, 0);
	t->name = xstrdup((const char *)sqlite3_column_text(st, 1));
	t->status_col = xstrdup((const char *)sqlite3_column_text(st, 2));
	t->added_col = xstrdup((const char *)sqlite3_column_text(st, 3));
	t->enrolled = sqlite3_column_int(st, 4);
	sqlite3_reset(st);
	if (need_enrolled && !t->enrolled) {
		fs_err_set(err, FS_ENOTFOUND, "table %s is not enrolled", what);
		catalog_table_free(t);
		return NULL;
	}
	if ((fs = store_stmt(s, SQL_FIELDS_OF, err)) == NULL) {
		catalog_table_free(t);
		return NULL;
	}
	sqlite3_bind_int64(fs, 1, t->tid);
	while ((rc = sqlite3_step(fs)) == SQLITE_ROW) {
		struct catalog_field *f;

		t->fields = realloc(t->fields,
		    (size_t)(t->nfields + 1) * sizeof *f);
		if (t->fields == NULL)
			abort();
		f = &t->fields[t->nfields++];
		f->fid = sqlite3_column_int64(fs, 0);
		f->name = xstrdup((const char *)sqlite3_column_text(fs, 1));
		f->decl_type = xstrdup((const char *)sqlite3_column_text(fs, 2));
		f->role = xstrdup((const char *)sqlite3_column_text(fs, 3));
		if (strcmp(f->role, "status") == 0)
			t->status_fid = f->fid;
		else if (strcmp(f->role, "added") == 0)
			t->added_fid = f->fid;
	}
	sqlite3_reset(fs);
	if (rc != SQLITE_DONE) {
		store_dberr(s, err, "read fields");
		catalog_table_free(t);
		return NULL;
	}
	return t;
}

struct catalog_table *
catalog_table_get(struct store *s, const char *table, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_TABLE_BY_NAME, err);

	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
	return load(s, st, 1, table, err);
}

struct catalog_table *
catalog_table_get_tid(struct store *s, int64_t tid, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_TABLE_BY_TID, err);
	char what[32];

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, tid);
	snprintf(what, sizeof what, "#%" PRId64, tid);
	return load(s, st, 0, what, err);
}

const struct catalog_field *
catalog_field_by_name(const struct catalog_table *t, const char *col)
{
	for (int i = 0; i < t->nfields; i++)
		if (strcasecmp(t->fields[i].name, col) == 0)
			return &t->fields[i];
	return NULL;
}

const struct catalog_field *
catalog_field_by_fid(const struct catalog_table *t, int64_t fid)
{
	for (int i = 0; i < t->nfields; i++)
		if (t->fields[i].fid == fid)
			return &t->fields[i];
	return NULL;
}

/* Run SQL built from parts with an optional int64 and text binding. */
static int
exec_bound(struct store *s, const char *sql, int64_t tid, const char *text,
    struct fs_err *err)
{
	sqlite3_stmt *st = store_prepare(s, sql, err);
	int ret;

	if (st == NULL)
		return -1;
	if (sqlite3_bind_parameter_index(st, ":tid"))
		sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":tid"),
		    tid);
	if (sqlite3_bind_parameter_index(st, ":text"))
		sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":text"),
		    text, -1, SQLITE_TRANSIENT);
	ret = store_step_done(s, st, err);
	sqlite3_finalize(st);
	return ret;
}

static int
add_column(struct store *s, const char *qt, const char *col, const char *def,
    struct fs_err *err)
{
	struct buf b;
	int ret;

	buf_init(&b, 0);
	buf_printf(&b, "ALTER TABLE %s ADD COLUMN ", qt);
	ident_quote(&b, col);
	buf_printf(&b, " %s", def);
	ret = store_exec(s, b.data, err);
	buf_free(&b);
	return ret;
}

/* Validate --match: existing, distinct, non-key columns; normalised JSON. */
static char *
match_json(const struct app_table *at, const char *match, struct fs_err *err)
{
	cJSON *arr;
	char *copy, *p, *tok, *save = NULL, *out;

	if (match == NULL || *match == '\0') {
		fs_err_set(err, FS_EINVAL, "no match column given");
		return NULL;
	}
	arr = cJSON_CreateArray();
	copy = xstrdup(match);
	for (p = copy; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		int ci = appschema_column(at, tok);

		if (ci < 0) {
			fs_err_set(err, FS_ENOTFOUND, "no such column: %s.%s",
			    at->name, tok);
			goto fail;
		}
		if (ci == at->rowid_col) {
			fs_err_set(err, FS_EINVAL, "match column %s is the row "
			    "id, which differs between instances", tok);
			goto fail;
		}
		{
			const cJSON *seen;

			cJSON_ArrayForEach(seen, arr)
				if (strcmp(seen->valuestring,
				    at->cols[ci].name) == 0) {
					fs_err_set(err, FS_EINVAL, "match column "
					    "%s is named twice", tok);
					goto fail;
				}
		}
		cJSON_AddItemToArray(arr,
		    cJSON_CreateString(at->cols[ci].name));
	}
	if (cJSON_GetArraySize(arr) == 0) {
		fs_err_set(err, FS_EINVAL, "no match column given");
		goto fail;
	}
	free(copy);
	out = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return out;
fail:
	free(copy);
	cJSON_Delete(arr);
	return NULL;
}

static int
upsert_fields(struct store *s, int64_t tid, const struct app_table *at,
    const char *status_col, const char *added_col, struct fs_err *err)
{
	sqlite3_stmt *st;

	if (exec_bound(s, "UPDATE _fs_field SET present = 0 WHERE tid = :tid",
	    tid, NULL, err) == -1)
		return -1;
	st = store_prepare(s, "INSERT INTO _fs_field(tid, name, decl_type, "
	    "role, present) VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT(tid, name) "
	    "DO UPDATE SET decl_type = excluded.decl_type, role = "
	    "excluded.role, present = 1", err);
	if (st == NULL)
		return -1;
	for (int i = 0; i < at->ncols; i++) {
		const struct app_column *c = &at->cols[i];
		const char *role = "data";

		if (c->hidden)	/* generated columns are derived, not data */
			continue;
		if (i == at->rowid_col)
			role = "rowid";
		else if (strcasecmp(c->name, status_col) == 0)
			role = "status";
		else if (strcasecmp(c->name, added_col) == 0)
			role = "added";
		sqlite3_bind_int64(st, 1, tid);
		sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->decl_type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, role, -1, SQLITE_STATIC);
		if (store_step_done(s, st, err) == -1) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	return 0;
}

/* The quoted key column: not "rowid", which an app column may shadow. */
static char *
key_quoted(const struct catalog_table *t, struct fs_err *err)
{
	for (int i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].role, "rowid") == 0)
			return ident_quoted(t->fields[i].name);
	fs_err_set(err, FS_EINVAL, "table %s has no row id field", t->name);
	return NULL;
}

/*
 * Log as hard-deleted, and make tombstones of, the records whose row is
 * gone without the delete trigger knowing (removed while the table was
 * not captured, or by a REPLACE with recursive triggers off); *n counts
 * them.  The clock is moved on first.
 */
static int
tombstone_gone(struct store *s, const struct catalog_table *t,
    const char *qt, const char *qk, int64_t *n, struct fs_err *err)
{
	struct buf b;
	int ret = -1;

	buf_init(&b, 0);
	if (store_exec(s, "UPDATE _fs_clock SET hlc = max(hlc + 1, "
	    CAPTURE_HLC_NOW ") WHERE id = 1", err) == -1)
		goto out;
	/* Row id lookups, not NOT IN: no temporary index of every row id. */
	buf_printf(&b, "INSERT INTO _fs_log(rid, fid, hlc, origin, kind, old, "
	    "new) SELECT rid, %" PRId64 ", (SELECT hlc FROM _fs_clock), 0, 2, "
	    "NULL, 1 FROM _fs_record r WHERE tid = :tid AND lrow IS NOT NULL "
	    "AND NOT EXISTS (SELECT 1 FROM %s a WHERE a.%s = r.lrow)",
	    t->status_fid, qt, qk);
	if (exec_bound(s, b.data, t->tid, NULL, err) == -1)
		goto out;
	buf_reset(&b);
	buf_printf(&b, "UPDATE _fs_record SET lrow = NULL WHERE tid = :tid AND "
	    "lrow IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s a WHERE a.%s = "
	    "_fs_record.lrow)", qt, qk);
	if (exec_bound(s, b.data, t->tid, NULL, err) == -1)
		goto out;
	if (n != NULL)
		*n += sqlite3_changes(s->db);
	ret = 0;
out:
	buf_free(&b);
	return ret;
}

/*
 * Move the clock past the values the statement just run numbered as
 * hlc + row_number(): one for each row it changed.
 */
static int
clock_past_changes(struct store *s, struct fs_err *err)
{
	sqlite3_stmt *st = store_prepare(s, "UPDATE _fs_clock SET hlc = hlc + "
	    "1 + ?1 WHERE id = 1", err);
	int ret;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, sqlite3_changes(s->db));
	ret = store_step_done(s, st, err);
	sqlite3_finalize(st);
	return ret;
}

/* Give rows without a record one, and tombstone records whose row is gone. */
static int
register_rows(struct store *s, const struct catalog_table *t, const char *qt,
    struct fs_err *err)
{
	struct buf b;
	char *qk;
	int ret = -1;

	if ((qk = key_quoted(t, err)) == NULL)
		return -1;
	buf_init(&b, 0);
	if (tombstone_gone(s, t, qt, qk, NULL, err) == -1)
		goto out;
	/*
	 * Sync identities as the insert trigger makes them (capture.c): the
	 * prefix and a clock value each, the clock then moved past them all.
	 */
	buf_printf(&b, "INSERT INTO _fs_record(tid, lrow, sid) SELECT :tid, k, "
	    "(SELECT sid_prefix FROM _fs_clock) || printf('%%016x', (SELECT hlc "
	    "FROM _fs_clock) + row_number() OVER (ORDER BY k)) FROM (SELECT %s "
	    "AS k FROM %s WHERE %s NOT IN (SELECT lrow FROM _fs_record WHERE "
	    "tid = :tid AND lrow IS NOT NULL)) ORDER BY k", qk, qt, qk);
	if (exec_bound(s, b.data, t->tid, NULL, err) == -1)
		goto out;
	/* The records registered now are those without a log row yet. */
	if (exec_bound(s, "INSERT INTO _fs_log(rid, fid, hlc, origin, kind) "
	    "SELECT rid, 0, (SELECT hlc FROM _fs_clock), 0, 1 FROM _fs_record r "
	    "WHERE tid = :tid AND NOT EXISTS (SELECT 1 FROM _fs_log l WHERE "
	    "l.rid = r.rid) ORDER BY rid", t->tid, NULL, err) == -1)
		goto out;
	ret = clock_past_changes(s, err);
out:
	buf_free(&b);
	free(qk);
	return ret;
}

/*
 * An enrolled table rebuilt without the system columns (an app's
 * 12-step ALTER whose CREATE TABLE names only its own columns) has them
 * added back empty: their values come back from what fieldsync knows.
 * Each record's status is its newest logged status value (deleted
 * records would otherwise come back to life here only, with status
 * green); its time added is the time on its creation's clock.  That
 * clock may read a millisecond before the stamp the creating side wrote,
 * so the restored times are logged as changes made here: the peers take
 * them, and all sides agree again.  qs or qa is NULL when that column
 * was kept.
 */
static int
restore_system(struct store *s, int64_t tid, const char *qt, const char *qk,
    const char *qs, const char *qa, struct fs_err *err)
{
	struct buf b;
	int ret = 0;

	buf_init(&b, 0);
	if (qs != NULL) {
		buf_printf(&b, "UPDATE %s SET %s = coalesce((SELECT l.new FROM "
		    "_fs_log l WHERE l.rid = r.rid AND l.fid = (SELECT fid FROM "
		    "_fs_field WHERE tid = :tid AND role = 'status') ORDER BY "
		    "l.seq DESC LIMIT 1), 0) FROM _fs_record r WHERE r.tid = :tid "
		    "AND r.lrow = %s.%s", qt, qs, qt, qk);
		ret = exec_bound(s, b.data, tid, NULL, err);
	}
	if (ret == 0 && qa != NULL) {
		buf_reset(&b);
		buf_printf(&b, "UPDATE %s SET %s = strftime('%%Y-%%m-%%dT%%H:%%M:"
		    "%%fZ', (g.hlc >> 16) / 1000.0, 'unixepoch') FROM (SELECT "
		    "r.lrow AS lrow, (SELECT hlc FROM _fs_log WHERE rid = r.rid "
		    "AND fid = 0 ORDER BY seq LIMIT 1) AS hlc FROM _fs_record r "
		    "WHERE r.tid = :tid) g WHERE g.lrow = %s.%s AND g.hlc IS NOT "
		    "NULL", qt, qa, qt, qk);
		ret = exec_bound(s, b.data, tid, NULL, err);
		/* One new version each, newer than now, as a change here. */
		if (ret == 0)
			ret = store_exec(s, "UPDATE _fs_clock SET hlc = max(hlc + "
			    "1, " CAPTURE_HLC_NOW ") WHERE id = 1", err);
		buf_reset(&b);
		buf_printf(&b, "INSERT INTO _fs_log(rid, fid, hlc, origin, kind, "
		    "new) SELECT r.rid, (SELECT fid FROM _fs_field WHERE tid = "
		    ":tid AND role = 'added'), (SELECT hlc FROM _fs_clock WHERE "
		    "id = 1) + row_number() OVER (ORDER BY r.rid), 0, 0, a.%s "
		    "FROM _fs_record r JOIN %s a ON a.%s = r.lrow WHERE r.tid = "
		    ":tid AND a.%s IS NOT NULL ORDER BY r.rid", qa, qt, qk, qa);
		if (ret == 0)
			ret = exec_bound(s, b.data, tid, NULL, err);
		if (ret == 0)
			ret = clock_past_changes(s, err);
	}
	buf_free(&b);
	return ret;
}

/*
 * A mapped column the app renamed, then added a new column under the old
 * name: the field's trigger followed the rename and captured the renamed
 * column's changes under the field, so the field goes with it (its data,
 * and those changes, are there); the new column becomes a field of its
 * own.  A plain rename is left as it is: see fieldsync(1), table add.
 */
static int
follow_renames(struct store *s, int64_t tid, const struct app_table *at,
    struct fs_err *err)
{
	sqlite3_stmt *st, *up;
	int rc;

	st = store_prepare(s, "SELECT fid, name FROM _fs_field WHERE tid = ?1 "
	    "AND present AND role <> 'rowid'", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t fid = sqlite3_column_int64(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		char *other = capture_follows(s, tid, fid, name);

		if (other == NULL)
			continue;
		if (appschema_column(at, other) >= 0 &&
		    appschema_column(at, name) >= 0) {
			up = store_prepare(s, "UPDATE _fs_field SET name = ?2 "
			    "WHERE fid = ?1 AND NOT EXISTS (SELECT 1 FROM "
			    "_fs_field WHERE tid = ?3 AND name = ?2)", err);
			if (up == NULL) {
				free(other);
				sqlite3_finalize(st);
				return -1;
			}
			sqlite3_bind_int64(up, 1, fid);
			sqlite3_bind_text(up, 2, other, -1, SQLITE_STATIC);
			sqlite3_bind_int64(up, 3, tid);
			rc = store_step_done(s, up, err);
			sqlite3_finalize(up);
			if (rc == -1) {
				free(other);
				sqlite3_finalize(st);
				return -1;
			}
		}
		free(other);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == 0 ? 0 : store_dberr(s, err,
	    "read fields");
}

static int
table_add_tx(struct store *s, const char *table, const struct table_opts *o,
    struct fs_err *err)
{
	struct app_table *at = NULL;
	struct catalog_table *t = NULL;
	sqlite3_stmt *st = NULL;
	char *qt = NULL, *match = NULL, now[64];
	const char *scol, *acol;
	int64_t tid, known = 0;
	int ret = -1, rc, si, ai, lost_s = 0, lost_a = 0;

	if ((at = appschema_table(s, table, err)) == NULL)
		return -1;
	if (at->is_virtual) {
		fs_err_set(err, FS_EINVAL, "table %s is a virtual table; only "
		    "ordinary tables can be enrolled", at->name);
		goto out;
	}
	if (at->without_rowid || at->rowid_col < 0) {
		fs_err_set(err, FS_EINVAL, "table %s has no INTEGER PRIMARY KEY "
		    "(a column declared just that, not INT nor with DESC, is "
		    "SQLite's row id); fieldsync needs one because other row "
		    "ids may change on VACUUM", at->name);
		goto out;
	}
	/*
	 * An enrolled table the app renamed (ALTER TABLE ... RENAME TO): its
	 * triggers moved with it, so the enrolment follows under the new
	 * name, records and maps included, rather than starting anew with
	 * every row a new record.
	 */
	{
		int64_t from = capture_renamed_from(s, at->name);

		if (from != 0 && exec_bound(s, "UPDATE _fs_table SET name = "
		    ":text WHERE tid = :tid", from, at->name, err) == -1)
			goto out;
	}
	/* Keep the columns chosen earlier unless the user names new ones. */
	st = store_prepare(s, "SELECT status_col, added_col, match_cols, tid "
	    "FROM _fs_table WHERE name = ?1", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, at->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	scol = o->status_col ? o->status_col : rc == SQLITE_ROW ?
	    (const char *)sqlite3_column_text(st, 0) : FS_DEFAULT_STATUS_COL;
	acol = o->added_col ? o->added_col : rc == SQLITE_ROW ?
	    (const char *)sqlite3_column_text(st, 1) : FS_DEFAULT_ADDED_COL;
	scol = xstrdup(scol);
	acol = xstrdup(acol);
	if (o->match == NULL && rc == SQLITE_ROW &&
	    sqlite3_column_type(st, 2) != SQLITE_NULL)
		match = xstrdup((const char *)sqlite3_column_text(st, 2));
	if (rc == SQLITE_ROW) {
		/* Known before: a column it had, gone now, is restored. */
		known = sqlite3_column_int64(st, 3);
		lost_s = strcasecmp(scol,
		    (const char *)sqlite3_column_text(st, 0)) == 0;
		lost_a = strcasecmp(acol,
		    (const char *)sqlite3_column_text(st, 1)) == 0;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!ident_plausible(scol) || !ident_plausible(acol)) {
		fs_err_set(err, FS_EINVAL, "invalid column name");
		goto out_cols;
	}
	if (strcasecmp(scol, acol) == 0) {
		fs_err_set(err, FS_EINVAL, "status and time-added columns must "
		    "differ");
		goto out_cols;
	}
	if (o->match != NULL && (match = match_json(at, o->match, err)) == NULL)
		goto out_cols;
	si = appschema_column(at, scol);
	ai = appschema_column(at, acol);
	if (si == at->rowid_col || ai == at->rowid_col) {
		fs_err_set(err, FS_EINVAL, "the row id cannot be a system field");
		goto out_cols;
	}
	if (at->ncols + (si < 0) + (ai < 0) > sqlite3_limit(s->db,
	    SQLITE_LIMIT_COLUMN, -1)) {
		fs_err_set(err, FS_EINVAL, "table %s has %d columns: with the "
		    "status and time added columns fieldsync adds it would pass "
		    "SQLite's limit of %d", at->name, at->ncols,
		    sqlite3_limit(s->db, SQLITE_LIMIT_COLUMN, -1));
		goto out_cols;
	}
	qt = ident_quoted(at->name);
	/* Before the triggers that tell of renames are dropped. */
	if (known != 0 && follow_renames(s, known, at, err) == -1)
		goto out_cols;
	/* Re-enrolling: the fill below must not be captured as a change. */
	if (capture_remove(s, at->name, err) == -1)
		goto out_cols;
	if (si < 0 && add_column(s, qt, scol, "INTEGER NOT NULL DEFAULT 0",
	    err) == -1)
		goto out_cols;
	if (ai < 0 && add_column(s, qt, acol, "TEXT", err) == -1)
		goto out_cols;
	if (si < 0 || ai < 0) {
		appschema_table_free(at);
		if ((at = appschema_table(s, table, err)) == NULL)
			goto out_cols;
	}
	lost_s = lost_s && si < 0;
	lost_a = lost_a && ai < 0;
	/* Use the column names as the schema spells them. */
	si = appschema_column(at, scol);
	ai = appschema_column(at, acol);
	free((char *)scol);
	free((char *)acol);
	scol = at->cols[si].name;
	acol = at->cols[ai].name;
	if (known != 0 && (lost_s || lost_a)) {
		char *qs = lost_s ? ident_quoted(scol) : NULL;
		char *qa = lost_a ? ident_quoted(acol) : NULL;
		char *qk = ident_quoted(at->cols[at->rowid_col].name);

		rc = restore_system(s, known, qt, qk, qs, qa, err);
		free(qs);
		free(qa);
		free(qk);
		if (rc == -1)
			goto out;
	}
	{
		struct buf b;

		buf_init(&b, 0);
		buf_printf(&b, "UPDATE %s SET ", qt);
		ident_quote(&b, acol);
		buf_addstr(&b, " = :text WHERE ");
		ident_quote(&b, acol);
		buf_addstr(&b, " IS NULL");
		store_now_iso(now);
		rc = exec_bound(s, b.data, 0, now, err);
		buf_free(&b);
		if (rc == -1)
			goto out;
	}
	store_now_iso(now);
	st = store_prepare(s, "INSERT INTO _fs_table(name, status_col, "
	    "added_col, match_cols, enrolled, enrolled_at) VALUES (?1, ?2, ?3, "
	    "?4, 1, ?5) ON CONFLICT(name) DO UPDATE SET status_col = "
	    "excluded.status_col, added_col = excluded.added_col, match_cols = "
	    "excluded.match_cols, enrolled = 1 RETURNING tid", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_text(st, 1, at->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scol, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, acol, -1, SQLITE_STATIC);
	if (match)
		sqlite3_bind_text(st, 4, match, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_dberr(s, err, "enrol table");
		goto out;
	}
	tid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (upsert_fields(s, tid, at, scol, acol, err) == -1)
		goto out;
	if ((t = catalog_table_get_tid(s, tid, err)) == NULL)
		goto out;
	if (register_rows(s, t, qt, err) == -1)
		goto out;
	if (capture_install(s, t, err) == -1)
		goto out;
	ret = matchindex_update(s, tid, at->name, match, err);
	goto out;
out_cols:
	free((char *)scol);
	free((char *)acol);
out:
	sqlite3_finalize(st);
	catalog_table_free(t);
	appschema_table_free(at);
	free(qt);
	free(match);
	return ret;
}

int
catalog_table_add(struct store *s, const char *table,
    const struct table_opts *opts, struct fs_err *err)
{
	struct table_opts none = { NULL, NULL, NULL };

	if (store_check_ready(s, err) == -1)
		return -1;
	if (store_begin(s, err) == -1)
		return -1;
	if (table_add_tx(s, table, opts ? opts : &none, err) == -1) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s, err);
}

int
catalog_table_remove(struct store *s, const char *table, struct fs_err *err)
{
	struct catalog_table *t;

	if (store_check_ready(s, err) == -1)
		return -1;
	if (store_begin(s, err) == -1)
		return -1;
	if ((t = catalog_table_get(s, table, err)) == NULL)
		goto fail;
	if (capture_remove(s, t->name, err) == -1 ||
	    matchindex_drop(s, t->tid, err) == -1 ||
	    exec_bound(s, "UPDATE _fs_table SET enrolled = 0 WHERE tid = :tid",
	    t->tid, NULL, err) == -1) {
		catalog_table_free(t);
		goto fail;
	}
	catalog_table_free(t);
	return store_commit(s, err);
fail:
	store_rollback(s);
	return -1;
}

cJSON *
catalog_table_list(struct store *s, struct fs_err *err)
{
	sqlite3_stmt *st;
	cJSON *arr;
	int rc;

	if (store_check_ready(s, err) == -1)
		return NULL;
	st = store_prepare(s, "SELECT t.tid, t.name, t.status_col, t.added_col, "
	    "t.match_cols, (SELECT count(*) FROM _fs_record r WHERE r.tid = "
	    "t.tid AND r.lrow IS NOT NULL) FROM _fs_table t WHERE t.enrolled = 1 "
	    "ORDER BY t.name", err);
	if (st == NULL)
		return NULL;
	arr = cJSON_CreateArray();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject(), *fields;
		struct catalog_table *t;
		struct app_table *a;

		cJSON_AddStringToObject(o, "table",
		    (const char *)sqlite3_column_text(st, 1));
		cJSON_AddStringToObject(o, "status_column",
		    (const char *)sqlite3_column_text(st, 2));
		cJSON_AddStringToObject(o, "added_column",
		    (const char *)sqlite3_column_text(st, 3));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)
			cJSON_AddItemToObject(o, "match", cJSON_Parse(
			    (const char *)sqlite3_column_text(st, 4)));
		else
			cJSON_AddItemToObject(o, "match", cJSON_CreateArray());
		cJSON_AddNumberToObject(o, "records",
		    (double)sqlite3_column_int64(st, 5));
		fields = cJSON_AddArrayToObject(o, "fields");
		t = catalog_table_get_tid(s, sqlite3_column_int64(st, 0), err);
		for (int i = 0; t && i < t->nfields; i++) {
			cJSON *f = cJSON_CreateObject();

			cJSON_AddNumberToObject(f, "field", (double)t->fields[i].fid);
			cJSON_AddStringToObject(f, "column", t->fields[i].name);
			cJSON_AddStringToObject(f, "type", t->fields[i].decl_type);
			cJSON_AddStringToObject(f, "role", t->fields[i].role);
			cJSON_AddItemToArray(fields, f);
		}
		/* Columns added since enrolling: not captured yet. */
		fields = cJSON_AddArrayToObject(o, "uncaptured");
		a = t ? appschema_table(s, t->name, NULL) : NULL;
		for (int i = 0; a && i < a->ncols; i++)
			if (!a->cols[i].hidden &&
			    catalog_field_by_name(t, a->cols[i].name) == NULL)
				cJSON_AddItemToArray(fields,
				    cJSON_CreateString(a->cols[i].name));
		appschema_table_free(a);
		/* Triggers dropped with a rebuilt table: see capture.h. */
		cJSON_AddBoolToObject(o, "capture_lost", t != NULL &&
		    capture_missing(s, t->tid, t->name, NULL) > 0);
		catalog_table_free(t);
		cJSON_AddItemToArray(arr, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(arr);
		store_dberr(s, err, "list tables");
		return NULL;
	}
	return arr;
}

static const char SQL_CATALOGUE[] =
    "SELECT f.fid, t.name, f.name, f.decl_type, f.role, m.mode, "
    "m.remote_fid FROM _fs_field f JOIN _fs_table t USING (tid) LEFT JOIN "
    "_fs_map m ON m.fid = f.fid AND m.pid = ?1 WHERE t.enrolled = 1 AND "
    "f.present = 1 AND f.role <> 'rowid' ORDER BY f.fid";

cJSON *
catalog_fields_json(struct store *s, int64_t pid, struct fs_err *err)
{
	sqlite3_stmt *st = store_prepare(s, SQL_CATALOGUE, err);
	cJSON *arr;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, pid);
	arr = cJSON_CreateArray();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "field",
		    (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(o, "table",
		    (const char *)sqlite3_column_text(st, 1));
		cJSON_AddStringToObject(o, "column",
		    (const char *)sqlite3_column_text(st, 2));
		cJSON_AddStringToObject(o, "type",
		    (const char *)sqlite3_column_text(st, 3));
		cJSON_AddStringToObject(o, "role",
		    (const char *)sqlite3_column_text(st, 4));
		cJSON_AddStringToObject(o, "mode", sqlite3_column_text(st, 5) ?
		    (const char *)sqlite3_column_text(st, 5) : "off");
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			cJSON_AddNumberToObject(o, "remote_field",
			    (double)sqlite3_column_int64(st, 6));
		else
			cJSON_AddNullToObject(o, "remote_field");
		cJSON_AddItemToArray(arr, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(arr);
		store_dberr(s, err, "catalogue");
		return NULL;
	}
	return arr;
}

/* Whether table tid has a record whose row is gone (-1: error). */
static int
any_gone(struct store *s, int64_t tid, struct fs_err *err)
{
	struct catalog_table *t = catalog_table_get_tid(s, tid, err);
	struct buf b;
	sqlite3_stmt *st = NULL;
	char *qt = NULL, *qk = NULL;
	int rc, ret = -1;

	buf_init(&b, 0);
	if (t == NULL || (qk = key_quoted(t, err)) == NULL)
		goto out;
	/* A table the app dropped: its own check stops the sync. */
	if ((st = store_prepare(s, "SELECT 1 FROM sqlite_schema WHERE type = "
	    "'table' AND name = ?1 COLLATE NOCASE", err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? 0 : store_dberr(s, err, "list tables");
		goto out;
	}
	qt = ident_quoted(t->name);
	buf_printf(&b, "SELECT EXISTS (SELECT 1 FROM _fs_record r WHERE tid = "
	    "?1 AND lrow IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s a WHERE "
	    "a.%s = r.lrow))", qt, qk);
	if ((st = store_prepare(s, b.data, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, tid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		ret = sqlite3_column_int(st, 0);
	else
		store_dberr(s, err, "look for removed rows");
out:
	sqlite3_finalize(st);
	buf_free(&b);
	free(qt);
	free(qk);
	catalog_table_free(t);
	return ret;
}

int
catalog_sweep(struct store *s, int64_t *gone, struct fs_err *err)
{
	sqlite3_stmt *st;
	char *v, now[32];
	int64_t *tids = NULL;
	int n = 0, found = 0, rc, ret = -1;

	*gone = 0;
	if ((v = store_meta_get(s, "swept_at", NULL)) != NULL) {
		long long at = atoll(v);

		free(v);
		if (util_now_ms() - at < FS_SWEEP_EVERY_MS)
			return 0;
	}
	/*
	 * Look first without a write lock, which would hold the app's
	 * writers up for the whole scan; most looks find nothing.
	 */
	if ((st = store_prepare(s, "SELECT tid FROM _fs_table WHERE enrolled",
	    err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		tids = xrealloc(tids, (size_t)(n + 1) * sizeof *tids);
		tids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(tids);
		return store_dberr(s, err, "list tables");
	}
	for (int i = 0; i < n; i++) {
		int r = any_gone(s, tids[i], err);

		if (r == -1) {
			free(tids);
			return -1;
		}
		if (r)
			tids[found++] = tids[i];
	}
	n = found;
	/*
	 * With nothing found, only the time of the look is left to write:
	 * not worth waiting for another program's write transaction (the
	 * pass after this one looks again).
	 */
	if (n == 0)
		sqlite3_busy_timeout(s->db, 0);
	rc = store_begin(s, err);
	if (n == 0)
		sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (rc == -1) {
		free(tids);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct catalog_table *t = catalog_table_get_tid(s, tids[i], err);
		char *qt = NULL, *qk = NULL;
		int r = -1;

		if (t != NULL && (qk = key_quoted(t, err)) != NULL) {
			qt = ident_quoted(t->name);
			r = tombstone_gone(s, t, qt, qk, gone, err);
		}
		free(qt);
		free(qk);
		catalog_table_free(t);
		if (r == -1)
			goto out;
	}
	snprintf(now, sizeof now, "%lld", (long long)util_now_ms());
	if (store_meta_set(s, "swept_at", now, err) == -1)
		goto out;
	ret = store_commit(s, err);
out:
	if (ret == -1)
		store_rollback(s);
	free(tids);
	return ret;
}
