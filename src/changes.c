/* changes.c - building outgoing batches; see changes.h. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "fieldmap.h"
#include "proto.h"
#include "util.h"
#include "value.h"
#include "versions.h"

#define CHUNK_ROWS 512

/*
 * Rows that arrived through this very pairing are never sent back, so
 * they are skipped here rather than looked at one by one (a first sync
 * would otherwise have its peer re-read everything it just received).
 */
/*
 * The last column says the record has no other log row: its versions
 * are then this row's, and the per-record version query is skipped (the
 * common case of a first sync).
 */
static const char SQL_SCAN[] =
    "SELECT l.seq, l.rid, l.fid, l.kind, r.tid, r.lrow, coalesce(k.rsid, "
    "r.sid), l.hlc, l.origin, l.src, NOT EXISTS (SELECT 1 FROM _fs_log x "
    "WHERE x.rid = l.rid AND x.seq <> l.seq) FROM _fs_log l JOIN "
    "_fs_record r ON r.rid = l.rid LEFT JOIN _fs_link k ON k.pid = ?3 AND "
    "k.rid = l.rid WHERE l.seq > ?1 AND l.src IS NOT ?4 ORDER BY l.seq "
    "LIMIT ?2";
/*
 * The same for the log's tail, when the rows after the cursor fit one
 * chunk: the versions then come from the rows in hand (see
 * changes_build), and nothing needs the per-record index.
 */
static const char SQL_SCAN_TAIL[] =
    "SELECT l.seq, l.rid, l.fid, l.kind, r.tid, r.lrow, coalesce(k.rsid, "
    "r.sid), l.hlc, l.origin, l.src, 0 FROM _fs_log l JOIN _fs_record r ON "
    "r.rid = l.rid LEFT JOIN _fs_link k ON k.pid = ?3 AND k.rid = l.rid "
    "WHERE l.seq > ?1 AND l.src IS NOT ?4 ORDER BY l.seq LIMIT ?2";
static const char SQL_LAST_SEQ[] =
    "SELECT coalesce(max(seq), 0) FROM _fs_log";
static const char SQL_ORIGIN[] =
    "SELECT instance FROM _fs_origin WHERE id = ?1";
static const char SQL_MARK[] =
    "SELECT coalesce(at, hlc) FROM _fs_log WHERE seq <= ?1 ORDER BY seq "
    "DESC LIMIT 1";
static const char SQL_FLOOR[] =
    "SELECT coalesce((SELECT min(seq) - 1 FROM _fs_log WHERE seq <= ?1 AND "
    "coalesce(at, hlc) > ?2), (SELECT coalesce(max(seq), 0) FROM _fs_log "
    "WHERE seq <= ?1))";
static const char SQL_PENDING[] =
    "SELECT count(*) FROM _fs_log WHERE seq > ?1 AND src IS NOT ?2";

/* A log row of the chunk, with its record (the scan joins them). */
struct touch {
	int64_t seq, rid, fid, tid, lrow, hlc, origin, src;
	int kind, tomb, has_src, only, reasserted;
	char sid[2 * FS_SID_LEN + 1];	/* as the peer knows it */
};

struct builder {
	struct store *s;
	struct syncmap *m;
	struct buf *out;
	int nrecords;
	int64_t *origins;	/* local origin ids in wire order */
	int norigins;
	struct batch_out *res;
	int64_t echo_pid;	/* versions from this pairing are not sent */
};

static int
cmp_touch(const void *a, const void *b)
{
	const struct touch *x = a, *y = b;

	if (x->rid != y->rid)
		return x->rid < y->rid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
origin_index(struct builder *b, int64_t origin)
{
	for (int i = 0; i < b->norigins; i++)
		if (b->origins[i] == origin)
			return i;
	b->origins = realloc(b->origins,
	    (size_t)(b->norigins + 1) * sizeof *b->origins);
	if (b->origins == NULL)
		abort();
	b->origins[b->norigins] = origin;
	return b->norigins++;
}

static int
touched(const struct touch *t, int n, int64_t fid, int *created)
{
	for (int i = 0; i < n; i++) {
		if (t[i].kind == 1)
			*created = 1;
		if (t[i].fid == fid)
			return 1;
	}
	return 0;
}

/*
 * Whether the chunk's rows t[0..n) change the record status and the row
 * just read (tab->read) is live now: a restore, or a status write that
 * left it live.
 */
static int
restored(struct synctable *tab, const struct touch *t, int n)
{
	for (int k = 0; k < tab->nfields; k++) {
		struct syncfield *f = tab->fields[k];

		if (!f->is_status || !fieldmap_mode_sends(f->mode))
			continue;
		for (int i = 0; i < n; i++)
			if (t[i].fid == f->fid && t[i].kind == 0)
				return !value_is_deleted(sqlite3_column_value(
				    tab->read, f->col_idx));
	}
	return 0;
}

/* Add version (h, o) to ph/po[*n] unless it is there already. */
static void
add_prior(int64_t *ph, int64_t *po, int *n, int64_t h, int64_t o)
{
	for (int i = 0; i < *n; i++)
		if (ph[i] == h && po[i] == o)
			return;
	ph[*n] = h;
	po[*n] = o;
	(*n)++;
}

/* The versions field version v (a row of record rid) replaced here. */
static int
prior_versions(struct builder *b, int64_t rid, const struct version *v,
    int64_t *ph, int64_t *po, int *n, struct fs_err *err)
{
	struct version prior, known, created;
	int64_t h, o;
	int k;

	*n = 0;
	if (versions_prior(b->s, rid, v->fid, v->seq, b->m->pair->pid, &prior,
	    &known, &created, err) == -1)
		return -1;
	if (prior.found)
		add_prior(ph, po, n, prior.hlc, prior.origin);
	if (known.found)
		add_prior(ph, po, n, known.hlc, known.origin);
	if (created.found)
		add_prior(ph, po, n, created.hlc, created.origin);
	/* A clash won here: the version it won over (merge-field.c). */
	if (!v->reasserted)
		return 0;
	if ((k = versions_won_over(b->s, v->seq, &h, &o, err)) == -1)
		return -1;
	if (k) {
		if (*n == FS_MAX_PRIORS)
			(*n)--;
		add_prior(ph, po, n, h, o);
	}
	return 0;
}

/*
 * Emit one record; t[0..n) are the chunk's rows for it, sorted by seq.
 * complete: they are all its rows after the cursor, and there are no
 * later ones.
 */
static int
emit_record(struct builder *b, const struct touch *t, int n, int complete,
    struct fs_err *err)
{
	struct store *s = b->s;
	struct syncmap *m = b->m;
	struct synctable *tab;
	struct version *ver = NULL, *created = NULL;
	int nver = 0, rc, ret = -1, nout = 0, row_loaded = 0, hard = 0;
	int64_t tid = t[0].tid, lrow = t[0].lrow;
	int tomb = t[0].tomb, is_created = 0, whole, revived, npriors = 0;
	const char *sidhex = t[0].sid;
	size_t mark = b->out->len;
	struct buf priors;

	buf_init(&priors, 0);
	if (sidhex[0] == '\0')
		return 0;	/* not a sync identity: nothing to say */
	if ((tab = syncmap_table(m, tid)) == NULL || tab->read == NULL)
		return 0;
	(void)touched(t, n, -1, &is_created);

	if (!tomb) {
		sqlite3_reset(tab->read);
		sqlite3_bind_int64(tab->read, 1, lrow);
		if ((rc = sqlite3_step(tab->read)) == SQLITE_ROW)
			row_loaded = 1;
		else if (rc != SQLITE_DONE) {
			store_dberr(s, err, "read row");
			goto out;
		}
	}
	/*
	 * A record goes whole with its creation, and with a restore: the
	 * peer may have hard-deleted it and then needs every field to bring
	 * the row back (fieldsync-protocol(7)).
	 */
	revived = !is_created && row_loaded && restored(tab, t, n);
	whole = is_created || revived;

	ver = xcalloc((size_t)tab->nfields + (size_t)n + 1, sizeof *ver);
	if (complete && !revived) {
		/*
		 * A field's current version is its newest row, and every row
		 * newer than the cursor is here (no echo of this pairing was
		 * skipped among them, or the caller would not say complete).
		 * Older rows are older than these.  A field with no row here
		 * is only sent with the creation, whose row is here too.
		 */
		for (int i = 0; i < n; i++) {
			struct version *v = NULL;

			for (int k = 0; k < nver && v == NULL; k++)
				if (ver[k].fid == t[i].fid)
					v = &ver[k];
			if (v == NULL)
				v = &ver[nver++];
			v->fid = t[i].fid;
			v->found = 1;
			v->seq = t[i].seq;
			v->hlc = t[i].hlc;
			v->origin = t[i].origin;
			v->has_src = t[i].has_src;
			v->src = t[i].src;
			v->kind = t[i].kind;
			v->reasserted = t[i].reasserted;
		}
	} else if (n == 1 && t[0].only) {
		/* The record's only row: its version is the scan's. */
		ver->fid = t[0].fid;
		ver->found = 1;
		ver->seq = t[0].seq;
		ver->hlc = t[0].hlc;
		ver->origin = t[0].origin;
		ver->has_src = t[0].has_src;
		ver->src = t[0].src;
		ver->kind = t[0].kind;
		ver->reasserted = t[0].reasserted;
		nver = 1;
	} else {
		/*
		 * Each field this record sends now, and the creation row if
		 * the creation is part of this chunk: otherwise every field
		 * sent has a row of its own here, and the peer has had the
		 * creation before (reading it would cost a page of the log
		 * far from the cursor).
		 */
		if (whole)
			ver[nver++].fid = 0;
		for (int i = 0; i < tab->nfields; i++)
			if (fieldmap_mode_sends(tab->fields[i]->mode) &&
			    (whole || touched(t, n, tab->fields[i]->fid,
			    &is_created)))
				ver[nver++].fid = tab->fields[i]->fid;
		/* Versions are copied out; values are read from the app row. */
		if (versions_get(s, t[0].rid, ver, nver, err) == -1)
			goto out;
	}
	created = versions_find(ver, nver, 0);
	/*
	 * A creation row newer than a field's own row is a re-creation (a
	 * REPLACE of the row whose delete trigger did not fire): the row was
	 * written whole again, so that is every field's version now.
	 */
	for (int k = 0; created != NULL && k < nver; k++)
		if (ver[k].fid != 0 && ver[k].found &&
		    ver[k].seq < created->seq)
			ver[k].found = 0;
	buf_addstr(b->out, b->nrecords ? ",{\"r\":\"" : "{\"r\":\"");
	buf_addstr(b->out, sidhex);
	buf_addstr(b->out, "\"");
	if (created != NULL && !(created->has_src &&
	    created->src == b->echo_pid)) {
		buf_addstr(b->out, ",\"c\":[\"");
		buf_add_i64(b->out, created->hlc);
		buf_addstr(b->out, "\",");
		buf_add_i64(b->out, origin_index(b, created->origin));
		buf_addstr(b->out, "]");
	}
	buf_addstr(b->out, ",\"f\":[");
	for (int i = 0; i < tab->nfields; i++) {
		struct syncfield *f = tab->fields[i];
		struct version *v;

		/*
		 * Nor a field linked to a number the peer does not publish
		 * (a link made before its catalogue was known): the peer
		 * would refuse the whole batch.
		 */
		if (!fieldmap_mode_sends(f->mode) ||
		    !syncmap_peer_has(m, f->wire))
			continue;
		if (!whole && !touched(t, n, f->fid, &is_created))
			continue;
		if ((v = versions_find(ver, nver, f->fid)) == NULL)
			v = created;
		if (v == NULL)
			continue;
		/*
		 * What came from there is not echoed, but for a restore: the
		 * peer may have lost all of it with a hard delete.
		 */
		if (v->has_src && v->src == b->echo_pid && !revived)
			continue;
		if (tomb || !row_loaded) {
			/* Only the deletion itself is left to tell. */
			if (!f->is_status || v->kind != 2)
				continue;
			hard = 1;
			buf_addstr(b->out, nout ? ",[" : "[");
			buf_add_i64(b->out, f->wire);
			buf_addstr(b->out, ",\"i:1\"");
		} else {
			buf_addstr(b->out, nout ? ",[" : "[");
			buf_add_i64(b->out, f->wire);
			buf_addstr(b->out, ",");
			proto_encode_value(b->out,
			    sqlite3_column_value(tab->read, f->col_idx));
		}
		if (v != created || (created->has_src &&
		    created->src == b->echo_pid))
		{
			int64_t ph[FS_MAX_PRIORS], po[FS_MAX_PRIORS];
			int np = 0, k;

			/*
			 * With versions it replaced here ("p"): a peer whose
			 * current version one of them is takes this one
			 * without a clash, whatever its cursors say.  The one
			 * just before, the newest that came from this peer
			 * (its own last word on the field), and the record's
			 * creation (a field the peer never changed).
			 */
			if (v != created && v->seq > 0 &&
			    prior_versions(b, t[0].rid, v, ph, po, &np,
			    err) == -1)
				goto out;
			buf_addstr(b->out, ",\"");
			buf_add_i64(b->out, v->hlc);
			buf_addstr(b->out, "\",");
			buf_add_i64(b->out, origin_index(b, v->origin));
			buf_addstr(b->out, "]");
			for (k = 0; k < np; k++) {
				buf_addstr(&priors, npriors++ ? ",[" : "[");
				buf_add_i64(&priors, f->wire);
				buf_addstr(&priors, ",\"");
				buf_add_i64(&priors, ph[k]);
				buf_addstr(&priors, "\",");
				buf_add_i64(&priors, origin_index(b, po[k]));
				buf_addstr(&priors, "]");
			}
		}
		else
			buf_addstr(b->out, "]");
		nout++;
	}
	buf_addstr(b->out, "]");
	if (npriors > 0) {
		buf_addstr(b->out, ",\"p\":[");
		buf_add(b->out, priors.data, priors.len);
		buf_addstr(b->out, "]");
	}
	buf_addstr(b->out, hard ? ",\"h\":1}" : "}");
	if (nout == 0)
		b->out->len = mark;	/* nothing of it flows to this peer */
	else {
		b->nrecords++;
		b->res->records++;
		b->res->values += nout;
	}
	if (b->out->data)
		b->out->data[b->out->len] = '\0';
	ret = 0;
out:
	if (row_loaded || !tomb)
		sqlite3_reset(tab->read);
	free(ver);
	buf_free(&priors);
	return ret;
}

static int
emit_origins(struct builder *b, struct buf *out, struct fs_err *err)
{
	sqlite3_stmt *st;

	buf_addstr(out, "\"origins\":[");
	for (int i = 0; i < b->norigins; i++) {
		if ((st = store_stmt(b->s, SQL_ORIGIN, err)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, b->origins[i]);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_reset(st);
			return fs_err_set(err, FS_EDB, "unknown origin %" PRId64,
			    b->origins[i]);
		}
		buf_printf(out, "%s\"%s\"", i ? "," : "",
		    (const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
	}
	buf_addstr(out, "],");
	return 0;
}

int
changes_build(struct store *s, struct syncmap *m, int64_t since, int echo,
    size_t budget, struct buf *out, struct batch_out *res,
    struct fs_err *err)
{
	struct builder b = { s, m, NULL, 0, NULL, 0, res, echo ? -1 :
	    m->pair->pid };
	struct buf body;
	struct touch *t = xcalloc(CHUNK_ROWS, sizeof *t);
	int64_t scanned = 0;
	int ret = -1;

	memset(res, 0, sizeof *res);
	res->cursor = since;
	buf_init(&body, 0);
	b.out = &body;
	buf_addstr(&body, "\"changes\":[");
	for (;;) {
		sqlite3_stmt *st, *ls;
		int64_t last;
		int n = 0, rc, tail, complete;

		/* Where the log ends now (this is one read snapshot). */
		if ((ls = store_stmt(s, SQL_LAST_SEQ, err)) == NULL)
			goto out;
		if (sqlite3_step(ls) != SQLITE_ROW) {
			sqlite3_reset(ls);
			store_dberr(s, err, "read log end");
			goto out;
		}
		last = sqlite3_column_int64(ls, 0);
		sqlite3_reset(ls);
		tail = last - res->cursor <= CHUNK_ROWS;
		if ((st = store_stmt(s, tail ? SQL_SCAN_TAIL : SQL_SCAN,
		    err)) == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, res->cursor);
		sqlite3_bind_int(st, 2, CHUNK_ROWS);
		sqlite3_bind_int64(st, 3, m->pair->pid);
		sqlite3_bind_int64(st, 4, b.echo_pid);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			t[n].seq = sqlite3_column_int64(st, 0);
			t[n].rid = sqlite3_column_int64(st, 1);
			t[n].fid = sqlite3_column_int64(st, 2);
			t[n].kind = sqlite3_column_int(st, 3) & 3;
			t[n].reasserted = (sqlite3_column_int(st, 3) & 8) != 0;
			t[n].tid = sqlite3_column_int64(st, 4);
			t[n].tomb = sqlite3_column_type(st, 5) == SQLITE_NULL;
			t[n].lrow = sqlite3_column_int64(st, 5);
			t[n].hlc = sqlite3_column_int64(st, 7);
			t[n].origin = sqlite3_column_int64(st, 8);
			t[n].has_src = sqlite3_column_type(st, 9) != SQLITE_NULL;
			t[n].src = sqlite3_column_int64(st, 9);
			t[n].only = sqlite3_column_int(st, 10);
			t[n].sid[0] = '\0';
			if (sqlite3_column_bytes(st, 6) == 2 * FS_SID_LEN)
				memcpy(t[n].sid, sqlite3_column_text(st, 6),
				    sizeof t[n].sid);
			n++;
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			store_dberr(s, err, "scan log");
			goto out;
		}
		/*
		 * In the tail, n rows for that many seqs means no row in
		 * between was skipped as an echo: the chunk holds every row
		 * after the cursor.
		 */
		complete = tail && last - res->cursor == n;
		/* Everything after the last row returned was skipped. */
		if (n < CHUNK_ROWS && last > res->cursor)
			res->cursor = last;
		if (n == 0)
			break;
		if (n == CHUNK_ROWS)
			res->cursor = t[n - 1].seq;
		scanned += n;
		qsort(t, (size_t)n, sizeof *t, cmp_touch);
		for (int i = 0; i < n;) {
			int j = i + 1;

			while (j < n && t[j].rid == t[i].rid)
				j++;
			if (emit_record(&b, t + i, j - i, complete, err) == -1)
				goto out;
			i = j;
		}
		if (n < CHUNK_ROWS)
			break;
		if (body.len >= budget || scanned >= FS_BATCH_ROWS * 16) {
			res->more = 1;
			break;
		}
	}
	buf_addstr(&body, "]");
	if (emit_origins(&b, out, err) == -1)
		goto out;
	buf_add(out, body.data, body.len);
	ret = 0;
out:
	buf_free(&body);
	free(b.origins);
	free(t);
	return ret;
}

int64_t
changes_pending(struct store *s, int64_t pid, int64_t since,
    struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_PENDING, err);
	int64_t n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, pid);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		store_dberr(s, err, "count pending");
	sqlite3_reset(st);
	return n;
}

int64_t
changes_mark(struct store *s, int64_t seq, struct fs_err *err)
{
	sqlite3_stmt *st;
	int64_t mark = 0;
	int rc;

	if (seq <= 0)
		return 0;
	if ((st = store_stmt(s, SQL_MARK, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		mark = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(s, err, "read log mark");
	return mark;
}

int64_t
changes_floor(struct store *s, int64_t seq, int64_t mark, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_FLOOR, err);
	int64_t floor = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, mark);
	if (sqlite3_step(st) == SQLITE_ROW)
		floor = sqlite3_column_int64(st, 0);
	else
		store_dberr(s, err, "read log floor");
	sqlite3_reset(st);
	return floor;
}
