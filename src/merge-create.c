/*
 * merge-create.c - a record new here: linked by match key or by the
 * app's own UNIQUE index to one the peer does not know, or inserted
 * with the sender's identity (its record rows wait in the pending list).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fieldmap.h"
#include "ident.h"
#include "log.h"
#include "merge-int.h"
#include "util.h"
#include "value.h"

/*
 * Whether an INSERT into an app table can run anything besides the
 * capture insert trigger (which stands aside in bulk mode): a trigger
 * that is not one of ours, or a REPLACE conflict clause, whose deletes
 * fire the delete trigger (recursive triggers are on) and foreign key
 * actions.  Any mention of REPLACE in the table's SQL counts: a false
 * alarm only costs speed.
 */
static const char SQL_SIDE_EFFECTS[] =
    "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger' AND "
    "tbl_name = ?1 COLLATE NOCASE AND name NOT IN ('_fs_ins_' || ?2, "
    "'_fs_del_' || ?2, '_fs_key_' || ?2) AND name NOT GLOB "
    "'_fs_upd_' || ?2 || '_[0-9]*') OR EXISTS (SELECT 1 FROM "
    "sqlite_temp_schema WHERE type = 'trigger' AND tbl_name = ?1 "
    "COLLATE NOCASE) OR EXISTS (SELECT 1 FROM sqlite_schema WHERE type = "
    "'table' AND name = ?1 COLLATE NOCASE AND sql LIKE '%replace%')";

/*
 * A long run of creations into plain tables (nothing but our own
 * triggers) is inserted with the connection's triggers off.  The insert
 * trigger would do nothing (ap_bulk), but SQLite sets up its whole frame
 * before the WHEN clause says so: about half the cost of such an INSERT.
 * Switching costs a new compile of every statement used afterwards
 * (SQLite expires them all), so only runs this long switch.
 */
#define QUIET_AFTER 64

int
merge_triggers_quiet(struct merge_ctx *c, struct merge_pending *p, int quiet)
{
	int now;

	if (p->quiet == quiet)
		return 0;
	if (sqlite3_db_config(c->s->db, SQLITE_DBCONFIG_ENABLE_TRIGGER,
	    !quiet, &now) != SQLITE_OK || now != !quiet) {
		if (!quiet)	/* they must come back on, or nothing is safe */
			return -1;
		return 0;	/* stay on: ap_bulk keeps it correct */
	}
	p->quiet = quiet;
	return 0;
}

/*
 * Build (or reuse) INSERT INTO t(cols of r[, time added]) VALUES (...);
 * with_added appends the time-added column, which the insert trigger
 * would otherwise have filled.
 */
static sqlite3_stmt *
insert_stmt(struct merge_ctx *c, struct synctable *t, const struct inrec *r,
    const int *use, int with_added, struct fs_err *err)
{
	struct buf b;
	int n = with_added ? 1 : 0, same;

	for (int i = 0; i < r->nin; i++)
		n += use[i];
	same = t->insert != NULL && t->ins_n == n;
	for (int i = 0, k = 0; same && i < r->nin; i++)
		if (use[i] && t->ins_fids[k++] != r->in[i].f->fid)
			same = 0;
	if (same && with_added && t->ins_fids[n - 1] != -1)
		same = 0;
	if (same) {
		sqlite3_reset(t->insert);
		return t->insert;
	}
	sqlite3_finalize(t->insert);
	t->insert = NULL;
	free(t->ins_fids);
	t->ins_fids = xcalloc((size_t)n + 1, sizeof *t->ins_fids);
	t->ins_n = n;
	buf_init(&b, 0);
	buf_printf(&b, "INSERT INTO %s(", t->qname);
	for (int i = 0, k = 0; i < r->nin; i++) {
		if (!use[i])
			continue;
		if (k)
			buf_addstr(&b, ", ");
		ident_quote(&b, r->in[i].f->col);
		t->ins_fids[k++] = r->in[i].f->fid;
	}
	if (with_added) {
		if (n > 1)
			buf_addstr(&b, ", ");
		ident_quote(&b, t->added_col);
		t->ins_fids[n - 1] = -1;
	}
	buf_addstr(&b, ") VALUES (");
	for (int k = 0; k < n; k++)
		buf_printf(&b, "%s?%d", k ? ", " : "", k + 1);
	buf_addstr(&b, ")");
	if (n == 0) {
		buf_reset(&b);
		buf_printf(&b, "INSERT INTO %s DEFAULT VALUES", t->qname);
	}
	t->insert = store_prepare(c->s, b.data, err);
	buf_free(&b);
	return t->insert;
}

/*
 * Insert the app row of r with the fields use[] says, and the time added
 * now unless r brings it; *lrow is its row id.
 */
int
merge_insert_row(struct merge_ctx *c, struct inrec *r, const int *use,
    int has_added, int64_t *lrow, struct fs_err *err)
{
	sqlite3_stmt *ins = insert_stmt(c, r->table, r, use, !has_added, err);
	int k = 0;

	if (ins == NULL)
		return -1;
	for (int i = 0; i < r->nin; i++)
		if (use[i])
			proto_bind_value(ins, ++k, &r->in[i].v);
	if (!has_added)
		sqlite3_bind_text(ins, ++k, c->now, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		char what[160];

		/* Most often the app's own constraint: say which record. */
		snprintf(what, sizeof what, "cannot add the peer's record %s "
		    "to %s", r->sid, r->table->name);
		store_dberr(c->s, err, what);
		sqlite3_reset(ins);
		return -1;
	}
	sqlite3_reset(ins);
	sqlite3_clear_bindings(ins);
	*lrow = sqlite3_last_insert_rowid(c->s->db);
	return 0;
}

/*
 * The one local record whose row has r's values in columns cols[0..n) and
 * that the peer does not know yet: *rid (0 for none, *ambiguous for more
 * than one).  *q caches the statement for the same column list.
 */
const struct infield *
merge_in_column(const struct inrec *r, const char *col)
{
	for (int i = 0; i < r->nin; i++)
		if (strcasecmp(r->in[i].f->col, col) == 0)
			return &r->in[i];
	return NULL;
}

static int
match_by(struct merge_ctx *c, struct synctable *t, const struct inrec *r,
    char *const *cols, int n, sqlite3_stmt **q, int64_t *rid, int *ambiguous,
    struct fs_err *err)
{
	int nm = 0, rc, found = 0;
	const struct infield *vals[16];

	*rid = 0;
	*ambiguous = 0;
	for (int k = 0; k < n; k++) {
		const struct infield *v = merge_in_column(r, cols[k]);

		if (v == NULL || v->v.type == SQLITE_NULL || nm == 16)
			return 0;	/* no key to match by */
		vals[nm++] = v;
	}
	if (*q == NULL) {
		struct buf b;

		buf_init(&b, 0);
		/*
		 * CROSS JOIN keeps the app table first, searched by the match
		 * columns (matchindex.h); left to itself the planner would
		 * walk every record of the table for each lookup.
		 */
		buf_printf(&b, "SELECT r.rid FROM %s a CROSS JOIN _fs_record r "
		    "ON r.tid = ?1 AND r.lrow = a.%s WHERE ", t->qname, t->qkey);
		for (int i = 0; i < nm; i++) {
			buf_addstr(&b, i ? " AND a." : "a.");
			ident_quote(&b, cols[i]);
			buf_printf(&b, " = ?%d", i + 3);
		}
		/*
		 * Never a record the peer already knows: one it sent us, or
		 * one of ours it has acknowledged (it created or linked it
		 * then).  Linking another of its records to it would map two
		 * of its records onto one of ours.
		 */
		buf_printf(&b, " AND NOT EXISTS (SELECT 1 FROM _fs_link l WHERE "
		    "l.pid = ?2 AND l.rid = r.rid) AND NOT EXISTS (SELECT 1 "
		    "FROM _fs_log g WHERE g.rid = r.rid AND g.fid = 0 AND "
		    "(g.seq <= ?%d OR g.src = ?2)) LIMIT 2", nm + 3);
		*q = store_prepare(c->s, b.data, err);
		buf_free(&b);
		if (*q == NULL)
			return -1;
	}
	sqlite3_reset(*q);
	sqlite3_bind_int64(*q, 1, t->tid);
	sqlite3_bind_int64(*q, 2, c->m->pair->pid);
	for (int i = 0; i < nm; i++)
		proto_bind_value(*q, i + 3, &vals[i]->v);
	sqlite3_bind_int64(*q, nm + 3, c->acked);
	while ((rc = sqlite3_step(*q)) == SQLITE_ROW) {
		*rid = sqlite3_column_int64(*q, 0);
		found++;
	}
	sqlite3_reset(*q);
	if (rc != SQLITE_DONE)
		return store_dberr(c->s, err, "match");
	if (found > 1) {
		*ambiguous = 1;
		*rid = 0;
	}
	return 0;
}

/*
 * Whether a row here with r's match key has a record already linked to
 * another of the peer's records: then the peer holds two records with
 * that key, and which of them the row stands for was never knowable.
 */
static int
match_taken(struct merge_ctx *c, struct synctable *t, const struct inrec *r,
    int n, int *taken, struct fs_err *err)
{
	int rc;

	*taken = 0;
	if (t->taken_q == NULL) {
		struct buf b;

		buf_init(&b, 0);
		buf_printf(&b, "SELECT 1 FROM %s a CROSS JOIN _fs_record r ON "
		    "r.tid = ?1 AND r.lrow = a.%s JOIN _fs_link l ON l.pid = ?2 "
		    "AND l.rid = r.rid WHERE ", t->qname, t->qkey);
		for (int i = 0; i < n; i++) {
			buf_addstr(&b, i ? " AND a." : "a.");
			ident_quote(&b, t->match[i]);
			buf_printf(&b, " = ?%d", i + 3);
		}
		buf_addstr(&b, " LIMIT 1");
		t->taken_q = store_prepare(c->s, b.data, err);
		buf_free(&b);
		if (t->taken_q == NULL)
			return -1;
	}
	sqlite3_reset(t->taken_q);
	sqlite3_bind_int64(t->taken_q, 1, t->tid);
	sqlite3_bind_int64(t->taken_q, 2, c->m->pair->pid);
	for (int i = 0; i < n; i++) {
		const struct infield *v = merge_in_column(r, t->match[i]);

		if (v == NULL || v->v.type == SQLITE_NULL)
			return 0;
		proto_bind_value(t->taken_q, i + 3, &v->v);
	}
	rc = sqlite3_step(t->taken_q);
	*taken = rc == SQLITE_ROW;
	sqlite3_reset(t->taken_q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(c->s, err, "match");
	return 0;
}

/* On a first sync, the record the table's --match columns link r to. */
int
merge_find_match(struct merge_ctx *c, struct synctable *t,
    const struct inrec *r, int64_t *rid, int *ambiguous, struct fs_err *err)
{
	int n = 0;

	*rid = 0;
	*ambiguous = 0;
	if (!c->matching || t->match == NULL || t->match[0] == NULL)
		return 0;
	while (t->match[n] != NULL)
		n++;
	if (merge_dupkey(c, r)) {
		*ambiguous = 1;	/* the sender has two: link neither */
		return 0;
	}
	if (match_by(c, t, r, t->match, n, &t->match_q, rid, ambiguous,
	    err) == -1)
		return -1;
	/* A second record of the peer's with a key already linked here. */
	if (*rid == 0 && !*ambiguous && c->has_links &&
	    match_taken(c, t, r, n, ambiguous, err) == -1)
		return -1;
	return 0;
}

/* The row here that holds r's values in cols[0..n), whatever its record. */
struct holder {
	int64_t lrow;		/* 0: none found */
	int deleted;		/* its record status says deleted */
};

static int
find_holder(struct merge_ctx *c, struct synctable *t, const struct inrec *r,
    char *const *cols, int n, struct holder *h, struct fs_err *err)
{
	const struct syncfield *status = NULL;
	sqlite3_stmt *q;
	struct buf b;
	int k = 0, rc = SQLITE_DONE;

	for (int i = 0; i < t->nfields; i++)
		if (t->fields[i]->is_status)
			status = t->fields[i];
	buf_init(&b, 0);
	buf_printf(&b, "SELECT a.%s, ", t->qkey);
	if (status != NULL) {
		buf_addstr(&b, "a.");
		ident_quote(&b, status->col);
	} else
		buf_addstr(&b, "NULL");
	buf_printf(&b, " FROM %s a WHERE ", t->qname);
	for (int i = 0; i < n; i++) {
		buf_addstr(&b, i ? " AND a." : "a.");
		ident_quote(&b, cols[i]);
		buf_printf(&b, " = ?%d", i + 1);
	}
	buf_addstr(&b, " LIMIT 1");
	q = store_prepare(c->s, b.data, err);
	buf_free(&b);
	if (q == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		const struct infield *v = merge_in_column(r, cols[i]);

		if (v != NULL) {
			proto_bind_value(q, i + 1, &v->v);
			k++;
		}
	}
	if (k == n && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		h->lrow = sqlite3_column_int64(q, 0);
		h->deleted = status != NULL &&
		    value_is_deleted(sqlite3_column_value(q, 1));
	} else if (k == n && rc != SQLITE_DONE) {
		sqlite3_finalize(q);
		return store_dberr(c->s, err, "find the key's row");
	}
	sqlite3_finalize(q);
	return 0;
}

/*
 * A new record the app's own UNIQUE index refused: the row that holds
 * its key here, when that is a record the peer does not know yet (both
 * sides created "the same" record, by the app's own rule, before they
 * met).  Each unique index whose columns r brings is tried.  1 and *rid
 * when found; 0 when not (the refusal stands, and *h says which row
 * holds the key, for the message).
 */
static int
unique_match(struct merge_ctx *c, const struct inrec *r, int64_t *rid,
    struct holder *h, struct fs_err *err)
{
	struct synctable *t = r->table;
	sqlite3_stmt *ix, *cols;
	int found = 0, rc;

	*rid = 0;
	ix = store_prepare(c->s, "SELECT name FROM pragma_index_list(?1) "
	    "WHERE \"unique\" AND origin <> 'pk' AND NOT partial", err);
	if (ix == NULL)
		return -1;
	sqlite3_bind_text(ix, 1, t->name, -1, SQLITE_STATIC);
	cols = store_prepare(c->s, "SELECT name FROM pragma_index_info(?1) "
	    "ORDER BY seqno", err);
	if (cols == NULL) {
		sqlite3_finalize(ix);
		return -1;
	}
	while (!found && (rc = sqlite3_step(ix)) == SQLITE_ROW) {
		char *names[16];
		int n = 0, bad = 0, ambiguous;
		sqlite3_stmt *q = NULL;

		sqlite3_reset(cols);
		sqlite3_bind_text(cols, 1, (const char *)sqlite3_column_text(ix,
		    0), -1, SQLITE_TRANSIENT);
		while (sqlite3_step(cols) == SQLITE_ROW) {
			const char *nm = (const char *)sqlite3_column_text(cols,
			    0);

			if (nm == NULL || n == 16)
				bad = 1;	/* an expression, or too wide */
			else
				names[n++] = xstrdup(nm);
		}
		if (!bad && n > 0 && match_by(c, t, r, names, n, &q, rid,
		    &ambiguous, err) == -1)
			bad = -1;
		else if (!bad && n > 0 && *rid == 0 && h->lrow == 0 &&
		    find_holder(c, t, r, names, n, h, err) == -1)
			bad = -1;
		sqlite3_finalize(q);
		for (int i = 0; i < n; i++)
			free(names[i]);
		if (bad == -1) {
			sqlite3_finalize(ix);
			sqlite3_finalize(cols);
			return -1;
		}
		found = !bad && *rid != 0;
	}
	sqlite3_finalize(ix);
	sqlite3_finalize(cols);
	if (!found && rc != SQLITE_DONE)
		return store_dberr(c->s, err, "read unique indexes");
	return found;
}

/*
 * Whether an INSERT into t can do nothing but insert its row.  Else a
 * trigger could read or write _fs_record or _fs_log while records wait,
 * so the list is flushed before each such insert.  Asked once a batch.
 */
static int
table_plain(struct merge_ctx *c, struct merge_pending *p, struct synctable *t,
    int *plain, struct fs_err *err)
{
	sqlite3_stmt *q;
	int k;

	for (k = 0; k < p->nplain; k++)
		if (&c->m->tables[k] == t)
			break;
	if (k < p->nplain && p->plain[k] != 0) {
		*plain = p->plain[k] == 1;
		return 0;
	}
	if ((q = store_stmt(c->s, SQL_SIDE_EFFECTS, err)) == NULL)
		return -1;
	sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, t->tid);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return store_dberr(c->s, err, "read table triggers");
	}
	*plain = sqlite3_column_int(q, 0) == 0;
	sqlite3_reset(q);
	if (k < p->nplain)
		p->plain[k] = *plain ? 1 : 2;
	return 0;
}

/*
 * A deleted record's row that holds a UNIQUE value a new record brings
 * gives way: it is deleted for good, as a change made here (its values
 * stay in the log).  With soft deletes, the default, a peer's hard delete
 * keeps the row here, and the new row the peer then made with the same
 * value (after a DELETE, or an INSERT OR REPLACE) could never arrive.
 */
static int
give_way(struct merge_ctx *c, struct merge_pending *p, struct synctable *t,
    int64_t lrow, struct fs_err *err)
{
	sqlite3_stmt *q;
	struct buf b;
	int rc;

	p->run = 0;
	if (merge_triggers_quiet(c, p, 0) == -1)
		return fs_err_set(err, FS_EDB, "cannot switch triggers back on");
	if (merge_pend_flush(c, p, err) == -1 ||
	    store_exec(c->s, "UPDATE _fs_clock SET ap_src = NULL, ap_hlc = "
	    "NULL, ap_origin = NULL, ap_sid = NULL WHERE id = 1", err) == -1)
		return -1;
	buf_init(&b, 0);
	buf_printf(&b, "DELETE FROM %s WHERE %s = ?1", t->qname, t->qkey);
	q = store_prepare(c->s, b.data, err);
	buf_free(&b);
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, lrow);
	rc = merge_step(c->s, q, err);
	sqlite3_finalize(q);
	if (rc == 0)
		log_info("table %s: row %" PRId64 ", a deleted record's, made way "
		    "for a new record of the peer's with the same UNIQUE value",
		    t->name, lrow);
	return rc;
}

int
merge_create_record(struct merge_ctx *c, struct merge_pending *p,
    struct inrec *r, struct merge_stats *st, int64_t *taken, struct fs_err *err)
{
	struct synctable *t = r->table;
	int *use = xcalloc((size_t)r->nin + 1, sizeof *use), n = 0;
	int64_t chlc = r->c_hlc, corig = r->c_origin, lrow;
	int ret = -1, has_added = 0, plain = 0, direct = 0;

	for (int i = 0; i < r->nin; i++)
		if (fieldmap_mode_receives(r->in[i].f->mode))
			n += use[i] = 1;
	if (n == 0 || r->hard) {
		free(use);
		return 0;
	}
	if (!r->has_c) {
		/* Created elsewhere before this pairing knew it: oldest wins. */
		chlc = INT64_MAX;
		for (int i = 0; i < r->nin; i++)
			if (use[i] && r->in[i].hlc < chlc) {
				chlc = r->in[i].hlc;
				corig = r->in[i].origin;
			}
	}
	for (int i = 0; i < r->nin; i++)
		if (use[i] && r->in[i].f->is_added)
			has_added = 1;
	/*
	 * The insert trigger stands aside (ap_bulk, see merge_apply): the
	 * app row is written here, its record with the sender's identity
	 * and the "created" row stamped with the sender's version go to the
	 * pending list.  Records created before it are written first when
	 * the insert can fire other triggers (they may look them up); this
	 * one's own record never existed yet at that point.
	 */
	if (table_plain(c, p, t, &plain, err) == -1 ||
	    (!plain && merge_pend_flush(c, p, err) == -1))
		goto out;
	p->run = plain ? p->run + 1 : 0;
	if (merge_triggers_quiet(c, p, p->run >= QUIET_AFTER) == -1) {
		fs_err_set(err, FS_EDB, "cannot switch triggers back on");
		goto out;
	}
	for (int tries = 0; merge_insert_row(c, r, use, has_added, &lrow,
	    err) == -1; tries++) {
		struct fs_err e2;

		/*
		 * The app's UNIQUE index already holds this key: when that row
		 * is a record the peer does not know, both sides made the
		 * same one; the caller links them, as --match would.
		 */
		struct holder h = { 0, 0 };
		int found;

		fs_err_clear(&e2);
		if (sqlite3_extended_errcode(c->s->db) !=
		    SQLITE_CONSTRAINT_UNIQUE)
			goto out;
		if ((found = unique_match(c, r, taken, &h, &e2)) == 1)
			ret = 1;
		else if (found == 0 && h.lrow != 0 && h.deleted && tries < 8) {
			if (give_way(c, p, t, h.lrow, err) == -1)
				goto out;
			fs_err_clear(err);
			continue;
		} else if (found == 0 && h.lrow != 0) {
			char msg[sizeof err->msg];

			/* Say which row is in the way, and what to do. */
			snprintf(msg, sizeof msg, "%s", err->msg);
			fs_err_set(err, FS_EDB, "%s (row %" PRId64 " here holds "
			    "that value: %s)", msg, h.lrow, h.deleted ?
			    "a deleted record's row; delete it here, or give "
			    "the new record another value, and the next pass "
			    "goes through" : "another record the peer knows; "
			    "give one of the two another value (if the peer "
			    "replaced it with INSERT OR REPLACE, this clears "
			    "within the hour)");
		}
		goto out;
	}
	merge_pend_add(p, t, lrow, r->sid, chlc, corig);
	st->created++;
	st->applied += n;
	for (int i = 0; i < r->nin; i++)
		if (use[i] && (r->in[i].hlc != chlc ||
		    r->in[i].origin != corig))
			direct = 1;
	/*
	 * Field versions of its own are logged after the "created" row and
	 * need the rid: write the list now (and when it is full).
	 */
	if ((direct || p->n == MERGE_PENDING_MAX) &&
	    merge_pend_flush(c, p, err) == -1)
		goto out;
	for (int i = 0; direct && i < r->nin; i++) {
		if (!use[i] || (r->in[i].hlc == chlc &&
		    r->in[i].origin == corig))
			continue;
		if (merge_log_direct(c, p->last_rid, &r->in[i], NULL,
		    err) == -1)
			goto out;
	}
	ret = 0;
out:
	free(use);
	return ret;
}
