/* syncmap.c - loading a pairing's map for an exchange; see syncmap.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "appschema.h"
#include "buf.h"
#include "capture.h"
#include "fieldmap.h"
#include "ident.h"
#include "syncmap.h"
#include "util.h"

static const char SQL_MAP[] =
    "SELECT m.fid, coalesce(m.remote_fid, CASE WHEN p.role = 'active' THEN "
    "m.fid END), m.mode, f.name, f.role, t.tid, t.name, t.match_cols, "
    "(SELECT k.name FROM _fs_field k WHERE k.tid = t.tid AND k.role = "
    "'rowid' AND k.present = 1), t.added_col, m.floor_seq "
    "FROM _fs_map m JOIN _fs_pair p USING (pid) JOIN _fs_field f USING "
    "(fid) JOIN _fs_table t USING (tid) WHERE m.pid = ?1 AND t.enrolled = 1 "
    "AND f.present = 1 AND m.mode <> 'off' ORDER BY t.tid, m.fid";

static void
syncmap_destroy(struct syncmap *m)
{
	for (int i = 0; i < m->nfields; i++) {
		free(m->fields[i].col);
		sqlite3_finalize(m->fields[i].update);
	}
	for (int i = 0; i < m->ntables; i++) {
		struct synctable *t = &m->tables[i];

		free(t->name);
		free(t->qname);
		free(t->qkey);
		free(t->key);
		free(t->added_col);
		free(t->fields);
		sqlite3_finalize(t->read);
		sqlite3_finalize(t->match_q);
		sqlite3_finalize(t->taken_q);
		sqlite3_finalize(t->insert);
		free(t->ins_fids);
		if (t->match)
			for (char **p = t->match; *p; p++)
				free(*p);
		free(t->match);
	}
	free(m->fields);
	free(m->tables);
	free(m->peer_fields);
	free(m);
}

static char **
parse_match(const char *json)
{
	cJSON *arr, *it;
	char **v;
	int n = 0;

	if (json == NULL || (arr = cJSON_Parse(json)) == NULL)
		return NULL;
	v = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *v);
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			v[n++] = xstrdup(it->valuestring);
	cJSON_Delete(arr);
	return v;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
load_peer_catalog(struct store *s, struct syncmap *m, struct fs_err *err)
{
	sqlite3_stmt *st;
	cJSON *cat = NULL, *it;
	int rc, cap = 64;

	if (m->active) {
		/* Wire numbers are ours: every field number this side has. */
		st = store_prepare(s, "SELECT fid FROM _fs_field ORDER BY fid",
		    err);
		if (st == NULL)
			return -1;
		m->peer_fields = xcalloc((size_t)cap, sizeof *m->peer_fields);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (m->npeer_fields == cap) {
				cap *= 2;
				m->peer_fields = realloc(m->peer_fields,
				    (size_t)cap * sizeof *m->peer_fields);
				if (m->peer_fields == NULL)
					abort();
			}
			m->peer_fields[m->npeer_fields++] =
			    sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? 0 : store_dberr(s, err, "fields");
	}
	st = store_prepare(s, "SELECT peer_catalog FROM _fs_pair_state WHERE "
	    "pid = ?1", err);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, m->pair->pid);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		cat = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (cat == NULL)
		return 0;
	m->peer_fields = xcalloc((size_t)cJSON_GetArraySize(cat) + 1,
	    sizeof *m->peer_fields);
	cJSON_ArrayForEach(it, cat) {
		cJSON *f = cJSON_GetObjectItem(it, "field");

		if (cJSON_IsNumber(f))
			m->peer_fields[m->npeer_fields++] = (int64_t)f->valuedouble;
	}
	qsort(m->peer_fields, (size_t)m->npeer_fields, sizeof *m->peer_fields,
	    cmp_i64);
	cJSON_Delete(cat);
	return 0;
}

/*
 * The columns this map names must all still be in the table.  After
 * ALTER TABLE ... RENAME COLUMN, SQLite rewrites our triggers to the
 * new name, but takes the old one in double quotes for a string: the
 * peer would be sent the column's name as its value.
 */
static int
check_columns(struct store *s, const struct synctable *t,
    struct fs_err *err)
{
	struct app_table *a = appschema_table(s, t->name, err);
	const char *gone = NULL;

	if (a == NULL)
		return -1;
	for (int i = 0; i < t->nfields && gone == NULL; i++)
		if (appschema_column(a, t->fields[i]->col) < 0)
			gone = t->fields[i]->col;
	if (gone == NULL && t->key != NULL && appschema_column(a, t->key) < 0)
		gone = t->key;
	for (char **m = t->match; gone == NULL && m && *m; m++)
		if (appschema_column(a, *m) < 0)
			gone = *m;
	if (gone != NULL)
		fs_err_set(err, FS_ESCHEMA, "column %s.%s is no longer in the "
		    "table (renamed or dropped?): the table does not sync "
		    "until 'fieldsync table add %s' has recorded its columns "
		    "again and the pairing maps the new name", t->name, gone,
		    t->name);
	for (int i = 0; i < t->nfields && gone == NULL; i++) {
		/* Renamed, and a new column took the old name. */
		char *other = capture_follows(s, t->tid, t->fields[i]->fid,
		    t->fields[i]->col);

		if (other == NULL)
			continue;
		gone = t->fields[i]->col;
		fs_err_set(err, FS_ESCHEMA, "column %s.%s was renamed to %s and "
		    "a new column took its name: the table does not sync until "
		    "'fieldsync table add %s' has given the field to %s, which "
		    "holds its data", t->name, gone, other, t->name, other);
		free(other);
	}
	appschema_table_free(a);
	return gone != NULL ? -1 : 0;
}

static int
prepare_table(struct store *s, struct synctable *t, struct fs_err *err)
{
	struct buf b;
	int n = 0, lost;

	/*
	 * Checked when the map is loaded, which is when the schema changed:
	 * without its triggers nothing written to the table is recorded,
	 * neither the app's changes nor those sync applies.
	 */
	if ((lost = capture_missing(s, t->tid, t->name, err)) == -1)
		return -1;
	if (lost > 0) {
		char *to = capture_moved_to(s, t->tid, t->name);

		if (to != NULL) {
			fs_err_set(err, FS_ESCHEMA, "table %s was renamed to %s "
			    "(its capture triggers moved with it): the table "
			    "does not sync until 'fieldsync table add %s' "
			    "follows it; its records keep their identities",
			    t->name, to, to);
			free(to);
			return -1;
		}
	}
	if (lost > 0)
		return fs_err_set(err, FS_ESCHEMA, "table %s has lost %d of "
		    "its capture triggers (did the app rebuild it?): changes "
		    "to it are not recorded; run 'fieldsync table add %s'",
		    t->name, lost, t->name);
	if (check_columns(s, t, err) == -1)
		return -1;

	/* Qualified (a.x): a name SQLite does not know is then an error. */
	buf_init(&b, 0);
	buf_addstr(&b, "SELECT ");
	for (int i = 0; i < t->nfields; i++) {
		struct syncfield *f = t->fields[i];

		buf_addstr(&b, n > 0 ? ", a." : "a.");
		ident_quote(&b, f->col);
		f->col_idx = n++;
	}
	if (n == 0)
		buf_addstr(&b, "NULL");
	buf_printf(&b, " FROM %s a WHERE a.%s = ?1", t->qname, t->qkey);
	t->read = store_prepare(s, b.data, err);
	buf_free(&b);
	if (t->read == NULL)
		return -1;
	return 0;
}

void
syncmap_free(struct syncmap *m)
{
	if (m == NULL)
		return;
	if (m->cached) {
		m->pair = NULL;
		return;
	}
	syncmap_destroy(m);
}

/*
 * Out of the cache: destroyed now, or by its holder's syncmap_free when
 * an exchange still uses it (pair is set while a caller holds it).
 */
static void
drop(struct syncmap *m)
{
	if (m->pair != NULL)
		m->cached = 0;
	else
		syncmap_destroy(m);
}

static void
cache_free(void *head)
{
	struct syncmap *m = head;

	while (m != NULL) {
		struct syncmap *next = m->next;

		syncmap_destroy(m);
		m = next;
	}
}

static const char SQL_SCHEMA_VERSION[] = "PRAGMA schema_version";

struct syncmap *
syncmap_get(struct store *s, const struct pairing *p, int64_t epoch,
    struct fs_err *err)
{
	struct syncmap **pp, *m;
	sqlite3_stmt *st = store_stmt(s, SQL_SCHEMA_VERSION, err);
	int64_t schema;

	if (st == NULL)
		return NULL;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		store_dberr(s, err, "schema version");
		return NULL;
	}
	schema = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	for (pp = (struct syncmap **)&s->maps; (m = *pp) != NULL;
	    pp = &m->next) {
		if (m->key_pid != p->pid)
			continue;
		if (m->key_epoch == epoch && m->key_schema == schema &&
		    m->active == (strcmp(p->role, "active") == 0)) {
			m->pair = (struct pairing *)p;
			return m;
		}
		*pp = m->next;	/* stale: load it again */
		drop(m);
		break;
	}
	if ((m = syncmap_load(s, p, err)) == NULL)
		return NULL;
	m->cached = 1;
	m->key_pid = p->pid;
	m->key_epoch = epoch;
	m->key_schema = schema;
	m->next = s->maps;
	s->maps = m;
	s->maps_free = cache_free;
	return m;
}

void
syncmap_forget(struct store *s, int64_t pid)
{
	struct syncmap **pp, *m;

	for (pp = (struct syncmap **)&s->maps; (m = *pp) != NULL;
	    pp = &m->next) {
		if (m->key_pid == pid) {
			*pp = m->next;
			drop(m);
			return;
		}
	}
}

struct syncmap *
syncmap_load(struct store *s, const struct pairing *p, struct fs_err *err)
{
	struct syncmap *m = xcalloc(1, sizeof *m);
	sqlite3_stmt *st;
	int rc, cap = 0;

	m->pair = (struct pairing *)p;
	m->active = strcmp(p->role, "active") == 0;
	m->app_triggers = -1;
	if ((st = store_prepare(s, SQL_MAP, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, p->pid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct syncfield *f;

		if (sqlite3_column_type(st, 1) == SQLITE_NULL)
			continue;	/* passive field not linked yet */
		if (m->nfields == cap) {
			cap = cap ? cap * 2 : 16;
			m->fields = realloc(m->fields, (size_t)cap * sizeof *f);
			if (m->fields == NULL)
				abort();
		}
		f = &m->fields[m->nfields++];
		memset(f, 0, sizeof *f);
		f->fid = sqlite3_column_int64(st, 0);
		f->tid = sqlite3_column_int64(st, 5);
		f->wire = sqlite3_column_int64(st, 1);
		f->mode = fieldmap_mode_parse(
		    (const char *)sqlite3_column_text(st, 2));
		f->col = xstrdup((const char *)sqlite3_column_text(st, 3));
		f->is_status = strcmp((const char *)sqlite3_column_text(st, 4),
		    "status") == 0;
		f->is_added = strcmp((const char *)sqlite3_column_text(st, 4),
		    "added") == 0;
		f->floor = sqlite3_column_int64(st, 10);
		if (m->ntables == 0 || m->tables[m->ntables - 1].tid !=
		    sqlite3_column_int64(st, 5)) {
			struct synctable *t;

			m->tables = realloc(m->tables,
			    (size_t)(m->ntables + 1) * sizeof *t);
			if (m->tables == NULL)
				abort();
			t = &m->tables[m->ntables++];
			memset(t, 0, sizeof *t);
			t->tid = sqlite3_column_int64(st, 5);
			t->name = xstrdup((const char *)sqlite3_column_text(st, 6));
			t->qname = ident_quoted(t->name);
			t->match = parse_match(
			    (const char *)sqlite3_column_text(st, 7));
			/* Never "rowid": an app column may shadow that name. */
			t->qkey = ident_quoted(sqlite3_column_text(st, 8) ?
			    (const char *)sqlite3_column_text(st, 8) : "rowid");
			t->key = sqlite3_column_text(st, 8) ? xstrdup(
			    (const char *)sqlite3_column_text(st, 8)) : NULL;
			t->added_col = xstrdup(
			    (const char *)sqlite3_column_text(st, 9));
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_dberr(s, err, "load map");
		goto fail;
	}
	/* fields[] no longer moves: link fields and tables now. */
	for (int i = 0, ti = 0; i < m->nfields; i++) {
		struct syncfield *f = &m->fields[i];
		struct synctable *t;

		while (m->tables[ti].tid != f->tid)
			ti++;
		t = &m->tables[ti];
		t->fields = realloc(t->fields,
		    (size_t)(t->nfields + 1) * sizeof *t->fields);
		if (t->fields == NULL)
			abort();
		t->fields[t->nfields++] = f;
		f->table = t;
		if (f->is_status)
			t->status_fid = f->fid;
	}
	for (int i = 0; i < m->ntables; i++)
		if (prepare_table(s, &m->tables[i], err) == -1)
			goto fail;
	if (load_peer_catalog(s, m, err) == -1)
		goto fail;
	return m;
fail:
	m->pair = NULL;
	syncmap_destroy(m);
	return NULL;
}

sqlite3_stmt *
syncmap_update_stmt(struct store *s, struct syncfield *f, struct fs_err *err)
{
	struct buf b;

	/* Prepared on first use: compiling an UPDATE compiles its triggers. */
	if (f->update != NULL) {
		sqlite3_reset(f->update);
		return f->update;
	}
	buf_init(&b, 0);
	buf_printf(&b, "UPDATE %s SET ", f->table->qname);
	ident_quote(&b, f->col);
	buf_printf(&b, " = ?1 WHERE %s.%s = ?2", f->table->qname,
	    f->table->qkey);
	f->update = store_prepare(s, b.data, err);
	buf_free(&b);
	return f->update;
}

struct syncfield *
syncmap_by_wire(const struct syncmap *m, int64_t wire)
{
	for (int i = 0; i < m->nfields; i++)
		if (m->fields[i].wire == wire)
			return &m->fields[i];
	return NULL;
}

struct syncfield *
syncmap_by_fid(const struct syncmap *m, int64_t fid)
{
	for (int i = 0; i < m->nfields; i++)
		if (m->fields[i].fid == fid)
			return &m->fields[i];
	return NULL;
}

struct synctable *
syncmap_table(const struct syncmap *m, int64_t tid)
{
	for (int i = 0; i < m->ntables; i++)
		if (m->tables[i].tid == tid)
			return &m->tables[i];
	return NULL;
}

int
syncmap_peer_has(const struct syncmap *m, int64_t wire)
{
	if (m->peer_fields == NULL)
		return 1;
	return bsearch(&wire, m->peer_fields, (size_t)m->npeer_fields,
	    sizeof wire, cmp_i64) != NULL;
}
