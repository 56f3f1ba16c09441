/*
 * records.c - paged, searchable reading of enrolled tables; see records.h.
 *
 * The columns shown are the catalog's present fields that the table
 * really has now (appschema), so a name that reaches SQL text has been
 * seen in sqlite_schema.  The row id is the table's INTEGER PRIMARY KEY
 * column when it has one (so a column that happens to be called "rowid"
 * cannot mislead us), else SQLite's rowid.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "appschema.h"
#include "buf.h"
#include "catalog.h"
#include "ident.h"
#include "records.h"
#include "util.h"
#include "value.h"

struct rtable {
	struct catalog_table *cat;
	struct app_table *app;
	const struct catalog_field **cols;	/* shown, in catalog order */
	int ncols;
	int status_idx;		/* index in cols of the status field, -1 */
	char *qname;		/* quoted table name */
	char *qrowid;		/* quoted rowid column, or "rowid" */
};

static void
rtable_free(struct rtable *r)
{
	catalog_table_free(r->cat);
	appschema_table_free(r->app);
	free(r->cols);
	free(r->qname);
	free(r->qrowid);
	memset(r, 0, sizeof *r);
}

static int
rtable_load(struct store *s, const char *table, struct rtable *r,
    struct fs_err *err)
{
	memset(r, 0, sizeof *r);
	r->status_idx = -1;
	if (store_check_ready(s, err) == -1)
		return -1;
	if (table == NULL || !ident_plausible(table))
		return fs_err_set(err, FS_EINVAL, "invalid table name");
	if ((r->cat = catalog_table_get(s, table, err)) == NULL)
		return -1;
	if ((r->app = appschema_table(s, r->cat->name, err)) == NULL)
		goto fail;
	if (r->app->without_rowid || r->app->is_virtual) {
		fs_err_set(err, FS_EINVAL, "table %s has no row ids to browse",
		    r->cat->name);
		goto fail;
	}
	r->cols = xcalloc((size_t)r->cat->nfields + 1, sizeof *r->cols);
	for (int i = 0; i < r->cat->nfields; i++) {
		const struct catalog_field *f = &r->cat->fields[i];

		if (appschema_column(r->app, f->name) < 0)
			continue;
		if (f->fid == r->cat->status_fid)
			r->status_idx = r->ncols;
		if (strcmp(f->role, "rowid") == 0 && r->qrowid == NULL)
			r->qrowid = ident_quoted(f->name);
		r->cols[r->ncols++] = f;
	}
	if (r->qrowid == NULL)
		r->qrowid = xstrdup("rowid");
	r->qname = ident_quoted(r->cat->name);
	return 0;
fail:
	rtable_free(r);
	return -1;
}

/*
 * "SELECT a.<rowid>, a.<cols> FROM <t> a".  Qualified: a column renamed
 * since it was enrolled is then an error, not its name as a string
 * (SQLite's reading of an unknown name in double quotes).
 */
static void
select_cols(struct buf *b, const struct rtable *r)
{
	buf_printf(b, "SELECT a.%s", r->qrowid);
	for (int i = 0; i < r->ncols; i++) {
		buf_addstr(b, ", a.");
		ident_quote(b, r->cols[i]->name);
	}
	buf_printf(b, " FROM %s a", r->qname);
}

/* " WHERE (CAST(c AS TEXT) LIKE ?1 ESCAPE '\' OR ...)" */
static void
search_where(struct buf *b, const struct rtable *r)
{
	buf_addstr(b, " WHERE (");
	for (int i = 0; i < r->ncols; i++) {
		if (i > 0)
			buf_addstr(b, " OR ");
		buf_addstr(b, "CAST(a.");
		ident_quote(b, r->cols[i]->name);
		buf_addstr(b, " AS TEXT) LIKE ?1 ESCAPE '\\'");
	}
	if (r->ncols == 0)
		buf_addstr(b, "0");
	buf_addstr(b, ")");
}

static cJSON *
columns_json(const struct rtable *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (int i = 0; i < r->ncols; i++) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "name", r->cols[i]->name);
		cJSON_AddNumberToObject(c, "field", (double)r->cols[i]->fid);
		cJSON_AddStringToObject(c, "type", r->cols[i]->decl_type);
		cJSON_AddStringToObject(c, "role", r->cols[i]->role);
		cJSON_AddItemToArray(arr, c);
	}
	return arr;
}

/* A cell for a list: long texts and blobs cut short. */
static cJSON *
cell_json(sqlite3_stmt *st, int col)
{
	int n = sqlite3_column_bytes(st, col);

	if (sqlite3_column_type(st, col) == SQLITE_TEXT &&
	    n > FS_RECORDS_CELL_MAX) {
		const char *t = (const char *)sqlite3_column_text(st, col);
		int k = FS_RECORDS_CELL_MAX;
		char *cut;
		cJSON *j;

		/* Back off to the start of a UTF-8 character. */
		while (k > 0 && ((unsigned char)t[k] & 0xc0) == 0x80)
			k--;
		if (!utf8_valid(t, (size_t)k) || memchr(t, '\0', (size_t)k))
			return value_column_json(st, col);
		cut = xmalloc((size_t)k + 4);
		memcpy(cut, t, (size_t)k);
		memcpy(cut + k, "\xe2\x80\xa6", 4);	/* "..." */
		j = cJSON_CreateString(cut);
		free(cut);
		return j;
	}
	if (sqlite3_column_type(st, col) == SQLITE_BLOB && n > 32) {
		cJSON *o = cJSON_CreateObject();
		char hex[65];

		util_hex(sqlite3_column_blob(st, col), 32, hex);
		cJSON_AddStringToObject(o, "blob", hex);
		cJSON_AddNumberToObject(o, "bytes", n);
		cJSON_AddBoolToObject(o, "cut", 1);
		return o;
	}
	return value_column_json(st, col);
}

/* A non-zero, non-NULL status means deleted (see catalog.h). */
static int
is_deleted(const struct rtable *r, sqlite3_stmt *st)
{
	return r->status_idx >= 0 &&
	    value_is_deleted(sqlite3_column_value(st, r->status_idx + 1));
}

cJSON *
records_list(struct store *s, const char *table, const char *search,
    int64_t offset, int limit, struct fs_err *err)
{
	struct rtable r;
	struct buf sql, pat;
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL, *rows;
	int64_t total = 0;
	int rc, has_search = search != NULL && *search != '\0';

	if (offset < 0 || limit < 1 || limit > FS_RECORDS_PAGE_MAX) {
		fs_err_set(err, FS_EINVAL, "offset must be 0 or more and limit "
		    "1 to %d", FS_RECORDS_PAGE_MAX);
		return NULL;
	}
	if (has_search && (strlen(search) > FS_RECORDS_SEARCH_MAX ||
	    !utf8_valid(search, strlen(search)))) {
		fs_err_set(err, FS_EINVAL, "search text must be valid UTF-8 of "
		    "at most %d bytes", FS_RECORDS_SEARCH_MAX);
		return NULL;
	}
	if (rtable_load(s, table, &r, err) == -1)
		return NULL;
	buf_init(&sql, 0);
	buf_init(&pat, 0);
	if (has_search) {
		buf_addstr(&pat, "%");
		for (const char *p = search; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				buf_addstr(&pat, "\\");
			buf_add(&pat, p, 1);
		}
		buf_addstr(&pat, "%");
	}
	/* The total first, under the same filter. */
	buf_printf(&sql, "SELECT count(*) FROM %s a", r.qname);
	if (has_search)
		search_where(&sql, &r);
	if ((st = store_prepare(s, sql.data, err)) == NULL)
		goto out;
	if (has_search)
		sqlite3_bind_text(st, 1, pat.data, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		store_dberr(s, err, "count records");
		goto out;
	}
	total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	buf_reset(&sql);
	select_cols(&sql, &r);
	if (has_search)
		search_where(&sql, &r);
	buf_printf(&sql, " ORDER BY a.%s LIMIT ?2 OFFSET ?3", r.qrowid);
	if ((st = store_prepare(s, sql.data, err)) == NULL)
		goto out;
	if (has_search)
		sqlite3_bind_text(st, 1, pat.data, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "table", r.cat->name);
	cJSON_AddItemToObject(o, "columns", columns_json(&r));
	cJSON_AddNumberToObject(o, "total", (double)total);
	cJSON_AddNumberToObject(o, "offset", (double)offset);
	cJSON_AddNumberToObject(o, "limit", limit);
	cJSON_AddStringToObject(o, "search", has_search ? search : "");
	rows = cJSON_AddArrayToObject(o, "rows");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *row = cJSON_CreateObject(), *vals;

		cJSON_AddItemToObject(row, "rowid", value_column_json(st, 0));
		cJSON_AddBoolToObject(row, "deleted", is_deleted(&r, st));
		vals = cJSON_AddArrayToObject(row, "values");
		for (int i = 0; i < r.ncols; i++)
			cJSON_AddItemToArray(vals, cell_json(st, i + 1));
		cJSON_AddItemToArray(rows, row);
	}
	if (rc != SQLITE_DONE) {
		store_dberr(s, err, "read records");
		cJSON_Delete(o);
		o = NULL;
	}
out:
	sqlite3_finalize(st);
	buf_free(&sql);
	buf_free(&pat);
	rtable_free(&r);
	return o;
}

cJSON *
records_get(struct store *s, const char *table, int64_t rowid,
    struct fs_err *err)
{
	struct rtable r;
	struct buf sql;
	sqlite3_stmt *st = NULL;
	cJSON *o = NULL, *cols;
	int rc;

	if (rtable_load(s, table, &r, err) == -1)
		return NULL;
	buf_init(&sql, 0);
	select_cols(&sql, &r);
	buf_printf(&sql, " WHERE a.%s = ?1", r.qrowid);
	if ((st = store_prepare(s, sql.data, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, rowid);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			fs_err_set(err, FS_ENOTFOUND, "no record %" PRId64
			    " in %s", rowid, r.cat->name);
		else
			store_dberr(s, err, "read record");
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "table", r.cat->name);
	cJSON_AddNumberToObject(o, "rowid", (double)rowid);
	cJSON_AddBoolToObject(o, "deleted", is_deleted(&r, st));
	cols = cJSON_AddArrayToObject(o, "columns");
	for (int i = 0; i < r.ncols; i++) {
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "name", r.cols[i]->name);
		cJSON_AddNumberToObject(c, "field", (double)r.cols[i]->fid);
		cJSON_AddStringToObject(c, "type", r.cols[i]->decl_type);
		cJSON_AddStringToObject(c, "role", r.cols[i]->role);
		cJSON_AddItemToObject(c, "value", value_column_json(st, i + 1));
		cJSON_AddItemToArray(cols, c);
	}
out:
	sqlite3_finalize(st);
	buf_free(&sql);
	rtable_free(&r);
	return o;
}
