/* merge.c - applying a peer's batch; see merge.h for the design notes. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "fieldmap.h"
#include "ident.h"
#include "merge.h"
#include "proto.h"
#include "util.h"
#include "value.h"
#include "versions.h"

static const char SQL_FIND_LINK[] =
    "SELECT rid FROM _fs_link WHERE pid = ?1 AND rsid = ?2";
static const char SQL_ANY_LINK[] =
    "SELECT EXISTS (SELECT 1 FROM _fs_link WHERE pid = ?1)";
static const char SQL_FIND_SID[] =
    "SELECT rid FROM _fs_record WHERE sid = ?1";
static const char SQL_REC[] =
    "SELECT tid, lrow FROM _fs_record WHERE rid = ?1";
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
static const char SQL_RELINK[] =
    "UPDATE _fs_record SET lrow = ?2 WHERE rid = ?1";
static const char SQL_SWITCH[] =
    "UPDATE _fs_clock SET ap_src = ?1, ap_hlc = ?2, ap_origin = ?3, "
    "ap_sid = ?4 WHERE id = 1";
static const char SQL_SWITCH_OFF[] =
    "UPDATE _fs_clock SET ap_src = NULL, ap_hlc = NULL, ap_origin = NULL, "
    "ap_sid = NULL, ap_bulk = NULL, hlc = max(hlc, ?1) WHERE id = 1";
static const char SQL_BULK_ON[] =
    "UPDATE _fs_clock SET ap_bulk = 1 WHERE id = 1";
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
static const char SQL_LOG_DIRECT[] =
    "INSERT INTO _fs_log(rid, fid, hlc, origin, src, kind, old, new) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
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
static const char SQL_MARK_CONFLICT[] =
    "UPDATE _fs_log SET kind = kind | 4 WHERE seq = "
    "(SELECT max(seq) FROM _fs_log)";
static const char SQL_CONFLICT[] =
    "INSERT INTO _fs_conflict(rid, fid, pid, local_value, local_hlc, "
    "local_origin, remote_value, remote_hlc, remote_origin, winner, policy, "
    "at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char SQL_ORIGIN_GET[] =
    "SELECT id FROM _fs_origin WHERE instance = ?1";
static const char SQL_ORIGIN_ADD[] =
    "INSERT INTO _fs_origin(id, instance) VALUES "
    "((SELECT max(id) + 1 FROM _fs_origin), ?1)";
static const char SQL_ORIGIN_INST[] =
    "SELECT instance FROM _fs_origin WHERE id = ?1";
static const char SQL_LINK_ADD[] =
    "INSERT INTO _fs_link(pid, rsid, rid) VALUES (?1, ?2, ?3)";
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
 * Pending records: 256 is four full chunks and about 20 KB; flushing at
 * that bound keeps memory flat on a batch of any size.
 */
#define MERGE_PENDING_MAX	256
#define PENDING_SLOTS		512	/* sid hash set, at most half full */
#define SID_PREFIXES		8	/* creating instances tracked a batch */

struct infield {
	struct syncfield *f;
	struct fs_value v;
	int64_t hlc, origin;
};

struct inrec {
	char sid[2 * FS_SID_LEN + 1];
	int has_c, hard;
	int64_t c_hlc, c_origin;
	struct infield *in;
	int nin;
	struct synctable *table;
};

/* A record created here whose _fs_record and "created" rows wait. */
struct pend {
	struct synctable *t;
	int64_t lrow, hlc, origin;	/* the row; the creation's version */
	char sid[2 * FS_SID_LEN + 1];
	int slot;			/* its slot in merge_pending.slots */
};

/* The largest sid of one prefix here or pending ("" for none). */
struct sidmax {
	char prefix[FS_SID_LEN + 1];
	char max[2 * FS_SID_LEN + 1];
};

struct merge_pending {
	struct pend rows[MERGE_PENDING_MAX];
	int n;
	int64_t last_rid;	/* of the last row a flush wrote */
	/* Slots hold an index into rows plus one; 0 is free. */
	uint16_t slots[PENDING_SLOTS];
	/* Per table of the map: 0 unknown, 1 plain inserts, 2 side effects. */
	int *plain;
	int nplain;
	struct sidmax maxes[SID_PREFIXES];
	int nmaxes;
	int sid_fast;		/* sid_above may answer: -1 not known yet */
	int run;		/* creations in a row into plain tables */
	int quiet;		/* triggers are off for this connection */
};

/*
 * A long run of creations into plain tables (nothing but our own
 * triggers) is inserted with the connection's triggers off.  The insert
 * trigger would do nothing (ap_bulk), but SQLite sets up its whole frame
 * before the WHEN clause says so: about half the cost of such an INSERT.
 * Switching costs a new compile of every statement used afterwards
 * (SQLite expires them all), so only runs this long switch.
 */
#define QUIET_AFTER 64

static int
triggers_quiet(struct merge_ctx *c, struct merge_pending *p, int quiet)
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

static int
stmt_done(struct store *s, sqlite3_stmt *st, struct fs_err *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_dberr(s, err, "apply");
	return 0;
}

static int
origins_map(struct store *s, const cJSON *arr, int64_t **ids, int *n,
    struct fs_err *err)
{
	const cJSON *it;
	sqlite3_stmt *st;

	*n = 0;
	*ids = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof **ids);
	cJSON_ArrayForEach(it, arr) {
		const char *inst = cJSON_IsString(it) ? it->valuestring : NULL;
		unsigned char raw[16];

		if (inst == NULL || strlen(inst) != 32 ||
		    util_unhex(inst, raw, sizeof raw) == -1)
			return fs_err_set(err, FS_EINVAL, "'origins' must hold "
			    "32-hex-digit instance identities");
		if ((st = store_stmt(s, SQL_ORIGIN_GET, err)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			continue;
		}
		sqlite3_reset(st);
		if ((st = store_stmt(s, SQL_ORIGIN_ADD, err)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
		if (stmt_done(s, st, err) == -1)
			return -1;
		(*ids)[(*n)++] = sqlite3_last_insert_rowid(s->db);
	}
	return 0;
}

static int
get_version(const cJSON *h, const cJSON *o, const int64_t *origins,
    int norigins, int64_t *hlc, int64_t *origin, struct fs_err *err)
{
	long long v;

	if (!cJSON_IsString(h) || util_parse_int(h->valuestring, 0, INT64_MAX,
	    &v) == -1)
		return fs_err_set(err, FS_EINVAL, "a version clock must be a "
		    "decimal string");
	if (!cJSON_IsNumber(o) || o->valuedouble < 0 ||
	    o->valuedouble >= norigins || o->valuedouble != (int)o->valuedouble)
		return fs_err_set(err, FS_EINVAL, "a version origin must index "
		    "'origins'");
	*hlc = v;
	*origin = origins[(int)o->valuedouble];
	return 0;
}

static int
field_known(struct merge_ctx *c, int64_t wire, struct fs_err *err)
{
	(void)err;
	return syncmap_peer_has(c->m, wire);
}

static void
inrec_free(struct inrec *r)
{
	for (int i = 0; i < r->nin; i++)
		proto_value_free(&r->in[i].v);
	free(r->in);
	r->in = NULL;
	r->nin = 0;
}

/* Decode one record object; fields not mapped here are dropped. */
static int
decode_record(struct merge_ctx *c, const cJSON *rec, const int64_t *origins,
    int norigins, struct inrec *r, struct fs_err *err)
{
	const cJSON *sid, *cv, *fs, *it, *h;

	memset(r, 0, sizeof *r);
	if (!cJSON_IsObject(rec))
		return fs_err_set(err, FS_EINVAL, "each change must be an object");
	sid = cJSON_GetObjectItemCaseSensitive(rec, "r");
	if (!cJSON_IsString(sid) || proto_sid_parse(sid->valuestring,
	    r->sid) == -1)
		return fs_err_set(err, FS_EINVAL, "'r' must be a 32-hex-digit "
		    "sync identity");
	if ((cv = cJSON_GetObjectItemCaseSensitive(rec, "c")) != NULL) {
		if (!cJSON_IsArray(cv) || cJSON_GetArraySize(cv) != 2 ||
		    get_version(cJSON_GetArrayItem(cv, 0),
		    cJSON_GetArrayItem(cv, 1), origins, norigins, &r->c_hlc,
		    &r->c_origin, err) == -1)
			return fs_err_set(err, FS_EINVAL, "'c' must be "
			    "[\"clock\", origin]");
		r->has_c = 1;
	}
	if ((h = cJSON_GetObjectItemCaseSensitive(rec, "h")) != NULL) {
		if (!cJSON_IsNumber(h) || (h->valuedouble != 0 &&
		    h->valuedouble != 1))
			return fs_err_set(err, FS_EINVAL, "'h' must be 0 or 1");
		r->hard = h->valuedouble == 1;
	}
	if ((fs = proto_get_array(rec, "f", err)) == NULL)
		return -1;
	r->in = xcalloc((size_t)cJSON_GetArraySize(fs) + 1, sizeof *r->in);
	cJSON_ArrayForEach(it, fs) {
		struct infield *in = &r->in[r->nin];
		const cJSON *w;
		int n = cJSON_GetArraySize(it), known;
		int64_t wire;

		if (!cJSON_IsArray(it) || (n != 2 && n != 4))
			return fs_err_set(err, FS_EINVAL, "a field change must "
			    "be [field, value] or [field, value, \"clock\", "
			    "origin]");
		w = cJSON_GetArrayItem(it, 0);
		if (!cJSON_IsNumber(w) || w->valuedouble < 1 ||
		    w->valuedouble > 9007199254740991.0 ||
		    w->valuedouble != (double)(int64_t)w->valuedouble)
			return fs_err_set(err, FS_EINVAL, "a field number must "
			    "be a positive integer");
		wire = (int64_t)w->valuedouble;
		if ((known = field_known(c, wire, err)) == -1)
			return -1;
		if (!known)
			return fs_err_set(err, FS_EINVAL, "unknown field number "
			    "%" PRId64, wire);
		if (n == 4) {
			if (get_version(cJSON_GetArrayItem(it, 2),
			    cJSON_GetArrayItem(it, 3), origins, norigins,
			    &in->hlc, &in->origin, err) == -1)
				return -1;
		} else if (r->has_c) {
			in->hlc = r->c_hlc;
			in->origin = r->c_origin;
		} else
			return fs_err_set(err, FS_EINVAL, "field %" PRId64
			    " has no version and the record no 'c'", wire);
		if (proto_decode_value(cJSON_GetArrayItem(it, 1), &in->v,
		    err) == -1)
			return -1;
		if ((in->f = syncmap_by_wire(c->m, wire)) == NULL) {
			proto_value_free(&in->v);
			continue;	/* not mapped here: nothing flows */
		}
		if (r->table == NULL)
			r->table = in->f->table;
		else if (r->table != in->f->table) {
			proto_value_free(&in->v);
			return fs_err_set(err, FS_EINVAL, "the fields of record "
			    "%s span tables", sid->valuestring);
		}
		r->nin++;
	}
	return 0;
}

static int
set_switch(struct merge_ctx *c, const struct inrec *r, int64_t hlc,
    int64_t origin, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(c->s, SQL_SWITCH, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->m->pair->pid);
	sqlite3_bind_int64(st, 2, hlc);
	sqlite3_bind_int64(st, 3, origin);
	sqlite3_bind_text(st, 4, r->sid, -1, SQLITE_STATIC);
	return stmt_done(c->s, st, err);
}

static int
log_direct(struct merge_ctx *c, int64_t rid, const struct infield *in,
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
	return stmt_done(c->s, st, err);
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
static int
insert_row(struct merge_ctx *c, struct inrec *r, const int *use,
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
		const struct infield *v = NULL;

		for (int i = 0; i < r->nin; i++)
			if (strcasecmp(r->in[i].f->col, cols[k]) == 0)
				v = &r->in[i];
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

/* On a first sync, the record the table's --match columns link r to. */
static int
find_match(struct merge_ctx *c, struct synctable *t, const struct inrec *r,
    int64_t *rid, int *ambiguous, struct fs_err *err)
{
	int n = 0;

	*rid = 0;
	*ambiguous = 0;
	if (!c->matching || t->match == NULL || t->match[0] == NULL)
		return 0;
	while (t->match[n] != NULL)
		n++;
	return match_by(c, t, r, t->match, n, &t->match_q, rid, ambiguous,
	    err);
}

/*
 * A new record the app's own UNIQUE index refused: the row that holds
 * its key here, when that is a record the peer does not know yet (both
 * sides created "the same" record, by the app's own rule, before they
 * met).  Each unique index whose columns r brings is tried.  1 and *rid
 * when found; 0 when not (the refusal stands).
 */
static int
unique_match(struct merge_ctx *c, const struct inrec *r, int64_t *rid,
    struct fs_err *err)
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
		if (stmt_done(c->s, q, err) == -1 ||
		    (q = store_stmt(c->s, SQL_STALE_CUT, err)) == NULL)
			return 0;
		sqlite3_bind_int64(q, 1, t->tid);
		sqlite3_bind_int64(q, 2, lrow);
		if (stmt_done(c->s, q, err) == -1)
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
static int
pend_has(const struct merge_pending *p, const char *sid)
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
static void
pend_add(struct merge_pending *p, struct synctable *t, int64_t lrow,
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
	if (stmt_done(c->s, q, err) == -1)
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
	if (stmt_done(c->s, q, err) == -1)
		return -1;
	p->last_rid = base + ch->rows;
	return 0;
}

/*
 * Write the pending records and their "created" rows, in the order they
 * were created, and empty the list (also on error: the caller's
 * transaction is rolled back then).
 */
static int
pend_flush(struct merge_ctx *c, struct merge_pending *p, struct fs_err *err)
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

static int
create_record(struct merge_ctx *c, struct merge_pending *p, struct inrec *r,
    struct merge_stats *st, int64_t *taken, struct fs_err *err)
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
	    (!plain && pend_flush(c, p, err) == -1))
		goto out;
	p->run = plain ? p->run + 1 : 0;
	if (triggers_quiet(c, p, p->run >= QUIET_AFTER) == -1) {
		fs_err_set(err, FS_EDB, "cannot switch triggers back on");
		goto out;
	}
	if (insert_row(c, r, use, has_added, &lrow, err) == -1) {
		struct fs_err e2;

		/*
		 * The app's UNIQUE index already holds this key: when that row
		 * is a record the peer does not know, both sides made the
		 * same one; the caller links them, as --match would.
		 */
		fs_err_clear(&e2);
		if (sqlite3_extended_errcode(c->s->db) ==
		    SQLITE_CONSTRAINT_UNIQUE && unique_match(c, r, taken,
		    &e2) == 1)
			ret = 1;
		goto out;
	}
	pend_add(p, t, lrow, r->sid, chlc, corig);
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
	    pend_flush(c, p, err) == -1)
		goto out;
	for (int i = 0; direct && i < r->nin; i++) {
		if (!use[i] || (r->in[i].hlc == chlc &&
		    r->in[i].origin == corig))
			continue;
		if (log_direct(c, p->last_rid, &r->in[i], NULL, err) == -1)
			goto out;
	}
	ret = 0;
out:
	free(use);
	return ret;
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
	return stmt_done(c->s, st, err);
}

/* Whether this record's field had the incoming version before (-1: error). */
static int
seen_before(struct merge_ctx *c, int64_t rid, const struct infield *in,
    struct fs_err *err)
{
	sqlite3_stmt *q;
	int rc;

	if ((q = store_stmt(c->s, in->origin == 0 ? SQL_SEEN_OWN : SQL_SEEN,
	    err)) == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, rid);
	sqlite3_bind_int64(q, 2, in->f->fid);
	sqlite3_bind_int64(q, 3, in->hlc);
	if (in->origin != 0)
		sqlite3_bind_int64(q, 4, in->origin);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_dberr(c->s, err, "read log");
	return rc == SQLITE_ROW;
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
	return l != NULL && l->seq > c->acked && !(l->has_src &&
	    l->src == c->m->pair->pid) && fieldmap_mode_sends(in->f->mode);
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

/* Write one incoming value through the capture triggers. */
static int
apply_value(struct merge_ctx *c, struct inrec *r, int64_t lrow,
    struct infield *in, int conflict, int *gone, struct fs_err *err)
{
	struct synctable *t = r->table;

	if (set_switch(c, r, in->hlc, in->origin, err) == -1)
		return -1;
	if (in->f->is_status && r->hard &&
	    strcmp(c->m->pair->deletes, "hard") == 0) {
		struct buf b;
		int ret;

		buf_init(&b, 0);
		buf_printf(&b, "DELETE FROM %s WHERE %s = %" PRId64, t->qname,
		    t->qkey, lrow);
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
		if (stmt_done(c->s, up, err) == -1)
			return -1;
		sqlite3_clear_bindings(up);
	}
	if (conflict) {
		sqlite3_stmt *st = store_stmt(c->s, SQL_MARK_CONFLICT, err);

		if (st == NULL || stmt_done(c->s, st, err) == -1)
			return -1;
	}
	return 0;
}

static int
update_record(struct merge_ctx *c, struct inrec *r, int64_t rid, int64_t lrow,
    struct merge_stats *st, struct fs_err *err)
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
				if (log_direct(c, rid, in, cur[i], err) == -1)
					goto out;
			}
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
				if (apply_value(c, r, lrow, in, 0, &gone,
				    err) == -1)
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
				if (apply_value(c, r, lrow, in, 0, &gone,
				    err) == -1)
					goto out;
				st->applied++;
			}
			continue;
		}
		if (!pending) {
			if (apply_value(c, r, lrow, in, 0, &gone, err) == -1)
				goto out;
			st->applied++;
			continue;
		}
		remote_wins = clash_remote_wins(c, in, l);
		if (record_conflict(c, rid, in, cur[i], l, remote_wins,
		    err) == -1)
			goto out;
		st->conflicts++;
		if (remote_wins) {
			if (apply_value(c, r, lrow, in, 1, &gone, err) == -1)
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
 * A record hard-deleted here (its row is gone, the record stays) that
 * the peer, which kept a soft-deleted copy, has restored.  A restore is
 * sent whole (changes.c), so the row comes back with every field the
 * record brings here, under the same record.  The restore is one more
 * change of the status field: one this side has seen before changes
 * nothing, and one that clashes with a deletion here the peer has not
 * acknowledged yet is a conflict like any other, which the policy
 * decides (a deletion that wins keeps the row gone).
 */
static int
revive_record(struct merge_ctx *c, struct inrec *r, int64_t rid,
    struct merge_stats *st, struct fs_err *err)
{
	struct infield *in = NULL;
	struct version lv[2];
	const struct version *l;
	sqlite3_stmt *q;
	int *use = NULL, n = 0, has_added = 0, ret = -1, live, seen;
	int clashed = 0;
	int64_t lrow;

	for (int i = 0; i < r->nin; i++)
		if (r->in[i].f->is_status &&
		    fieldmap_mode_receives(r->in[i].f->mode))
			in = &r->in[i];
	if (in == NULL || r->hard)
		return 0;
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
		return 0;	/* deleted on both sides */

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
			return 0;
		clashed = 1;
	}

	/* The row again, the insert trigger standing aside (ap_bulk). */
	use = xcalloc((size_t)r->nin + 1, sizeof *use);
	for (int i = 0; i < r->nin; i++)
		if (fieldmap_mode_receives(r->in[i].f->mode)) {
			n += use[i] = 1;
			has_added |= r->in[i].f->is_added;
		}
	if (insert_row(c, r, use, has_added, &lrow, err) == -1 ||
	    (q = store_stmt(c->s, SQL_RELINK, err)) == NULL)
		goto out;
	sqlite3_bind_int64(q, 1, rid);
	sqlite3_bind_int64(q, 2, lrow);
	if (stmt_done(c->s, q, err) == -1)
		goto out;
	/*
	 * Each field now has the peer's version, as if applied one by one;
	 * the restore itself last, marked when it won a clash.
	 */
	for (int i = 0; i < r->nin; i++)
		if (use[i] && &r->in[i] != in &&
		    log_direct(c, rid, &r->in[i], NULL, err) == -1)
			goto out;
	if (log_direct(c, rid, in, NULL, err) == -1 || (clashed &&
	    ((q = store_stmt(c->s, SQL_MARK_CONFLICT, err)) == NULL ||
	    stmt_done(c->s, q, err) == -1)))
		goto out;
	st->applied += n;
	ret = 0;
out:
	free(use);
	return ret;
}

/*
 * Whether sid is above every sid of its prefix, here and pending, so that
 * looking it up can find nothing.  A sid is its creator's prefix and its
 * clock at the creation, fixed-width hex, so string order is clock order,
 * and a batch mostly brings records newer than any of their creator's
 * here.  The largest sid of a prefix is read when the batch first shows
 * the prefix, before any record with it is created in the batch, and
 * sidmax_raise raises it for each one created.  Nothing else adds records
 * while merge_apply runs: the capture insert triggers stand aside, and
 * when the app has triggers of its own this is not used.  A sid at or
 * below the largest takes the usual lookups, in whatever order it
 * arrives.  *m is the prefix's entry, NULL when it is not tracked.
 */
static int
sid_above(struct merge_ctx *c, struct merge_pending *p, const char *sid,
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
static void
sidmax_raise(struct sidmax *m, const char *sid)
{
	if (m != NULL && strcmp(sid, m->max) > 0)
		memcpy(m->max, sid, sizeof m->max);
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
	if (sid_above(c, p, r->sid, &m, &above, err) == -1)
		return -1;
	/*
	 * Created earlier in this batch (a record appears once per chunk of
	 * the sender's scan): write it, so the lookups below find it.
	 */
	if (!above && pend_has(p, r->sid) && pend_flush(c, p, err) == -1)
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
		if (find_match(c, r->table, r, &rid, &ambiguous, err) == -1)
			return -1;
		if (ambiguous)
			st->ambiguous++;
		if (rid == 0) {
			int rc = create_record(c, p, r, st, &rid, err);

			if (rc == -1)
				return -1;
			if (rc == 0) {
				sidmax_raise(m, r->sid);
				return 0;
			}
			fs_err_clear(err);	/* its unique key's row, below */
		}
		p->run = 0;
		if (triggers_quiet(c, p, 0) == -1)
			return fs_err_set(err, FS_EDB, "cannot switch triggers "
			    "back on");
		if (pend_flush(c, p, err) == -1 ||
		    (q = store_stmt(c->s, SQL_LINK_ADD, err)) == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, c->m->pair->pid);
		sqlite3_bind_text(q, 2, r->sid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, rid);
		if (stmt_done(c->s, q, err) == -1)
			return -1;
		c->has_links = 1;
		st->linked++;
	}
	/*
	 * An existing record: its update is logged after the pending ones,
	 * by the triggers.
	 */
	p->run = 0;
	if (triggers_quiet(c, p, 0) == -1)
		return fs_err_set(err, FS_EDB, "cannot switch triggers back on");
	if (pend_flush(c, p, err) == -1 ||
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
		return tid == r->table->tid ? revive_record(c, r, rid, st,
		    err) : 0;
	}
	lrow = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	if (tid != r->table->tid)
		return fs_err_set(err, FS_EINVAL, "record belongs to another "
		    "table here");
	return update_record(c, r, rid, lrow, st, err);
}

int
merge_apply(struct merge_ctx *c, const cJSON *batch, struct merge_stats *st,
    struct fs_err *err)
{
	const cJSON *origins, *changes, *rec;
	struct merge_pending *p = NULL;
	int64_t *ids = NULL, log_end = 0;
	int nids, ret = -1, stamp;

	memset(st, 0, sizeof *st);
	if ((origins = proto_get_array(batch, "origins", err)) == NULL ||
	    (changes = proto_get_array(batch, "changes", err)) == NULL)
		return -1;
	store_now_iso(c->now);
	stamp = cJSON_GetArraySize(changes) > 0;	/* not on idle polls */
	if (stamp) {
		sqlite3_stmt *q = store_stmt(c->s, SQL_LOG_END, err);

		if (q == NULL)
			return -1;
		if (sqlite3_step(q) == SQLITE_ROW) {
			log_end = sqlite3_column_int64(q, 0);
			c->at = sqlite3_column_int64(q, 1);
		}
		sqlite3_reset(q);
	}
	{
		/* Most pairings never link by match key: skip that lookup. */
		sqlite3_stmt *q = store_stmt(c->s, SQL_ANY_LINK, err);

		if (q == NULL)
			return -1;
		sqlite3_bind_int64(q, 1, c->m->pair->pid);
		c->has_links = sqlite3_step(q) == SQLITE_ROW &&
		    sqlite3_column_int(q, 0);
		sqlite3_reset(q);
	}
	{
		/* Cleared by merge_finish, or by the rollback of an error. */
		sqlite3_stmt *q = store_stmt(c->s, SQL_BULK_ON, err);

		if (q == NULL || stmt_done(c->s, q, err) == -1)
			return -1;
	}
	/* Created records wait here; see merge.h.  Rows need no zeroing. */
	p = xmalloc(sizeof *p);
	p->n = p->nmaxes = 0;
	p->sid_fast = -1;
	p->run = p->quiet = 0;
	memset(p->slots, 0, sizeof p->slots);
	p->nplain = c->m->ntables;
	p->plain = xcalloc((size_t)p->nplain + 1, sizeof *p->plain);
	if (origins_map(c->s, origins, &ids, &nids, err) == -1)
		goto out;
	cJSON_ArrayForEach(rec, changes) {
		struct inrec r;

		if (decode_record(c, rec, ids, nids, &r, err) == -1) {
			inrec_free(&r);
			goto out;
		}
		st->records++;
		for (int i = 0; i < r.nin; i++)
			if (r.in[i].hlc > st->max_hlc)
				st->max_hlc = r.in[i].hlc;
		if (apply_record(c, p, &r, st, err) == -1) {
			inrec_free(&r);
			goto out;
		}
		inrec_free(&r);
	}
	if (pend_flush(c, p, err) == -1)
		goto out;
	if (stamp) {
		/* The rows this batch wrote: when, by our clock (sql/003). */
		sqlite3_stmt *q = store_stmt(c->s, SQL_STAMP, err);

		if (q == NULL)
			goto out;
		sqlite3_bind_int64(q, 1, log_end);
		sqlite3_bind_int64(q, 2, c->at);
		if (stmt_done(c->s, q, err) == -1)
			goto out;
	}
	ret = 0;
out:
	if (p != NULL && triggers_quiet(c, p, 0) == -1 && ret == 0)
		ret = fs_err_set(err, FS_EDB, "cannot switch triggers back on");
	if (p != NULL)
		free(p->plain);
	free(p);
	free(ids);
	return ret;
}

int
merge_finish(struct store *s, int64_t max_hlc, struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_SWITCH_OFF, err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, max_hlc);
	return stmt_done(s, st, err);
}
