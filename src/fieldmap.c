/* fieldmap.c - field maps of pairings; see fieldmap.h. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appschema.h"
#include "catalog.h"
#include "fieldmap.h"
#include "pairing.h"
#include "pairstate.h"
#include "util.h"
#include "value.h"

/*
 * The end of the log when a field's mapping changes (sql/004): its
 * changes up to there may not have reached the peer under the new one.
 */
#define LOG_END "(SELECT coalesce(max(seq), 0) FROM _fs_log)"

static const char *const mode_names[] = {
	[FS_MODE_OFF] = "off", [FS_MODE_TWO_WAY] = "two-way",
	[FS_MODE_UPLOAD] = "upload", [FS_MODE_DOWNLOAD] = "download",
};

int
fieldmap_mode_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s != NULL && strcmp(s, mode_names[i]) == 0)
			return i;
	return -1;
}

const char *
fieldmap_mode_name(int mode)
{
	return mode >= 0 && mode < 4 ? mode_names[mode] : "?";
}

int
fieldmap_mode_sends(int mode)
{
	return mode == FS_MODE_TWO_WAY || mode == FS_MODE_UPLOAD;
}

int
fieldmap_mode_receives(int mode)
{
	return mode == FS_MODE_TWO_WAY || mode == FS_MODE_DOWNLOAD;
}

int
fieldmap_can_flow(int from, int to)
{
	return fieldmap_mode_sends(from) && fieldmap_mode_receives(to);
}

/*
 * Whether column col of enrolled table t exists in the app table but has
 * no field number: 1 not yet (ALTER TABLE ADD COLUMN after "table add"),
 * 2 never (a generated column); else 0.
 */
static int
new_column(struct store *s, const struct catalog_table *t, const char *col)
{
	struct app_table *a;
	int ret, ci;

	if (catalog_field_by_name(t, col) != NULL ||
	    (a = appschema_table(s, t->name, NULL)) == NULL)
		return 0;
	ci = appschema_column(a, col);
	/* pragma_table_xinfo: hidden 2 and 3 are generated columns. */
	ret = ci < 0 ? 0 : a->cols[ci].hidden == 0 ? 1 :
	    a->cols[ci].hidden >= 2 ? 2 : 0;
	appschema_table_free(a);
	return ret;
}

/*
 * Resolve TABLE.COLUMN.  Table names may contain dots, so every dot is
 * tried as the separator and the enrolled table that matches wins.
 */
static int
resolve(struct store *s, const char *tc, struct catalog_table **tp,
    const struct catalog_field **fp, struct fs_err *err)
{
	const char *dot;
	int found_table = 0, k;

	for (dot = strchr(tc, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		char *tname = xstrndup(tc, (size_t)(dot - tc));
		struct catalog_table *t = catalog_table_get(s, tname, NULL);

		free(tname);
		if (t == NULL)
			continue;
		if (!found_table && (k = new_column(s, t, dot + 1)) != 0) {
			int ret = k == 2 ? fs_err_set(err, FS_EINVAL, "%s is a "
			    "generated column: SQLite computes it on each side "
			    "from the others, so it has no field number", tc) :
			    fs_err_set(err, FS_ENOTFOUND, "%s was added to "
			    "the table after it was enrolled: run 'fieldsync "
			    "table add %s' to number it", tc, t->name);

			catalog_table_free(t);
			return ret;
		}
		found_table = 1;
		if ((*fp = catalog_field_by_name(t, dot + 1)) != NULL) {
			if (strcmp((*fp)->role, "rowid") == 0) {
				catalog_table_free(t);
				return fs_err_set(err, FS_EINVAL, "%s is the "
				    "row id, which is never synced", tc);
			}
			*tp = t;
			return 0;
		}
		catalog_table_free(t);
	}
	if (strchr(tc, '.') == NULL)
		return fs_err_set(err, FS_EINVAL, "expected TABLE.COLUMN, got "
		    "%s", tc);
	if (found_table)
		return fs_err_set(err, FS_ENOTFOUND, "no such column: %s", tc);
	return fs_err_set(err, FS_ENOTFOUND, "no enrolled table in %s "
	    "(enrol it with 'fieldsync table add')", tc);
}

/*
 * A passive field's link to the active side's field number: one column
 * per number (two would write each other's values into one column of
 * the peer), and a number the active side publishes, when its catalogue
 * is known (a field it mapped since then is known after its next pass).
 */
static int
check_link(struct store *s, const struct pairing *p, int64_t fid,
    int64_t remote_fid, struct fs_err *err)
{
	sqlite3_stmt *st;
	cJSON *cat, *e;
	struct fs_err e2;
	int rc, found = 0;

	st = store_prepare(s, "SELECT t.name, f.name FROM _fs_map m JOIN "
	    "_fs_field f USING (fid) JOIN _fs_table t USING (tid) WHERE "
	    "m.pid = ?1 AND m.remote_fid = ?2 AND m.fid <> ?3", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, p->pid);
	sqlite3_bind_int64(st, 2, remote_fid);
	sqlite3_bind_int64(st, 3, fid);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fs_err_set(err, FS_EEXIST, "the active side's field %" PRId64
		    " is already linked to %s.%s in %s: one column each (remove "
		    "that link first)", remote_fid, sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), p->name);
	else if (rc != SQLITE_DONE)
		store_dberr(s, err, "read map");
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	fs_err_clear(&e2);
	if ((cat = pairstate_peer_catalog(s, p->pid, &e2)) == NULL) {
		if (e2.code == FS_ENOTFOUND)
			return 0;	/* not published yet: nothing to check */
		if (err)
			*err = e2;
		return -1;
	}
	cJSON_ArrayForEach(e, cat) {
		cJSON *f = cJSON_GetObjectItem(e, "field");

		if (cJSON_IsNumber(f) && f->valuedouble == (double)remote_fid)
			found = 1;
	}
	cJSON_Delete(cat);
	if (!found)
		return fs_err_set(err, FS_ENOTFOUND, "the active side of %s "
		    "publishes no field %" PRId64 " (see 'fieldsync map list "
		    "%s' here, or on the active side; a field it mapped since "
		    "its last pass is known after its next one)", p->name,
		    remote_fid, p->name);
	return 0;
}

int
fieldmap_add(struct store *s, const char *pair, const char *tc, int mode,
    int64_t remote_fid, int64_t *fid, struct fs_err *err)
{
	struct pairing *p = NULL;
	struct catalog_table *t = NULL;
	const struct catalog_field *f;
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (store_check_ready(s, err) == -1)
		return -1;
	if (mode < 0)
		return fs_err_set(err, FS_EINVAL, "mode must be two-way, "
		    "upload, download or off");
	if ((p = pairing_get(s, pair, err)) == NULL)
		return -1;
	if (strcmp(p->role, "active") == 0 && remote_fid != -1) {
		fs_err_set(err, FS_EINVAL, "a remote field is for passive "
		    "pairings: the active side's field numbers are the wire "
		    "contract");
		goto out;
	}
	if (remote_fid != -1 && remote_fid < 1) {
		fs_err_set(err, FS_EINVAL, "a remote field must be a positive "
		    "field number");
		goto out;
	}
	if (resolve(s, tc, &t, &f, err) == -1)
		goto out;
	if (remote_fid != -1 && check_link(s, p, f->fid, remote_fid,
	    err) == -1)
		goto out;
	st = store_prepare(s, "INSERT INTO _fs_map(pid, fid, mode, remote_fid, "
	    "floor_seq, remap_seq) VALUES (?1, ?2, ?3, ?4, " LOG_END ", "
	    LOG_END ")", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, p->pid);
	sqlite3_bind_int64(st, 2, f->fid);
	sqlite3_bind_text(st, 3, fieldmap_mode_name(mode), -1, SQLITE_STATIC);
	if (remote_fid != -1)
		sqlite3_bind_int64(st, 4, remote_fid);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(s->db) ==
		    SQLITE_CONSTRAINT_PRIMARYKEY)
			fs_err_set(err, FS_EEXIST, "%s is already mapped in %s "
			    "(use 'map set')", tc, pair);
		else
			store_dberr(s, err, "map field");
		goto out;
	}
	if (fid)
		*fid = f->fid;
	/* Everything goes again so the newly mapped field catches up. */
	ret = pairstate_map_changed(s, p->pid, err);
out:
	sqlite3_finalize(st);
	catalog_table_free(t);
	pairing_free(p);
	return ret;
}

/* 1 when field fid is mapped in pairing pid, 0 when not, -1 on error. */
static int
mapped(struct store *s, int64_t pid, int64_t fid)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT 1 FROM _fs_map WHERE "
	    "pid = ?1 AND fid = ?2", NULL);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, fid);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * A map entry whose column is gone (renamed or dropped, then "table add")
 * or whose table is no longer enrolled, by the TABLE.COLUMN it was made
 * for: 0 when there is none.  map list warns of such entries; set and
 * remove must reach them.
 */
static int64_t
stale_fid(struct store *s, int64_t pid, const char *tc)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT m.fid FROM _fs_map m JOIN "
	    "_fs_field f USING (fid) JOIN _fs_table t ON t.tid = f.tid WHERE "
	    "m.pid = ?1 AND t.name || '.' || f.name = ?2 AND NOT (f.present "
	    "AND t.enrolled)", NULL);
	int64_t fid = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, tc, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		fid = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return fid;
}

static int
change(struct store *s, const char *pair, const char *tc, const char *sql,
    int mode, struct fs_err *err)
{
	struct pairing *p = NULL;
	struct catalog_table *t = NULL;
	const struct catalog_field *f;
	sqlite3_stmt *st = NULL;
	struct fs_err e;
	int64_t fid;
	int ret = -1;

	if (store_check_ready(s, err) == -1)
		return -1;
	if ((p = pairing_get(s, pair, err)) == NULL)
		return -1;
	fs_err_clear(&e);
	if (resolve(s, tc, &t, &f, &e) == 0)
		fid = f->fid;
	else if (e.code != FS_ENOTFOUND ||
	    (fid = stale_fid(s, p->pid, tc)) == 0) {
		if (err)
			*err = e;
		goto out;
	}
	if ((st = store_prepare(s, sql, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, p->pid);
	sqlite3_bind_int64(st, 2, fid);
	if (mode >= 0)
		sqlite3_bind_text(st, 3, fieldmap_mode_name(mode), -1,
		    SQLITE_STATIC);
	if (store_step_done(s, st, err) == -1)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		if (mode >= 0 && mapped(s, p->pid, fid) == 1) {
			ret = 0;	/* it had that mode already */
			goto out;
		}
		fs_err_set(err, FS_ENOTFOUND, "%s is not mapped in %s", tc,
		    pair);
		goto out;
	}
	ret = pairstate_map_changed(s, p->pid, err);
out:
	sqlite3_finalize(st);
	catalog_table_free(t);
	pairing_free(p);
	return ret;
}

int
fieldmap_set(struct store *s, const char *pair, const char *tc, int mode,
    struct fs_err *err)
{
	if (mode < 0)
		return fs_err_set(err, FS_EINVAL, "mode must be two-way, "
		    "upload, download or off");
	/*
	 * The mode it has already changes nothing (change() then finds the
	 * row still mapped and leaves the cursors alone).
	 */
	return change(s, pair, tc, "UPDATE _fs_map SET mode = ?3, floor_seq = "
	    LOG_END ", remap_seq = " LOG_END " WHERE pid = ?1 AND fid = ?2 AND "
	    "mode IS NOT ?3", mode, err);
}

int
fieldmap_remove(struct store *s, const char *pair, const char *tc,
    struct fs_err *err)
{
	return change(s, pair, tc, "DELETE FROM _fs_map WHERE pid = ?1 AND "
	    "fid = ?2", -1, err);
}

/*
 * On a passive pairing: a linked field whose mode and the active side's
 * (its catalogue, as of its last hello) let nothing flow either way.
 */
static void
peer_flow_warning(const cJSON *cat, int64_t remote_fid, int mode,
    const char *tn, const char *cn, cJSON *warnings)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cat) {
		const cJSON *f = cJSON_GetObjectItem(e, "field");
		const cJSON *m = cJSON_GetObjectItem(e, "mode");
		int am;

		if (!cJSON_IsNumber(f) || f->valuedouble != (double)remote_fid)
			continue;
		if (!cJSON_IsString(m) || (am = fieldmap_mode_parse(
		    m->valuestring)) == -1)
			return;
		if (!fieldmap_can_flow(am, mode) && !fieldmap_can_flow(mode,
		    am))
			value_add_message(warnings, "%s.%s: the active side "
			    "has field %lld %s, this side %s; nothing flows",
			    tn, cn, (long long)remote_fid,
			    fieldmap_mode_name(am), fieldmap_mode_name(mode));
		return;
	}
}

cJSON *
fieldmap_list(struct store *s, const char *pair, struct fs_err *err)
{
	struct pairing *p;
	sqlite3_stmt *st;
	cJSON *o, *fields, *warnings, *cat = NULL;
	int rc, passive;

	if (store_check_ready(s, err) == -1)
		return NULL;
	if ((p = pairing_get(s, pair, err)) == NULL)
		return NULL;
	passive = strcmp(p->role, "passive") == 0;
	/* What the active side said of its modes, as of its last hello. */
	if (passive)
		cat = pairstate_peer_catalog(s, p->pid, NULL);
	st = store_prepare(s, "SELECT m.fid, t.name, f.name, f.decl_type, "
	    "m.mode, m.remote_fid, t.enrolled AND f.present, (SELECT count(*) "
	    "FROM _fs_map m2 WHERE m2.pid = m.pid AND m2.remote_fid = "
	    "m.remote_fid) FROM _fs_map m JOIN _fs_field f USING (fid) JOIN "
	    "_fs_table t USING (tid) WHERE m.pid = ?1 ORDER BY t.name, m.fid",
	    err);
	if (st == NULL) {
		cJSON_Delete(cat);
		pairing_free(p);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, p->pid);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pair", p->name);
	cJSON_AddStringToObject(o, "role", p->role);
	fields = cJSON_AddArrayToObject(o, "fields");
	warnings = cJSON_AddArrayToObject(o, "warnings");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *f = cJSON_CreateObject();
		const char *tn = (const char *)sqlite3_column_text(st, 1);
		const char *cn = (const char *)sqlite3_column_text(st, 2);
		const char *mode = (const char *)sqlite3_column_text(st, 4);
		int has_remote = sqlite3_column_type(st, 5) != SQLITE_NULL;

		cJSON_AddNumberToObject(f, "field",
		    (double)sqlite3_column_int64(st, 0));
		cJSON_AddStringToObject(f, "table", tn);
		cJSON_AddStringToObject(f, "column", cn);
		cJSON_AddStringToObject(f, "type",
		    (const char *)sqlite3_column_text(st, 3));
		cJSON_AddStringToObject(f, "mode", mode);
		if (has_remote)
			cJSON_AddNumberToObject(f, "remote_field",
			    (double)sqlite3_column_int64(st, 5));
		else
			cJSON_AddNullToObject(f, "remote_field");
		cJSON_AddItemToArray(fields, f);
		if (!sqlite3_column_int(st, 6))
			value_add_message(warnings,
			    "%s.%s: table or column no longer "
			    "enrolled; nothing flows", tn, cn);
		else if (strcmp(mode, "off") == 0)
			value_add_message(warnings,
			    "%s.%s: mode off; nothing flows", tn, cn);
		if (passive && !has_remote)
			value_add_message(warnings,
			    "%s.%s: not linked to an active field "
			    "(--remote-field N); nothing flows", tn, cn);
		if (passive && has_remote && sqlite3_column_int(st, 7) > 1)
			value_add_message(warnings,
			    "%s.%s: active field %lld is mapped "
			    "more than once", tn, cn,
			    (long long)sqlite3_column_int64(st, 5));
		if (passive && has_remote && cat != NULL &&
		    strcmp(mode, "off") != 0)
			peer_flow_warning(cat, sqlite3_column_int64(st, 5),
			    fieldmap_mode_parse(mode), tn, cn, warnings);
	}
	sqlite3_finalize(st);
	cJSON_Delete(cat);
	pairing_free(p);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(o);
		store_dberr(s, err, "list map");
		return NULL;
	}
	return o;
}
