/* instance.c - init and identity; see instance.h. */
#include "config.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "ident.h"
#include "instance.h"
#include "util.h"

int
instance_init(struct store *s, const char *name, int *created,
    struct fs_err *err)
{
	char *id = NULL, *cur = NULL;
	int v;

	if (name != NULL && !ident_plausible(name))
		return fs_err_set(err, FS_EINVAL, "invalid instance name");
	if ((v = store_schema_version(s, err)) == -1)
		return -1;
	if (v > FS_SCHEMA_VERSION)
		return store_check_ready(s, err);
	*created = v == 0;
	/* WAL cannot be switched on inside a transaction. */
	if (store_exec(s, "PRAGMA journal_mode = WAL", err) == -1)
		return -1;
	if (store_begin(s, err) == -1)
		return -1;
	if (store_migrate(s, err) == -1)
		goto fail;
	if ((id = store_meta_get(s, "instance_id", NULL)) == NULL) {
		unsigned char raw[16];
		char hex[33];
		sqlite3_stmt *st;

		if (util_random(raw, sizeof raw) == -1) {
			fs_err_set(err, FS_EIO, "no random bytes");
			goto fail;
		}
		util_hex(raw, sizeof raw, hex);
		if (store_meta_set(s, "instance_id", hex, err) == -1)
			goto fail;
		st = store_prepare(s, "INSERT INTO _fs_origin(id, instance) "
		    "VALUES (0, ?1)", err);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		v = store_step_done(s, st, err);
		sqlite3_finalize(st);
		if (v == -1)
			goto fail;
		st = store_prepare(s, "INSERT INTO _fs_clock(id, hlc, sid_prefix) "
		    "VALUES (1, " CAPTURE_HLC_NOW ", substr(?1, 1, 16))", err);
		if (st == NULL)
			goto fail;
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		v = store_step_done(s, st, err);
		sqlite3_finalize(st);
		if (v == -1)
			goto fail;
	}
	cur = store_meta_get(s, "name", NULL);
	if (name != NULL || cur == NULL) {
		char *copy = xstrdup(s->path), *base = basename(copy);
		char *dot = strrchr(base, '.');

		if (dot != NULL && dot != base)
			*dot = '\0';
		v = store_meta_set(s, "name", name ? name : base, err);
		free(copy);
		if (v == -1)
			goto fail;
	}
	free(id);
	free(cur);
	return store_commit(s, err);
fail:
	free(id);
	free(cur);
	store_rollback(s);
	return -1;
}

cJSON *
instance_info(struct store *s, struct fs_err *err)
{
	cJSON *o;
	char *id, *name;

	if (store_check_ready(s, err) == -1)
		return NULL;
	if ((id = store_instance_id(s, err)) == NULL)
		return NULL;
	name = store_meta_get(s, "name", NULL);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "instance", id);
	cJSON_AddStringToObject(o, "name", name ? name : "");
	cJSON_AddNumberToObject(o, "schema_version",
	    store_schema_version(s, NULL));
	cJSON_AddStringToObject(o, "database", s->path);
	free(id);
	free(name);
	return o;
}
