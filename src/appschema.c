/* appschema.c - reading the app database's schema; see appschema.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appschema.h"
#include "ident.h"
#include "util.h"

static int
is_reserved(const char *name)
{
	/* Case-blind: table names are, so "_FS_LOG" is _fs_log. */
	return strncasecmp(name, "sqlite_", 7) == 0 ||
	    strncasecmp(name, "_fs_", 4) == 0;
}

void
appschema_table_free(struct app_table *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].decl_type);
	}
	free(t->cols);
	free(t->name);
	free(t);
}

struct app_table *
appschema_table(struct store *s, const char *name, struct fs_err *err)
{
	struct app_table *t = NULL;
	sqlite3_stmt *st = NULL;
	const char *sql;
	int rc, pkcount = 0;

	if (!ident_plausible(name)) {
		fs_err_set(err, FS_EINVAL, "invalid table name");
		return NULL;
	}
	if (is_reserved(name)) {
		fs_err_set(err, FS_EINVAL, "table %s is reserved", name);
		return NULL;
	}
	/* Names are case-blind in SQL: "mixed" is the table "Mixed". */
	st = store_prepare(s, "SELECT name, sql, type FROM sqlite_schema "
	    "WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE",
	    err);
	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			fs_err_set(err, FS_ENOTFOUND, "no such table: %s", name);
		else
			store_dberr(s, err, "read schema");
		goto fail;
	}
	if (strcmp((const char *)sqlite3_column_text(st, 2), "view") == 0) {
		fs_err_set(err, FS_EINVAL, "%s is a view; only ordinary tables "
		    "can be enrolled", (const char *)sqlite3_column_text(st, 0));
		goto fail;
	}
	t = xcalloc(1, sizeof *t);
	t->name = xstrdup((const char *)sqlite3_column_text(st, 0));
	t->rowid_col = -1;
	sql = (const char *)sqlite3_column_text(st, 1);
	t->is_virtual = sql != NULL && strncasecmp(sql, "CREATE VIRTUAL", 14) == 0;
	sqlite3_finalize(st);

	st = store_prepare(s, "SELECT name, type, \"notnull\", dflt_value, pk, "
	    "hidden FROM pragma_table_xinfo(?1)", err);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct app_column *c;

		t->cols = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof *c);
		if (t->cols == NULL)
			abort();
		c = &t->cols[t->ncols++];
		c->name = xstrdup((const char *)sqlite3_column_text(st, 0));
		c->decl_type = xstrdup(sqlite3_column_text(st, 1) ?
		    (const char *)sqlite3_column_text(st, 1) : "");
		c->notnull = sqlite3_column_int(st, 2);
		c->has_default = sqlite3_column_type(st, 3) != SQLITE_NULL;
		c->pk = sqlite3_column_int(st, 4);
		c->hidden = sqlite3_column_int(st, 5);
		if (c->pk)
			pkcount++;
	}
	if (rc != SQLITE_DONE) {
		store_dberr(s, err, "read columns");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;

	/*
	 * A rowid table with a single INTEGER PRIMARY KEY column: that column
	 * is the rowid, the only row number VACUUM never changes.
	 * WITHOUT ROWID tables and "INTEGER PRIMARY KEY DESC" have a pk index.
	 */
	st = store_prepare(s, "SELECT count(*) FROM pragma_index_list(?1) "
	    "WHERE origin = 'pk'", err);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0) {
		/* Rowid tables with a non-integer pk also have a pk index. */
		t->without_rowid = 1;
		sqlite3_finalize(st);
		st = store_prepare(s, "SELECT count(*) FROM pragma_table_list "
		    "WHERE name = ?1 AND wr = 0", err);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_int(st, 0) > 0)
			t->without_rowid = 0;
	} else if (pkcount == 1) {
		for (int i = 0; i < t->ncols; i++)
			if (t->cols[i].pk &&
			    strcasecmp(t->cols[i].decl_type, "INTEGER") == 0)
				t->rowid_col = i;
	}
	sqlite3_finalize(st);
	return t;
fail:
	sqlite3_finalize(st);
	appschema_table_free(t);
	return NULL;
}

int
appschema_column(const struct app_table *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcasecmp(t->cols[i].name, name) == 0)
			return i;
	return -1;
}

void
appschema_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

char **
appschema_list_tables(struct store *s, struct fs_err *err)
{
	sqlite3_stmt *st;
	char **v = xcalloc(1, sizeof *v);
	int n = 0, rc;

	st = store_prepare(s, "SELECT name FROM sqlite_schema WHERE type = "
	    "'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
	    "name NOT LIKE '\\_fs\\_%' ESCAPE '\\' ORDER BY name", err);
	if (st == NULL) {
		free(v);
		return NULL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v = realloc(v, (size_t)(n + 2) * sizeof *v);
		if (v == NULL)
			abort();
		v[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
		v[n] = NULL;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		appschema_strv_free(v);
		store_dberr(s, err, "list tables");
		return NULL;
	}
	return v;
}
