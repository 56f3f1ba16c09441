/*
 * merge-pending.c - the records a batch creates, written in bulk: the
 * pending list and its multi-row INSERTs, and the bound that spares
 * identity lookups for records newer than any here.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "merge-int.h"
#include "util.h"

static const char SQL_RECORD_ADD[] =
    "INSERT INTO _fs_record(tid, lrow, sid) VALUES (?1, ?2, ?3)";
static const char SQL_CREATED_ADD[] =
    "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind) "
    "VALUES (?1, 0, ?2, ?3, ?4, 1)";
static const char SQL_STALE_LOG[] =
    "INSERT INTO _fs_log(rid, fid, hlc, origin, kind, old, new) SELECT "
    "rid, ?3, (SELECT hlc FROM _fs_clock WHERE id = 1), 0, 2, NULL, 1 "
    "FROM _fs_record WHERE tid = ?1 AND lrow = ?2";
static const char SQL_STALE_CUT[] =
    "UPDATE _fs_record SET lrow = NULL WHERE tid = ?1 AND lrow = ?2";
static const char SQL_MAX_RID[] =
    "SELECT coalesce(max(rid), 0) FROM _fs_record";
static const char SQL_MAX_SID[] =
    "SELECT max(sid) FROM _fs_record WHERE sid >= ?1 AND sid < ?2";
/* Triggers other than the capture triggers, anywhere in the database. */
static const char SQL_APP_TRIGGERS[] =
    "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND "
    "NOT " CAPTURE_TRIGGER_SQL("name") ") OR EXISTS (SELECT 1 FROM "
    "sqlite_temp_schema WHERE type = 'trigger')";

/*
 * Multi-row forms of SQL_RECORD_ADD (with explicit rids) and
 * SQL_CREATED_ADD for the pending list, in chunks of 64, 16 and 4 rows;
 * constants, so the store caches them like the others.
 */
#define REC1	"(?,?,?,?)"
#define REC4	REC1 "," REC1 "," REC1 "," REC1
#define REC16	REC4 "," REC4 "," REC4 "," REC4
#define REC64	REC16 "," REC16 "," REC16 "," REC16
#define CRE1	"(?,0,?,?,?,1,?)"
#define CRE4	CRE1 "," CRE1 "," CRE1 "," CRE1
#define CRE16	CRE4 "," CRE4 "," CRE4 "," CRE4
#define CRE64	CRE16 "," CRE16 "," CRE16 "," CRE16
#define RECS_ADD "INSERT INTO _fs_record(rid, tid, lrow, sid) VALUES "
#define CRES_ADD "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind, at) " \
    "VALUES "
static const char SQL_RECORDS_64[] = RECS_ADD REC64;
static const char SQL_RECORDS_16[] = RECS_ADD REC16;
static const char SQL_RECORDS_4[] = RECS_ADD REC4;
static const char SQL_CREATEDS_64[] = CRES_ADD CRE64;
static const char SQL_CREATEDS_16[] = CRES_ADD CRE16;
static const char SQL_CREATEDS_4[] = CRES_ADD CRE4;

static const struct chunk {
	int rows;
	const char *records, *created;
} chunks[] = {
	{ 64, SQL_RECORDS_64, SQL_CREATEDS_64 },
	{ 16, SQL_RECORDS_16, SQL_CREATEDS_16 },
	{ 4, SQL_RECORDS_4, SQL_CREATEDS_4 },
};

/*
 * Link a new app row to its record; returns the rid, 0 on error.  A link
 * still on that row id is stale (its row went without the delete
 * trigger): that record becomes a logged tombstone first.
 */
static int64_t
register_record(struct merge_ctx *c, struct synctable *t, int64_t lrow,
    const char *sid, struct fs_err *err)
{
	sqlite3_stmt *q;

	for (int tries = 0; tries < 2; tries++) {
		int rc;

		if ((q = store_stmt(c->s, SQL_RECORD_ADD, err)) == NULL)
			return 0;
		sqlite3_bind_int64(q, 1, t->tid);
		sqlite3_bind_int64(q, 2, lrow);
		sqlite3_bind_text(q, 3, sid, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc == SQLITE_DONE)
			return sqlite3_last_insert_rowid(c->s->db);
		if (tries > 0 || sqlite3_extended_errcode(c->s->db) !=
		    SQLITE_CONSTRAINT_UNIQUE) {
			store_dberr(c->s, err, "register record");
			return 0;
		}
		if ((q = store_stmt(c->s, SQL_STALE_LOG, err)) == NULL)
			return 0;
		sqlite3_bind_int64(q, 1, t->tid);
		sqlite3_bind_int64(q, 2, lrow);
		sqlite3_bind_int64(q, 3, t->status_fid);
		if (merge_step(c->s, q, err) == -1 ||
		    (q = store_stmt(c->s, SQL_STALE_CUT, err)) == NULL)
			return 0;
		sqlite3_bind_int64(q, 1, t->tid);
		sqlite3_bind_int64(q, 2, lrow);
		if (merge_step(c->s, q, err) == -1)
			return 0;
	}
	return 0;
}

/* Sids are 32 hex digits: mix them 8 bytes at a time. */
static unsigned
pend_hash(const char *sid)
{
	uint64_t h = 0, w;

	for (int i = 0; i < 2 * FS_SID_LEN; i += 8) {
		memcpy(&w, sid + i, sizeof w);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	}
	return (unsigned)(h >> 40) & (PENDING_SLOTS - 1);
}

/*
 * Whether the record with identity sid waits in the pending list, where
 * SQL_FIND_SID cannot see it.
 */
int
merge_pend_has(const struct merge_pending *p, const char *sid)
{
	if (p == NULL || p->n == 0)
		return 0;
	for (unsigned i = pend_hash(sid); p->slots[i] != 0;
	    i = (i + 1) & (PENDING_SLOTS - 1))
		if (strcmp(p->rows[p->slots[i] - 1].sid, sid) == 0)
			return 1;
	return 0;
}

/* Queue a created record; the caller flushes a full list first. */
void
merge_pend_add(struct merge_pending *p, struct synctable *t, int64_t lrow,
    const char *sid, int64_t hlc, int64_t origin)
{
	struct pend *e = &p->rows[p->n];
	unsigned i = pend_hash(sid);

	while (p->slots[i] != 0)
		i = (i + 1) & (PENDING_SLOTS - 1);
	e->t = t;
	e->lrow = lrow;
	e->hlc = hlc;
	e->origin = origin;
	memcpy(e->sid, sid, sizeof e->sid);
	e->slot = (int)i;
	p->slots[i] = (uint16_t)++p->n;
}

/* Write one pending record the way it always was: auto rid, stale links. */
static int
pend_write_one(struct merge_ctx *c, struct merge_pending *p,
    const struct pend *e, struct fs_err *err)
{
	sqlite3_stmt *q;
	int64_t rid;

	if ((rid = register_record(c, e->t, e->lrow, e->sid, err)) == 0 ||
	    (q = store_stmt(c->s, SQL_CREATED_ADD, err)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, rid);
	sqlite3_bind_int64(q, 2, e->hlc);
	sqlite3_bind_int64(q, 3, e->origin);
	sqlite3_bind_int64(q, 4, c->m->pair->pid);
	if (merge_step(c->s, q, err) == -1)
		return -1;
	p->last_rid = rid;
	return 0;
}

/*
 * Write ch->rows pending records from e with rids base + 1, base + 2, ...
 * (what the automatic rids would be: nothing else inserts records while
 * the list is not empty), then their "created" rows in the same order.
 * Returns 1, having changed nothing (a failed statement is rolled back
 * on its own), when a record hit a constraint: the caller then writes
 * them one by one, which handles a stale row link.
 */
static int
pend_write_chunk(struct merge_ctx *c, struct merge_pending *p,
    const struct chunk *ch, const struct pend *e, int64_t base,
    struct fs_err *err)
{
	sqlite3_stmt *q;
	int rc, k = 0;

	if ((q = store_stmt(c->s, ch->records, err)) == NULL)
		return -1;
	for (int i = 0; i < ch->rows; i++) {
		sqlite3_bind_int64(q, ++k, base + 1 + i);
		sqlite3_bind_int64(q, ++k, e[i].t->tid);
		sqlite3_bind_int64(q, ++k, e[i].lrow);
		sqlite3_bind_text(q, ++k, e[i].sid, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		/* Other errors may have ended the transaction: no retry. */
		if ((rc & 0xff) == SQLITE_CONSTRAINT &&
		    !sqlite3_get_autocommit(c->s->db))
			return 1;
		return store_dberr(c->s, err, "register records");
	}
	if ((q = store_stmt(c->s, ch->created, err)) == NULL)
		return -1;
	k = 0;
	for (int i = 0; i < ch->rows; i++) {
		sqlite3_bind_int64(q, ++k, base + 1 + i);
		sqlite3_bind_int64(q, ++k, e[i].hlc);
		sqlite3_bind_int64(q, ++k, e[i].origin);
		sqlite3_bind_int64(q, ++k, c->m->pair->pid);
		sqlite3_bind_int64(q, ++k, c->at);
	}
	if (merge_step(c->s, q, err) == -1)
		return -1;
	p->last_rid = base + ch->rows;
	return 0;
}

/*
 * Write the pending records and their "created" rows, in the order they
 * were created, and empty the list (also on error: the caller's
 * transaction is rolled back then).
 */
int
merge_pend_flush(struct merge_ctx *c, struct merge_pending *p,
    struct fs_err *err)
{
	int64_t base = -1;
	int i = 0, ret = -1;

	if (p == NULL || p->n == 0)
		return 0;
	while (i < p->n) {
		const struct chunk *ch = NULL;
		int rc = 1, n;

		for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++)
			if (chunks[k].rows <= p->n - i) {
				ch = &chunks[k];
				break;
			}
		if (ch != NULL && base == -1) {
			sqlite3_stmt *q = store_stmt(c->s, SQL_MAX_RID, err);

			if (q == NULL)
				goto out;
			if (sqlite3_step(q) != SQLITE_ROW) {
				store_dberr(c->s, err, "read max rid");
				sqlite3_reset(q);
				goto out;
			}
			base = sqlite3_column_int64(q, 0);
			sqlite3_reset(q);
		}
		/* Past the largest rid, SQLite picks them at random. */
		if (ch != NULL && base <= INT64_MAX - ch->rows &&
		    (rc = pend_write_chunk(c, p, ch, &p->rows[i], base,
		    err)) == -1)
			goto out;
		if (rc == 0) {
			base += ch->rows;
			i += ch->rows;
			continue;
		}
		/* The last few, or a chunk that needs the careful way. */
		for (n = ch != NULL ? ch->rows : 1; n > 0; n--, i++)
			if (pend_write_one(c, p, &p->rows[i], err) == -1)
				goto out;
		base = -1;
	}
	ret = 0;
out:
	for (int k = 0; k < p->n; k++)
		p->slots[p->rows[k].slot] = 0;
	p->n = 0;
	return ret;
}

/*
 * Whether sid is above every sid of its prefix, here and pending, so that
 * looking it up can find nothing.  A sid is its creator's prefix and its
 * clock at the creation, fixed-width hex, so string order is clock order,
 * and a batch mostly brings records newer than any of their creator's
 * here.  The largest sid of a prefix is read when the batch first shows
 * the prefix, before any record with it is created in the batch, and
 * merge_sidmax_raise raises it for each one created.  Nothing else adds records
 * while merge_apply runs: the capture insert triggers stand aside, and
 * when the app has triggers of its own this is not used.  A sid at or
 * below the largest takes the usual lookups, in whatever order it
 * arrives.  *m is the prefix's entry, NULL when it is not tracked.
 */
int
merge_sid_above(struct merge_ctx *c, struct merge_pending *p, const char *sid,
    struct sidmax **m, int *above, struct fs_err *err)
{
	const unsigned char *max;
	struct sidmax *e;
	sqlite3_stmt *q;
	char hi[FS_SID_LEN + 2];
	int k;

	*m = NULL;
	*above = 0;
	if (p->sid_fast == -1) {
		/*
		 * An app trigger could run any SQL while the batch is applied:
		 * then no promise that records come from here alone.
		 */
		if ((q = store_stmt(c->s, SQL_APP_TRIGGERS, err)) == NULL)
			return -1;
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_reset(q);
			return store_dberr(c->s, err, "read triggers");
		}
		p->sid_fast = sqlite3_column_int(q, 0) == 0;
		sqlite3_reset(q);
	}
	if (!p->sid_fast)
		return 0;
	for (k = 0; k < p->nmaxes; k++)
		if (memcmp(p->maxes[k].prefix, sid, FS_SID_LEN) == 0)
			break;
	e = &p->maxes[k];
	if (k == p->nmaxes) {
		/* Never read again later: pending records would be missed. */
		if (k == SID_PREFIXES)
			return 0;
		/* Every sid with this prefix sorts in [prefix, prefix "g"). */
		memcpy(hi, sid, FS_SID_LEN);
		hi[FS_SID_LEN] = 'g';
		hi[FS_SID_LEN + 1] = '\0';
		if ((q = store_stmt(c->s, SQL_MAX_SID, err)) == NULL)
			return -1;
		sqlite3_bind_text(q, 1, sid, FS_SID_LEN, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, hi, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_reset(q);
			return store_dberr(c->s, err, "read max sid");
		}
		memcpy(e->prefix, sid, FS_SID_LEN);
		e->prefix[FS_SID_LEN] = '\0';
		if (sqlite3_column_type(q, 0) == SQLITE_NULL)
			e->max[0] = '\0';
		else if ((max = sqlite3_column_text(q, 0)) == NULL) {
			sqlite3_reset(q);
			return store_dberr(c->s, err, "read max sid");
		} else if (sqlite3_column_bytes(q, 0) <= 2 * FS_SID_LEN)
			memcpy(e->max, max,
			    (size_t)sqlite3_column_bytes(q, 0) + 1);
		else
			memcpy(e->max, hi, sizeof hi);	/* odd: none above */
		sqlite3_reset(q);
		p->nmaxes++;
	}
	*m = e;
	*above = strcmp(sid, e->max) > 0;
	return 0;
}

/* Record sid as created in the batch. */
void
merge_sidmax_raise(struct sidmax *m, const char *sid)
{
	if (m != NULL && strcmp(sid, m->max) > 0)
		memcpy(m->max, sid, sizeof m->max);
}
