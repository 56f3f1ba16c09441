/*
 * api-pair.c - /api/pairings: pairings with their status, add, edit,
 * remove, connection tests and "sync now" (through the job board), and
 * each pairing's field map beside the peer's catalogue.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-int.h"
#include "catalog.h"
#include "fieldmap.h"
#include "pairing.h"
#include "pairstate.h"
#include "peermap.h"

#define PASSWORD_MAX 1024
#define URL_MAX 2048
#define PATH_MAX_LEN 4096

static void
method_not_allowed(struct api_call *c, const char *allow)
{
	http_response_error(c->resp, 405, "use %s", allow);
	http_response_header(c->resp, "Allow", allow);
}

/* The status entry of pairing name in a pairstate_status list. */
static cJSON *
status_of(cJSON *status, const char *name)
{
	cJSON *s;

	cJSON_ArrayForEach(s, status) {
		cJSON *p = cJSON_GetObjectItem(s, "pair");

		if (cJSON_IsString(p) && strcmp(p->valuestring, name) == 0)
			return s;
	}
	return NULL;
}

/* GET /api/pairings: [{...pairing, status:{...}}] */
static void
list(struct api_call *c)
{
	struct fs_err err;
	cJSON *l, *st, *p;

	fs_err_clear(&err);
	if ((l = pairing_list(c->a->s, &err)) == NULL)
		return api_fail(c, &err);
	if ((st = pairstate_status(c->a->s, &err)) == NULL) {
		cJSON_Delete(l);
		return api_fail(c, &err);
	}
	cJSON_ArrayForEach(p, l) {
		cJSON *s = status_of(st, cJSON_GetObjectItem(p,
		    "name")->valuestring);

		cJSON_AddItemToObject(p, "status", s ? cJSON_Duplicate(s, 1) :
		    cJSON_CreateNull());
	}
	cJSON_Delete(st);
	api_ok(c, 200, l);
}

/* A clear password from the body: one line of text. */
static int
password_of(struct api_call *c, int required, const char **pw)
{
	int r = api_str(c, "password", required, PASSWORD_MAX, pw);

	if (r == 1 && (**pw == '\0' || strpbrk(*pw, "\r\n") != NULL)) {
		http_response_error(c->resp, 400, "'password' must be one "
		    "non-empty line");
		return -1;
	}
	return r;
}

/*
 * The settings pairing_set takes, from the body, as its KEY VALUE text;
 * applied in order.  Returns -1 after answering on bad input.
 */
struct setting {
	const char *key;	/* pairing_set key */
	char value[URL_MAX + 1];
};

static int
settings_of(struct api_call *c, struct setting *set, int *n)
{
	long long iv;
	int b, r;
	const char *s;

	*n = 0;
	if ((r = api_int(c, "interval", 0, 1, 604800, &iv)) == -1)
		return -1;
	if (r == 1) {
		set[*n].key = "interval";
		snprintf(set[(*n)++].value, sizeof set->value, "%lld", iv);
	}
	if ((r = api_str(c, "policy", 0, 16, &s)) == -1)
		return -1;
	if (r == 1) {
		set[*n].key = "policy";
		snprintf(set[(*n)++].value, sizeof set->value, "%s", s);
	}
	if ((r = api_bool(c, "enabled", 0, &b)) == -1)
		return -1;
	if (r == 1) {
		set[*n].key = "enabled";
		snprintf(set[(*n)++].value, sizeof set->value, "%s",
		    b ? "yes" : "no");
	}
	if ((r = api_str(c, "url", 0, URL_MAX, &s)) == -1)
		return -1;
	if (r == 1) {
		set[*n].key = "url";
		snprintf(set[(*n)++].value, sizeof set->value, "%s", s);
	}
	if ((r = api_str(c, "deletes", 0, 16, &s)) == -1)
		return -1;
	if (r == 1) {
		set[*n].key = "deletes";
		snprintf(set[(*n)++].value, sizeof set->value, "%s", s);
	}
	if ((r = api_str(c, "ca_file", 0, URL_MAX, &s)) == -1)
		return -1;
	if (r == 1) {
		set[*n].key = "ca-file";
		snprintf(set[(*n)++].value, sizeof set->value, "%s", s);
	}
	return 0;
}

/* Commit the open transaction and answer with the pairing as it now is. */
static void
reply_committed(struct api_call *c, const char *name, int status)
{
	struct pairing *p;
	struct fs_err err;

	fs_err_clear(&err);
	if (store_commit(c->a->s, &err) == -1)
		return api_fail(c, &err);
	if ((p = pairing_get(c->a->s, name, &err)) == NULL)
		return api_fail(c, &err);
	api_ok(c, status, pairing_json(p));
	pairing_free(p);
}

/* POST /api/pairings {name, role, url?, password, interval?, policy?, ...} */
static void
add(struct api_call *c)
{
	static const char *const keys[] = { "name", "role", "url", "password",
	    "interval", "policy", "enabled", "deletes", "ca_file", NULL };
	struct setting set[6];
	const char *name, *role, *url, *pw;
	long long interval = -1;
	struct fs_err err;
	int n;

	if (api_body(c, keys) == -1 ||
	    api_str(c, "name", 1, 64, &name) == -1 ||
	    api_str(c, "role", 1, 16, &role) == -1 ||
	    api_str(c, "url", 0, URL_MAX, &url) == -1 ||
	    password_of(c, 1, &pw) == -1 ||
	    api_int(c, "interval", 0, 1, 604800, &interval) == -1 ||
	    settings_of(c, set, &n) == -1)
		return;
	if (strcmp(role, "passive") == 0 && url != NULL && *url == '\0')
		url = NULL;
	fs_err_clear(&err);
	/* One transaction: a bad setting leaves no trace of the pairing. */
	if (store_begin(c->a->s, &err) == -1)
		return api_fail(c, &err);
	if (pairing_add(c->a->s, name, role, url, pw, (int)interval,
	    &err) == -1)
		goto fail;
	for (int i = 0; i < n; i++) {
		if (strcmp(set[i].key, "interval") == 0 ||
		    strcmp(set[i].key, "url") == 0)
			continue;
		if (pairing_set(c->a->s, name, set[i].key, set[i].value,
		    &err) == -1)
			goto fail;
	}
	reply_committed(c, name, 201);
	return;
fail:
	store_rollback(c->a->s);
	api_fail(c, &err);
}

/* PATCH /api/pairings/NAME {interval, policy, enabled, url, deletes,
 * ca_file, password}: all or nothing, in one transaction. */
static void
edit(struct api_call *c, const char *name)
{
	static const char *const keys[] = { "url", "password", "interval",
	    "policy", "enabled", "deletes", "ca_file", NULL };
	struct setting set[6];
	struct fs_err err;
	const char *pw;
	int n, r;

	if (api_body(c, keys) == -1 || settings_of(c, set, &n) == -1 ||
	    (r = password_of(c, 0, &pw)) == -1)
		return;
	fs_err_clear(&err);
	if (store_begin(c->a->s, &err) == -1)
		return api_fail(c, &err);
	for (int i = 0; i < n; i++)
		if (pairing_set(c->a->s, name, set[i].key, set[i].value,
		    &err) == -1)
			goto fail;
	if (r == 1 && pairing_set_password(c->a->s, name, pw, &err) == -1)
		goto fail;
	if (n == 0 && r == 0) {
		struct pairing *p = pairing_get(c->a->s, name, &err);

		if (p == NULL)
			goto fail;
		pairing_free(p);
	}
	reply_committed(c, name, 200);
	return;
fail:
	store_rollback(c->a->s);
	api_fail(c, &err);
}

/* GET /api/pairings/NAME: {...pairing, status} */
static void
show(struct api_call *c, const char *name)
{
	struct fs_err err;
	struct pairing *p;
	cJSON *o, *st, *s;

	fs_err_clear(&err);
	if ((p = pairing_get(c->a->s, name, &err)) == NULL)
		return api_fail(c, &err);
	o = pairing_json(p);
	pairing_free(p);
	if ((st = pairstate_status(c->a->s, &err)) == NULL) {
		cJSON_Delete(o);
		return api_fail(c, &err);
	}
	s = status_of(st, name);
	cJSON_AddItemToObject(o, "status", s ? cJSON_Duplicate(s, 1) :
	    cJSON_CreateNull());
	cJSON_Delete(st);
	api_ok(c, 200, o);
}

/* POST/GET /api/pairings/NAME/sync|test */
static void
job(struct api_call *c, const char *name, enum job_kind kind)
{
	struct fs_err err;
	struct pairing *p;
	cJSON *o;
	int64_t id;

	fs_err_clear(&err);
	if ((p = pairing_get(c->a->s, name, &err)) == NULL)
		return api_fail(c, &err);
	if (strcmp(p->role, "active") != 0) {
		pairing_free(p);
		http_response_error(c->resp, 400, "pairing %s is passive: it "
		    "syncs when its active side connects; %s it from there",
		    name, kind == JOB_SYNC ? "sync" : "test");
		return;
	}
	pairing_free(p);
	if (strcmp(c->req->method, "GET") == 0) {
		if ((o = jobs_get(c->a->jobs, name, kind)) == NULL) {
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "state", "none");
		}
		return api_ok(c, 200, o);
	}
	if (strcmp(c->req->method, "POST") != 0)
		return method_not_allowed(c, "GET, POST");
	if (api_body(c, NULL) == -1)
		return;
	if (jobs_submit(c->a->jobs, name, kind, &id, &err) == -1)
		return api_fail(c, &err);
	o = jobs_get(c->a->jobs, name, kind);
	api_ok(c, 202, o);
}

/* GET /api/pairings/NAME/map: {map, tables, peer} */
static void
map_show(struct api_call *c, const char *name)
{
	struct fs_err err;
	cJSON *o, *map, *tables, *peer;

	fs_err_clear(&err);
	if ((map = fieldmap_list(c->a->s, name, &err)) == NULL)
		return api_fail(c, &err);
	if ((tables = catalog_table_list(c->a->s, &err)) == NULL) {
		cJSON_Delete(map);
		return api_fail(c, &err);
	}
	if ((peer = peermap_view(c->a->s, name, &err)) == NULL) {
		cJSON_Delete(map);
		cJSON_Delete(tables);
		return api_fail(c, &err);
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "map", map);
	cJSON_AddItemToObject(o, "tables", tables);
	cJSON_AddItemToObject(o, "peer", peer);
	api_ok(c, 200, o);
}

/* POST {column, mode?, remote_field?} | PATCH {column, mode} |
 * DELETE ?column=TABLE.COLUMN */
static void
map_change(struct api_call *c, const char *name)
{
	static const char *const add_keys[] = { "column", "mode",
	    "remote_field", NULL };
	static const char *const set_keys[] = { "column", "mode", NULL };
	const char *m = c->req->method, *col, *mode;
	long long remote = -1;
	struct fs_err err;
	int64_t fid;
	int r, md = FS_MODE_TWO_WAY;

	fs_err_clear(&err);
	if (strcmp(m, "DELETE") == 0) {
		if (api_body(c, NULL) == -1)
			return;
		if ((col = api_arg(c, "column")) == NULL || *col == '\0') {
			http_response_error(c->resp, 400, "query argument "
			    "'column' (TABLE.COLUMN) is required");
			return;
		}
		if (fieldmap_remove(c->a->s, name, col, &err) == -1)
			return api_fail(c, &err);
		return api_done(c);
	}
	if (api_body(c, strcmp(m, "POST") == 0 ? add_keys : set_keys) == -1 ||
	    api_str(c, "column", 1, 600, &col) == -1 ||
	    (r = api_str(c, "mode", strcmp(m, "PATCH") == 0, 16, &mode)) == -1)
		return;
	if (r == 1 && (md = fieldmap_mode_parse(mode)) < 0) {
		http_response_error(c->resp, 400, "'mode' must be two-way, "
		    "upload, download or off");
		return;
	}
	if (strcmp(m, "PATCH") == 0) {
		if (fieldmap_set(c->a->s, name, col, md, &err) == -1)
			return api_fail(c, &err);
		return api_done(c);
	}
	if (api_int(c, "remote_field", 0, 1, INT64_MAX / 2, &remote) == -1)
		return;
	if (fieldmap_add(c->a->s, name, col, md, remote, &fid, &err) == -1)
		return api_fail(c, &err);
	{
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "field", (double)fid);
		cJSON_AddStringToObject(o, "mode", fieldmap_mode_name(md));
		api_ok(c, 201, o);
	}
}

void
api_pair_route(struct api_call *c)
{
	const char *m = c->req->method;
	const char *name = c->nseg > 1 ? c->seg[1] : NULL;
	struct fs_err err;

	if (c->nseg == 1) {
		if (strcmp(m, "GET") == 0)
			list(c);
		else if (strcmp(m, "POST") == 0)
			add(c);
		else
			method_not_allowed(c, "GET, POST");
		return;
	}
	if (!pairing_name_valid(name)) {
		http_response_error(c->resp, 404, "no such pairing");
		return;
	}
	if (c->nseg == 2) {
		if (strcmp(m, "GET") == 0)
			show(c, name);
		else if (strcmp(m, "PATCH") == 0)
			edit(c, name);
		else if (strcmp(m, "DELETE") == 0) {
			fs_err_clear(&err);
			if (api_body(c, NULL) == -1)
				return;
			if (pairing_remove(c->a->s, name, &err) == -1)
				return api_fail(c, &err);
			api_done(c);
		} else
			method_not_allowed(c, "GET, PATCH, DELETE");
		return;
	}
	if (c->nseg == 3 && strcmp(c->seg[2], "sync") == 0)
		job(c, name, JOB_SYNC);
	else if (c->nseg == 3 && strcmp(c->seg[2], "test") == 0)
		job(c, name, JOB_TEST);
	else if (c->nseg == 3 && strcmp(c->seg[2], "map") == 0) {
		if (strcmp(m, "GET") == 0)
			map_show(c, name);
		else if (strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 ||
		    strcmp(m, "DELETE") == 0)
			map_change(c, name);
		else
			method_not_allowed(c, "GET, POST, PATCH, DELETE");
	} else
		http_response_error(c->resp, 404, "no such API route");
}
