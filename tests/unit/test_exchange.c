/*
 * test_exchange.c - the sync protocol between two instances in one
 * process, without sockets.
 *
 * An "active" and a "passive" instance each enrol the same app table
 * and have one pairing with the other; the passive maps the active's
 * field numbers (its own numbers differ: it enrolled another table
 * first) through remote_fid, as a real pair does.  A round trip is what
 * src/active.c does around its HTTP call: the active's batch is built
 * with changes_build in one read snapshot and handed to passive_exchange
 * as the request body, and the response is applied on the active with
 * merge_apply and both cursors in one transaction.  Between rounds the
 * tests write app rows with plain SQL, as an app would, and look at both
 * databases.
 *
 * A request the passive refuses must change nothing: the whole passive
 * database (every table, every row, every byte) is compared before and
 * after.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "catalog.h"
#include "changes.h"
#include "fieldmap.h"
#include "merge.h"
#include "pairing.h"
#include "pairstate.h"
#include "passive.h"
#include "proto.h"
#include "syncmap.h"
#include "testhelp.h"

#define APP_A \
	"CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT, phone TEXT, " \
	"email TEXT, photo BLOB);"
/* The passive enrols another table first, so its field numbers differ. */
#define APP_P \
	"CREATE TABLE other(id INTEGER PRIMARY KEY, x TEXT, y TEXT, z TEXT);" \
	APP_A
#define PW "pairing secret"
#define PAIR "link"
#define NCOLS 6

static const char *const cols[NCOLS] = { "name", "phone", "email", "photo",
    "fs_status", "fs_added" };
enum { C_NAME, C_PHONE, C_EMAIL, C_PHOTO, C_STATUS, C_ADDED };

struct fx {
	struct th *a, *p;
	char *a_id, *p_id;
	struct pairing *ap;	/* the active's pairing, reloaded on change */
	int64_t fa[NCOLS];	/* active field numbers: the wire's */
	int64_t fp[NCOLS];	/* the passive's own numbers */
};

/* --- both databases ------------------------------------------------------ */

/*
 * Every row of every table as text (types and exact bytes), to tell
 * whether anything at all changed.  skip_state leaves out the pairing
 * state, whose attempt times an accepted request always writes.
 */
static char *
fingerprint(struct th *t, int skip_state)
{
	sqlite3 *db = t->s->db;
	sqlite3_stmt *tabs, *rows;
	struct buf b;

	buf_init(&b, 0);
	if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type "
	    "= 'table' ORDER BY name", -1, &tabs, NULL) != SQLITE_OK)
		fail_msg("prepare: %s", sqlite3_errmsg(db));
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tabs, 0);
		char *sql;

		if (skip_state && strcmp(name, "_fs_pair_state") == 0)
			continue;
		sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
		if (sqlite3_prepare_v2(db, sql, -1, &rows, NULL) != SQLITE_OK)
			fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
		sqlite3_free(sql);
		buf_printf(&b, "\n[%s]", name);
		while (sqlite3_step(rows) == SQLITE_ROW) {
			buf_addstr(&b, "\n");
			for (int i = 0; i < sqlite3_column_count(rows); i++) {
				int ty = sqlite3_column_type(rows, i);
				double d;

				buf_printf(&b, "%d:", ty);
				if (ty == SQLITE_FLOAT) {
					d = sqlite3_column_double(rows, i);
					buf_printf(&b, "%a", d);
				} else if (ty == SQLITE_TEXT || ty == SQLITE_BLOB ||
				    ty == SQLITE_INTEGER) {
					const unsigned char *p = ty == SQLITE_BLOB ?
					    sqlite3_column_blob(rows, i) :
					    sqlite3_column_text(rows, i);
					int n = sqlite3_column_bytes(rows, i);

					for (int k = 0; k < n; k++)
						buf_printf(&b, "%02x", p[k]);
				}
				buf_addstr(&b, ",");
			}
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tabs);
	return buf_steal(&b);
}

static void
reload_pairing(struct fx *f)
{
	pairing_free(f->ap);
	if ((f->ap = pairing_get(f->a->s, PAIR, &f->a->err)) == NULL)
		fail_msg("pairing_get: %s", f->a->err.msg);
}

static struct fx *
fx_new(void)
{
	struct fx *f = calloc(1, sizeof *f);
	struct table_opts o = { NULL, NULL, NULL };
	struct th *a, *p;

	f->a = a = th_new(APP_A);
	f->p = p = th_new(APP_P);
	th_assert_ok(a, catalog_table_add(a->s, "contacts", &o, &a->err));
	th_assert_ok(p, catalog_table_add(p->s, "other", &o, &p->err));
	th_assert_ok(p, catalog_table_add(p->s, "contacts", &o, &p->err));
	th_assert_ok(a, pairing_add(a->s, PAIR, "active", "http://127.0.0.1:9/",
	    PW, -1, &a->err));
	th_assert_ok(p, pairing_add(p->s, PAIR, "passive", NULL, PW, -1,
	    &p->err));
	for (int i = 0; i < NCOLS; i++) {
		char tc[64];

		snprintf(tc, sizeof tc, "contacts.%s", cols[i]);
		th_assert_ok(a, fieldmap_add(a->s, PAIR, tc, FS_MODE_TWO_WAY, -1,
		    &f->fa[i], &a->err));
		th_assert_ok(p, fieldmap_add(p->s, PAIR, tc, FS_MODE_TWO_WAY,
		    f->fa[i], &f->fp[i], &p->err));
		/* The translation is real: the numbers differ. */
		assert_true(f->fa[i] != f->fp[i]);
	}
	f->a_id = store_instance_id(a->s, NULL);
	f->p_id = store_instance_id(p->s, NULL);
	assert_non_null(f->a_id);
	assert_non_null(f->p_id);
	assert_string_not_equal(f->a_id, f->p_id);
	reload_pairing(f);
	return f;
}

static void
fx_free(struct fx *f)
{
	if (f == NULL)
		return;
	pairing_free(f->ap);
	free(f->a_id);
	free(f->p_id);
	th_free(f->a);
	th_free(f->p);
	free(f);
}

/* A hello body from the active with instance id and its catalogue. */
static char *
hello_body(struct fx *f, const char *id)
{
	cJSON *req = cJSON_CreateObject(), *cat;
	char *body;

	cat = catalog_fields_json(f->a->s, f->ap->pid, &f->a->err);
	assert_non_null(cat);
	cJSON_AddNumberToObject(req, "protocol", FS_PROTO_VERSION);
	cJSON_AddStringToObject(req, "instance", id);
	cJSON_AddStringToObject(req, "name", "branch");
	cJSON_AddItemToObject(req, "fields", cat);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	return body;
}

/* Hello as src/active.c does it: the passive learns us, we learn it. */
static void
do_hello(struct fx *f)
{
	char *body = hello_body(f, f->a_id);
	struct buf out;
	sqlite3_stmt *st;
	int64_t epoch;
	cJSON *resp;

	buf_init(&out, 0);
	th_assert_ok(f->p, passive_hello(f->p->s, PAIR, body, strlen(body),
	    &out, &f->p->err));
	resp = proto_parse(out.data, out.len, &f->a->err);
	assert_non_null(resp);
	assert_string_equal(cJSON_GetObjectItem(resp, "instance")->valuestring,
	    f->p_id);
	assert_int_equal(proto_get_i64(resp, "epoch", 0, INT64_MAX, &epoch,
	    NULL), 0);
	free(body);
	body = cJSON_PrintUnformatted(cJSON_GetObjectItem(resp, "fields"));
	st = store_prepare(f->a->s, "UPDATE _fs_pair_state SET peer_instance "
	    "= ?2, peer_catalog = ?3, recv_seq = CASE WHEN peer_epoch IS NOT ?4 "
	    "THEN 0 ELSE recv_seq END, peer_epoch = ?4 WHERE pid = ?1",
	    &f->a->err);
	assert_non_null(st);
	sqlite3_bind_int64(st, 1, f->ap->pid);
	sqlite3_bind_text(st, 2, f->p_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, epoch);
	th_assert_ok(f->a, store_step_done(f->a->s, st, &f->a->err));
	sqlite3_finalize(st);
	syncmap_forget(f->a->s, f->ap->pid);
	free(body);
	proto_json_free(resp);
	buf_free(&out);
}

static int
fx_setup(void **state)
{
	struct fx *f = fx_new();

	do_hello(f);
	*state = f;
	return 0;
}

static int
fx_setup_no_hello(void **state)
{
	*state = fx_new();
	return 0;
}

static int
fx_teardown(void **state)
{
	fx_free(*state);
	*state = NULL;
	return 0;
}

/* --- one round trip, the way src/active.c does it ------------------------ */

struct req {
	struct buf body;
	int64_t to;		/* our seq the batch covers */
	int more;
	int64_t records;	/* records in our batch */
};

/*
 * Build the active's request; from and to as the state says unless
 * from_over/to_over are not -1.
 */
static void
build_request(struct fx *f, struct req *r, int64_t from_over,
    int64_t to_over)
{
	struct store *s = f->a->s;
	struct pairstate ps;
	struct syncmap *m;
	struct batch_out bo;

	buf_init(&r->body, 0);
	th_assert_ok(f->a, store_exec(s, "BEGIN", &f->a->err));
	th_assert_ok(f->a, pairstate_load(s, f->ap->pid, &ps, &f->a->err));
	m = syncmap_get(s, f->ap, ps.map_epoch, &f->a->err);
	assert_non_null(m);
	buf_printf(&r->body, "{\"protocol\":%d,\"instance\":\"%s\",\"policy\":"
	    "\"%s\",\"interval\":%d,\"since\":\"%" PRId64 "\",\"from\":\"%"
	    PRId64 "\",", FS_PROTO_VERSION, f->a_id, f->ap->policy,
	    f->ap->interval, ps.recv_seq, from_over >= 0 ? from_over :
	    ps.sent_seq);
	th_assert_ok(f->a, changes_build(s, m, ps.sent_seq, 0, FS_BATCH_BYTES,
	    &r->body, &bo, &f->a->err));
	r->to = to_over >= 0 ? to_over : bo.cursor;
	r->more = bo.more;
	r->records = bo.records;
	buf_printf(&r->body, ",\"to\":\"%" PRId64 "\"}", r->to);
	th_assert_ok(f->a, store_exec(s, "COMMIT", &f->a->err));
	syncmap_free(m);
	pairstate_clear(&ps);
}

struct resp {
	int64_t ack, cursor, applied, conflicts, records;
	int64_t sent;		/* records in the active's request */
	int more;
	struct merge_stats ms;	/* of applying it on the active */
};

/* Apply the passive's response body on the active (src/active.c). */
static void
apply_response(struct fx *f, const char *body, size_t len, int64_t our_to,
    struct resp *out)
{
	struct store *s = f->a->s;
	struct pairstate ps;
	struct syncmap *m;
	int64_t epoch, pending = 0;
	cJSON *resp = proto_parse(body, len, &f->a->err);

	if (resp == NULL)
		fail_msg("the passive's response does not parse: %s",
		    f->a->err.msg);
	memset(out, 0, sizeof *out);
	assert_int_equal(proto_get_i64(resp, "ack", 0, INT64_MAX, &out->ack,
	    NULL), 0);
	assert_int_equal(proto_get_i64(resp, "cursor", 0, INT64_MAX,
	    &out->cursor, NULL), 0);
	assert_int_equal(proto_get_i64(resp, "epoch", 0, INT64_MAX, &epoch,
	    NULL), 0);
	assert_int_equal(proto_get_i64(resp, "pending", 0, INT64_MAX, &pending,
	    NULL), 0);
	assert_int_equal(proto_get_i64(resp, "applied", 0, INT64_MAX,
	    &out->applied, NULL), 0);
	assert_int_equal(proto_get_i64(resp, "conflicts", 0, INT64_MAX,
	    &out->conflicts, NULL), 0);
	assert_true(cJSON_IsBool(cJSON_GetObjectItem(resp, "more")));
	assert_string_equal(cJSON_GetObjectItem(resp, "instance")->valuestring,
	    f->p_id);
	out->records = cJSON_GetArraySize(cJSON_GetObjectItem(resp,
	    "changes"));
	th_assert_ok(f->a, store_begin(s, &f->a->err));
	th_assert_ok(f->a, pairstate_load(s, f->ap->pid, &ps, &f->a->err));
	m = syncmap_get(s, f->ap, ps.map_epoch, &f->a->err);
	assert_non_null(m);
	{
		struct merge_ctx mc = { .s = s, .m = m, .acked = out->ack,
		    .policy = f->ap->policy, .matching = ps.last_ok == NULL };
		int epoch_changed = ps.has_peer_epoch && ps.peer_epoch != epoch;
		int64_t args[5] = { out->ack, epoch_changed ? 0 : out->cursor,
		    epoch, pending, 0 };

		th_assert_ok(f->a, merge_apply(&mc, resp, &out->ms, &f->a->err));
		th_assert_ok(f->a, merge_finish(s, out->ms.max_hlc, &f->a->err));
		args[4] = out->ms.ambiguous;
		th_assert_ok(f->a, pairstate_update(s, f->ap->pid, "sent_seq = "
		    "?2, recv_seq = ?3, peer_epoch = ?4, peer_pending = ?5, "
		    "ambiguous = ambiguous + ?6", args, 5, &f->a->err));
		out->more = cJSON_IsTrue(cJSON_GetObjectItem(resp, "more")) ||
		    out->ack < our_to || epoch_changed;
	}
	th_assert_ok(f->a, store_commit(s, &f->a->err));
	syncmap_free(m);
	pairstate_clear(&ps);
	proto_json_free(resp);
}

/* Send a request body to the passive; it must be accepted. */
static void
send_ok(struct fx *f, const char *body, size_t len, struct buf *out)
{
	buf_init(out, 0);
	fs_err_clear(&f->p->err);
	if (passive_exchange(f->p->s, PAIR, body, len, out, &f->p->err) != 0)
		fail_msg("passive_exchange refused: %s\n  body: %.400s",
		    f->p->err.msg, body);
}

/* One whole round; returns whether another is due. */
static int
round_trip(struct fx *f, struct resp *res)
{
	struct req r;
	struct buf out;
	struct resp local;

	if (res == NULL)
		res = &local;
	build_request(f, &r, -1, -1);
	send_ok(f, r.body.data, r.body.len, &out);
	apply_response(f, out.data, out.len, r.to, res);
	res->sent = r.records;
	buf_free(&out);
	buf_free(&r.body);
	return res->more || r.more;
}

/* Rounds until both sides are done, then record success (active_sync). */
static void
sync_all(struct fx *f)
{
	int rounds = 0;

	while (round_trip(f, NULL))
		if (++rounds > 50)
			fail_msg("no end to rounds");
	th_assert_ok(f->a, pairstate_record(f->a->s, f->ap->pid, NULL, NULL,
	    &f->a->err));
}

/* Send a body that must be refused with code; nothing may change. */
static void
refused(struct fx *f, int (*fn)(struct store *, const char *, const char *,
    size_t, struct buf *, struct fs_err *), const char *pair,
    const char *body, int code, const char *msg_part)
{
	char *before = fingerprint(f->p, 0), *after;
	struct buf out;

	buf_init(&out, 0);
	fs_err_clear(&f->p->err);
	if (fn(f->p->s, pair, body, strlen(body), &out, &f->p->err) != -1)
		fail_msg("accepted: %.300s", body);
	if (f->p->err.code != code)
		fail_msg("code %d (%s), expected %d, for %.300s",
		    f->p->err.code, f->p->err.msg, code, body);
	if (msg_part != NULL && strstr(f->p->err.msg, msg_part) == NULL)
		fail_msg("message '%s' does not say '%s'", f->p->err.msg,
		    msg_part);
	assert_int_equal(out.len, 0);
	after = fingerprint(f->p, 0);
	if (strcmp(before, after) != 0)
		fail_msg("a refused request changed the passive database: "
		    "%.300s", body);
	free(before);
	free(after);
	buf_free(&out);
}

/* Both malloc'd (either may be NULL), both freed. */
static void
assert_texts(char *got, char *want)
{
	if (got == NULL || want == NULL) {
		if (got != want)
			fail_msg("got %s, want %s", got ? got : "NULL",
			    want ? want : "NULL");
	} else
		assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
assert_text(char *got, const char *want)
{
	if (got == NULL || want == NULL) {
		if (got != want)
			fail_msg("got %s, want %s", got ? got : "NULL",
			    want ? want : "NULL");
		return;
	}
	assert_string_equal(got, want);
	free(got);
}

/* A record's sync identity on an instance, by the row's name. */
static char *
sid_of(struct th *t, const char *name)
{
	return th_text(t, "SELECT r.sid FROM _fs_record r JOIN _fs_table t "
	    "USING (tid) JOIN contacts c ON c.id = r.lrow WHERE t.name = "
	    "'contacts' AND c.name = %Q", name);
}

/* --- the tests ----------------------------------------------------------- */

static void
test_first_sync_both_ways(void **state)
{
	struct fx *f = *state;
	char *sa, *sp;

	th_exec(f->a, "INSERT INTO contacts(name, phone, email, photo) VALUES "
	    "('Ann', '111', 'ann@example.com', x'00ff00')");
	th_exec(f->p, "INSERT INTO contacts(name, phone, email, photo) VALUES "
	    "('Bob', '222', NULL, x'')");
	th_exec(f->p, "INSERT INTO other(x) VALUES ('stays here')");
	sync_all(f);
	/* Each side has both records, with exact values. */
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM contacts"), 2);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts"), 2);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts WHERE "
	    "name = 'Ann' AND phone = '111' AND email = 'ann@example.com' AND "
	    "photo = x'00ff00' AND fs_status = 0"), 1);
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM contacts WHERE "
	    "name = 'Bob' AND phone = '222' AND email IS NULL AND "
	    "typeof(photo) = 'blob' AND length(photo) = 0"), 1);
	/* A record created from a peer keeps the sender's sync identity. */
	sa = sid_of(f->a, "Ann");
	sp = sid_of(f->p, "Ann");
	assert_string_equal(sa, sp);
	free(sa);
	free(sp);
	sa = sid_of(f->a, "Bob");
	sp = sid_of(f->p, "Bob");
	assert_string_equal(sa, sp);
	free(sa);
	free(sp);
	/* Time added travels with the record. */
	assert_texts(th_text(f->p, "SELECT fs_added FROM contacts WHERE name = "
	    "'Ann'"), th_text(f->a, "SELECT fs_added FROM contacts WHERE name = "
	    "'Ann'"));
	/* The passive logs the creation with the active as origin, arrived
	 * through the pairing. */
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_log g JOIN "
	    "_fs_origin o ON o.id = g.origin JOIN _fs_record r USING (rid) "
	    "JOIN contacts c ON c.id = r.lrow WHERE c.name = 'Ann' AND g.fid = 0 "
	    "AND o.instance = %Q AND g.src = (SELECT pid FROM _fs_pair WHERE "
	    "name = %Q)", f->a_id, PAIR), 1);
	/* Nothing reached the table the active does not have. */
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM other"), 1);
	/* Cursors: each side's own changes acknowledged by the other. */
	assert_true(th_int(f->a, "SELECT sent_seq FROM _fs_pair_state") >=
	    th_int(f->a, "SELECT max(seq) FROM _fs_log WHERE src IS NULL"));
	assert_int_equal(th_int(f->p, "SELECT recv_seq FROM _fs_pair_state "
	    "JOIN _fs_pair USING (pid) WHERE name = %Q", PAIR),
	    th_int(f->a, "SELECT sent_seq FROM _fs_pair_state"));
	assert_true(th_int(f->a, "SELECT recv_seq FROM _fs_pair_state") >=
	    th_int(f->p, "SELECT max(seq) FROM _fs_log WHERE src IS NULL"));
}

/* The value of photo in row name, from t's database. */
static sqlite3_value *
photo_of(struct th *t, const char *name)
{
	sqlite3_stmt *st;
	sqlite3_value *v;

	if (sqlite3_prepare_v2(t->s->db, "SELECT photo FROM contacts WHERE "
	    "name = ?1", -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare: %s", sqlite3_errmsg(t->s->db));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("no row %s", name);
	v = sqlite3_value_dup(sqlite3_column_value(st, 0));
	sqlite3_finalize(st);
	return v;
}

static void
test_exact_values(void **state)
{
	struct fx *f = *state;
	/* photo is a BLOB column: every value keeps its type. */
	static const char *const vals[] = {
		"9223372036854775807", "-9223372036854775808", "0", "-0.0",
		"0.0", "0.1", "1e308", "-1e308", "5e-324", "9e999", "-9e999",
		"'caf\xc3\xa9 \xf0\x9f\x98\x80 \n\"\\ \x01 ''q'''",
		"CAST(x'610062' AS TEXT)", "CAST(x'ff' AS TEXT)",
		"CAST(x'00' AS TEXT)", "''", "x''", "x'00ff0000'", "NULL",
		"zeroblob(70000)",
		/* bigger than a batch: goes alone, whole */
		"randomblob(3000000)",
		"replace(hex(zeroblob(300000)), '0', '\xc3\xa9')",
	};
	char name[16];

	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		th_exec(f->a, "INSERT INTO contacts(name, photo) VALUES "
		    "('v%d', %s)", (int)i, vals[i]);
	sync_all(f);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts"),
	    sizeof vals / sizeof vals[0]);
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		sqlite3_value *a, *p;
		int ty;

		snprintf(name, sizeof name, "v%d", (int)i);
		a = photo_of(f->a, name);
		p = photo_of(f->p, name);
		ty = sqlite3_value_type(a);
		if (ty != sqlite3_value_type(p))
			fail_msg("%s (%s): type %d arrived as %d", name, vals[i],
			    ty, sqlite3_value_type(p));
		if (ty == SQLITE_FLOAT) {
			double x = sqlite3_value_double(a);
			double y = sqlite3_value_double(p);

			if (memcmp(&x, &y, sizeof x) != 0)
				fail_msg("%s: %a arrived as %a", name, x, y);
		} else if (ty == SQLITE_INTEGER) {
			assert_true(sqlite3_value_int64(a) ==
			    sqlite3_value_int64(p));
		} else if (ty != SQLITE_NULL) {
			const void *x = ty == SQLITE_TEXT ?
			    (const void *)sqlite3_value_text(a) :
			    sqlite3_value_blob(a);
			const void *y = ty == SQLITE_TEXT ?
			    (const void *)sqlite3_value_text(p) :
			    sqlite3_value_blob(p);
			int n = sqlite3_value_bytes(a);

			assert_int_equal(n, sqlite3_value_bytes(p));
			if (n > 0 && memcmp(x, y, (size_t)n) != 0)
				fail_msg("%s (%s): bytes differ", name, vals[i]);
		}
		sqlite3_value_free(a);
		sqlite3_value_free(p);
	}
	/* The sign of zero was there to survive. */
	{
		sqlite3_value *z = photo_of(f->p, "v3");

		assert_int_equal(sqlite3_value_type(z), SQLITE_FLOAT);
		assert_true(signbit(sqlite3_value_double(z)));
		sqlite3_value_free(z);
	}
	assert_int_equal(th_int(f->p, "SELECT length(photo) FROM contacts "
	    "WHERE name = 'v20'"), 3000000);
}

static void
test_idempotent_reapply(void **state)
{
	struct fx *f = *state;
	struct req r;
	struct buf out, out2;
	struct resp res;
	char *fp1, *fp2, *fa1, *fa2;
	int64_t recv;

	/* "active wins" would make a wrong clash also lose the newer edit. */
	th_assert_ok(f->a, pairing_set(f->a->s, PAIR, "policy", "active",
	    &f->a->err));
	reload_pairing(f);
	th_exec(f->a, "INSERT INTO contacts(name, phone) VALUES ('Ann', '1')");
	th_exec(f->p, "INSERT INTO contacts(name, phone) VALUES ('Bob', '2')");
	build_request(f, &r, -1, -1);
	assert_int_equal(r.records, 1);
	send_ok(f, r.body.data, r.body.len, &out);
	fp1 = fingerprint(f->p, 1);
	recv = th_int(f->p, "SELECT recv_seq FROM _fs_pair_state JOIN _fs_pair "
	    "USING (pid) WHERE name = %Q", PAIR);
	assert_int_equal(recv, r.to);
	/* The same request again (the response was lost): a no-op. */
	send_ok(f, r.body.data, r.body.len, &out2);
	fp2 = fingerprint(f->p, 1);
	assert_string_equal(fp1, fp2);
	assert_non_null(strstr(out2.data, "\"applied\":0,"));
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts WHERE "
	    "name = 'Ann'"), 1);
	free(fp2);
	buf_free(&out2);
	/* The passive's answer applied twice on the active: a no-op too. */
	apply_response(f, out.data, out.len, r.to, &res);
	assert_int_equal(res.ms.created, 1);
	fa1 = fingerprint(f->a, 1);
	apply_response(f, out.data, out.len, r.to, &res);
	assert_int_equal(res.ms.created, 0);
	assert_int_equal(res.ms.applied, 0);
	fa2 = fingerprint(f->a, 1);
	assert_string_equal(fa1, fa2);
	free(fa1);
	free(fa2);
	buf_free(&out);
	/*
	 * A newer local edit on the passive is not undone by the old batch
	 * arriving once more, and that is no conflict: it was seen before.
	 */
	th_exec(f->p, "UPDATE contacts SET phone = 'newer' WHERE name = 'Ann'");
	send_ok(f, r.body.data, r.body.len, &out2);
	assert_text(th_text(f->p, "SELECT phone FROM contacts WHERE name = "
	    "'Ann'"), "newer");
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_conflict"), 0);
	assert_non_null(strstr(out2.data, "\"conflicts\":0}"));
	buf_free(&out2);
	free(fp1);
	buf_free(&r.body);
	/* And it all converges. */
	sync_all(f);
	assert_text(th_text(f->a, "SELECT phone FROM contacts WHERE name = "
	    "'Ann'"), "newer");
}

/* What a side would send its peer now (records in the batch). */
static int64_t
batch_records(struct th *t, int64_t *values)
{
	struct pairing *p = pairing_get(t->s, PAIR, &t->err);
	struct pairstate ps;
	struct syncmap *m;
	struct batch_out bo;
	struct buf b;

	assert_non_null(p);
	th_assert_ok(t, pairstate_load(t->s, p->pid, &ps, &t->err));
	m = syncmap_get(t->s, p, ps.map_epoch, &t->err);
	assert_non_null(m);
	buf_init(&b, 0);
	th_assert_ok(t, changes_build(t->s, m, ps.sent_seq, 0, FS_BATCH_BYTES, &b,
	    &bo, &t->err));
	buf_free(&b);
	syncmap_free(m);
	pairstate_clear(&ps);
	pairing_free(p);
	if (values)
		*values = bo.values;
	return bo.records;
}

static void
test_echo_suppression(void **state)
{
	struct fx *f = *state;
	struct resp res;
	int64_t values, alog, plog;

	th_exec(f->a, "INSERT INTO contacts(name, phone) VALUES ('Ann', '1')");
	sync_all(f);
	/* What came from the active is not sent back to it... */
	assert_int_equal(batch_records(f->p, NULL), 0);
	alog = th_int(f->a, "SELECT count(*) FROM _fs_log");
	round_trip(f, &res);
	assert_int_equal(res.records, 0);
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM _fs_log"), alog);
	/* ...and the passive's edit goes over once, alone, and not back. */
	th_exec(f->p, "UPDATE contacts SET phone = '2' WHERE name = 'Ann'");
	assert_int_equal(batch_records(f->p, &values), 1);
	assert_int_equal(values, 1);
	round_trip(f, &res);
	assert_int_equal(res.records, 1);
	assert_int_equal(res.ms.applied, 1);
	assert_text(th_text(f->a, "SELECT phone FROM contacts WHERE name = "
	    "'Ann'"), "2");
	assert_int_equal(batch_records(f->a, NULL), 0);
	plog = th_int(f->p, "SELECT count(*) FROM _fs_log");
	alog = th_int(f->a, "SELECT count(*) FROM _fs_log");
	sync_all(f);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_log"), plog);
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM _fs_log"), alog);
	/* The applied change is logged as arrived through the pairing. */
	assert_int_equal(th_int(f->a, "SELECT src FROM _fs_log WHERE seq = "
	    "(SELECT max(seq) FROM _fs_log)"), f->ap->pid);
}

static void
test_gap_not_applied(void **state)
{
	struct fx *f = *state;
	struct req r;
	struct buf out;
	struct resp res;

	th_exec(f->a, "INSERT INTO contacts(name, phone) VALUES ('Ann', '1')");
	/* The passive has committed nothing (recv_seq 0); a batch from 1
	 * leaves a gap: nothing is applied, the answer acks 0. */
	build_request(f, &r, 1, -1);
	send_ok(f, r.body.data, r.body.len, &out);
	assert_non_null(strstr(out.data, "\"ack\":\"0\""));
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts"), 0);
	assert_int_equal(th_int(f->p, "SELECT recv_seq FROM _fs_pair_state "
	    "JOIN _fs_pair USING (pid) WHERE name = %Q", PAIR), 0);
	/* A gap is no success: the passive's last_ok stays unset. */
	assert_int_equal(th_int(f->p, "SELECT last_ok IS NULL FROM "
	    "_fs_pair_state JOIN _fs_pair USING (pid) WHERE name = %Q", PAIR),
	    1);
	apply_response(f, out.data, out.len, r.to, &res);
	assert_int_equal(res.ack, 0);
	assert_true(res.more);	/* so the active sends again from 0 */
	buf_free(&out);
	buf_free(&r.body);
	/* Far beyond: the same. */
	build_request(f, &r, 1000000, 2000000);
	send_ok(f, r.body.data, r.body.len, &out);
	assert_non_null(strstr(out.data, "\"ack\":\"0\""));
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts"), 0);
	buf_free(&out);
	buf_free(&r.body);
	/* From exactly recv_seq: applied, acked at 'to'. */
	build_request(f, &r, -1, -1);
	send_ok(f, r.body.data, r.body.len, &out);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts"), 1);
	apply_response(f, out.data, out.len, r.to, &res);
	assert_int_equal(res.ack, r.to);
	buf_free(&out);
	buf_free(&r.body);
	/* Overlap (from before recv_seq) is fine: re-sent changes are no-ops. */
	th_exec(f->a, "UPDATE contacts SET phone = '2'");
	build_request(f, &r, 0, -1);
	send_ok(f, r.body.data, r.body.len, &out);
	assert_text(th_text(f->p, "SELECT phone FROM contacts"), "2");
	assert_non_null(strstr(out.data, "\"applied\":1,"));
	buf_free(&out);
	buf_free(&r.body);
}

/*
 * Both sides edit the same field (phone) and each a different one
 * (email on the active, name on the passive) of one synced record;
 * newer is the side whose clock is pushed ahead first (0: none).
 */
static void
clash(struct fx *f, const char *policy, char newer)
{
	th_exec(f->a, "INSERT INTO contacts(name, phone, email) VALUES "
	    "('Ann', '0', 'old@x')");
	sync_all(f);
	th_assert_ok(f->a, pairing_set(f->a->s, PAIR, "policy", policy,
	    &f->a->err));
	reload_pairing(f);
	if (newer == 'a')
		th_exec(f->a, "UPDATE _fs_clock SET hlc = hlc + (1 << 40)");
	if (newer == 'p')
		th_exec(f->p, "UPDATE _fs_clock SET hlc = hlc + (1 << 40)");
	th_exec(f->a, "UPDATE contacts SET phone = 'from A', email = 'new@x'");
	th_exec(f->p, "UPDATE contacts SET phone = 'from P', name = 'Anne'");
	sync_all(f);
	/* Different fields: both changes survive on both sides. */
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM contacts WHERE "
	    "name = 'Anne' AND email = 'new@x'"), 1);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts WHERE "
	    "name = 'Anne' AND email = 'new@x'"), 1);
}

/* The conflict as recorded (on the passive, where both met). */
static void
assert_conflict(struct fx *f, const char *winner, const char *policy,
    const char *kept)
{
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_conflict"), 1);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_conflict WHERE "
	    "fid = %lld AND local_value = 'from P' AND remote_value = 'from A' "
	    "AND winner = %Q AND policy = %Q AND resolved_at IS NULL",
	    (long long)f->fp[C_PHONE], winner, policy), 1);
	/* The versions of both values are kept with them. */
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_conflict c "
	    "JOIN _fs_origin lo ON lo.id = c.local_origin JOIN _fs_origin ro "
	    "ON ro.id = c.remote_origin WHERE lo.instance = %Q AND ro.instance "
	    "= %Q AND c.local_hlc > 0 AND c.remote_hlc > 0", f->p_id, f->a_id),
	    1);
	/* The active saw the passive's answer after its own change was
	 * acknowledged: no second conflict there. */
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM _fs_conflict"), 0);
	assert_text(th_text(f->a, "SELECT phone FROM contacts"), kept);
	assert_text(th_text(f->p, "SELECT phone FROM contacts"), kept);
}

static void
test_conflict_policy_active(void **state)
{
	struct fx *f = *state;

	clash(f, "active", 'p');	/* even though the passive's is newer */
	assert_conflict(f, "remote", "active", "from A");
	/* The overwrite is marked as a conflict in the passive's log. */
	assert_int_equal(th_int(f->p, "SELECT kind & 4 FROM _fs_log WHERE "
	    "fid = %lld ORDER BY seq DESC LIMIT 1", (long long)f->fp[C_PHONE]),
	    4);
}

static void
test_conflict_policy_passive(void **state)
{
	struct fx *f = *state;

	clash(f, "passive", 'a');	/* even though the active's is newer */
	assert_conflict(f, "local", "passive", "from P");
}

static void
test_conflict_policy_newest_passive_newer(void **state)
{
	struct fx *f = *state;

	clash(f, "newest", 'p');
	assert_conflict(f, "local", "newest", "from P");
}

static void
test_conflict_policy_newest_active_newer(void **state)
{
	struct fx *f = *state;

	clash(f, "newest", 'a');
	assert_conflict(f, "remote", "newest", "from A");
}

/* The newest row of a field: "clock instance". */
static char *
version_of(struct th *t, int64_t fid)
{
	return th_text(t, "SELECT g.hlc || ' ' || o.instance FROM _fs_log g "
	    "JOIN _fs_origin o ON o.id = g.origin JOIN _fs_record r USING (rid) "
	    "WHERE r.lrow IS NOT NULL AND g.fid = %lld ORDER BY g.seq DESC "
	    "LIMIT 1", (long long)fid);
}

/*
 * The same value written on both sides is no conflict, and both sides
 * end with the same version of it: the larger one.  ahead: whose clock
 * is pushed ahead first ('a', 'p'), or '=' for equal clocks.
 */
static void
same_value(struct fx *f, char ahead)
{
	char *va, *vp;
	struct resp res;

	th_exec(f->a, "INSERT INTO contacts(name, phone) VALUES ('Ann', '0')");
	sync_all(f);
	if (ahead == 'a')
		th_exec(f->a, "UPDATE _fs_clock SET hlc = hlc + (1 << 40)");
	if (ahead == 'p')
		th_exec(f->p, "UPDATE _fs_clock SET hlc = hlc + (1 << 40)");
	if (ahead == '=') {
		th_exec(f->a, "UPDATE _fs_clock SET hlc = (1 << 60)");
		th_exec(f->p, "UPDATE _fs_clock SET hlc = (1 << 60)");
	}
	th_exec(f->a, "UPDATE contacts SET phone = 'same'");
	th_exec(f->p, "UPDATE contacts SET phone = 'same'");
	va = version_of(f->a, f->fa[C_PHONE]);
	vp = version_of(f->p, f->fp[C_PHONE]);
	sync_all(f);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_conflict"), 0);
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM _fs_conflict"), 0);
	assert_text(th_text(f->p, "SELECT phone FROM contacts"), "same");
	assert_text(th_text(f->a, "SELECT phone FROM contacts"), "same");
	/* Both sides agree on the version, the larger one when clocks differ. */
	if (ahead == '=')
		assert_texts(version_of(f->p, f->fp[C_PHONE]),
		    version_of(f->a, f->fa[C_PHONE]));
	else {
		assert_text(version_of(f->p, f->fp[C_PHONE]), ahead == 'p' ?
		    vp : va);
		assert_text(version_of(f->a, f->fa[C_PHONE]), ahead == 'p' ?
		    vp : va);
	}
	free(va);
	free(vp);
	/* And quiet afterwards: a round moves nothing either way. */
	assert_false(round_trip(f, &res));
	assert_int_equal(res.records, 0);
	assert_int_equal(res.sent, 0);
}

static void
test_same_value_active_ahead(void **state)
{
	same_value(*state, 'a');
}

static void
test_same_value_passive_ahead(void **state)
{
	same_value(*state, 'p');
}

static void
test_same_value_equal_clocks(void **state)
{
	same_value(*state, '=');
}

static void
deletes(struct fx *f, int hard)
{
	struct req r;
	struct buf out;
	struct resp res;

	if (hard)
		th_assert_ok(f->p, pairing_set(f->p->s, PAIR, "deletes", "hard",
		    &f->p->err));
	th_exec(f->a, "INSERT INTO contacts(name) VALUES ('Ann'), ('Bob'), "
	    "('Cid')");
	sync_all(f);
	/* Soft delete on the active: a status change, no "h". */
	th_exec(f->a, "UPDATE contacts SET fs_status = 1 WHERE name = 'Cid'");
	/* Hard delete on the active: goes with "h":1 and status 1. */
	th_exec(f->a, "DELETE FROM contacts WHERE name = 'Ann'");
	build_request(f, &r, -1, -1);
	assert_int_equal(r.records, 2);
	assert_non_null(strstr(r.body.data, "\"h\":1"));
	assert_null(strstr(strstr(r.body.data, "\"h\":1") + 1, "\"h\":1"));
	send_ok(f, r.body.data, r.body.len, &out);
	apply_response(f, out.data, out.len, r.to, &res);
	buf_free(&out);
	buf_free(&r.body);
	if (hard)
		assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts "
		    "WHERE name = 'Ann'"), 0);
	else
		assert_int_equal(th_int(f->p, "SELECT fs_status FROM contacts "
		    "WHERE name = 'Ann'"), 1);
	assert_int_equal(th_int(f->p, "SELECT fs_status FROM contacts WHERE "
	    "name = 'Cid'"), 1);
	assert_int_equal(th_int(f->p, "SELECT fs_status FROM contacts WHERE "
	    "name = 'Bob'"), 0);
	/* A restore propagates like any change. */
	th_exec(f->a, "UPDATE contacts SET fs_status = 0 WHERE name = 'Cid'");
	sync_all(f);
	assert_int_equal(th_int(f->p, "SELECT fs_status FROM contacts WHERE "
	    "name = 'Cid'"), 0);
	/* The deleted record is not resurrected on either side. */
	assert_int_equal(th_int(f->a, "SELECT count(*) FROM contacts WHERE "
	    "name = 'Ann'"), 0);
	sync_all(f);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts WHERE "
	    "name = 'Ann'"), hard ? 0 : 1);
}

static void
test_hard_delete_arrives_soft(void **state)
{
	deletes(*state, 0);
}

static void
test_hard_delete_arrives_hard(void **state)
{
	deletes(*state, 1);
}

/*
 * Copy tmpl with each token replaced: @G good record, @S a sync
 * identity, @F a field number, @I an instance identity.
 */
static char *
fill(const char *tmpl, const char *good, const char *sid, int64_t field,
    const char *id)
{
	struct buf b;

	buf_init(&b, 0);
	for (const char *p = tmpl; *p; p++) {
		if (p[0] != '@' || p[1] == '\0') {
			buf_add(&b, p, 1);
			continue;
		}
		switch (*++p) {
		case 'G':
			buf_addstr(&b, good);
			break;
		case 'S':
			buf_addstr(&b, sid);
			break;
		case 'F':
			buf_printf(&b, "%" PRId64, field);
			break;
		case 'I':
			buf_addstr(&b, id);
			break;
		default:
			fail_msg("bad token @%c", *p);
		}
	}
	return buf_steal(&b);
}

/* A request body around a changes array, continuing from the state. */
static char *
raw_exchange(struct fx *f, const char *instance, const char *origins,
    const char *changes)
{
	int64_t recv = th_int(f->p, "SELECT recv_seq FROM _fs_pair_state JOIN "
	    "_fs_pair USING (pid) WHERE name = %Q", PAIR);
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "{\"protocol\":1,\"instance\":\"%s\",\"policy\":"
	    "\"newest\",\"since\":\"0\",\"from\":\"%" PRId64 "\",\"to\":\"%"
	    PRId64 "\",\"origins\":%s,\"changes\":%s}", instance ? instance :
	    f->a_id, recv, recv + 100, origins ? origins : "[]", changes);
	return buf_steal(&b);
}

/* One exchange carrying changes (a JSON array) that must succeed. */
static void
send_changes(struct fx *f, const char *origins, const char *changes)
{
	char *req = raw_exchange(f, NULL, origins, changes);
	struct buf out;

	send_ok(f, req, strlen(req), &out);
	buf_free(&out);
	free(req);
}

/*
 * A version applied and since superseded, arriving again, changes
 * nothing and is no conflict: one from the peer deep in the field's
 * history (found by its clock value, sql/002), and one the passive made
 * itself, coming back as if relayed by a third instance.
 */
static void
test_old_versions_change_nothing(void **state)
{
	struct fx *f = *state;
	struct req r, old;
	struct buf out;
	struct resp res;
	char changes[512], origins[128], *sid;
	int64_t hlc;

	th_exec(f->a, "INSERT INTO contacts(name, phone) VALUES ('Ann', '0')");
	sync_all(f);
	memset(&old, 0, sizeof old);
	for (int i = 1; i <= 6; i++) {
		th_exec(f->a, "UPDATE contacts SET phone = 'a%d'", i);
		build_request(f, &r, -1, -1);
		send_ok(f, r.body.data, r.body.len, &out);
		apply_response(f, out.data, out.len, r.to, &res);
		buf_free(&out);
		if (i == 2)
			old = r;
		else
			buf_free(&r.body);
	}
	assert_text(th_text(f->p, "SELECT phone FROM contacts"), "a6");
	/* The passive edits too (not sent yet): a clash, if any, shows. */
	th_exec(f->p, "UPDATE contacts SET phone = 'p1'");
	send_ok(f, old.body.data, old.body.len, &out);
	assert_non_null(strstr(out.data, "\"applied\":0,"));
	buf_free(&out);
	buf_free(&old.body);
	assert_text(th_text(f->p, "SELECT phone FROM contacts"), "p1");
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_conflict"), 0);

	/* The passive's own p1 comes back after p2 replaced it. */
	sync_all(f);
	hlc = th_int(f->p, "SELECT hlc FROM _fs_log WHERE new = 'p1'");
	th_exec(f->p, "UPDATE contacts SET phone = 'p2'");
	sid = sid_of(f->a, "Ann");
	snprintf(origins, sizeof origins, "[\"%s\"]", f->p_id);
	snprintf(changes, sizeof changes, "[{\"r\":\"%s\",\"f\":[[%lld,"
	    "\"t:p1\",\"%lld\",0]]}]", sid, (long long)f->fa[C_PHONE],
	    (long long)hlc);
	free(sid);
	send_changes(f, origins, changes);
	assert_text(th_text(f->p, "SELECT phone FROM contacts"), "p2");
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_conflict"), 0);
	sync_all(f);
	assert_text(th_text(f->a, "SELECT phone FROM contacts"), "p2");
}

/*
 * A cursor's mark tells a log row written again after a restore from the
 * one a peer saw, even when the row holds the very same peer version (a
 * change replayed to a restored side): the mark is the clock at which
 * the row was written here (sql/003), not the version's.
 */
static void
test_mark_of_a_replayed_row(void **state)
{
	struct fx *f = *state;
	struct req r;
	struct buf out;
	int64_t before, end, hlc1, mark1, mark2;

	before = th_int(f->p, "SELECT coalesce(max(seq), 0) FROM _fs_log");
	th_exec(f->a, "INSERT INTO contacts(name, phone) VALUES ('Ann', '1')");
	build_request(f, &r, -1, -1);
	send_ok(f, r.body.data, r.body.len, &out);
	buf_free(&out);
	end = th_int(f->p, "SELECT max(seq) FROM _fs_log");
	assert_true(end > before);
	hlc1 = th_int(f->p, "SELECT hlc FROM _fs_log WHERE seq = %lld",
	    (long long)end);
	mark1 = changes_mark(f->p->s, end, &f->p->err);
	assert_true(mark1 > 0);
	/* What a restore of a backup taken before that batch leaves. */
	th_exec(f->p, "DELETE FROM contacts; DELETE FROM _fs_record; DELETE "
	    "FROM _fs_log WHERE seq > %lld; UPDATE _fs_pair_state SET "
	    "recv_seq = 0, recv_mark = 0", (long long)before);
	usleep(2000);
	send_ok(f, r.body.data, r.body.len, &out);
	buf_free(&out);
	buf_free(&r.body);
	assert_int_equal(th_int(f->p, "SELECT max(seq) FROM _fs_log"), end);
	assert_int_equal(th_int(f->p, "SELECT hlc FROM _fs_log WHERE seq = "
	    "%lld", (long long)end), hlc1);
	mark2 = changes_mark(f->p->s, end, &f->p->err);
	assert_true(mark2 > mark1);
	/* A peer holding the first mark is told the log is not the same. */
	assert_int_equal(changes_floor(f->p->s, end, mark1, &f->p->err),
	    before);
}

static void
test_bad_batches_change_nothing(void **state)
{
	struct fx *f = *state;
	char origins[64], good[512], body[1024], *sid;
	static const char *const bad[] = {
		/* unknown field number, beside a good one */
		"[@G,{\"r\":\"@S\",\"f\":[[999999,\"t:x\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[0,\"t:x\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[-3,\"t:x\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[1.5,\"t:x\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[\"1\",\"t:x\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[1e300,\"t:x\",\"5\",0]]}]",
		/* bad values, versions, shapes */
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"q:x\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"r:nan\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"b:***\",\"5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"t:x\",\"5\",1]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"t:x\",\"-5\",0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"t:x\",5,0]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"t:x\",\"5\",-1]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"t:x\",\"5\",0.5]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"t:x\"]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F,\"t:x\",\"5\"]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[[@F]]}]",
		"[@G,{\"r\":\"@S\",\"f\":[@F]}]",
		"[@G,{\"r\":\"@S\",\"f\":{}}]",
		"[@G,{\"r\":\"@S\"}]",
		"[@G,{\"r\":\"@S\",\"c\":[\"5\"],\"f\":[]}]",
		"[@G,{\"r\":\"@S\",\"c\":\"5\",\"f\":[]}]",
		"[@G,{\"r\":\"@S\",\"h\":2,\"f\":[]}]",
		"[@G,{\"r\":\"@S\",\"h\":true,\"f\":[]}]",
		"[@G,{\"r\":\"@S\",\"f\":[]},7]",
		"[@G,{\"r\":\"@S\",\"f\":[]},[]]",
	};
	static const char *const bad_sid[] = { "", "xyz",
	    "0123456789abcdef0123456789abcde",
	    "0123456789abcdef0123456789abcdeg",
	    "0123456789abcdef0123456789abcdef0" };

	th_exec(f->a, "INSERT INTO contacts(name) VALUES ('Ann')");
	sync_all(f);
	sid = sid_of(f->a, "Ann");
	snprintf(origins, sizeof origins, "[\"%s\"]", f->a_id);
	/* A record that alone would be applied: a new one. */
	snprintf(good, sizeof good, "{\"r\":\"%s\",\"c\":[\"99\",0],\"f\":"
	    "[[%lld,\"t:New\"]]}", "00000000000000000000000000000abc",
	    (long long)f->fa[C_NAME]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *changes, *req;

		changes = fill(bad[i], good, sid, f->fa[C_PHONE], "");
		req = raw_exchange(f, NULL, origins, changes);
		free(changes);
		refused(f, passive_exchange, PAIR, req, FS_EINVAL,
		    i == 0 ? "unknown field number 999999" : NULL);
		free(req);
	}
	for (size_t i = 0; i < sizeof bad_sid / sizeof bad_sid[0]; i++) {
		char changes[1024], *req;

		snprintf(changes, sizeof changes, "[%s,{\"r\":\"%s\",\"f\":[]}]",
		    good, bad_sid[i]);
		req = raw_exchange(f, NULL, origins, changes);
		refused(f, passive_exchange, PAIR, req, FS_EINVAL, NULL);
		free(req);
	}
	/* Bad origins. */
	{
		static const char *const bad_orig[] = { "[\"xyz\"]", "[1]",
		    "{}", "\"a\"", "[null]",
		    "[\"0123456789abcdef0123456789abcdeg\"]" };

		for (size_t i = 0; i < sizeof bad_orig / sizeof bad_orig[0];
		    i++) {
			char changes[1024], *req;

			snprintf(changes, sizeof changes, "[%s]", good);
			req = raw_exchange(f, NULL, bad_orig[i], changes);
			refused(f, passive_exchange, PAIR, req, FS_EINVAL, NULL);
			free(req);
		}
	}
	/* The good record alone is applied: the refusals were not about it. */
	snprintf(body, sizeof body, "[%s]", good);
	{
		char *req = raw_exchange(f, NULL, origins, body);
		struct buf out;

		send_ok(f, req, strlen(req), &out);
		buf_free(&out);
		free(req);
	}
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts WHERE "
	    "name = 'New'"), 1);
	free(sid);
}

static void
test_request_shape_refused(void **state)
{
	struct fx *f = *state;
	char body[1024];
	static const char *const shapes[] = {
		/* missing or mistyped members */
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"from\":\"0\",\"to\":\"0\",\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"to\":\"0\",\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"origins\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"since\":\"0\",\"from\":"
		    "\"0\",\"to\":\"0\",\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"-1\",\"from\":\"0\",\"to\":\"0\",\"origins\":[],"
		    "\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"5\",\"to\":\"4\",\"origins\":[],"
		    "\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"oldest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"origins\":[],"
		    "\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"interval\":0,\"since\":\"0\",\"from\":\"0\",\"to\":\"0\","
		    "\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"origins\":[],"
		    "\"changes\":{}}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":0.5,\"from\":\"0\",\"to\":\"0\",\"origins\":[],"
		    "\"changes\":[]}",
		"{\"protocol\":\"x\",\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"origins\":[],"
		    "\"changes\":[]}",
		/* marks and echo (after a restore) */
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"since_mark\":\"-1\",\"from\":\"0\","
		    "\"to\":\"0\",\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"to_mark\":\"x\","
		    "\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"echo\":1,"
		    "\"origins\":[],\"changes\":[]}",
		/* the active side's clock */
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"time_ms\":"
		    "\"-5\",\"origins\":[],\"changes\":[]}",
		"{\"protocol\":1,\"instance\":\"@I\",\"policy\":\"newest\","
		    "\"since\":\"0\",\"from\":\"0\",\"to\":\"0\",\"time_ms\":"
		    "[],\"origins\":[],\"changes\":[]}",
	};
	static const char *const bad_ids[] = { "", "abc",
	    "0123456789abcdef0123456789abcdeg",
	    "0123456789abcdef0123456789abcdef0" };

	th_exec(f->a, "INSERT INTO contacts(name) VALUES ('Ann')");
	sync_all(f);
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		char *b = fill(shapes[i], "", "", 0, f->a_id);

		refused(f, passive_exchange, PAIR, b, FS_EINVAL, NULL);
		free(b);
	}
	/* A well-formed exchange but for the identity. */
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		char *b = fill("{\"protocol\":1,\"instance\":\"@I\",\"policy\":"
		    "\"newest\",\"since\":\"0\",\"from\":\"0\",\"to\":\"0\","
		    "\"origins\":[],\"changes\":[]}", "", "", 0, bad_ids[i]);

		refused(f, passive_exchange, PAIR, b, FS_EINVAL, "instance");
		free(b);
	}
	refused(f, passive_exchange, PAIR, "[]", FS_EINVAL, NULL);
	refused(f, passive_exchange, PAIR, "{\"protocol\":1", FS_EINVAL, NULL);
	refused(f, passive_exchange, PAIR, "", FS_EINVAL, NULL);
	/* Another protocol version: 409, whatever else the body says. */
	snprintf(body, sizeof body, "{\"protocol\":2,\"instance\":\"%s\","
	    "\"policy\":\"newest\",\"since\":\"0\",\"from\":\"0\",\"to\":\"0\","
	    "\"origins\":[],\"changes\":[]}", f->a_id);
	refused(f, passive_exchange, PAIR, body, FS_ECONFLICT, "protocol");
	refused(f, passive_hello, PAIR, body, FS_ECONFLICT, "protocol");
}

static void
test_hello_first(void **state)
{
	struct fx *f = *state;
	char *req, *hello;
	struct buf out;

	th_exec(f->a, "INSERT INTO contacts(name) VALUES ('Ann')");
	req = raw_exchange(f, NULL, NULL, "[]");
	refused(f, passive_exchange, PAIR, req, FS_ECONFLICT, "hello first");
	/* A hello with a broken catalogue does not count as one. */
	{
		char body[512];

		snprintf(body, sizeof body, "{\"protocol\":1,\"instance\":\"%s\","
		    "\"name\":\"x\",\"fields\":[{\"field\":1,\"table\":\"t\","
		    "\"column\":\"c\",\"type\":\"\",\"mode\":\"sideways\"}]}",
		    f->a_id);
		refused(f, passive_hello, PAIR, body, FS_EINVAL, NULL);
		snprintf(body, sizeof body, "{\"protocol\":1,\"instance\":\"%s\","
		    "\"name\":\"x\",\"fields\":[{\"field\":\"1\",\"table\":\"t\","
		    "\"column\":\"c\",\"type\":\"\",\"mode\":\"off\"}]}", f->a_id);
		refused(f, passive_hello, PAIR, body, FS_EINVAL, NULL);
		snprintf(body, sizeof body, "{\"protocol\":1,\"instance\":\"%s\","
		    "\"name\":\"x\",\"fields\":[7]}", f->a_id);
		refused(f, passive_hello, PAIR, body, FS_EINVAL, NULL);
		snprintf(body, sizeof body, "{\"protocol\":1,\"instance\":\"%s\","
		    "\"fields\":[]}", f->a_id);
		refused(f, passive_hello, PAIR, body, FS_EINVAL, NULL);
	}
	refused(f, passive_exchange, PAIR, req, FS_ECONFLICT, "hello first");
	/* After hello the same request goes through. */
	hello = hello_body(f, f->a_id);
	buf_init(&out, 0);
	th_assert_ok(f->p, passive_hello(f->p->s, PAIR, hello, strlen(hello),
	    &out, &f->p->err));
	buf_free(&out);
	send_ok(f, req, strlen(req), &out);
	buf_free(&out);
	free(hello);
	free(req);
}

static void
test_other_instance_refused(void **state)
{
	struct fx *f = *state;
	const char *other = "ffffffffffffffffffffffffffffffff";
	char *req, *hello;

	th_exec(f->a, "INSERT INTO contacts(name) VALUES ('Ann')");
	sync_all(f);
	/* The pairing is bound to the active that said hello first. */
	hello = hello_body(f, other);
	refused(f, passive_hello, PAIR, hello, FS_ECONFLICT, f->a_id);
	req = raw_exchange(f, other, NULL, "[]");
	refused(f, passive_exchange, PAIR, req, FS_ECONFLICT, f->a_id);
	free(req);
	free(hello);
	/* The same identity in upper case is another string: refused too. */
	{
		char up[33];

		for (int i = 0; i < 32; i++)
			up[i] = (char)(f->a_id[i] >= 'a' && f->a_id[i] <= 'f' ?
			    f->a_id[i] - 32 : f->a_id[i]);
		up[32] = '\0';
		if (strcmp(up, f->a_id) != 0) {
			req = raw_exchange(f, up, NULL, "[]");
			refused(f, passive_exchange, PAIR, req, FS_ECONFLICT,
			    NULL);
			free(req);
		}
	}
	/* Pairings that are not enabled passive ones answer nothing. */
	req = raw_exchange(f, NULL, NULL, "[]");
	refused(f, passive_exchange, "nosuch", req, FS_ENOTFOUND, NULL);
	th_assert_ok(f->p, pairing_add(f->p->s, "act", "active",
	    "http://127.0.0.1:9/", PW, -1, &f->p->err));
	refused(f, passive_exchange, "act", req, FS_ENOTFOUND, NULL);
	th_assert_ok(f->p, pairing_set(f->p->s, PAIR, "enabled", "no",
	    &f->p->err));
	refused(f, passive_exchange, PAIR, req, FS_ENOTFOUND, NULL);
	free(req);
}

/* A field the passive does not map is ignored, not an error. */
static void
test_unmapped_field_ignored(void **state)
{
	struct fx *f = *state;
	char changes[512], origins[64];

	th_exec(f->a, "INSERT INTO contacts(name, email) VALUES ('Ann', 'a')");
	sync_all(f);
	th_assert_ok(f->p, fieldmap_set(f->p->s, PAIR, "contacts.email",
	    FS_MODE_OFF, &f->p->err));
	snprintf(origins, sizeof origins, "[\"%s\"]", f->a_id);
	{
		char *sid = sid_of(f->a, "Ann");

		snprintf(changes, sizeof changes, "[{\"r\":\"%s\",\"f\":[[%lld,"
		    "\"t:changed\",\"%lld\",0],[%lld,\"t:Ann2\",\"%lld\",0]]}]",
		    sid, (long long)f->fa[C_EMAIL], (long long)1 << 60,
		    (long long)f->fa[C_NAME], (long long)1 << 60);
		free(sid);
	}
	/* The map change reset the cursor: the batch starts at 0. */
	send_changes(f, origins, changes);
	assert_text(th_text(f->p, "SELECT email FROM contacts"), "a");
	assert_text(th_text(f->p, "SELECT name FROM contacts"), "Ann2");
}

/*
 * Many new records in one batch (merge-pending.c writes their records and
 * "created" rows in multi-row statements): a record that appears twice
 * in the batch, before and after the pending list is written, is created
 * once; rids and "created" rows keep the creation order; a stale row
 * link is handled as always (the record on that row id becomes a logged
 * tombstone first); a field version of its own is logged after the
 * creation.  Then an app table with a trigger of its own: each insert
 * sees every record created before it.
 */
#define PEND_N 400
#define PEND_SID "5e5e5e5e5e5e5e5e"

static void
pend_sid(char out[33], int64_t clock)
{
	snprintf(out, 33, PEND_SID "%016llx", (unsigned long long)clock);
}

static int64_t
pend_rid(struct fx *f, int64_t clock)
{
	char sid[33];

	pend_sid(sid, clock);
	return th_int(f->p, "SELECT rid FROM _fs_record WHERE sid = %Q", sid);
}

/*
 * One batch creating n records, identities (and clocks) first.. first+n-1,
 * each with only its name: "<letter><i>".
 */
static void
send_creations(struct fx *f, const char *origins, int64_t first, int n,
    char letter)
{
	char sid[33];
	struct buf b;

	buf_init(&b, 0);
	buf_addstr(&b, "[");
	for (int i = 0; i < n; i++) {
		pend_sid(sid, first + i);
		buf_printf(&b, "%s{\"r\":\"%s\",\"c\":[\"%lld\",0],\"f\":[[%lld,"
		    "\"t:%c%d\"]]}", i ? "," : "", sid, (long long)(first + i),
		    (long long)f->fa[C_NAME], letter, i);
	}
	buf_addstr(&b, "]");
	send_changes(f, origins, b.data);
	buf_free(&b);
}

static void
test_pending_creations(void **state)
{
	struct fx *f = *state;
	const int64_t base = (int64_t)1 << 50;
	char origins[64], sid[33];
	struct buf b;
	int64_t n0;

	snprintf(origins, sizeof origins, "[\"%s\"]", f->a_id);
	/* Row ids 70 and 300 still carry links whose rows went unseen. */
	th_exec(f->p, "INSERT INTO _fs_record(tid, lrow, sid) SELECT tid, 70, "
	    "'eeeeeeeeeeeeeeee0000000000000070' FROM _fs_table WHERE name = "
	    "'contacts'");
	th_exec(f->p, "INSERT INTO _fs_record(tid, lrow, sid) SELECT tid, 300, "
	    "'eeeeeeeeeeeeeeee0000000000000300' FROM _fs_table WHERE name = "
	    "'contacts'");
	buf_init(&b, 0);
	buf_addstr(&b, "[");
	for (int i = 0; i < PEND_N; i++) {
		pend_sid(sid, base + i);
		buf_printf(&b, "%s{\"r\":\"%s\",\"c\":[\"%lld\",0],\"f\":[[%lld,"
		    "\"t:r%d\"],[%lld,\"t:p%d\"]", i ? "," : "", sid,
		    (long long)(base + i), (long long)f->fa[C_NAME], i,
		    (long long)f->fa[C_PHONE], i);
		if (i % 100 == 50)
			buf_printf(&b, ",[%lld,\"t:e%d\",\"%lld\",0]",
			    (long long)f->fa[C_EMAIL], i,
			    (long long)(base + i + 7));
		buf_addstr(&b, "]}");
		/* Again, newer: while still pending, and once written. */
		if (i == 20 || i == 300) {
			pend_sid(sid, base + (i == 20 ? 10 : 5));
			buf_printf(&b, ",{\"r\":\"%s\",\"f\":[[%lld,\"t:again\","
			    "\"%lld\",0]]}", sid, (long long)f->fa[C_NAME],
			    (long long)(base + 1000));
		}
		/* A creation sent again, unchanged. */
		if (i == 350) {
			pend_sid(sid, base + 340);
			buf_printf(&b, ",{\"r\":\"%s\",\"c\":[\"%lld\",0],\"f\":"
			    "[[%lld,\"t:r340\"]]}", sid, (long long)(base + 340),
			    (long long)f->fa[C_NAME]);
		}
		/* A new record below the largest identity seen. */
		if (i == 200) {
			pend_sid(sid, base - 5);
			buf_printf(&b, ",{\"r\":\"%s\",\"c\":[\"%lld\",0],\"f\":"
			    "[[%lld,\"t:low\"]]}", sid, (long long)(base - 5),
			    (long long)f->fa[C_NAME]);
		}
	}
	buf_addstr(&b, "]");
	send_changes(f, origins, b.data);
	buf_free(&b);

	/* Every record once, with its values. */
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts"),
	    PEND_N + 1);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_record WHERE "
	    "sid LIKE '" PEND_SID "%%'"), PEND_N + 1);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_record r JOIN "
	    "contacts c ON c.id = r.lrow WHERE r.sid LIKE '" PEND_SID "%%'"),
	    PEND_N + 1);
	assert_text(th_text(f->p, "SELECT c.name FROM _fs_record r JOIN "
	    "contacts c ON c.id = r.lrow WHERE r.rid = %lld",
	    (long long)pend_rid(f, base + 10)), "again");
	assert_text(th_text(f->p, "SELECT c.name FROM _fs_record r JOIN "
	    "contacts c ON c.id = r.lrow WHERE r.rid = %lld",
	    (long long)pend_rid(f, base + 5)), "again");
	assert_text(th_text(f->p, "SELECT c.phone FROM _fs_record r JOIN "
	    "contacts c ON c.id = r.lrow WHERE r.rid = %lld",
	    (long long)pend_rid(f, base + 340)), "p340");
	/* Consecutive rids in creation order; "created" rows in rid order. */
	assert_int_equal(th_int(f->p, "SELECT max(rid) - min(rid) + 1 FROM "
	    "_fs_record WHERE sid LIKE '" PEND_SID "%%'"), PEND_N + 1);
	assert_int_equal(pend_rid(f, base - 5), pend_rid(f, base + 200) + 1);
	assert_int_equal(pend_rid(f, base + PEND_N - 1),
	    pend_rid(f, base) + PEND_N);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_record a "
	    "JOIN _fs_record b ON a.sid < b.sid AND a.rid > b.rid WHERE "
	    "a.sid LIKE '" PEND_SID "%%' AND b.sid LIKE '" PEND_SID "%%' AND "
	    "a.rid <> %lld AND b.rid <> %lld", (long long)pend_rid(f, base - 5),
	    (long long)pend_rid(f, base - 5)), 0);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_log a JOIN "
	    "_fs_log b ON a.rid < b.rid AND a.seq > b.seq WHERE a.fid = 0 AND "
	    "b.fid = 0"), 0);
	/* The stale links became tombstones, logged just before the
	 * creation that took their row ids. */
	for (int k = 0; k < 2; k++) {
		int row = k ? 300 : 70;
		int64_t rid = th_int(f->p, "SELECT rid FROM _fs_record WHERE "
		    "sid = 'eeeeeeeeeeeeeeee%016d'", row);
		int64_t seq = th_int(f->p, "SELECT seq FROM _fs_log WHERE rid = "
		    "%lld AND kind = 2", (long long)rid);

		assert_int_equal(th_int(f->p, "SELECT lrow IS NULL FROM "
		    "_fs_record WHERE rid = %lld", (long long)rid), 1);
		assert_int_equal(th_int(f->p, "SELECT seq FROM _fs_log WHERE "
		    "fid = 0 AND rid = (SELECT rid FROM _fs_record WHERE tid = "
		    "(SELECT tid FROM _fs_table WHERE name = 'contacts') AND "
		    "lrow = %d)", row), seq + 1);
	}
	/* A field version of its own comes after the creation. */
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_log e JOIN "
	    "_fs_log c ON c.rid = e.rid AND c.fid = 0 AND c.seq < e.seq WHERE "
	    "e.fid = %lld AND e.new LIKE 'e%%'", (long long)f->fp[C_EMAIL]), 4);

	/*
	 * A long run of creations goes in with the connection's triggers
	 * off (this batch ends in one); they are on again afterwards: the
	 * app's own writes on this very connection are captured.
	 */
	send_creations(f, origins, base + 2000, 100, 'q');
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM contacts WHERE "
	    "name LIKE 'q%%'"), 100);
	{
		int on = -1;

		sqlite3_db_config(f->p->s->db, SQLITE_DBCONFIG_ENABLE_TRIGGER,
		    -1, &on);
		assert_int_equal(on, 1);
	}
	n0 = th_int(f->p, "SELECT count(*) FROM _fs_record");
	th_exec(f->p, "INSERT INTO contacts(name) VALUES ('typed here')");
	th_exec(f->p, "UPDATE contacts SET phone = 'new' WHERE name = 'r7'");
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_record"),
	    n0 + 1);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_log l JOIN "
	    "_fs_record r USING (rid) JOIN contacts c ON c.id = r.lrow WHERE "
	    "c.name = 'typed here' AND l.fid = 0 AND l.src IS NULL"), 1);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_log l JOIN "
	    "_fs_record r USING (rid) JOIN contacts c ON c.id = r.lrow WHERE "
	    "c.name = 'r7' AND l.fid = %lld AND l.new = 'new' AND l.src IS "
	    "NULL", (long long)f->fp[C_PHONE]), 1);
	/* Nothing the batch created went through the insert trigger too. */
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_log WHERE "
	    "fid = 0 AND src IS NULL AND rid IN (SELECT rid FROM _fs_record "
	    "WHERE sid LIKE '" PEND_SID "%%')"), 0);

	/* A trigger of the app's own: each insert sees all records so far. */
	th_exec(f->p, "CREATE TABLE audit(n INTEGER)");
	th_exec(f->p, "CREATE TRIGGER audit_ins AFTER INSERT ON contacts "
	    "BEGIN INSERT INTO audit VALUES ((SELECT count(*) FROM "
	    "_fs_record)); END");
	n0 = th_int(f->p, "SELECT count(*) FROM _fs_record");
	send_creations(f, origins, base + 5000, 10, 't');
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM audit"), 10);
	assert_int_equal(th_int(f->p, "SELECT min(n) FROM audit"), n0);
	assert_int_equal(th_int(f->p, "SELECT count(DISTINCT n) FROM audit"),
	    10);
	assert_int_equal(th_int(f->p, "SELECT count(*) FROM _fs_record"),
	    n0 + 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_sync_both_ways,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_exact_values, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_idempotent_reapply,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_old_versions_change_nothing,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mark_of_a_replayed_row,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_echo_suppression,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_gap_not_applied, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_conflict_policy_active,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_conflict_policy_passive,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_conflict_policy_newest_passive_newer, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_conflict_policy_newest_active_newer, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_same_value_active_ahead,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_same_value_passive_ahead,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_same_value_equal_clocks,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hard_delete_arrives_soft,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hard_delete_arrives_hard,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_batches_change_nothing,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_request_shape_refused,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hello_first,
		    fx_setup_no_hello, fx_teardown),
		cmocka_unit_test_setup_teardown(test_other_instance_refused,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_field_ignored,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pending_creations,
		    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
