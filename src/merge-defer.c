/*
 * merge-defer.c - a peer's writes the app's constraints refuse for now.
 *
 * A batch is written record by record and field by field, but the app
 * made its changes in its own order and several at once: a UNIQUE value
 * that moved from one row to another (the row that held it is written
 * later in the batch), or one UPDATE of two columns a CHECK ties together
 * (lo <= hi; a deletion reason required while deleted).  A write the
 * app's CHECK or UNIQUE constraint refuses therefore waits until the rest
 * of the batch is written, is tried again while that makes progress, and
 * then together with the other waiting fields of its record in one
 * UPDATE.  Only what still fails after that fails the batch, with the
 * app's reason, as before.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ident.h"
#include "merge-int.h"
#include "util.h"

static const char SQL_LOG_END[] =
    "SELECT coalesce(max(seq), 0) FROM _fs_log";
/* One UPDATE stamps every field with one version: each gets its own. */
static const char SQL_RESTAMP[] =
    "UPDATE _fs_log SET hlc = ?1, origin = ?2, kind = kind | ?3 WHERE "
    "seq > ?4 AND rid = ?5 AND fid = ?6";

static void
value_own(struct fs_value *v)
{
	if ((v->type == SQLITE_TEXT || v->type == SQLITE_BLOB) &&
	    v->p != v->owned) {
		char *o = xmalloc(v->n + 1);

		if (v->n > 0)
			memcpy(o, v->p, v->n);
		o[v->n] = '\0';
		v->owned = o;
		v->p = o;
	}
}

void
merge_defer_push(struct merge_ctx *c, const struct inrec *r, int64_t rid,
    int64_t lrow, const struct infield *in, int conflict)
{
	struct merge_deferred *d;

	merge_defer_drop(c, rid, in->f->fid);
	if (c->ndeferred == c->capdeferred) {
		c->capdeferred = c->capdeferred ? 2 * c->capdeferred : 8;
		c->deferred = realloc(c->deferred, (size_t)c->capdeferred *
		    sizeof *c->deferred);
		if (c->deferred == NULL)
			abort();
	}
	d = &c->deferred[c->ndeferred++];
	memset(d, 0, sizeof *d);
	d->t = r->table;
	d->rid = rid;
	d->lrow = lrow;
	snprintf(d->sid, sizeof d->sid, "%s", r->sid);
	d->in = *in;
	d->in.v.owned = NULL;
	value_own(&d->in.v);
	d->conflict = conflict;
}

void
merge_defer_drop(struct merge_ctx *c, int64_t rid, int64_t fid)
{
	for (int i = 0; i < c->ndeferred; i++)
		if (c->deferred[i].rid == rid &&
		    c->deferred[i].in.f->fid == fid) {
			proto_value_free(&c->deferred[i].in.v);
			memmove(&c->deferred[i], &c->deferred[i + 1],
			    (size_t)(c->ndeferred - i - 1) *
			    sizeof *c->deferred);
			c->ndeferred--;
			return;
		}
}

void
merge_defer_free(struct merge_ctx *c)
{
	for (int i = 0; i < c->ndeferred; i++)
		proto_value_free(&c->deferred[i].in.v);
	free(c->deferred);
	c->deferred = NULL;
	c->ndeferred = c->capdeferred = 0;
	c->defer_mode = MERGE_DEFER_OFF;
}

/* The record a waiting write belongs to, as merge_write_value wants it. */
static struct inrec
rec_of(struct merge_deferred *d)
{
	struct inrec r;

	memset(&r, 0, sizeof r);
	snprintf(r.sid, sizeof r.sid, "%s", d->sid);
	r.table = d->t;
	r.in = &d->in;
	r.nin = 1;
	return r;
}

/*
 * Write the n waiting fields e[] of one record in one UPDATE: 0 done, 1
 * refused by the app's constraint again, -1 error.
 */
static int
write_together(struct merge_ctx *c, struct merge_deferred **e, int n,
    struct fs_err *err)
{
	struct synctable *t = e[0]->t;
	sqlite3_stmt *q, *up;
	struct inrec r;
	struct buf b;
	int64_t end = 0;
	int rc;

	if ((q = store_stmt(c->s, SQL_LOG_END, err)) == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW)
		end = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	r = rec_of(e[0]);
	if (merge_set_switch(c, &r, e[0]->in.hlc, e[0]->in.origin, err) == -1)
		return -1;
	buf_init(&b, 0);
	buf_printf(&b, "UPDATE %s SET ", t->qname);
	for (int i = 0; i < n; i++) {
		if (i > 0)
			buf_addstr(&b, ", ");
		ident_quote(&b, e[i]->in.f->col);
		buf_printf(&b, " = ?%d", i + 1);
	}
	buf_printf(&b, " WHERE %s.%s = ?%d", t->qname, t->qkey, n + 1);
	up = store_prepare(c->s, b.data, err);
	buf_free(&b);
	if (up == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		proto_bind_value(up, i + 1, &e[i]->in.v);
	sqlite3_bind_int64(up, n + 1, e[0]->lrow);
	rc = sqlite3_step(up);
	if (rc != SQLITE_DONE) {
		int xrc = sqlite3_extended_errcode(c->s->db);

		sqlite3_finalize(up);
		if (xrc == SQLITE_CONSTRAINT_CHECK ||
		    xrc == SQLITE_CONSTRAINT_UNIQUE)
			return 1;
		return store_dberr(c->s, err, "write the peer's changes");
	}
	sqlite3_finalize(up);
	for (int i = 0; i < n; i++) {
		if ((q = store_stmt(c->s, SQL_RESTAMP, err)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, e[i]->in.hlc);
		sqlite3_bind_int64(q, 2, e[i]->in.origin);
		sqlite3_bind_int(q, 3, e[i]->conflict ? 4 : 0);
		sqlite3_bind_int64(q, 4, end);
		sqlite3_bind_int64(q, 5, e[i]->rid);
		sqlite3_bind_int64(q, 6, e[i]->in.f->fid);
		if (merge_step(c->s, q, err) == -1)
			return -1;
	}
	return 0;
}

int
merge_defer_finish(struct merge_ctx *c, struct fs_err *err)
{
	struct merge_deferred *w = c->deferred;
	struct merge_deferred **grp = NULL;
	int n = c->ndeferred, progress = 1, ret = -1, gone = 0;

	/* Taken out: nothing is put off while these are tried. */
	c->deferred = NULL;
	c->ndeferred = c->capdeferred = 0;
	c->defer_mode = MERGE_DEFER_TRY;
	while (n > 0 && progress) {
		int kept = 0;

		progress = 0;
		for (int i = 0; i < n; i++) {
			struct inrec r = rec_of(&w[i]);
			int rc = merge_write_value(c, &r, w[i].rid, w[i].lrow,
			    &w[i].in, w[i].conflict, &gone, err);

			if (rc == -1) {
				n = kept + (n - i);
				memmove(&w[kept], &w[i], (size_t)(n - kept) *
				    sizeof *w);
				goto out;
			}
			if (rc == 0) {
				proto_value_free(&w[i].in.v);
				progress = 1;
			} else
				w[kept++] = w[i];
		}
		n = kept;
	}
	/* Then each record's waiting fields at once. */
	grp = xcalloc((size_t)n + 1, sizeof *grp);
	for (int i = 0; i < n; i++) {
		int k = 0, rc;

		if (w[i].grouped)
			continue;	/* tried with an earlier one */
		for (int j = i; j < n; j++)
			if (w[j].rid == w[i].rid) {
				w[j].grouped = 1;
				grp[k++] = &w[j];
			}
		if (k < 2)
			continue;
		if ((rc = write_together(c, grp, k, err)) == -1)
			goto out;
		if (rc == 0)
			for (int j = 0; j < k; j++)
				grp[j]->t = NULL;	/* written */
	}
	/* What is left fails the batch, with the app's own reason. */
	c->defer_mode = MERGE_DEFER_OFF;
	for (int i = 0; i < n; i++) {
		struct inrec r = rec_of(&w[i]);

		if (w[i].t != NULL && merge_write_value(c, &r, w[i].rid,
		    w[i].lrow, &w[i].in, w[i].conflict, &gone, err) == -1)
			goto out;
	}
	ret = 0;
out:
	for (int i = 0; i < n; i++)
		proto_value_free(&w[i].in.v);
	free(w);
	free(grp);
	c->defer_mode = MERGE_DEFER_OFF;
	return ret;
}
