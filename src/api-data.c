/*
 * api-data.c - /api/instance, /api/tables, /api/app-tables,
 * /api/conflicts, /api/records and /api/record.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-int.h"
#include "appschema.h"
#include "buf.h"
#include "catalog.h"
#include "conflict.h"
#include "history.h"
#include "ident.h"
#include "instance.h"
#include "records.h"
#include "util.h"

#define NAME_MAX_LEN 255

static void
method_not_allowed(struct api_call *c, const char *allow)
{
	http_response_error(c->resp, 405, "use %s", allow);
	http_response_header(c->resp, "Allow", allow);
}

static int
is(struct api_call *c, const char *m)
{
	return strcmp(c->req->method, m) == 0;
}

/* A table name from a query argument: present and plausible. */
static const char *
table_arg(struct api_call *c)
{
	const char *t = api_arg(c, "table");

	if (t == NULL || !ident_plausible(t)) {
		http_response_error(c->resp, 400, "query argument 'table' must "
		    "name a table");
		return NULL;
	}
	return t;
}

/* GET /api/app-tables: [{table, enrolled, columns:[{name, type, pk}]}] */
static void
app_tables(struct api_call *c)
{
	struct fs_err err;
	char **names;
	cJSON *arr;

	fs_err_clear(&err);
	if ((names = appschema_list_tables(c->a->s, &err)) == NULL)
		return api_fail(c, &err);
	arr = cJSON_CreateArray();
	for (char **n = names; *n; n++) {
		struct app_table *t = appschema_table(c->a->s, *n, NULL);
		struct catalog_table *ct = catalog_table_get(c->a->s, *n, NULL);
		cJSON *o, *cols;

		if (t == NULL) {
			catalog_table_free(ct);
			continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "table", t->name);
		cJSON_AddBoolToObject(o, "enrolled", ct != NULL);
		cols = cJSON_AddArrayToObject(o, "columns");
		for (int i = 0; i < t->ncols; i++) {
			cJSON *col = cJSON_CreateObject();

			cJSON_AddStringToObject(col, "name", t->cols[i].name);
			cJSON_AddStringToObject(col, "type",
			    t->cols[i].decl_type ? t->cols[i].decl_type : "");
			cJSON_AddBoolToObject(col, "pk", t->cols[i].pk > 0);
			cJSON_AddItemToArray(cols, col);
		}
		cJSON_AddItemToArray(arr, o);
		appschema_table_free(t);
		catalog_table_free(ct);
	}
	appschema_strv_free(names);
	api_ok(c, 200, arr);
}

/* The match key from the body: "a,b" or ["a", "b"]; NULL when absent. */
static int
match_of(struct api_call *c, struct buf *out)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(c->body, "match");
	cJSON *it;

	if (m == NULL || cJSON_IsNull(m))
		return 0;
	if (cJSON_IsString(m)) {
		if (strlen(m->valuestring) > 4 * NAME_MAX_LEN)
			goto bad;
		buf_addstr(out, m->valuestring);
		return out->len > 0;
	}
	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) > 16)
		goto bad;
	cJSON_ArrayForEach(it, m) {
		if (!cJSON_IsString(it) || !ident_plausible(it->valuestring) ||
		    strchr(it->valuestring, ',') != NULL)
			goto bad;
		if (out->len > 0)
			buf_addstr(out, ",");
		buf_addstr(out, it->valuestring);
	}
	return out->len > 0;
bad:
	http_response_error(c->resp, 400, "'match' must be a list of up to 16 "
	    "column names");
	return -1;
}

/* GET /api/tables | POST {table, status_column, added_column, match} |
 * DELETE ?table=T */
static void
tables(struct api_call *c)
{
	static const char *const keys[] = { "table", "status_column",
	    "added_column", "match", NULL };
	struct fs_err err;
	struct table_opts o;
	struct buf match;
	const char *t;
	cJSON *l;
	int r;

	fs_err_clear(&err);
	if (is(c, "GET")) {
		if ((l = catalog_table_list(c->a->s, &err)) == NULL)
			return api_fail(c, &err);
		return api_ok(c, 200, l);
	}
	if (is(c, "DELETE")) {
		if (api_body(c, NULL) == -1 || (t = table_arg(c)) == NULL)
			return;
		if (catalog_table_remove(c->a->s, t, &err) == -1)
			return api_fail(c, &err);
		return api_done(c);
	}
	if (!is(c, "POST"))
		return method_not_allowed(c, "GET, POST, DELETE");
	memset(&o, 0, sizeof o);
	if (api_body(c, keys) == -1 ||
	    api_str(c, "table", 1, NAME_MAX_LEN, &t) == -1 ||
	    api_str(c, "status_column", 0, NAME_MAX_LEN, &o.status_col) == -1 ||
	    api_str(c, "added_column", 0, NAME_MAX_LEN, &o.added_col) == -1)
		return;
	if (o.status_col != NULL && *o.status_col == '\0')
		o.status_col = NULL;
	if (o.added_col != NULL && *o.added_col == '\0')
		o.added_col = NULL;
	buf_init(&match, 0);
	if ((r = match_of(c, &match)) == -1) {
		buf_free(&match);
		return;
	}
	o.match = r == 1 ? match.data : NULL;
	if (catalog_table_add(c->a->s, t, &o, &err) == -1)
		api_fail(c, &err);
	else {
		cJSON *res = cJSON_CreateObject();

		cJSON_AddStringToObject(res, "table", t);
		cJSON_AddBoolToObject(res, "enrolled", 1);
		api_ok(c, 201, res);
	}
	buf_free(&match);
}

/* GET /api/conflicts[?all=1][&offset=N][&limit=N]: oldest first, a page */
static void
conflicts(struct api_call *c)
{
	struct fs_err err;
	long long all, offset, limit;
	cJSON *l;

	if (!is(c, "GET"))
		return method_not_allowed(c, "GET");
	if (api_arg_int(c, "all", 0, 1, 0, &all) == -1 ||
	    api_arg_int(c, "offset", 0, INT64_MAX / 2, 0, &offset) == -1 ||
	    api_arg_int(c, "limit", 1, FS_CONFLICTS_PAGE_MAX,
	    FS_CONFLICTS_PAGE_MAX, &limit) == -1)
		return;
	fs_err_clear(&err);
	if ((l = conflict_list(c->a->s, (int)all, offset, limit, &err)) == NULL)
		return api_fail(c, &err);
	api_ok(c, 200, l);
}

/*
 * POST /api/conflicts/resolve {keep: local|remote|winner}: every open one;
 * answers {resolved, skipped, superseded} (see conflict_resolve_all).
 */
static void
resolve_all(struct api_call *c)
{
	static const char *const keys[] = { "keep", NULL };
	struct fs_err err;
	const char *keep;
	int64_t resolved, skipped, superseded;
	cJSON *res;

	if (!is(c, "POST"))
		return method_not_allowed(c, "POST");
	if (api_body(c, keys) == -1 || api_str(c, "keep", 1, 16, &keep) == -1)
		return;
	fs_err_clear(&err);
	if (conflict_resolve_all(c->a->s, keep, &resolved, &skipped,
	    &superseded, &err) == -1)
		return api_fail(c, &err);
	res = cJSON_CreateObject();
	cJSON_AddNumberToObject(res, "resolved", (double)resolved);
	cJSON_AddNumberToObject(res, "skipped", (double)skipped);
	cJSON_AddNumberToObject(res, "superseded", (double)superseded);
	api_ok(c, 200, res);
}

/* POST /api/conflicts/ID/resolve {keep: local|remote|winner} */
/* It answers {ok, superseded}. */
static void
resolve(struct api_call *c, const char *ids)
{
	static const char *const keys[] = { "keep", NULL };
	struct fs_err err;
	const char *keep;
	long long id;
	int superseded;
	cJSON *res;

	if (!is(c, "POST"))
		return method_not_allowed(c, "POST");
	if (util_parse_int(ids, 1, INT64_MAX, &id) == -1) {
		http_response_error(c->resp, 404, "no such conflict");
		return;
	}
	if (api_body(c, keys) == -1 || api_str(c, "keep", 1, 16, &keep) == -1)
		return;
	fs_err_clear(&err);
	if (conflict_resolve(c->a->s, id, keep, &superseded, &err) == -1)
		return api_fail(c, &err);
	res = cJSON_CreateObject();
	cJSON_AddBoolToObject(res, "ok", 1);
	cJSON_AddBoolToObject(res, "superseded", superseded);
	api_ok(c, 200, res);
}

/* GET /api/records?table=T&q=TEXT&offset=N&limit=N */
static void
records(struct api_call *c)
{
	struct fs_err err;
	long long offset, limit;
	const char *t;
	cJSON *l;

	if (!is(c, "GET"))
		return method_not_allowed(c, "GET");
	if ((t = table_arg(c)) == NULL ||
	    api_arg_int(c, "offset", 0, INT64_MAX / 2, 0, &offset) == -1 ||
	    api_arg_int(c, "limit", 1, FS_RECORDS_PAGE_MAX, 50, &limit) == -1)
		return;
	fs_err_clear(&err);
	if ((l = records_list(c->a->s, t, api_arg(c, "q"), offset, (int)limit,
	    &err)) == NULL)
		return api_fail(c, &err);
	api_ok(c, 200, l);
}

/* GET /api/record?table=T&rowid=N: {record, log} */
static void
record(struct api_call *c)
{
	struct fs_err err;
	long long rowid;
	const char *t, *rs;
	cJSON *rec, *log, *o;

	if (!is(c, "GET"))
		return method_not_allowed(c, "GET");
	if ((t = table_arg(c)) == NULL)
		return;
	if ((rs = api_arg(c, "rowid")) == NULL ||
	    util_parse_int(rs, INT64_MIN, INT64_MAX, &rowid) == -1) {
		http_response_error(c->resp, 400, "query argument 'rowid' must "
		    "be a whole number");
		return;
	}
	fs_err_clear(&err);
	if ((rec = records_get(c->a->s, t, rowid, &err)) == NULL)
		return api_fail(c, &err);
	if ((log = history_record(c->a->s, t, rowid, 1000, &err)) == NULL) {
		if (err.code != FS_ENOTFOUND) {
			cJSON_Delete(rec);
			return api_fail(c, &err);
		}
		log = cJSON_CreateNull();
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "record", rec);
	cJSON_AddItemToObject(o, "log", log);
	api_ok(c, 200, o);
}

void
api_data_route(struct api_call *c)
{
	const char *s0 = c->seg[0];
	struct fs_err err;
	cJSON *info;

	if (strcmp(s0, "instance") == 0 && c->nseg == 1) {
		if (!is(c, "GET"))
			return method_not_allowed(c, "GET");
		fs_err_clear(&err);
		if ((info = instance_info(c->a->s, &err)) == NULL)
			return api_fail(c, &err);
		api_ok(c, 200, info);
	} else if (strcmp(s0, "tables") == 0 && c->nseg == 1)
		tables(c);
	else if (strcmp(s0, "app-tables") == 0 && c->nseg == 1) {
		if (!is(c, "GET"))
			return method_not_allowed(c, "GET");
		app_tables(c);
	} else if (strcmp(s0, "conflicts") == 0 && c->nseg == 1)
		conflicts(c);
	else if (strcmp(s0, "conflicts") == 0 && c->nseg == 2 &&
	    strcmp(c->seg[1], "resolve") == 0)
		resolve_all(c);
	else if (strcmp(s0, "conflicts") == 0 && c->nseg == 3 &&
	    strcmp(c->seg[2], "resolve") == 0)
		resolve(c, c->seg[1]);
	else if (strcmp(s0, "records") == 0 && c->nseg == 1)
		records(c);
	else if (strcmp(s0, "record") == 0 && c->nseg == 1)
		record(c);
	else
		http_response_error(c->resp, 404, "no such API route");
}
