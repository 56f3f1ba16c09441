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

/*
 * The copy's history is the original's: origin 0 (this instance) becomes
 * the old identity's own origin row everywhere an origin is kept, and
 * row 0 takes the new identity.
 */
static const char *const SQL_REIDENTIFY[] = {
	"UPDATE _fs_origin SET instance = ?2 WHERE id = 0",
	"INSERT INTO _fs_origin(id, instance) VALUES "
	    "((SELECT max(id) + 1 FROM _fs_origin), ?1)",
	"UPDATE _fs_log SET origin = (SELECT max(id) FROM _fs_origin) "
	    "WHERE origin = 0",
	"UPDATE _fs_conflict SET local_origin = (SELECT max(id) FROM "
	    "_fs_origin) WHERE local_origin = 0",
	"UPDATE _fs_conflict SET remote_origin = (SELECT max(id) FROM "
	    "_fs_origin) WHERE remote_origin = 0",
	"UPDATE _fs_clock SET sid_prefix = substr(?2, 1, 16) WHERE id = 1",
	"UPDATE _fs_meta SET value = ?2 WHERE key = 'instance_id'",
};

int
instance_new_identity(struct store *s, struct fs_err *err)
{
	unsigned char raw[16];
	char hex[33], *old = NULL;
	size_t i;

	if (store_check_ready(s, err) == -1)
		return -1;
	if (util_random(raw, sizeof raw) == -1)
		return fs_err_set(err, FS_EIO, "no random bytes");
	util_hex(raw, sizeof raw, hex);
	if (store_begin(s, err) == -1)
		return -1;
	if ((old = store_instance_id(s, err)) == NULL)
		goto fail;
	for (i = 0; i < sizeof SQL_REIDENTIFY / sizeof *SQL_REIDENTIFY; i++) {
		sqlite3_stmt *st = store_prepare(s, SQL_REIDENTIFY[i], err);
		int v;

		if (st == NULL)
			goto fail;
		if (sqlite3_bind_parameter_count(st) >= 1)
			sqlite3_bind_text(st, 1, old, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
		v = store_step_done(s, st, err);
		sqlite3_finalize(st);
		if (v == -1)
			goto fail;
	}
	free(old);
	return store_commit(s, err);
fail:
	free(old);
	store_rollback(s);
	return -1;
}

int
instance_check_peer(const char *own, const char *peer, const char *who,
    struct fs_err *err)
{
	if (own == NULL || peer == NULL || strcmp(own, peer) != 0)
		return 0;
	return fs_err_set(err, FS_ECONFLICT, "%s has this instance's own "
	    "identity %s: one database is a copy of the other; run "
	    "'fieldsync -d COPY init --new-identity' on the copy", who, own);
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
