/*
 * capture.c - generating and installing the capture triggers.
 * See capture.h for the design notes.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "capture.h"
#include "catalog.h"
#include "ident.h"
#include "util.h"

/* Values stamped on a change: the engine's switch or a fresh local one. */
#define STAMP "coalesce(c.ap_hlc, c.hlc), coalesce(c.ap_origin, 0), c.ap_src"
#define BUMP "UPDATE _fs_clock SET hlc = max(hlc + 1, " CAPTURE_HLC_NOW \
    ") WHERE id = 1;\n"

int
capture_remove(struct store *s, const char *table, struct fs_err *err)
{
	sqlite3_stmt *st;
	char **names = NULL;
	int n = 0, rc, ret = 0;

	st = store_prepare(s, "SELECT name FROM sqlite_schema WHERE type = "
	    "'trigger' AND tbl_name = ?1 AND name LIKE '\\_fs\\_%' ESCAPE '\\'",
	    err);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		names = realloc(names, (size_t)(n + 1) * sizeof *names);
		if (names == NULL)
			abort();
		names[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		ret = store_dberr(s, err, "list triggers");
	for (int i = 0; i < n; i++) {
		struct buf b;

		buf_init(&b, 0);
		buf_addstr(&b, "DROP TRIGGER ");
		ident_quote(&b, names[i]);
		if (ret == 0 && store_exec(s, b.data, err) == -1)
			ret = -1;
		buf_free(&b);
		free(names[i]);
	}
	free(names);
	return ret;
}

char *
capture_follows(struct store *s, int64_t tid, int64_t fid, const char *col)
{
	sqlite3_stmt *st;
	struct buf name, want;
	char *other = NULL;
	const char *sql, *p;

	buf_init(&name, 0);
	buf_printf(&name, "_fs_upd_%" PRId64 "_%" PRId64, tid, fid);
	st = store_prepare(s, "SELECT sql FROM sqlite_schema WHERE type = "
	    "'trigger' AND name = ?1", NULL);
	if (st == NULL) {
		buf_free(&name);
		return NULL;
	}
	sqlite3_bind_text(st, 1, name.data, -1, SQLITE_STATIC);
	/* As emit_update wrote it; a rename rewrites just the name. */
	buf_init(&want, 0);
	buf_addstr(&want, " UPDATE OF ");
	ident_quote(&want, col);
	buf_addstr(&want, " ON ");
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (sql = (const char *)sqlite3_column_text(st, 0)) != NULL &&
	    strstr(sql, want.data) == NULL &&
	    (p = strstr(sql, " UPDATE OF \"")) != NULL) {
		/* The quoted name, its doubled quotes made single. */
		size_t n = 0;

		other = xcalloc(strlen(p) + 1, 1);
		for (p += 12; *p != '\0' && (*p != '"' || p[1] == '"'); p++) {
			if (*p == '"')
				p++;
			other[n++] = *p;
		}
		/* A new case is the same column to SQL. */
		if (strncmp(p, "\" ON ", 5) != 0 ||
		    strcasecmp(other, col) == 0) {
			free(other);
			other = NULL;
		}
	}
	sqlite3_finalize(st);
	buf_free(&name);
	buf_free(&want);
	return other;
}

char *
capture_moved_to(struct store *s, int64_t tid, const char *table)
{
	sqlite3_stmt *st;
	char name[64], *on = NULL;

	snprintf(name, sizeof name, "_fs_ins_%" PRId64, tid);
	st = store_prepare(s, "SELECT tbl_name FROM sqlite_schema WHERE type = "
	    "'trigger' AND name = ?1 AND tbl_name <> ?2 COLLATE NOCASE", NULL);
	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		on = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return on;
}

int64_t
capture_renamed_from(struct store *s, const char *table)
{
	sqlite3_stmt *st;
	int64_t tid = 0;

	st = store_prepare(s, "SELECT t.tid FROM sqlite_schema g JOIN _fs_table "
	    "t ON g.name = '_fs_ins_' || t.tid WHERE g.type = 'trigger' AND "
	    "g.tbl_name = ?1 COLLATE NOCASE AND t.name <> ?1 COLLATE NOCASE "
	    "AND NOT EXISTS (SELECT 1 FROM sqlite_schema x WHERE x.type = "
	    "'table' AND x.name = t.name COLLATE NOCASE)", NULL);
	if (st == NULL)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		tid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return tid;
}

/* The names capture_install gives: one per table, one per field. */
static const char SQL_MISSING[] =
    "WITH want(name) AS (SELECT '_fs_ins_' || ?1 UNION ALL SELECT "
    "'_fs_del_' || ?1 UNION ALL SELECT '_fs_key_' || ?1 UNION ALL SELECT "
    "'_fs_upd_' || ?1 || '_' || fid FROM _fs_field WHERE tid = ?1 AND "
    "present AND role <> 'rowid') SELECT count(*) FROM want WHERE name NOT "
    "IN (SELECT name FROM sqlite_schema WHERE type = 'trigger' AND "
    "tbl_name = ?2 COLLATE NOCASE)";

int
capture_missing(struct store *s, int64_t tid, const char *table,
    struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_MISSING, err);
	int n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tid);
	sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	else
		store_dberr(s, err, "list triggers");
	sqlite3_reset(st);
	return n;
}

/*
 * Row ids are always read through the INTEGER PRIMARY KEY column (qkey),
 * never as "rowid": an app table may have ordinary columns named rowid,
 * oid or _rowid_, which shadow the real row id in SQL.
 */
static int
emit_insert(struct buf *b, const struct catalog_table *t, const char *qt,
    const char *qkey)
{
	char *qa = ident_quoted(t->added_col);
	int64_t k = t->tid;

	/*
	 * Not while the sync engine creates records in bulk (ap_bulk, only
	 * ever set inside its own transaction): it writes the same rows
	 * itself, without a trigger frame per record.
	 */
	buf_printf(b, "CREATE TRIGGER \"_fs_ins_%" PRId64 "\" AFTER INSERT "
	    "ON %s WHEN (SELECT ap_bulk FROM _fs_clock WHERE id = 1) IS NULL "
	    "BEGIN\n", k, qt);
	buf_addstr(b, BUMP);
	/*
	 * The sync identity is this instance's prefix and the clock value
	 * just taken, which no other change here ever gets: unique without
	 * randomness, and increasing, so its index grows at the end.
	 *
	 * A link still on this row id means REPLACE removed the old row
	 * without its DELETE trigger (recursive triggers off): the record
	 * then stays, and the new row is logged as its re-creation, so the
	 * peer gets every field of it again.
	 */
	buf_printf(b, "INSERT INTO _fs_record(tid, lrow, sid) SELECT %" PRId64
	    ", new.%s, coalesce(ap_sid, sid_prefix || printf('%%016x', hlc)) "
	    "FROM _fs_clock WHERE id = 1 ON CONFLICT (tid, lrow) DO NOTHING;\n",
	    k, qkey);
	buf_printf(b, "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind) "
	    "SELECT r.rid, 0, " STAMP ", 1 FROM _fs_record r, _fs_clock c "
	    "WHERE r.tid = %" PRId64 " AND r.lrow = new.%s AND c.id = 1;\n",
	    k, qkey);
	/*
	 * The time-added fill is not captured as a change of its own (see
	 * emit_update): the "created" row above stands for every field.  It
	 * comes last: the app's own triggers on this UPDATE may write to
	 * enrolled tables, whose capture moves the clock on, and the record
	 * and its creation must have the clock value taken above.
	 */
	buf_printf(b, "UPDATE %s SET %s = strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', "
	    "'now') WHERE new.%s IS NULL AND %s = new.%s;\nEND;\n", qt, qa, qa,
	    qkey, qkey);
	free(qa);
	return 0;
}

static int
emit_update(struct buf *b, const struct catalog_table *t, const char *qt,
    const char *qkey, const struct catalog_field *f)
{
	char *qc = ident_quoted(f->name);

	/*
	 * Time added is set once: its fill from NULL (by the insert trigger
	 * or later) is part of the record's creation, not a change.
	 */
	buf_printf(b, "CREATE TRIGGER \"_fs_upd_%" PRId64 "_%" PRId64 "\" "
	    "AFTER UPDATE OF %s ON %s WHEN ", t->tid, f->fid, qc, qt);
	if (strcmp(f->role, "added") == 0)
		buf_printf(b, "old.%s IS NOT NULL AND ", qc);
	buf_printf(b, "(old.%s IS NOT new.%s COLLATE BINARY OR typeof(old.%s) "
	    "IS NOT typeof(new.%s)) BEGIN\n", qc, qc, qc, qc);
	buf_addstr(b, BUMP);
	buf_printf(b, "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind, "
	    "old, new) SELECT r.rid, %" PRId64 ", " STAMP ", 0, old.%s, new.%s "
	    "FROM _fs_record r, _fs_clock c WHERE r.tid = %" PRId64 " AND "
	    "r.lrow = new.%s AND c.id = 1;\nEND;\n", f->fid, qc, qc, t->tid,
	    qkey);
	free(qc);
	return 0;
}

static int
emit_delete_and_key(struct buf *b, const struct catalog_table *t,
    const char *qt, const char *qkey)
{
	char *qs = ident_quoted(t->status_col);
	int64_t k = t->tid;

	buf_printf(b, "CREATE TRIGGER \"_fs_del_%" PRId64 "\" AFTER DELETE ON "
	    "%s BEGIN\n", k, qt);
	buf_addstr(b, BUMP);
	buf_printf(b, "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind, "
	    "old, new) SELECT r.rid, %" PRId64 ", " STAMP ", 2, old.%s, 1 "
	    "FROM _fs_record r, _fs_clock c WHERE r.tid = %" PRId64 " AND "
	    "r.lrow = old.%s AND c.id = 1;\n", t->status_fid, qs, k, qkey);
	buf_printf(b, "UPDATE _fs_record SET lrow = NULL WHERE tid = %" PRId64
	    " AND lrow = old.%s;\nEND;\n", k, qkey);
	/*
	 * The link follows a changed key.  AFTER, so that a row which
	 * UPDATE OR REPLACE removed from the new key has had its DELETE
	 * trigger (recursive triggers on) or is handled here (off: its
	 * delete is logged and its record made a tombstone).  Created last,
	 * so SQLite fires it before the field triggers of the same UPDATE,
	 * which look the record up by the new key.  "UPDATE OF" matches the
	 * SET list by name, so the built-in names of the row id are listed
	 * too; the WHEN on the key column makes an ordinary column of such a
	 * name harmless.
	 */
	buf_printf(b, "CREATE TRIGGER \"_fs_key_%" PRId64 "\" AFTER UPDATE OF "
	    "%s, rowid, _rowid_, oid ON %s WHEN old.%s IS NOT new.%s BEGIN\n",
	    k, qkey, qt, qkey, qkey);
	buf_addstr(b, BUMP);
	buf_printf(b, "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind, "
	    "old, new) SELECT r.rid, %" PRId64 ", " STAMP ", 2, NULL, 1 FROM "
	    "_fs_record r, _fs_clock c WHERE r.tid = %" PRId64 " AND r.lrow = "
	    "new.%s AND c.id = 1;\n", t->status_fid, k, qkey);
	buf_printf(b, "UPDATE _fs_record SET lrow = NULL WHERE tid = %" PRId64
	    " AND lrow = new.%s;\n", k, qkey);
	buf_printf(b, "UPDATE _fs_record SET lrow = new.%s WHERE tid = %" PRId64
	    " AND lrow = old.%s;\nEND;\n", qkey, k, qkey);
	free(qs);
	return 0;
}

int
capture_install(struct store *s, const struct catalog_table *t,
    struct fs_err *err)
{
	struct buf b;
	char *qt;
	const char *key = NULL;
	int ret;

	char *qk;

	for (int i = 0; i < t->nfields; i++)
		if (strcmp(t->fields[i].role, "rowid") == 0)
			key = t->fields[i].name;
	if (key == NULL)
		return fs_err_set(err, FS_EINVAL, "table %s has no row id "
		    "field", t->name);
	if (capture_remove(s, t->name, err) == -1)
		return -1;
	buf_init(&b, 0);
	qt = ident_quoted(t->name);
	qk = ident_quoted(key);
	emit_insert(&b, t, qt, qk);
	for (int i = 0; i < t->nfields; i++) {
		const struct catalog_field *f = &t->fields[i];

		if (strcmp(f->role, "rowid") != 0)
			emit_update(&b, t, qt, qk, f);
	}
	emit_delete_and_key(&b, t, qt, qk);
	ret = store_exec(s, b.data, err);
	buf_free(&b);
	free(qt);
	free(qk);
	return ret;
}
