/*
 * merge-adopt.c - rows the app's own triggers insert while a batch is
 * applied.
 *
 * The capture triggers stand aside during an apply (ap_bulk: the engine
 * registers the records it creates itself), so a row that an app trigger
 * inserts meanwhile, into any enrolled table, would have no record: never
 * synced, and its later edits never captured.  Such rows are found by
 * where each table's row ids ended before the batch, and given a record
 * here as a change made on this side (its trigger ran here), which every
 * peer then gets.  Only done when the app has triggers of its own.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "capture.h"
#include "ident.h"
#include "merge-int.h"
#include "util.h"

static const char SQL_APP_TRIGGERS[] =
    "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND "
    "NOT " CAPTURE_TRIGGER_SQL("name") ")";
static const char SQL_TABLES[] =
    "SELECT t.tid, t.name, f.name, t.added_col FROM _fs_table t JOIN "
    "_fs_field f ON f.tid = t.tid AND f.role = 'rowid' WHERE t.enrolled";
static const char SQL_MAX_RID[] =
    "SELECT coalesce(max(rid), 0) FROM _fs_record";
static const char SQL_BUMP[] =
    "UPDATE _fs_clock SET hlc = max(hlc + 1, " CAPTURE_HLC_NOW ") WHERE "
    "id = 1";
static const char SQL_CREATED[] =
    "INSERT INTO _fs_log(rid, fid, hlc, origin, kind) SELECT rid, 0, "
    "(SELECT hlc FROM _fs_clock WHERE id = 1), 0, 1 FROM _fs_record WHERE "
    "rid > ?1 ORDER BY rid";
static const char SQL_PAST[] =
    "UPDATE _fs_clock SET hlc = hlc + 1 + ?1 WHERE id = 1";

void
merge_adopt_free(struct merge_adopt *a)
{
	for (int i = 0; i < a->n; i++) {
		free(a->m[i].qt);
		free(a->m[i].qk);
		free(a->m[i].qa);
	}
	free(a->m);
	a->m = NULL;
	a->n = 0;
}

/* The largest row id of a table now (INT64_MIN when it is empty). */
static int
table_end(struct store *s, struct adopt_mark *m, struct fs_err *err)
{
	struct buf b;
	sqlite3_stmt *st;
	int ret = -1;

	buf_init(&b, 0);
	buf_printf(&b, "SELECT max(%s) FROM %s", m->qk, m->qt);
	if ((st = store_prepare(s, b.data, err)) != NULL) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			m->end = sqlite3_column_type(st, 0) == SQLITE_NULL ?
			    INT64_MIN : sqlite3_column_int64(st, 0);
			ret = 0;
		} else
			store_dberr(s, err, "read row ids");
		sqlite3_finalize(st);
	}
	buf_free(&b);
	return ret;
}

int
merge_adopt_begin(struct store *s, struct syncmap *map, struct merge_adopt *a,
    struct fs_err *err)
{
	sqlite3_stmt *st;
	int rc;

	a->m = NULL;
	a->n = 0;
	if (map->app_triggers < 0) {	/* asked once per schema */
		if ((st = store_stmt(s, SQL_APP_TRIGGERS, err)) == NULL)
			return -1;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			map->app_triggers = sqlite3_column_int(st, 0);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return store_dberr(s, err, "list triggers");
	}
	if (!map->app_triggers)
		return 0;
	if ((st = store_stmt(s, SQL_TABLES, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct adopt_mark *m;

		a->m = xrealloc(a->m, (size_t)(a->n + 1) * sizeof *a->m);
		m = &a->m[a->n++];
		m->tid = sqlite3_column_int64(st, 0);
		m->qt = ident_quoted((const char *)sqlite3_column_text(st, 1));
		m->qk = ident_quoted((const char *)sqlite3_column_text(st, 2));
		m->qa = ident_quoted((const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_dberr(s, err, "list tables");
	for (int i = 0; i < a->n; i++)
		if (table_end(s, &a->m[i], err) == -1)
			return -1;
	return 0;
}

/* Give the rows of m inserted since the batch began, without one, a record. */
static int
adopt_table(struct store *s, const struct adopt_mark *m, int64_t *adopted,
    struct fs_err *err)
{
	struct buf b;
	sqlite3_stmt *st;
	int64_t from = 0, n;
	int ret = -1, rc;

	buf_init(&b, 0);
	if ((st = store_stmt(s, SQL_MAX_RID, err)) == NULL)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		from = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if ((st = store_stmt(s, SQL_BUMP, err)) == NULL ||
	    merge_step(s, st, err) == -1)
		goto out;
	/* Identities as the insert trigger makes them (capture.c). */
	buf_printf(&b, "INSERT INTO _fs_record(tid, lrow, sid) SELECT ?1, k, "
	    "(SELECT sid_prefix FROM _fs_clock WHERE id = 1) || printf('%%016x',"
	    " (SELECT hlc FROM _fs_clock WHERE id = 1) + row_number() OVER "
	    "(ORDER BY k)) FROM (SELECT %s AS k FROM %s WHERE %s > ?2 AND %s "
	    "NOT IN (SELECT lrow FROM _fs_record WHERE tid = ?1 AND lrow > ?2))"
	    " ORDER BY k", m->qk, m->qt, m->qk, m->qk);
	/* Built here, so prepared here: store_stmt is for constant SQL. */
	if ((st = store_prepare(s, b.data, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, m->tid);
	sqlite3_bind_int64(st, 2, m->end);
	rc = merge_step(s, st, err);
	sqlite3_finalize(st);
	if (rc == -1)
		goto out;
	if ((n = sqlite3_changes(s->db)) == 0) {
		ret = 0;
		goto out;
	}
	if ((st = store_stmt(s, SQL_CREATED, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, from);
	if (merge_step(s, st, err) == -1 ||
	    (st = store_stmt(s, SQL_PAST, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, n);
	if (merge_step(s, st, err) == -1)
		goto out;
	/* The time added, which the insert trigger would have filled. */
	buf_reset(&b);
	buf_printf(&b, "UPDATE %s SET %s = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ',"
	    " 'now') WHERE %s IS NULL AND %s IN (SELECT lrow FROM _fs_record "
	    "WHERE rid > ?1)", m->qt, m->qa, m->qa, m->qk);
	if ((st = store_prepare(s, b.data, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, from);
	rc = merge_step(s, st, err);
	sqlite3_finalize(st);
	if (rc == -1)
		goto out;
	*adopted += n;
	ret = 0;
out:
	buf_free(&b);
	return ret;
}

int
merge_adopt_end(struct store *s, struct merge_adopt *a, int64_t *adopted,
    struct fs_err *err)
{
	for (int i = 0; i < a->n; i++)
		if (adopt_table(s, &a->m[i], adopted, err) == -1)
			return -1;
	return 0;
}
