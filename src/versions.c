/* versions.c - current field versions of a record; see versions.h. */
#include "config.h"

#include <string.h>

#include "versions.h"

/* The (rid, fid, seq) index answers this with one seek from its end. */
static const char SQL_NEWEST[] =
    "SELECT seq, hlc, origin, src, kind FROM _fs_log WHERE rid = ?1 AND "
    "fid = ?2 ORDER BY seq DESC LIMIT 1";

/*
 * The versions a field's row at seq replaced, for the peer to recognise
 * (changes.c): the field's newest rows before seq, newest first, a few
 * at most so that a long history costs nothing more, and the record's
 * (re-)creation row before seq.  Seeks from the end of the field's rows
 * in the (rid, fid, seq) index.
 */
#define PRIOR_LOOK 8
static const char SQL_RECENT[] =
    "SELECT seq, hlc, origin, src FROM _fs_log WHERE rid = ?1 AND fid = ?2 "
    "AND seq < ?3 ORDER BY seq DESC LIMIT ?4";

static void
row_version(sqlite3_stmt *st, struct version *v)
{
	memset(v, 0, sizeof *v);
	v->found = 1;
	v->seq = sqlite3_column_int64(st, 0);
	v->hlc = sqlite3_column_int64(st, 1);
	v->origin = sqlite3_column_int64(st, 2);
	v->has_src = sqlite3_column_type(st, 3) != SQLITE_NULL;
	v->src = sqlite3_column_int64(st, 3);
}

int
versions_prior(struct store *s, int64_t rid, int64_t fid, int64_t seq,
    int64_t pid, struct version *prior, struct version *known,
    struct version *created, struct fs_err *err)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	memset(prior, 0, sizeof *prior);
	memset(known, 0, sizeof *known);
	memset(created, 0, sizeof *created);
	for (int pass = 0; pass < 2; pass++) {
		/* The field's rows, then the creation's. */
		if ((st = store_stmt(s, SQL_RECENT, err)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, rid);
		sqlite3_bind_int64(st, 2, pass ? 0 : fid);
		sqlite3_bind_int64(st, 3, seq);
		sqlite3_bind_int(st, 4, pass ? 1 : PRIOR_LOOK);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct version v;

			row_version(st, &v);
			if (pass) {
				*created = v;
				break;
			}
			if (n++ == 0)
				*prior = v;
			if (!known->found && v.has_src && v.src == pid)
				*known = v;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_dberr(s, err, "read versions");
	}
	/* A (re-)creation after the field's row replaced it too. */
	if (created->found && (!prior->found || created->seq > prior->seq))
		*prior = *created;
	/*
	 * The whole history of the field looked at and none of it from the
	 * peer: the creation, if it came from there (a field the peer never
	 * changed since).
	 */
	if (!known->found && n < PRIOR_LOOK && created->found &&
	    created->has_src && created->src == pid)
		*known = *created;
	return 0;
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
			v[i].reasserted = (sqlite3_column_int(st, 4) & 8) != 0;
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
