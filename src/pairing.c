/* pairing.c - pairing configuration; see pairing.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "appschema.h"
#include "client.h"
#include "pairing.h"
#include "secret.h"
#include "util.h"

const char *const pairing_keys[] = {
	"interval", "policy", "enabled", "url", "deletes", "ca-file", NULL
};

#define SQL_PAIR_COLS \
    "SELECT pid, name, role, transport, url, secret, interval, policy, " \
    "enabled, deletes, ca_file FROM _fs_pair "
static const char SQL_PAIR_BY_NAME[] = SQL_PAIR_COLS "WHERE name = ?1";
static const char SQL_PAIR_BY_PID[] = SQL_PAIR_COLS "WHERE pid = ?1";

int
pairing_name_valid(const char *name)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > 64 ||
	    name[0] == '-' || name[0] == '.')
		return 0;
	for (const char *p = name; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void
pairing_free(struct pairing *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->role);
	free(p->transport);
	free(p->url);
	secret_free(p->secret);
	free(p->policy);
	free(p->deletes);
	free(p->ca_file);
	free(p);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static struct pairing *
load(struct store *s, sqlite3_stmt *st, const char *what, struct fs_err *err)
{
	struct pairing *p;
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			fs_err_set(err, FS_ENOTFOUND, "no such pairing: %s", what);
		else
			store_dberr(s, err, "read pairing");
		return NULL;
	}
	p = xcalloc(1, sizeof *p);
	p->pid = sqlite3_column_int64(st, 0);
	p->name = col_dup(st, 1);
	p->role = col_dup(st, 2);
	p->transport = col_dup(st, 3);
	p->url = col_dup(st, 4);
	p->secret = col_dup(st, 5);
	p->interval = sqlite3_column_int(st, 6);
	p->policy = col_dup(st, 7);
	p->enabled = sqlite3_column_int(st, 8);
	p->deletes = col_dup(st, 9);
	p->ca_file = col_dup(st, 10);
	return p;
}

struct pairing *
pairing_get(struct store *s, const char *name, struct fs_err *err)
{
	sqlite3_stmt *st;
	struct pairing *p;

	if ((st = store_stmt(s, SQL_PAIR_BY_NAME, err)) == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	p = load(s, st, name, err);
	sqlite3_reset(st);
	return p;
}

struct pairing *
pairing_get_pid(struct store *s, int64_t pid, struct fs_err *err)
{
	sqlite3_stmt *st;
	struct pairing *p;

	if ((st = store_stmt(s, SQL_PAIR_BY_PID, err)) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, pid);
	p = load(s, st, "(by id)", err);
	sqlite3_reset(st);
	return p;
}

static int
make_secret(const char *name, const char *role, const char *password,
    char out[FS_KEY_HEX], struct fs_err *err)
{
	char key[FS_KEY_HEX];
	int ret;

	if (secret_derive_key(password, key, err) == -1)
		return -1;
	if (strcmp(role, "active") == 0) {
		memcpy(out, key, FS_KEY_HEX);
		ret = 0;
	} else
		ret = secret_ha1(name, key, out, err);
	explicit_bzero(key, sizeof key);
	return ret;
}

int
pairing_add(struct store *s, const char *name, const char *role,
    const char *url, const char *password, int interval, struct fs_err *err)
{
	sqlite3_stmt *st = NULL;
	struct pairing *old;
	char secret[FS_KEY_HEX], now[64];
	int ret = -1, own_tx;

	if (store_check_ready(s, err) == -1)
		return -1;
	if (!pairing_name_valid(name))
		return fs_err_set(err, FS_EINVAL, "invalid pairing name: use "
		    "1-64 letters, digits, '.', '_' or '-', not starting with "
		    "'-' or '.'");
	if (strcmp(role, "active") != 0 && strcmp(role, "passive") != 0)
		return fs_err_set(err, FS_EINVAL, "role must be active or "
		    "passive");
	if (strcmp(role, "active") == 0) {
		if (client_url_check(url, err) == -1)
			return -1;
	} else if (url != NULL)
		return fs_err_set(err, FS_EINVAL, "a passive pairing has no "
		    "URL: the active side connects to it");
	if (strcmp(role, "passive") == 0 && interval != -1)
		return fs_err_set(err, FS_EINVAL, "an interval is for active "
		    "pairings: the active side decides when to connect");
	if (interval == -1)
		interval = FS_DEFAULT_INTERVAL;
	if (interval < 1 || interval > 86400 * 7)
		return fs_err_set(err, FS_EINVAL, "interval must be 1 to "
		    "604800 seconds");
	if ((old = pairing_get(s, name, NULL)) != NULL) {
		pairing_free(old);
		return fs_err_set(err, FS_EEXIST, "pairing %s already exists",
		    name);
	}
	if (make_secret(name, role, password, secret, err) == -1)
		return -1;
	/* Inside a caller's transaction (the web API adds settings to the
	 * same one), that caller commits or rolls back. */
	own_tx = !s->in_tx;
	if (own_tx && store_begin(s, err) == -1)
		goto out;
	store_now_iso(now);
	st = store_prepare(s, "INSERT INTO _fs_pair(name, role, url, secret, "
	    "interval, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", err);
	if (st == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	if (url)
		sqlite3_bind_text(st, 3, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, secret, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, interval);
	sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
	if (store_step_done(s, st, err) == -1)
		goto fail;
	if (store_exec(s, "INSERT INTO _fs_pair_state(pid) VALUES "
	    "(last_insert_rowid())", err) == -1)
		goto fail;
	ret = own_tx ? store_commit(s, err) : 0;
	goto out;
fail:
	if (own_tx)
		store_rollback(s);
out:
	sqlite3_finalize(st);
	explicit_bzero(secret, sizeof secret);
	return ret;
}

int
pairing_set_password(struct store *s, const char *name, const char *password,
    struct fs_err *err)
{
	struct pairing *p;
	sqlite3_stmt *st;
	char secret[FS_KEY_HEX];
	int ret = -1;

	if ((p = pairing_get(s, name, err)) == NULL)
		return -1;
	if (make_secret(p->name, p->role, password, secret, err) == -1)
		goto out;
	if ((st = store_prepare(s, "UPDATE _fs_pair SET secret = ?1 WHERE "
	    "pid = ?2", err)) == NULL)
		goto out;
	sqlite3_bind_text(st, 1, secret, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->pid);
	ret = store_step_done(s, st, err);
	sqlite3_finalize(st);
out:
	explicit_bzero(secret, sizeof secret);
	pairing_free(p);
	return ret;
}

int
pairing_remove(struct store *s, const char *name, struct fs_err *err)
{
	struct pairing *p;
	sqlite3_stmt *st;
	static const char *const sql[] = {
		/* Its links stay, for the same peer paired again (sql/006). */
		"INSERT OR REPLACE INTO _fs_pair_gone(pid, peer_instance) "
		"SELECT pid, peer_instance FROM _fs_pair_state WHERE pid = ?1 "
		"AND peer_instance IS NOT NULL AND EXISTS (SELECT 1 FROM "
		"_fs_link WHERE pid = ?1)",
		"DELETE FROM _fs_map WHERE pid = ?1",
		"DELETE FROM _fs_pair_state WHERE pid = ?1",
		"DELETE FROM _fs_pair WHERE pid = ?1",
	};

	if (store_check_ready(s, err) == -1)
		return -1;
	if ((p = pairing_get(s, name, err)) == NULL)
		return -1;
	if (store_begin(s, err) == -1) {
		pairing_free(p);
		return -1;
	}
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		if ((st = store_prepare(s, sql[i], err)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, p->pid);
		if (store_step_done(s, st, err) == -1) {
			sqlite3_finalize(st);
			goto fail;
		}
		sqlite3_finalize(st);
	}
	pairing_free(p);
	return store_commit(s, err);
fail:
	pairing_free(p);
	store_rollback(s);
	return -1;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
	    strcmp(v, "true") == 0 || strcmp(v, "on") == 0)
		*out = 1;
	else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 ||
	    strcmp(v, "false") == 0 || strcmp(v, "off") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

int
pairing_set(struct store *s, const char *name, const char *key,
    const char *value, struct fs_err *err)
{
	struct pairing *p;
	sqlite3_stmt *st = NULL;
	const char *col;
	long long n = 0;
	int b, is_int = 0, ret = -1;

	if (store_check_ready(s, err) == -1)
		return -1;
	if ((p = pairing_get(s, name, err)) == NULL)
		return -1;
	if (strcmp(key, "interval") == 0) {
		if (strcmp(p->role, "active") != 0) {
			fs_err_set(err, FS_EINVAL, "an interval is for active "
			    "pairings: the active side decides when to "
			    "connect");
			goto out;
		}
		if (util_parse_int(value, 1, 604800, &n) == -1) {
			fs_err_set(err, FS_EINVAL, "interval must be 1 to "
			    "604800 seconds");
			goto out;
		}
		col = "interval";
		is_int = 1;
	} else if (strcmp(key, "policy") == 0) {
		if (strcmp(value, "newest") != 0 && strcmp(value, "active") != 0
		    && strcmp(value, "passive") != 0) {
			fs_err_set(err, FS_EINVAL, "policy must be newest, "
			    "active or passive");
			goto out;
		}
		col = "policy";
	} else if (strcmp(key, "enabled") == 0) {
		if (parse_bool(value, &b) == -1) {
			fs_err_set(err, FS_EINVAL, "enabled must be yes or no");
			goto out;
		}
		n = b;
		col = "enabled";
		is_int = 1;
	} else if (strcmp(key, "url") == 0) {
		if (strcmp(p->role, "active") != 0) {
			fs_err_set(err, FS_EINVAL, "only an active pairing has "
			    "a url");
			goto out;
		}
		if (client_url_check(value, err) == -1)
			goto out;
		col = "url";
	} else if (strcmp(key, "deletes") == 0) {
		if (strcmp(value, "soft") != 0 && strcmp(value, "hard") != 0) {
			fs_err_set(err, FS_EINVAL, "deletes must be soft or hard");
			goto out;
		}
		col = "deletes";
	} else if (strcmp(key, "ca-file") == 0) {
		if (*value != '\0' && access(value, R_OK) != 0) {
			fs_err_set(err, FS_EINVAL, "cannot read CA file %s",
			    value);
			goto out;
		}
		col = "ca_file";
	} else {
		fs_err_set(err, FS_EINVAL, "unknown key %s: use interval, "
		    "policy, enabled, url, deletes, ca-file or password-file",
		    key);
		goto out;
	}
	{
		char sql[128];

		snprintf(sql, sizeof sql, "UPDATE _fs_pair SET %s = ?1 "
		    "WHERE pid = ?2", col);
		if ((st = store_prepare(s, sql, err)) == NULL)
			goto out;
	}
	if (is_int)
		sqlite3_bind_int64(st, 1, n);
	else if (strcmp(col, "ca_file") == 0 && *value == '\0')
		sqlite3_bind_null(st, 1);
	else
		sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->pid);
	ret = store_step_done(s, st, err);
out:
	sqlite3_finalize(st);
	pairing_free(p);
	return ret;
}

cJSON *
pairing_json(const struct pairing *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "role", p->role);
	cJSON_AddStringToObject(o, "transport", p->transport);
	if (p->url)
		cJSON_AddStringToObject(o, "url", p->url);
	else
		cJSON_AddNullToObject(o, "url");
	cJSON_AddNumberToObject(o, "interval", p->interval);
	cJSON_AddStringToObject(o, "policy", p->policy);
	cJSON_AddBoolToObject(o, "enabled", p->enabled);
	cJSON_AddStringToObject(o, "deletes", p->deletes);
	if (p->ca_file)
		cJSON_AddStringToObject(o, "ca_file", p->ca_file);
	else
		cJSON_AddNullToObject(o, "ca_file");
	return o;
}

char **
pairing_names(struct store *s, struct fs_err *err)
{
	sqlite3_stmt *st;
	char **v = xcalloc(1, sizeof *v);
	int n = 0, rc;

	if ((st = store_prepare(s, "SELECT name FROM _fs_pair ORDER BY name",
	    err)) == NULL) {
		free(v);
		return NULL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((v = realloc(v, (size_t)(n + 2) * sizeof *v)) == NULL)
			abort();
		v[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
		v[n] = NULL;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		appschema_strv_free(v);
		store_dberr(s, err, "list pairings");
		return NULL;
	}
	return v;
}

cJSON *
pairing_list(struct store *s, struct fs_err *err)
{
	char **names;
	cJSON *arr;

	if (store_check_ready(s, err) == -1)
		return NULL;
	if ((names = pairing_names(s, err)) == NULL)
		return NULL;
	arr = cJSON_CreateArray();
	for (char **n = names; *n; n++) {
		struct pairing *p = pairing_get(s, *n, err);

		if (p == NULL) {
			cJSON_Delete(arr);
			appschema_strv_free(names);
			return NULL;
		}
		cJSON_AddItemToArray(arr, pairing_json(p));
		pairing_free(p);
	}
	appschema_strv_free(names);
	return arr;
}
