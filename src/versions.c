/* versions.c - current field versions of a record; see versions.h. */
#include "config.h"

#include <string.h>

#include "versions.h"

/* The (rid, fid, seq) index answers this with one seek from its end. */
static const char SQL_NEWEST[] =
    "SELECT seq, hlc, origin, src, kind FROM _fs_log WHERE rid = ?1 AND "
    "fid = ?2 ORDER BY seq DESC LIMIT 1";

/*
 * A field's version before the row at seq: its newer row or the record's
 * (re-)creation row, whichever is newer.  One seek each, from the end of
 * the field's rows in the (rid, fid, seq) index: a long history costs
 * nothing.
 */
static const char SQL_BEFORE[] =
    "SELECT seq, hlc, origin, src FROM _fs_log WHERE rid = ?1 AND fid = ?2 "
    "AND seq < ?3 ORDER BY seq DESC LIMIT 1";
/*
 * The rows before seq of the field that came through pairing pid: its
 * peer's last word.  Only the newest few rows are looked at, so that
 * the cost does not grow with the field's history.
 */
#define KNOWN_LOOK 8
static const char SQL_RECENT[] =
    "SELECT seq, hlc, origin, src FROM _fs_log WHERE rid = ?1 AND fid = ?2 "
    "AND seq < ?3 ORDER BY seq DESC LIMIT ?4";

static int
newest_before(struct store *s, int64_t rid, int64_t fid, int64_t seq,
    int64_t *at, int64_t *hlc, int64_t *origin, int64_t *src,
    struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_BEFORE, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, fid);
	sqlite3_bind_int64(st, 3, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*at = sqlite3_column_int64(st, 0);
		*hlc = sqlite3_column_int64(st, 1);
		*origin = sqlite3_column_int64(st, 2);
		*src = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(s, err, "read versions");
	return rc == SQLITE_ROW;
}

int
versions_prior(struct store *s, int64_t rid, int64_t fid, int64_t seq,
    struct version *prior, struct version *created, struct fs_err *err)
{
	int64_t src;
	int f, c;

	memset(prior, 0, sizeof *prior);
	memset(created, 0, sizeof *created);
	if ((f = newest_before(s, rid, fid, seq, &prior->seq, &prior->hlc,
	    &prior->origin, &src, err)) == -1 || (c = newest_before(s, rid, 0,
	    seq, &created->seq, &created->hlc, &created->origin, &src,
	    err)) == -1)
		return -1;
	created->found = c;
	if (c && (!f || created->seq > prior->seq))
		*prior = *created;
	else
		prior->found = f;
	return 0;
}

int
versions_known(struct store *s, int64_t rid, int64_t fid, int64_t seq,
    int64_t pid, int64_t *hlc, int64_t *origin, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_RECENT, err);
	int64_t first = seq, cs, src;
	int rc = SQLITE_DONE, found = 0, n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, fid);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_int(st, 4, KNOWN_LOOK);
	while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		first = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
		    sqlite3_column_int64(st, 3) == pid) {
			*hlc = sqlite3_column_int64(st, 1);
			*origin = sqlite3_column_int64(st, 2);
			found = 1;
		}
	}
	sqlite3_reset(st);
	if (!found && rc != SQLITE_DONE)
		return store_dberr(s, err, "read versions");
	/*
	 * The whole history looked at and none from there: the record's
	 * creation, if it came from there (a field the peer never changed).
	 */
	if (!found && n < KNOWN_LOOK) {
		int64_t ch, co;
		int c = newest_before(s, rid, 0, first, &cs, &ch, &co, &src,
		    err);

		if (c == -1)
			return -1;
		if (c && src == pid) {
			*hlc = ch;
			*origin = co;
			found = 1;
		}
	}
	return found;
}

static const char SQL_WON_OVER[] =
    "SELECT prior_hlc, prior_origin FROM _fs_log WHERE seq = ?1 AND "
    "kind & 8 AND prior_hlc IS NOT NULL";

int
versions_won_over(struct store *s, int64_t seq, int64_t *hlc,
    int64_t *origin, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_WON_OVER, err);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
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
