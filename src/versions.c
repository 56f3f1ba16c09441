/* versions.c - current field versions of a record; see versions.h. */
#include "config.h"

#include "versions.h"

/* The (rid, fid, seq) index answers this with one seek from its end. */
static const char SQL_NEWEST[] =
    "SELECT seq, hlc, origin, src, kind FROM _fs_log WHERE rid = ?1 AND "
    "fid = ?2 ORDER BY seq DESC LIMIT 1";

/*
 * A field's version before the row at seq: its newer row or the record's
 * (re-)creation row, whichever is newer; two seeks in one index page.
 */
static const char SQL_PRIOR[] =
    "SELECT hlc, origin FROM _fs_log WHERE rid = ?1 AND fid IN (0, ?2) "
    "AND seq < ?3 ORDER BY seq DESC LIMIT 1";

int
versions_prior(struct store *s, int64_t rid, int64_t fid, int64_t seq,
    int64_t *hlc, int64_t *origin, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_PRIOR, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, fid);
	sqlite3_bind_int64(st, 3, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*hlc = sqlite3_column_int64(st, 0);
		*origin = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(s, err, "read versions");
	return rc == SQLITE_ROW;
}

/*
 * The newest version before seq of those that came through pairing pid:
 * the peer's own last word on the field.  (What the peer acknowledged is
 * no proof it had it: a field it did not take then is acknowledged too.)
 */
static const char SQL_KNOWN[] =
    "SELECT hlc, origin FROM _fs_log WHERE rid = ?1 AND fid IN (0, ?2) "
    "AND seq < ?3 AND src = ?4 ORDER BY seq DESC LIMIT 1";

int
versions_known(struct store *s, int64_t rid, int64_t fid, int64_t seq,
    int64_t pid, int64_t *hlc, int64_t *origin, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_KNOWN, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, fid);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_int64(st, 4, pid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*hlc = sqlite3_column_int64(st, 0);
		*origin = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(s, err, "read versions");
	return rc == SQLITE_ROW;
}

int
versions_get(struct store *s, int64_t rid, struct version *v, int n,
    struct fs_err *err)
{
	sqlite3_stmt *st;

	for (int i = 0; i < n; i++) {
		int rc;

		if ((st = store_stmt(s, SQL_NEWEST, err)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, rid);
		sqlite3_bind_int64(st, 2, v[i].fid);
		rc = sqlite3_step(st);
		v[i].found = rc == SQLITE_ROW;
		if (v[i].found) {
			v[i].seq = sqlite3_column_int64(st, 0);
			v[i].hlc = sqlite3_column_int64(st, 1);
			v[i].origin = sqlite3_column_int64(st, 2);
			v[i].has_src = sqlite3_column_type(st, 3) !=
			    SQLITE_NULL;
			v[i].src = sqlite3_column_int64(st, 3);
			v[i].kind = sqlite3_column_int(st, 4) & 3;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_dberr(s, err, "read versions");
	}
	return 0;
}

struct version *
versions_find(struct version *v, int n, int64_t fid)
{
	for (int i = 0; i < n; i++)
		if (v[i].fid == fid && v[i].found)
			return &v[i];
	return NULL;
}
