/*
 * merge-field.c - field-level merge of a record that exists here (or
 * was hard-deleted here): versions compared, clashes decided by the
 * policy and recorded, values written through the capture triggers.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fieldmap.h"
#include "merge-int.h"
#include "util.h"
#include "value.h"
#include "versions.h"

/*
 * By clock value: (rid, fid) would walk the field's whole history.  Our
 * own versions are not in that index; they come back only through a
 * relay loop or from a copy of this database, and walk the history.
 */
static const char SQL_SEEN[] =
    "SELECT 1 FROM _fs_log INDEXED BY _fs_log_hlc WHERE hlc = ?3 AND "
    "origin = ?4 AND origin <> 0 AND rid = ?1 AND fid = ?2 LIMIT 1";
static const char SQL_SEEN_OWN[] =
    "SELECT 1 FROM _fs_log WHERE rid = ?1 AND fid = ?2 AND hlc = ?3 AND "
    "origin = 0 LIMIT 1";
static const char SQL_ECHO_VALUE[] = "SELECT ?1";
static const char SQL_LOGGED_NEW[] =
    "SELECT new FROM _fs_log WHERE seq = ?1";
static const char SQL_FIELD_NEWEST[] =
    "SELECT new, hlc, origin, src, kind FROM _fs_log WHERE rid = ?1 AND "
    "fid = ?2 ORDER BY seq DESC LIMIT 1";
static const char SQL_RELINK[] =
    "UPDATE _fs_record SET lrow = ?2 WHERE rid = ?1";
static const char SQL_SWITCH[] =
    "UPDATE _fs_clock SET ap_src = ?1, ap_hlc = ?2, ap_origin = ?3, "
    "ap_sid = ?4 WHERE id = 1";
static const char SQL_LOG_DIRECT[] =
    "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind, old, new) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_MARK_SEQ[] =
    "UPDATE _fs_log SET kind = kind | 4 WHERE seq = ?1";
/* The winner of a clash decided here, logged again (sql/005). */
static const char SQL_REASSERT[] =
    "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind, old, new, "
    "prior_hlc, prior_origin) VALUES (?1, ?2, ?3, ?4, ?5, 8, ?6, ?6, ?7, "
    "?8)";
static const char SQL_MARK_CONFLICT[] =
    "UPDATE _fs_log SET kind = kind | 4 WHERE seq = "
    "(SELECT max(seq) FROM _fs_log)";
static const char SQL_CONFLICT[] =
    "INSERT INTO _fs_conflict(rid, fid, pid, local_value, local_hlc, "
    "local_origin, remote_value, remote_hlc, remote_origin, winner, policy, "
    "at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char SQL_LOST_BEFORE[] =
    "SELECT 1 FROM _fs_conflict WHERE rid = ?1 AND fid = ?2 AND "
    "remote_hlc = ?3 AND remote_origin = ?4";
static const char SQL_ORIGIN_INST[] =
    "SELECT instance FROM _fs_origin WHERE id = ?1";

int
merge_set_switch(struct merge_ctx *c, const struct inrec *r, int64_t hlc,
    int64_t origin, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(c->s, SQL_SWITCH, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->m->pair->pid);
	sqlite3_bind_int64(st, 2, hlc);
	sqlite3_bind_int64(st, 3, origin);
	sqlite3_bind_text(st, 4, r->sid, -1, SQLITE_STATIC);
	return merge_step(c->s, st, err);
}

int
merge_log_direct(struct merge_ctx *c, int64_t rid, const struct infield *in,
    sqlite3_value *old, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(c->s, SQL_LOG_DIRECT, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, in->f->fid);
	sqlite3_bind_int64(st, 3, in->hlc);
	sqlite3_bind_int64(st, 4, in->origin);
	sqlite3_bind_int64(st, 5, c->m->pair->pid);
	sqlite3_bind_int(st, 6, 0);
	if (old)
		sqlite3_bind_value(st, 7, old);
	proto_bind_value(st, 8, &in->v);
	return merge_step(c->s, st, err);
}

static int
newer(int64_t h1, const char *o1, int64_t h2, const char *o2)
{
	if (h1 != h2)
		return h1 > h2;
	return strcmp(o1, o2) > 0;
}

static char *
origin_instance(struct merge_ctx *c, int64_t id)
{
	sqlite3_stmt *st = store_stmt(c->s, SQL_ORIGIN_INST, NULL);
	char *v = NULL;

	if (st == NULL)
		return xstrdup("");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return v ? v : xstrdup("");
}

/* Whether version (h1, o1) is later than (h2, o2) by the hybrid clock. */
static int
later_version(struct merge_ctx *c, int64_t h1, int64_t o1, int64_t h2,
    int64_t o2)
{
	char *a, *b;
	int r;

	if (h1 != h2 || o1 == o2)
		return h1 > h2;
	a = origin_instance(c, o1);
	b = origin_instance(c, o2);
	r = newer(h1, a, h2, b);
	free(a);
	free(b);
	return r;
}

static int
record_conflict(struct merge_ctx *c, int64_t rid, const struct infield *in,
    sqlite3_value *cur, const struct version *l, int remote_wins,
    struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(c->s, SQL_CONFLICT, err);
	char now[64];

	if (st == NULL)
		return -1;
	store_now_iso(now);
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, in->f->fid);
	sqlite3_bind_int64(st, 3, c->m->pair->pid);
	sqlite3_bind_value(st, 4, cur);
	sqlite3_bind_int64(st, 5, l->hlc);
	sqlite3_bind_int64(st, 6, l->origin);
	proto_bind_value(st, 7, &in->v);
	sqlite3_bind_int64(st, 8, in->hlc);
	sqlite3_bind_int64(st, 9, in->origin);
	sqlite3_bind_text(st, 10, remote_wins ? "remote" : "local", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 11, c->policy, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, now, -1, SQLITE_TRANSIENT);
	if (merge_step(c->s, st, err) == -1)
		return -1;
	/*
	 * The log marks the change that stands as a conflict: the incoming
	 * one when it wins (apply_value logs it so), else our own, logged
	 * before anyone knew.
	 */
	if (!remote_wins && l->found && l->fid == in->f->fid && l->seq > 0) {
		if ((st = store_stmt(c->s, SQL_MARK_SEQ, err)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, l->seq);
		return merge_step(c->s, st, err);
	}
	return 0;
}

/*
 * Whether sql (?1 rid, ?2 fid, ?3 hlc[, ?4 origin]) finds a row for the
 * incoming version of the record's field (-1: error, about what).
 */
static int
version_row(struct merge_ctx *c, const char *sql, int64_t rid,
    const struct infield *in, int with_origin, const char *what,
    struct fs_err *err)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = store_stmt(c->s, sql, err)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, rid);
	sqlite3_bind_int64(q, 2, in->f->fid);
	sqlite3_bind_int64(q, 3, in->hlc);
	if (with_origin)
		sqlite3_bind_int64(q, 4, in->origin);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(c->s, err, what);
	return rc == SQLITE_ROW;
}

/* Whether this record's field had the incoming version before (-1: error). */
static int
seen_before(struct merge_ctx *c, int64_t rid, const struct infield *in,
    struct fs_err *err)
{
	return version_row(c, in->origin == 0 ? SQL_SEEN_OWN : SQL_SEEN, rid,
	    in, in->origin != 0, "read log", err);
}

/*
 * Whether the incoming version clashed here before (-1: error).  One that
 * won is in the log (seen_before); one that lost is only in the conflict
 * it made, and comes again when a later batch or a repeated request
 * carries it: that is the same clash, decided once.
 */
static int
lost_before(struct merge_ctx *c, int64_t rid, const struct infield *in,
    struct fs_err *err)
{
	return version_row(c, SQL_LOST_BEFORE, rid, in, 1, "read conflicts",
	    err);
}

/*
 * Our version l won a clash with in: logged once more, with in as its
 * prior, so that it reaches the peer and the peer takes it.  The peer
 * may have had l before and replaced it with in (its cursors started
 * over since): it would skip l as old, and the two sides would stay
 * apart for good.  Not sent back where l came from (src).
 */
static int
reassert(struct merge_ctx *c, int64_t rid, const struct infield *in,
    const struct version *l, sqlite3_value *cur, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(c->s, SQL_REASSERT, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, in->f->fid);
	sqlite3_bind_int64(st, 3, l->hlc);
	sqlite3_bind_int64(st, 4, l->origin);
	if (l->has_src)
		sqlite3_bind_int64(st, 5, l->src);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_value(st, 6, cur);
	sqlite3_bind_int64(st, 7, in->hlc);
	sqlite3_bind_int64(st, 8, in->origin);
	return merge_step(c->s, st, err);
}

/* Whether in replaced version l where the peer made or took it. */
static int
prior_is(const struct infield *in, const struct version *l)
{
	if (l == NULL)
		return 0;
	for (int k = 0; k < in->nprior; k++)
		if (in->prior_hlc[k] == l->hlc && in->prior_origin[k] ==
		    l->origin)
			return 1;
	return 0;
}

/* Whether the peer says it remapped our field fid (merge_apply). */
static int
merge_remapped(const struct merge_ctx *c, int64_t fid)
{
	for (int i = 0; i < c->nremapped; i++)
		if (c->remapped[i] == fid)
			return 1;
	return 0;
}

/*
 * Whether local version l of in's field is a change the peer has not
 * acknowledged and will get: only such a change can clash with in (one
 * that came from the peer, or never flows to it, cannot).
 */
static int
unacked_here(struct merge_ctx *c, const struct infield *in,
    const struct version *l)
{
	int acked;

	if (l == NULL)
		return 0;
	/*
	 * The peer's version replaced ours where it was made or taken
	 * (ours is in its history of the field): the peer had ours,
	 * whatever the cursors say (they start over after a map change, a
	 * pairing added again, a restored backup, a copied database).
	 */
	if (prior_is(in, l))
		return 0;
	/*
	 * The cursor, or what the peer acknowledged before a map change
	 * made the cursors start over, when the field's mapping has not
	 * changed since on either side (then the peer may never have had
	 * the change).
	 */
	acked = l->seq <= c->acked || (l->seq <= c->watermark &&
	    l->seq > in->f->floor && !merge_remapped(c, in->f->fid));
	return !acked && !(l->has_src && l->src == c->m->pair->pid) &&
	    fieldmap_mode_sends(in->f->mode);
}

/* Who wins a clash of an incoming change with local version l. */
static int
clash_remote_wins(struct merge_ctx *c, const struct infield *in,
    const struct version *l)
{
	int remote_wins;

	if (strcmp(c->policy, "newest") == 0) {
		char *a = origin_instance(c, in->origin);
		char *b = origin_instance(c, l->origin);

		remote_wins = newer(in->hlc, a, l->hlc, b);
		free(a);
		free(b);
	} else
		remote_wins = (strcmp(c->policy, "active") == 0) ==
		    !c->m->active;
	return remote_wins;
}

/*
 * Write one incoming value through the capture triggers.  One the app's
 * CHECK or UNIQUE constraint refuses may be fine once the rest of the
 * batch is written (a row whose UNIQUE value moves away later in it, a
 * CHECK over two columns): it waits for that (merge-defer.c).
 */
int
merge_write_value(struct merge_ctx *c, const struct inrec *r, int64_t rid,
    int64_t lrow, const struct infield *in, int conflict, int *gone,
    struct fs_err *err)
{
	struct synctable *t = r->table;

	if (merge_set_switch(c, r, in->hlc, in->origin, err) == -1)
		return -1;
	if (in->f->is_status && r->hard &&
	    strcmp(c->m->pair->deletes, "hard") == 0) {
		struct buf b;
		int ret;

		buf_init(&b, 0);
		buf_printf(&b, "DELETE FROM %s WHERE %s.%s = %" PRId64,
		    t->qname, t->qname, t->qkey, lrow);
		ret = store_exec(c->s, b.data, err);
		buf_free(&b);
		*gone = 1;
		return ret;
	}
	{
		sqlite3_stmt *up = syncmap_update_stmt(c->s, in->f, err);

		if (up == NULL)
			return -1;
		proto_bind_value(up, 1, &in->v);
		sqlite3_bind_int64(up, 2, lrow);
		if (sqlite3_step(up) != SQLITE_DONE) {
			char what[200];
			int xrc = sqlite3_extended_errcode(c->s->db);

			if (c->defer_mode != MERGE_DEFER_OFF &&
			    (xrc == SQLITE_CONSTRAINT_CHECK ||
			    xrc == SQLITE_CONSTRAINT_UNIQUE)) {
				sqlite3_reset(up);
				sqlite3_clear_bindings(up);
				if (c->defer_mode == MERGE_DEFER_TRY)
					return 1;
				merge_defer_push(c, r, rid, lrow, in, conflict);
				return 0;
			}

			/* Most often the app's own constraint: say where. */
			snprintf(what, sizeof what, "cannot write the peer's "
			    "change of %s.%s to record %s (row %" PRId64 ")",
			    t->name, in->f->col, r->sid, lrow);
			store_dberr(c->s, err, what);
			sqlite3_reset(up);
			return -1;
		}
		sqlite3_reset(up);
		sqlite3_clear_bindings(up);
	}
	merge_defer_drop(c, rid, in->f->fid);
	if (conflict) {
		sqlite3_stmt *st = store_stmt(c->s, SQL_MARK_CONFLICT, err);

		if (st == NULL || merge_step(c->s, st, err) == -1)
			return -1;
	}
	return 0;
}

int
merge_update_record(struct merge_ctx *c, struct inrec *r, int64_t rid,
    int64_t lrow, struct merge_stats *st, struct fs_err *err)
{
	struct synctable *t = r->table;
	struct version *lv, *created;
	sqlite3_value **cur = xcalloc((size_t)r->nin + 1, sizeof *cur);
	int nlv = 0, rc, ret = -1, gone = 0;

	/*
	 * The version of each incoming field, and the creation row's when
	 * it counts: for a field without a row of its own, or against a
	 * creation sent again.  (It is often a page of the log far away.)
	 */
	lv = xcalloc((size_t)r->nin + 1, sizeof *lv);
	lv[nlv++].fid = 0;
	for (int i = 0; i < r->nin; i++)
		if (fieldmap_mode_receives(r->in[i].f->mode))
			lv[nlv++].fid = r->in[i].f->fid;
	if (versions_get(c->s, rid, lv + 1, nlv - 1, err) == -1)
		goto out;
	{
		int need = r->has_c;

		for (int i = 1; i < nlv; i++)
			need |= !lv[i].found;
		if (need && versions_get(c->s, rid, lv, 1, err) == -1)
			goto out;
	}
	created = versions_find(lv, nlv, 0);
	/* Copy the current values out before writing to the row. */
	sqlite3_reset(t->read);
	sqlite3_bind_int64(t->read, 1, lrow);
	if ((rc = sqlite3_step(t->read)) != SQLITE_ROW) {
		sqlite3_reset(t->read);
		if (rc == SQLITE_DONE) {
			ret = 0;	/* row vanished: treat as deleted */
			goto out;
		}
		store_dberr(c->s, err, "read row");
		goto out;
	}
	for (int i = 0; i < r->nin; i++)
		cur[i] = sqlite3_value_dup(sqlite3_column_value(t->read,
		    r->in[i].f->col_idx));
	sqlite3_reset(t->read);

	for (int i = 0; i < r->nin && !gone; i++) {
		struct infield *in = &r->in[i];
		const struct version *l;
		int pending, remote_wins, found, same;

		if (!fieldmap_mode_receives(in->f->mode))
			continue;
		if ((l = versions_find(lv, nlv, in->f->fid)) == NULL)
			l = created;
		same = l != NULL && l->hlc == in->hlc && l->origin == in->origin;
		/*
		 * The creation version stands for fields the creation did not
		 * write (not mapped then): those take the value, no clash.
		 */
		if (same && (l != created || proto_value_equal(&in->v, cur[i])))
			continue;	/* have exactly this version */
		if (proto_value_equal(&in->v, cur[i])) {
			/* Same value: keep the larger version on both sides. */
			if (l == NULL || in->hlc > l->hlc || (in->hlc == l->hlc &&
			    in->origin != l->origin)) {
				if (merge_log_direct(c, rid, in, cur[i],
				    err) == -1)
					goto out;
			}
			continue;
		}
		/*
		 * The peer's version replaced ours there: it stands, even one
		 * we had before and replaced (the peer decided a clash for it
		 * over ours: reassert()).
		 */
		if (prior_is(in, l)) {
			if (merge_write_value(c, r, rid, lrow, in, 0, &gone,
			    err) == -1)
				goto out;
			st->applied++;
			continue;
		}
		if ((found = seen_before(c, rid, in, err)) == -1)
			goto out;
		/*
		 * A field the creation wrote has no log row of its own: the
		 * creation's version stands for it, and any later row of the
		 * field here supersedes it (a re-sent creation after a lost
		 * response must not clash with, or undo, a newer edit).
		 */
		if (!found && created != NULL && l != created &&
		    in->hlc == created->hlc && in->origin == created->origin)
			found = 1;
		if (found)
			continue;	/* applied before, since superseded */
		/*
		 * Two versions both made here: one of ours comes back that
		 * this database lost (a backup was restored).  Our clock
		 * orders them; the later one stands, and it is no clash.
		 */
		if (in->origin == 0 && l != NULL && l->origin == 0) {
			if (in->hlc > l->hlc) {
				if (merge_write_value(c, r, rid, lrow, in, 0,
				    &gone, err) == -1)
					goto out;
				st->applied++;
			}
			continue;
		}
		pending = !same && unacked_here(c, in, l);
		if (pending && in->f->is_added) {
			/*
			 * Two times added for one record (it was created on both
			 * sides and linked by its match key): the earlier one
			 * is when it was added.  No person needs to decide.
			 */
			int earlier;

			if (in->v.type == SQLITE_NULL)
				continue;
			if (sqlite3_value_type(cur[i]) == SQLITE_NULL)
				earlier = 1;
			else if (in->v.type == SQLITE_TEXT &&
			    sqlite3_value_type(cur[i]) == SQLITE_TEXT) {
				size_t ln = (size_t)sqlite3_value_bytes(cur[i]);
				int d = memcmp(in->v.p, sqlite3_value_text(cur[i]),
				    in->v.n < ln ? in->v.n : ln);

				earlier = d < 0 || (d == 0 && in->v.n < ln);
			} else
				earlier = (in->v.type == SQLITE_INTEGER ?
				    (double)in->v.i : in->v.d) <
				    sqlite3_value_double(cur[i]);
			if (earlier) {
				if (merge_write_value(c, r, rid, lrow, in, 0,
				    &gone, err) == -1)
					goto out;
				st->applied++;
			}
			continue;
		}
		if (!pending) {
			if (merge_write_value(c, r, rid, lrow, in, 0, &gone,
			    err) == -1)
				goto out;
			st->applied++;
			continue;
		}
		if ((found = lost_before(c, rid, in, err)) == -1)
			goto out;
		if (found)
			continue;
		remote_wins = clash_remote_wins(c, in, l);
		if (record_conflict(c, rid, in, cur[i], l, remote_wins,
		    err) == -1 || (!remote_wins && reassert(c, rid, in, l,
		    cur[i], err) == -1))
			goto out;
		st->conflicts++;
		if (remote_wins) {
			if (merge_write_value(c, r, rid, lrow, in, 1, &gone,
			    err) == -1)
				goto out;
			st->applied++;
		}
	}
	ret = 0;
out:
	for (int i = 0; i < r->nin; i++)
		sqlite3_value_free(cur[i]);
	free(cur);
	free(lv);
	return ret;
}

/*
 * A peer's edit of a record hard-deleted here: no row takes it, but it
 * is kept in the log (with its value), so that a restore that brings the
 * row back later, from any peer, does not bring back an older value in
 * its place (merge_revive_record).  Data fields only: what the status
 * field says of a tombstone is its hard delete.
 */
static int
tomb_keep(struct merge_ctx *c, struct inrec *r, int64_t rid,
    struct fs_err *err)
{
	for (int i = 0; i < r->nin; i++) {
		struct infield *in = &r->in[i];
		struct version lv[2];
		const struct version *l;
		int seen;

		if (in->f->is_status || in->f->is_added ||
		    !fieldmap_mode_receives(in->f->mode))
			continue;
		memset(lv, 0, sizeof lv);
		lv[0].fid = in->f->fid;
		if (versions_get(c->s, rid, lv, 2, err) == -1)
			return -1;
		if ((l = versions_find(lv, 2, in->f->fid)) == NULL ||
		    !l->found)
			l = versions_find(lv, 2, 0);
		if (l != NULL && l->found && l->hlc == in->hlc &&
		    l->origin == in->origin)
			continue;
		if ((seen = seen_before(c, rid, in, err)) == -1)
			return -1;
		if (seen)
			continue;
		if (l != NULL && l->found && !later_version(c, in->hlc,
		    in->origin, l->hlc, l->origin))
			continue;
		if (merge_log_direct(c, rid, in, NULL, err) == -1)
			return -1;
	}
	return 0;
}

/*
 * Before a revived row is written: a field whose newest version here is
 * later than the restore's (an edit kept by tomb_keep, or one made here
 * before the hard delete) keeps it.  Its value replaces the incoming
 * one, and *relog is set: the caller logs that version again after the
 * revival, so that it reaches the peers whose cursor passed it while the
 * record was a tombstone (which sent them only its deletion).
 */
static int
newest_here(struct merge_ctx *c, int64_t rid, struct infield *in,
    int *relog, int64_t *src, int *has_src, struct fs_err *err)
{
	sqlite3_stmt *q = store_stmt(c->s, SQL_FIELD_NEWEST, err);
	int rc, later;
	int64_t hlc, origin;

	*relog = 0;
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, rid);
	sqlite3_bind_int64(q, 2, in->f->fid);
	if ((rc = sqlite3_step(q)) != SQLITE_ROW) {
		sqlite3_reset(q);
		return rc == SQLITE_DONE ? 0 : store_dberr(c->s, err,
		    "read log");
	}
	hlc = sqlite3_column_int64(q, 1);
	origin = sqlite3_column_int64(q, 2);
	/* A field change (not a creation or hard delete) that is later. */
	later = (sqlite3_column_int(q, 4) & 3) == 0 && later_version(c, hlc,
	    origin, in->hlc, in->origin);
	if (later) {
		proto_value_copy(&in->v, sqlite3_column_value(q, 0));
		in->hlc = hlc;
		in->origin = origin;
		*has_src = sqlite3_column_type(q, 3) != SQLITE_NULL;
		*src = sqlite3_column_int64(q, 3);
		*relog = 1;
	}
	sqlite3_reset(q);
	return 0;
}

/*
 * A record hard-deleted here (its row is gone, the record stays) that
 * the peer, which kept a soft-deleted copy, has restored.  A restore is
 * sent whole (changes.c), so the row comes back with every field the
 * record brings here, under the same record.  The restore is one more
 * change of the status field: one this side has seen before changes
 * nothing, and one that clashes with a deletion here the peer has not
 * acknowledged yet is a conflict like any other, which the policy
 * decides (a deletion that wins keeps the row gone).
 */
int
merge_revive_record(struct merge_ctx *c, struct inrec *r, int64_t rid,
    struct merge_stats *st, struct fs_err *err)
{
	struct infield *in = NULL;
	struct version lv[2];
	const struct version *l;
	sqlite3_stmt *q;
	int *use = NULL, *relog = NULL, n = 0, has_added = 0, ret = -1, live;
	int seen, clashed = 0;
	struct { int64_t src; int has_src; } *srcs = NULL;
	int64_t lrow;

	for (int i = 0; i < r->nin; i++)
		if (r->in[i].f->is_status &&
		    fieldmap_mode_receives(r->in[i].f->mode))
			in = &r->in[i];
	if (in == NULL || r->hard)
		return tomb_keep(c, r, rid, err);
	/* Live or deleted as the app reads the value (value_is_deleted). */
	if ((q = store_stmt(c->s, SQL_ECHO_VALUE, err)) == NULL)
		return -1;
	proto_bind_value(q, 1, &in->v);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return store_dberr(c->s, err, "read status value");
	}
	live = !value_is_deleted(sqlite3_column_value(q, 0));
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (!live)
		return tomb_keep(c, r, rid, err);	/* deleted on both sides */

	memset(lv, 0, sizeof lv);
	lv[0].fid = in->f->fid;
	if (versions_get(c->s, rid, lv, 2, err) == -1)
		return -1;
	if ((l = versions_find(lv, 2, in->f->fid)) == NULL)
		l = versions_find(lv, 2, 0);
	if (l != NULL && l->hlc == in->hlc && l->origin == in->origin)
		return 0;	/* have exactly this version */
	/* One applied before and since superseded changes nothing. */
	if ((seen = seen_before(c, rid, in, err)) != 0)
		return seen == -1 ? -1 : 0;
	if (unacked_here(c, in, l)) {
		/* The deletion here has not reached the peer: a clash. */
		int remote_wins = clash_remote_wins(c, in, l), rc;

		if ((q = store_stmt(c->s, SQL_LOGGED_NEW, err)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, l->seq);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_reset(q);
			return store_dberr(c->s, err, "read deletion");
		}
		rc = record_conflict(c, rid, in, sqlite3_column_value(q, 0), l,
		    remote_wins, err);
		sqlite3_reset(q);
		if (rc == -1)
			return -1;
		st->conflicts++;
		if (!remote_wins)
			return tomb_keep(c, r, rid, err);
		clashed = 1;
	}

	/* The row again, the insert trigger standing aside (ap_bulk). */
	use = xcalloc((size_t)r->nin + 1, sizeof *use);
	relog = xcalloc((size_t)r->nin + 1, sizeof *relog);
	srcs = xcalloc((size_t)r->nin + 1, sizeof *srcs);
	for (int i = 0; i < r->nin; i++)
		if (fieldmap_mode_receives(r->in[i].f->mode)) {
			n += use[i] = 1;
			has_added |= r->in[i].f->is_added;
			if (&r->in[i] != in && !r->in[i].f->is_added &&
			    newest_here(c, rid, &r->in[i], &relog[i],
			    &srcs[i].src, &srcs[i].has_src, err) == -1)
				goto out;
		}
	if (merge_insert_row(c, r, use, has_added, &lrow, err) == -1 ||
	    (q = store_stmt(c->s, SQL_RELINK, err)) == NULL)
		goto out;
	sqlite3_bind_int64(q, 1, rid);
	sqlite3_bind_int64(q, 2, lrow);
	if (merge_step(c->s, q, err) == -1)
		goto out;
	/*
	 * Each field now has the peer's version, as if applied one by one;
	 * the restore itself last, marked when it won a clash.
	 */
	for (int i = 0; i < r->nin; i++) {
		if (!use[i] || &r->in[i] == in)
			continue;
		if (relog[i]) {
			/* Our later version, again: see newest_here. */
			if ((q = store_stmt(c->s, SQL_LOG_DIRECT, err)) == NULL)
				goto out;
			sqlite3_bind_int64(q, 1, rid);
			sqlite3_bind_int64(q, 2, r->in[i].f->fid);
			sqlite3_bind_int64(q, 3, r->in[i].hlc);
			sqlite3_bind_int64(q, 4, r->in[i].origin);
			if (srcs[i].has_src)
				sqlite3_bind_int64(q, 5, srcs[i].src);
			else
				sqlite3_bind_null(q, 5);
			sqlite3_bind_int(q, 6, 0);
			sqlite3_bind_null(q, 7);
			proto_bind_value(q, 8, &r->in[i].v);
			if (merge_step(c->s, q, err) == -1)
				goto out;
		} else if (merge_log_direct(c, rid, &r->in[i], NULL, err) == -1)
			goto out;
	}
	if (merge_log_direct(c, rid, in, NULL, err) == -1 || (clashed &&
	    ((q = store_stmt(c->s, SQL_MARK_CONFLICT, err)) == NULL ||
	    merge_step(c->s, q, err) == -1)))
		goto out;
	st->applied += n;
	ret = 0;
out:
	free(use);
	free(relog);
	free(srcs);
	return ret;
}
