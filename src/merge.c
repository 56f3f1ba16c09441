/* merge.c - applying a peer's batch; see merge.h for the design notes. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "merge-int.h"
#include "util.h"

static const char SQL_FIND_LINK[] =
    "SELECT rid FROM _fs_link WHERE pid = ?1 AND rsid = ?2";
static const char SQL_ANY_LINK[] =
    "SELECT EXISTS (SELECT 1 FROM _fs_link WHERE pid = ?1)";
static const char SQL_FIND_SID[] =
    "SELECT rid FROM _fs_record WHERE sid = ?1";
static const char SQL_REC[] =
    "SELECT tid, lrow FROM _fs_record WHERE rid = ?1";
static const char SQL_SWITCH_OFF[] =
    "UPDATE _fs_clock SET ap_src = NULL, ap_hlc = NULL, ap_origin = NULL, "
    "ap_sid = NULL, ap_bulk = NULL, hlc = max(hlc, ?1) WHERE id = 1";
static const char SQL_BULK_ON[] =
    "UPDATE _fs_clock SET ap_bulk = 1 WHERE id = 1";
/*
 * The log's end, and a value of our clock later than anything a restored
 * backup's log held (sql/003): the rows this batch writes get it.
 */
static const char SQL_LOG_END[] =
    "SELECT coalesce((SELECT max(seq) FROM _fs_log), 0), max(hlc + 1, "
    CAPTURE_HLC_NOW ") FROM _fs_clock WHERE id = 1";
/* Rows the triggers wrote for this batch (the engine's own have it). */
static const char SQL_STAMP[] =
    "UPDATE _fs_log SET at = ?2 WHERE seq > ?1 AND at IS NULL";
static const char SQL_LINK_ADD[] =
    "INSERT INTO _fs_link(pid, rsid, rid) VALUES (?1, ?2, ?3)";

int
merge_step(struct store *s, sqlite3_stmt *st, struct fs_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_dberr(s, err, "apply");
	return 0;
}

static int
apply_record(struct merge_ctx *c, struct merge_pending *p, struct inrec *r,
    struct merge_stats *st, struct fs_err *err)
{
	struct sidmax *m;
	sqlite3_stmt *q;
	int64_t rid = 0, tid, lrow;
	int ambiguous, above;

	if (r->table == NULL)
		return 0;	/* nothing of it is mapped here */
	if (merge_sid_above(c, p, r->sid, &m, &above, err) == -1)
		return -1;
	/*
	 * Created earlier in this batch (a record appears once per chunk of
	 * the sender's scan): write it, so the lookups below find it.
	 */
	if (!above && merge_pend_has(p, r->sid) &&
	    merge_pend_flush(c, p, err) == -1)
		return -1;
	if (c->has_links) {
		if ((q = store_stmt(c->s, SQL_FIND_LINK, err)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, c->m->pair->pid);
		sqlite3_bind_text(q, 2, r->sid, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			rid = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	if (rid == 0 && !above) {
		if ((q = store_stmt(c->s, SQL_FIND_SID, err)) == NULL)
			return -1;
		sqlite3_bind_text(q, 1, r->sid, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			rid = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	}
	if (rid == 0) {
		/*
		 * No flush needed first: a pending record has no _fs_record
		 * row to join yet, and once written its "created" row from
		 * this pairing rules it out as well.
		 */
		if (merge_find_match(c, r->table, r, &rid, &ambiguous,
		    err) == -1)
			return -1;
		if (ambiguous)
			st->ambiguous++;
		if (rid == 0) {
			int rc = merge_create_record(c, p, r, st, &rid, err);

			if (rc == -1)
				return -1;
			if (rc == 0) {
				merge_sidmax_raise(m, r->sid);
				return 0;
			}
			fs_err_clear(err);	/* its unique key's row, below */
		}
		p->run = 0;
		if (merge_triggers_quiet(c, p, 0) == -1)
			return fs_err_set(err, FS_EDB, "cannot switch triggers "
			    "back on");
		if (merge_pend_flush(c, p, err) == -1 ||
		    (q = store_stmt(c->s, SQL_LINK_ADD, err)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, c->m->pair->pid);
		sqlite3_bind_text(q, 2, r->sid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, rid);
		if (merge_step(c->s, q, err) == -1)
			return -1;
		c->has_links = 1;
		st->linked++;
	}
	/*
	 * An existing record: its update is logged after the pending ones,
	 * by the triggers.
	 */
	p->run = 0;
	if (merge_triggers_quiet(c, p, 0) == -1)
		return fs_err_set(err, FS_EDB, "cannot switch triggers back on");
	if (merge_pend_flush(c, p, err) == -1 ||
	    (q = store_stmt(c->s, SQL_REC, err)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, rid);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return fs_err_set(err, FS_EDB, "record %" PRId64 " vanished", rid);
	}
	tid = sqlite3_column_int64(q, 0);
	if (sqlite3_column_type(q, 1) == SQLITE_NULL) {
		sqlite3_reset(q);
		/* Hard-deleted here: only a restore brings it back. */
		return tid == r->table->tid ? merge_revive_record(c, r, rid, st,
		    err) : 0;
	}
	lrow = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	if (tid != r->table->tid)
		return fs_err_set(err, FS_EINVAL, "record belongs to another "
		    "table here");
	return merge_update_record(c, r, rid, lrow, st, err);
}

/*
 * The optional "remapped" member: the sender's fields whose mapping
 * changed there and whose changes it is sending again (protocol(7)), as
 * our field numbers.  A field number we do not map is no business of
 * ours; anything but an array of field numbers is refused.
 */
static int
remapped_fids(struct merge_ctx *c, const cJSON *batch, int64_t **fids,
    int *n, struct fs_err *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(batch, "remapped");
	const cJSON *w;

	*fids = NULL;
	*n = 0;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > FS_MAX_REMAPPED)
		return fs_err_set(err, FS_EINVAL, "'remapped' must be an array "
		    "of at most %d field numbers", FS_MAX_REMAPPED);
	cJSON_ArrayForEach(w, arr) {
		struct syncfield *f;
		int64_t wire;

		if (proto_field_number(w, &wire) == -1) {
			free(*fids);
			*fids = NULL;
			*n = 0;
			return fs_err_set(err, FS_EINVAL, "'remapped' must hold "
			    "field numbers");
		}
		if ((f = syncmap_by_wire(c->m, wire)) == NULL)
			continue;
		*fids = realloc(*fids, (size_t)(*n + 1) * sizeof **fids);
		if (*fids == NULL)
			abort();
		(*fids)[(*n)++] = f->fid;
	}
	return 0;
}

int
merge_apply(struct merge_ctx *c, const cJSON *batch, struct merge_stats *st,
    struct fs_err *err)
{
	const cJSON *origins, *changes, *rec;
	struct merge_pending *p = NULL;
	struct merge_adopt adopt = { NULL, 0 };
	int64_t *ids = NULL, log_end = 0, *remapped = NULL;
	int nids, ret = -1, stamp;

	memset(st, 0, sizeof *st);
	if ((origins = proto_get_array(batch, "origins", err)) == NULL ||
	    (changes = proto_get_array(batch, "changes", err)) == NULL ||
	    remapped_fids(c, batch, &remapped, &c->nremapped, err) == -1)
		return -1;
	c->remapped = remapped;
	store_now_iso(c->now);
	stamp = cJSON_GetArraySize(changes) > 0;	/* not on idle polls */
	if (stamp) {
		sqlite3_stmt *q = store_stmt(c->s, SQL_LOG_END, err);

		if (q == NULL)
			goto out;
		if (sqlite3_step(q) == SQLITE_ROW) {
			log_end = sqlite3_column_int64(q, 0);
			c->at = sqlite3_column_int64(q, 1);
		}
		sqlite3_reset(q);
		if (merge_adopt_begin(c->s, c->m, &adopt, err) == -1)
			goto out;
	}
	{
		/* Most pairings never link by match key: skip that lookup. */
		sqlite3_stmt *q = store_stmt(c->s, SQL_ANY_LINK, err);

		if (q == NULL)
			goto out;
		sqlite3_bind_int64(q, 1, c->m->pair->pid);
		c->has_links = sqlite3_step(q) == SQLITE_ROW &&
		    sqlite3_column_int(q, 0);
		sqlite3_reset(q);
	}
	{
		/* Cleared by merge_finish, or by the rollback of an error. */
		sqlite3_stmt *q = store_stmt(c->s, SQL_BULK_ON, err);

		if (q == NULL || merge_step(c->s, q, err) == -1)
			goto out;
	}
	/* Created records wait here; see merge.h.  Rows need no zeroing. */
	p = xmalloc(sizeof *p);
	p->n = p->nmaxes = 0;
	p->sid_fast = -1;
	p->run = p->quiet = 0;
	memset(p->slots, 0, sizeof p->slots);
	p->nplain = c->m->ntables;
	p->plain = xcalloc((size_t)p->nplain + 1, sizeof *p->plain);
	if (merge_origins_map(c->s, origins, &ids, &nids, err) == -1 ||
	    merge_dupkeys_build(c, changes, ids, nids, err) == -1)
		goto out;
	c->defer_mode = MERGE_DEFER_PUSH;
	cJSON_ArrayForEach(rec, changes) {
		struct inrec r;

		if (merge_decode_record(c, rec, ids, nids, &r, err) == -1) {
			merge_inrec_free(&r);
			goto out;
		}
		st->records++;
		for (int i = 0; i < r.nin; i++)
			if (r.in[i].hlc > st->max_hlc)
				st->max_hlc = r.in[i].hlc;
		if (apply_record(c, p, &r, st, err) == -1) {
			merge_inrec_free(&r);
			goto out;
		}
		merge_inrec_free(&r);
	}
	if (merge_pend_flush(c, p, err) == -1 ||
	    merge_defer_finish(c, err) == -1 ||
	    merge_adopt_end(c->s, &adopt, &st->adopted, err) == -1)
		goto out;
	if (stamp) {
		/* The rows this batch wrote: when, by our clock (sql/003). */
		sqlite3_stmt *q = store_stmt(c->s, SQL_STAMP, err);

		if (q == NULL)
			goto out;
		sqlite3_bind_int64(q, 1, log_end);
		sqlite3_bind_int64(q, 2, c->at);
		if (merge_step(c->s, q, err) == -1)
			goto out;
	}
	ret = 0;
out:
	if (p != NULL && merge_triggers_quiet(c, p, 0) == -1 && ret == 0)
		ret = fs_err_set(err, FS_EDB, "cannot switch triggers back on");
	if (p != NULL)
		free(p->plain);
	free(p);
	merge_adopt_free(&adopt);
	merge_defer_free(c);
	merge_dupkeys_free(c);
	free(ids);
	free(remapped);
	c->remapped = NULL;
	c->nremapped = 0;
	return ret;
}

int
merge_finish(struct store *s, int64_t max_hlc, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_SWITCH_OFF, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, max_hlc);
	return merge_step(s, st, err);
}
