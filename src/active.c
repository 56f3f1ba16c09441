/* active.c - hello, test and sync passes on the active side; see active.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "active.h"
#include "buf.h"
#include "catalog.h"
#include "changes.h"
#include "client.h"
#include "fieldmap.h"
#include "instance.h"
#include "log.h"
#include "merge.h"
#include "pairstate.h"
#include "passive.h"
#include "proto.h"
#include "syncmap.h"
#include "util.h"
#include "value.h"

#define MAX_RESP FS_PROTO_MAX_BODY
#define MAX_ROUNDS 100000

const char *
active_error_kind(int code)
{
	switch (code) {
	case FS_ENET:
		return "unreachable";
	case FS_EAUTH:
		return "auth refused";
	case FS_ECONFLICT:
		return "map mismatch";
	case FS_EPROTO:
		return "protocol";
	case FS_EBUSY:
		return "busy";
	default:
		return "error";
	}
}

int
active_lock(const char *db, int timeout_s, int *fd, struct fs_err *err)
{
	struct buf b;
	char *real;
	int f, waited = 0;

	/*
	 * Beside the file itself, not a symbolic link to it: two paths to
	 * one database must take one lock.
	 */
	buf_init(&b, 0);
	if ((real = realpath(db, NULL)) != NULL) {
		buf_printf(&b, "%s-fieldsync.lock", real);
		free(real);
	} else
		buf_printf(&b, "%s-fieldsync.lock", db);
	f = open(b.data, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f == -1) {
		fs_err_set(err, FS_EIO, "cannot open lock file %s: %s", b.data,
		    strerror(errno));
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	while (flock(f, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK || waited >= timeout_s * 10) {
			close(f);
			return fs_err_set(err, FS_EBUSY, "another sync of this "
			    "database is still running");
		}
		usleep(100000);
		waited++;
	}
	*fd = f;
	return 0;
}

void
active_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/* Turn a non-2xx response into an error naming what the peer said. */
static int
http_error(int status, const char *resp, struct fs_err *err)
{
	cJSON *j = resp ? cJSON_Parse(resp) : NULL;
	const cJSON *e = j ? cJSON_GetObjectItem(j, "error") : NULL;
	char msg[400];
	int code;

	snprintf(msg, sizeof msg, "%s", cJSON_IsString(e) ? e->valuestring :
	    "no details");
	cJSON_Delete(j);
	switch (status) {
	case 401:
	case 403:
	case 429:
		code = FS_EAUTH;
		break;
	case 409:
		code = strncmp(msg, "hello first", 11) == 0 ? FS_EAGAIN_HELLO :
		    FS_EPROTO;
		break;
	case 503:	/* its database is locked by another program */
		code = FS_EBUSY;
		break;
	case 500:	/* it could not apply or build a batch: kind "error" */
		code = FS_EDB;
		break;
	default:
		code = FS_EPROTO;
	}
	return fs_err_set(err, code, "peer answered %d: %s", status, msg);
}

static struct client *
connect_peer(const struct pairing *p, struct fs_err *err)
{
	return client_new(p->url, p->name, p->secret, p->ca_file, err);
}

/* A JSON object from a 2xx response; the error the peer gave otherwise. */
static cJSON *
reply_parse(int status, const char *resp, size_t rlen, struct fs_err *err)
{
	cJSON *j;

	if (status < 200 || status > 299) {
		http_error(status, resp, err);
		return NULL;
	}
	if ((j = proto_parse(resp, rlen, err)) == NULL) {
		char m[sizeof err->msg];

		snprintf(m, sizeof m, "%s", err ? err->msg : "");
		fs_err_set(err, FS_EPROTO, "peer sent a bad response: %s", m);
	}
	return j;
}

/* POST and parse a JSON object response (2xx only). */
static cJSON *
call(struct client *cl, const char *path, const char *body, size_t len,
    struct fs_err *err)
{
	char *resp = NULL;
	size_t rlen = 0;
	int status = 0;
	cJSON *j;

	if (client_post(cl, path, body, len, MAX_RESP, &status, &resp, &rlen,
	    err) == -1)
		return NULL;
	j = reply_parse(status, resp, rlen, err);
	free(resp);
	return j;
}

/*
 * Compare our map with the passive's: how many fields can flow at all,
 * and a warning for each field where nothing can.
 */
static int
check_map(const cJSON *ours, const cJSON *theirs, cJSON *warnings)
{
	const cJSON *a, *b;
	int flows = 0;

	cJSON_ArrayForEach(a, ours) {
		const char *am = cJSON_GetObjectItem(a, "mode")->valuestring;
		double fid = cJSON_GetObjectItem(a, "field")->valuedouble;
		int amode = fieldmap_mode_parse(am), seen = 0, ok = 0;

		if (amode == FS_MODE_OFF || amode < 0)
			continue;
		cJSON_ArrayForEach(b, theirs) {
			const cJSON *rf = cJSON_GetObjectItem(b, "remote_field");
			const cJSON *bm = cJSON_GetObjectItem(b, "mode");
			int pmode;

			if (!cJSON_IsNumber(rf) || rf->valuedouble != fid ||
			    !cJSON_IsString(bm))
				continue;
			pmode = fieldmap_mode_parse(bm->valuestring);
			if (pmode <= FS_MODE_OFF)
				continue;
			seen = 1;
			if (fieldmap_can_flow(amode, pmode) ||
			    fieldmap_can_flow(pmode, amode))
				ok = 1;
			if (cJSON_IsString(cJSON_GetObjectItem(b, "type")) &&
			    strcasecmp(cJSON_GetObjectItem(b, "type")->valuestring,
			    cJSON_GetObjectItem(a, "type")->valuestring) != 0)
				value_add_message(warnings,
				    "%s.%s (field %.0f): types differ "
				    "(%s here, %s on the peer)",
				    cJSON_GetObjectItem(a, "table")->valuestring,
				    cJSON_GetObjectItem(a, "column")->valuestring,
				    fid, cJSON_GetObjectItem(a, "type")->valuestring,
				    cJSON_GetObjectItem(b, "type")->valuestring);
		}
		if (!seen)
			value_add_message(warnings,
			    "%s.%s (field %.0f): not mapped on the "
			    "passive side; nothing flows",
			    cJSON_GetObjectItem(a, "table")->valuestring,
			    cJSON_GetObjectItem(a, "column")->valuestring, fid);
		else if (!ok)
			value_add_message(warnings,
			    "%s.%s (field %.0f): modes %s here and "
			    "on the peer let nothing flow",
			    cJSON_GetObjectItem(a, "table")->valuestring,
			    cJSON_GetObjectItem(a, "column")->valuestring, fid,
			    am);
		flows += ok;
	}
	return flows;
}

/*
 * hello: publish our catalogue, learn the peer's map.  On success fills
 * *report (may be NULL) and records the peer's identity.
 */
static int
hello(struct store *s, const struct pairing *p, struct client *cl,
    cJSON **report, struct fs_err *err)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL, *cat, *rep = NULL;
	cJSON *warnings;
	char *id = store_instance_id(s, err), *name = NULL, *body = NULL;
	const char *peer, *pname;
	int64_t t0, t1, pt, proto, epoch;
	int ret = -1, flows;

	if (id == NULL || (cat = catalog_fields_json(s, p->pid, err)) == NULL)
		goto out;
	name = store_meta_get(s, "name", NULL);
	cJSON_AddNumberToObject(req, "protocol", FS_PROTO_VERSION);
	cJSON_AddStringToObject(req, "instance", id);
	cJSON_AddStringToObject(req, "name", name ? name : "");
	cJSON_AddItemToObject(req, "fields", cat);
	body = cJSON_PrintUnformatted(req);
	t0 = util_now_ms();
	/*
	 * A hello asks for no work, so a peer that takes the connection and
	 * stays silent is given up on sooner than an exchange, whose batch
	 * it may still be writing.
	 */
	client_set_timeouts(cl, 0, FS_CLIENT_HELLO_MS);
	resp = call(cl, "/sync/v1/hello", body, strlen(body), err);
	client_set_timeouts(cl, 0, FS_CLIENT_TOTAL_MS);
	if (resp == NULL)
		goto out;
	t1 = util_now_ms();
	if (proto_get_i64(resp, "protocol", 0, 1000000, &proto, err) == -1 ||
	    (peer = proto_get_str(resp, "instance", 32, err)) == NULL ||
	    (pname = proto_get_str(resp, "name", 255, err)) == NULL ||
	    proto_get_i64(resp, "time_ms", 0, INT64_MAX, &pt, err) == -1 ||
	    proto_get_i64(resp, "epoch", 0, INT64_MAX, &epoch, err) == -1 ||
	    proto_get_array(resp, "fields", err) == NULL) {
		char m[sizeof err->msg];

		snprintf(m, sizeof m, "%s", err ? err->msg : "");
		fs_err_set(err, FS_EPROTO, "bad hello from peer: %s", m);
		goto out;
	}
	if (instance_check_peer(id, peer, "the passive side", err) == -1) {
		if (err)
			err->code = FS_EPROTO;	/* not a map mismatch */
		goto out;
	}
	if (proto != FS_PROTO_VERSION) {
		fs_err_set(err, FS_EPROTO, "peer speaks protocol %" PRId64
		    ", this side %d", proto, FS_PROTO_VERSION);
		goto out;
	}
	rep = cJSON_CreateObject();
	warnings = cJSON_CreateArray();
	flows = check_map(cat, cJSON_GetObjectItem(resp, "fields"), warnings);
	cJSON_AddBoolToObject(rep, "ok", flows > 0);
	cJSON_AddStringToObject(rep, "peer", peer);
	cJSON_AddStringToObject(rep, "name", pname);
	cJSON_AddNumberToObject(rep, "protocol", (double)proto);
	cJSON_AddNumberToObject(rep, "clock_offset_ms",
	    (double)(pt - (t0 + t1) / 2));
	cJSON_AddNumberToObject(rep, "flows", flows);
	cJSON_AddItemToObject(rep, "warnings", warnings);
	if (flows == 0) {
		cJSON_AddStringToObject(rep, "problem", "map mismatch: no "
		    "mapped field can flow in either direction");
		cJSON_AddStringToObject(rep, "kind",
		    active_error_kind(FS_ECONFLICT));
	}
	{
		sqlite3_stmt *st;
		struct pairstate before;

		if (store_begin(s, err) == -1)
			goto out;
		if (pairstate_load(s, p->pid, &before, err) == -1) {
			store_rollback(s);
			goto out;
		}
		st = store_prepare(s, "UPDATE _fs_pair_state SET peer_instance "
		    "= ?2, peer_name = ?3, offset_ms = ?4, peer_catalog = ?5, "
		    "recv_seq = CASE WHEN peer_epoch IS NOT ?6 THEN 0 ELSE "
		    "recv_seq END, peer_epoch = ?6 WHERE pid = ?1", err);
		if (st == NULL) {
			pairstate_clear(&before);
			store_rollback(s);
			goto out;
		}
		free(body);
		body = cJSON_PrintUnformatted(cJSON_GetObjectItem(resp,
		    "fields"));
		sqlite3_bind_int64(st, 1, p->pid);
		sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, pname, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, pt - (t0 + t1) / 2);
		sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, epoch);
		if (store_step_done(s, st, err) == -1 ||
		    pairstate_adopt_links(s, p->pid, peer, err) == -1) {
			sqlite3_finalize(st);
			pairstate_clear(&before);
			store_rollback(s);
			goto out;
		}
		sqlite3_finalize(st);
		if (store_commit(s, err) == -1) {
			pairstate_clear(&before);
			goto out;
		}
		pairstate_log_offset(p->name, &before, pt - (t0 + t1) / 2);
		pairstate_clear(&before);
		syncmap_forget(s, p->pid);
	}
	if (flows == 0) {
		fs_err_set(err, FS_ECONFLICT, "no mapped field can flow in "
		    "either direction (see 'fieldsync pair test %s')", p->name);
		if (report) {
			*report = rep;
			rep = NULL;
		}
		goto out;
	}
	if (report) {
		*report = rep;
		rep = NULL;
	}
	ret = 0;
out:
	cJSON_Delete(req);
	proto_json_free(resp);
	cJSON_Delete(rep);
	free(id);
	free(name);
	free(body);
	return ret;
}

int
active_test(struct store *s, const struct pairing *p, cJSON **report,
    struct fs_err *err)
{
	struct client *cl;
	struct fs_err e;

	*report = NULL;
	if (strcmp(p->role, "active") != 0)
		return fs_err_set(err, FS_EINVAL, "pairing %s is passive: test "
		    "it from the active side", p->name);
	fs_err_clear(&e);
	if ((cl = connect_peer(p, &e)) != NULL) {
		hello(s, p, cl, report, &e);
		client_free(cl);
	}
	if (*report == NULL) {
		const char *kind = active_error_kind(e.code);
		struct buf prob;

		*report = cJSON_CreateObject();
		cJSON_AddBoolToObject(*report, "ok", 0);
		/* Status and sync name the kind before the message; so does
		 * the test, except for a failure without a kind of its own. */
		buf_init(&prob, 0);
		if (strcmp(kind, "error") != 0)
			buf_printf(&prob, "%s: ", kind);
		buf_printf(&prob, "%s", e.msg);
		cJSON_AddStringToObject(*report, "problem", prob.data);
		cJSON_AddStringToObject(*report, "kind", kind);
		buf_free(&prob);
	}
	/*
	 * The status light follows what the test saw, as far as it sees: a
	 * pass that failed later than its hello (a batch refused) stays red
	 * until a pass succeeds.
	 */
	if (cJSON_IsTrue(cJSON_GetObjectItem(*report, "ok"))) {
		sqlite3_stmt *st = store_prepare(s, "UPDATE _fs_pair_state SET "
		    "last_error = NULL, error_kind = NULL WHERE pid = ?1 AND "
		    "error_kind IN ('unreachable', 'auth refused', "
		    "'map mismatch')", NULL);

		if (st != NULL) {
			sqlite3_bind_int64(st, 1, p->pid);
			store_step_done(s, st, NULL);
			sqlite3_finalize(st);
		}
	} else {
		const cJSON *prob = cJSON_GetObjectItem(*report, "problem");

		pairstate_record(s, p->pid, e.code ? active_error_kind(e.code) :
		    "map mismatch", cJSON_IsString(prob) ? prob->valuestring :
		    "test failed", NULL);
	}
	return 0;
}

/*
 * Our side of one exchange: the changes after `from`, built in one read
 * snapshot.  Built ahead while the previous request is on the wire, so
 * it records what it assumed: it is sent only if, when its turn comes,
 * the acknowledged cursor is still `from` and the map epoch unchanged.
 */
struct outgoing {
	int ready;
	struct buf changes;	/* "origins":[...],"changes":[...] */
	struct batch_out bo;
	int64_t from, map_epoch;
	int echo;		/* built with what came from the peer too */
	int64_t to_mark;	/* changes_mark of bo.cursor */
};

/*
 * Apply the passive's response and both cursors in one transaction.
 * cur is the batch the request carried, asked_echo whether the request
 * asked for everything including our own changes.
 *
 * A log rolled back (a backup restored) reuses sequence numbers, so each
 * cursor comes with its mark (changes_mark).  "prior" is the passive's
 * cursor into our log before this request: if its mark is not ours, our
 * log is not the one it synced with, and the peer may hold changes we
 * lost; "resync" says the same of the passive's log.  Either way the
 * side that kept its log sends again what it has, including what came
 * from the restored side.
 */
static int
apply_response(struct store *s, const struct pairing *p, const cJSON *resp,
    const struct outgoing *cur, int asked_echo, int64_t mid_ms, int *more,
    struct sync_progress *prog, struct fs_err *err)
{
	struct pairstate ps;
	struct syncmap *m = NULL;
	struct merge_stats ms;
	const cJSON *mj, *rj;
	int64_t ack, cursor, epoch, pending = 0, cursor_mark = 0;
	int64_t prior = 0, prior_mark = 0, our_to = cur->bo.cursor, mark;
	int64_t peer_ms = 0, offset = 0;
	int ret = -1, resync, rolled_back = 0, moved;

	if (proto_get_i64(resp, "ack", 0, INT64_MAX, &ack, err) == -1 ||
	    proto_get_i64(resp, "cursor", 0, INT64_MAX, &cursor, err) == -1 ||
	    proto_get_i64(resp, "epoch", 0, INT64_MAX, &epoch, err) == -1 ||
	    !cJSON_IsBool(mj = cJSON_GetObjectItemCaseSensitive(resp, "more")) ||
	    ((rj = cJSON_GetObjectItemCaseSensitive(resp, "resync")) != NULL &&
	    !cJSON_IsBool(rj)) ||
	    /* Marks are absent from older passives: then 0, never checked. */
	    proto_get_i64_opt(resp, "cursor_mark", 0, INT64_MAX, &cursor_mark,
	    err) == -1 ||
	    proto_get_i64_opt(resp, "prior", 0, INT64_MAX, &prior, err) == -1 ||
	    proto_get_i64_opt(resp, "prior_mark", 0, INT64_MAX, &prior_mark,
	    err) == -1 ||
	    proto_get_i64_opt(resp, "time_ms", 0, INT64_MAX, &peer_ms,
	    err) == -1) {
		char m2[sizeof err->msg];

		snprintf(m2, sizeof m2, "%s", err ? err->msg : "bad member");
		return fs_err_set(err, FS_EPROTO, "bad exchange response: %s", m2);
	}
	resync = cJSON_IsTrue(rj);
	if (cJSON_GetObjectItemCaseSensitive(resp, "pending") != NULL)
		proto_get_i64(resp, "pending", 0, INT64_MAX, &pending, NULL);
	if (prior > 0 && prior_mark > 0) {
		if ((mark = changes_mark(s, prior, err)) == -1)
			return -1;
		rolled_back = mark != prior_mark;
	}
	/* Nothing came and no cursor moved: an idle poll writes nothing. */
	if (pairstate_load(s, p->pid, &ps, err) == -1)
		return -1;
	/* The peer's clock at the middle of the round trip, minus ours. */
	if (peer_ms > 0)
		offset = peer_ms - mid_ms;
	moved = peer_ms > 0 && pairstate_offset_moved(&ps, offset);
	if (!moved &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(resp, "changes")) == 0 &&
	    ack == ps.sent_seq && cursor == ps.recv_seq &&
	    cursor_mark == ps.recv_mark && ps.has_peer_epoch &&
	    epoch == ps.peer_epoch && ps.has_peer_pending &&
	    pending == ps.peer_pending && !resync && !rolled_back &&
	    !(asked_echo && !cJSON_IsTrue(mj)) &&
	    !(cur->echo && !cur->bo.more && ack >= our_to)) {
		*more = cJSON_IsTrue(mj) || ack < our_to;
		pairstate_clear(&ps);
		return 0;
	}
	pairstate_clear(&ps);
	if (store_begin(s, err) == -1)
		return -1;
	if (pairstate_load(s, p->pid, &ps, err) == -1)
		goto out;
	if ((m = syncmap_get(s, p, ps.map_epoch, err)) == NULL)
		goto out;
	{
		/* Seqs of a rolled-back log are not the ones it saw. */
		struct merge_ctx mc = { .s = s, .m = m, .acked = ack,
		    .policy = p->policy, .matching = ps.last_ok == NULL,
		    .watermark = rolled_back ? 0 : ps.acked_seq };

		if (merge_apply(&mc, resp, &ms, err) == -1) {
			if (err && err->code == FS_EINVAL)
				err->code = FS_EPROTO;
			goto out;
		}
		if (merge_finish(s, ms.max_hlc, err) == -1)
			goto out;
	}
	{
		int epoch_changed = ps.has_peer_epoch && ps.peer_epoch != epoch;
		/* An ack is never beyond what we sent. */
		int64_t sent = ack < our_to ? ack : our_to;
		int64_t recv = epoch_changed ? 0 : cursor;
		int64_t recv_mark = epoch_changed ? 0 : cursor_mark;
		int64_t want = ps.echo_want, give = ps.echo_give;
		int64_t args[11];

		/* The peer has sent everything, ours included. */
		if (asked_echo && !cJSON_IsTrue(mj))
			want = 0;
		/* We have sent everything, theirs included. */
		if (cur->echo && !cur->bo.more && ack >= our_to)
			give = 0;
		/*
		 * No cursor goes back to 0.  The peer's ack is of our log as
		 * it is now (it takes each batch's "to"); a rolled-back peer
		 * answers from what it kept (its cursor into ours falls back
		 * too, and we send from there).  What the restored side lost
		 * the other side logged after those points, so this round's
		 * cursors are kept and the next rounds, with echo, bring it.
		 */
		if (rolled_back) {
			if (!epoch_changed) {
				recv = ps.recv_seq;
				recv_mark = ps.recv_mark;
			}
			want = 1;
		}
		if (resync) {
			if (sent > cur->from)
				sent = cur->from;
			give = 1;
		}
		args[0] = sent;
		args[1] = recv;
		args[2] = epoch;
		args[3] = pending;
		args[4] = ms.ambiguous;
		args[5] = recv_mark;
		args[6] = want;
		args[7] = give;
		args[8] = moved;
		args[9] = offset;
		args[10] = rolled_back;
		if (pairstate_update(s, p->pid, "sent_seq = ?2, recv_seq = ?3, "
		    "peer_epoch = ?4, peer_pending = ?5, ambiguous = ambiguous "
		    "+ ?6, recv_mark = ?7, echo_want = ?8, echo_give = ?9, "
		    "offset_ms = CASE WHEN ?10 THEN ?11 ELSE offset_ms END, "
		    PAIRSTATE_ACKED("?2", "?12"), args, 11, err) == -1 ||
		    pairstate_unremap(s, p->pid, sent, err) == -1)
			goto out;
		*more = cJSON_IsTrue(mj) || ack < our_to || epoch_changed ||
		    rolled_back || resync;
	}
	if (store_commit(s, err) == -1)
		goto out_nocommit;
	if (moved)
		pairstate_log_offset(p->name, &ps, offset);
	if (rolled_back || resync)
		log_warn("pairing %s: %s change log is older than the other "
		    "side last saw (a backup restored?): %s", p->name,
		    rolled_back ? "this database's" : "the peer's",
		    rolled_back ? "the peer sends back what it lost" :
		    "sending the peer back what it lost");
	prog->recv_records += ms.records;
	prog->recv_values += ms.applied;
	prog->conflicts += ms.conflicts;
	{
		/*
		 * And those the passive side decided while applying our
		 * batch: kept there, but this side's edits may have lost.
		 */
		const cJSON *pc = cJSON_GetObjectItemCaseSensitive(resp,
		    "conflicts");

		if (cJSON_IsNumber(pc) && pc->valuedouble > 0 &&
		    pc->valuedouble < 1e15)
			prog->conflicts += (int64_t)pc->valuedouble;
	}
	prog->created += ms.created;
	ret = 0;
	goto out_nocommit;
out:
	store_rollback(s);
out_nocommit:
	syncmap_free(m);
	pairstate_clear(&ps);
	return ret;
}

static void
outgoing_clear(struct outgoing *o)
{
	buf_free(&o->changes);
	memset(o, 0, sizeof *o);
}

/* Build o from `from`, or from the acknowledged cursor when from < 0. */
static int
outgoing_build(struct store *s, const struct pairing *p, int64_t from,
    struct outgoing *o, struct fs_err *err)
{
	struct pairstate ps;
	struct syncmap *m = NULL;
	int ret = -1;

	outgoing_clear(o);
	buf_init(&o->changes, 0);
	/* A read transaction: the batch is one consistent snapshot. */
	if (store_exec(s, "BEGIN", err) == -1)
		return -1;
	if (pairstate_load(s, p->pid, &ps, err) == -1)
		goto out_tx;
	o->from = from < 0 ? ps.sent_seq : from;
	o->map_epoch = ps.map_epoch;
	o->echo = ps.echo_give;
	if ((m = syncmap_get(s, p, ps.map_epoch, err)) != NULL &&
	    changes_build(s, m, o->from, o->echo, FS_BATCH_BYTES, &o->changes,
	    &o->bo, err) == 0 &&
	    (o->to_mark = changes_mark(s, o->bo.cursor, err)) != -1) {
		o->ready = 1;
		ret = 0;
	}
	syncmap_free(m);
	pairstate_clear(&ps);
out_tx:
	store_exec(s, "COMMIT", NULL);
	return ret;
}

/*
 * One round: our batch out, theirs back.  *more when another is due.
 * cur is the batch to send (built here unless built ahead and still
 * valid); while the request is on the wire, the next batch is built into
 * next if ours stopped early.  A response that brought changes voids
 * next: they may have given its fields newer versions.
 */
static int
round_trip(struct store *s, const struct pairing *p, struct client *cl,
    struct outgoing *cur, struct outgoing *next, int *more,
    struct sync_progress *prog, struct fs_err *err)
{
	struct pairstate ps;
	struct client_call *call;
	struct buf body;
	cJSON *resp = NULL;
	char *id = NULL, *raw = NULL;
	size_t rlen = 0;
	int ret = -1, status = 0, rc;
	int64_t t0, t1;

	buf_init(&body, 0);
	outgoing_clear(next);
	if (pairstate_load(s, p->pid, &ps, err) == -1)
		return -1;
	if ((!cur->ready || cur->from != ps.sent_seq ||
	    cur->map_epoch != ps.map_epoch || cur->echo != ps.echo_give) &&
	    outgoing_build(s, p, -1, cur, err) == -1)
		goto out;
	if ((id = store_instance_id(s, err)) == NULL)
		goto out;
	buf_printf(&body, "{\"protocol\":%d,\"instance\":\"%s\",\"policy\":\"%s\","
	    "\"interval\":%d,\"since\":\"%" PRId64 "\",\"since_mark\":\"%"
	    PRId64 "\",\"from\":\"%" PRId64 "\",%s", FS_PROTO_VERSION, id,
	    p->policy, p->interval, ps.recv_seq, ps.recv_mark, cur->from,
	    ps.echo_want ? "\"echo\":true," : "");
	if (ps.error_kind != NULL && strcmp(ps.error_kind, "error") == 0 &&
	    ps.last_error != NULL) {
		/*
		 * The last pass failed here, most often applying the passive
		 * side's batch (the app's constraint refused it): the passive
		 * side, whose requests all succeed, would show green.
		 */
		size_t n = strlen(ps.last_error);

		if (n > 500)
			for (n = 500; n > 0 && ((unsigned char)ps.last_error[n] &
			    0xc0) == 0x80; n--)
				;
		buf_addstr(&body, "\"failed\":");
		proto_json_string(&body, ps.last_error, n);
		buf_addstr(&body, ",");
	}
	if (pairstate_remapped(s, p->pid, 1, &body, err) == -1)
		goto out;
	buf_add(&body, cur->changes.data, cur->changes.len);
	t0 = util_now_ms();
	buf_printf(&body, ",\"to\":\"%" PRId64 "\",\"to_mark\":\"%" PRId64
	    "\",\"time_ms\":\"%" PRId64 "\"}", cur->bo.cursor, cur->to_mark,
	    t0);
	if (cur->bo.more && !(prog->stop != NULL && *prog->stop)) {
		/* A thread costs more than an idle poll: only when it pays. */
		call = client_post_start(cl, "/sync/v1/exchange", body.data,
		    body.len, MAX_RESP);
		if (outgoing_build(s, p, cur->bo.cursor, next, NULL) == -1)
			outgoing_clear(next);	/* built again in its turn */
		rc = client_post_wait(call, &status, &raw, &rlen, err);
	} else
		rc = client_post(cl, "/sync/v1/exchange", body.data, body.len,
		    MAX_RESP, &status, &raw, &rlen, err);
	t1 = util_now_ms();
	if (rc == -1 || (resp = reply_parse(status, raw, rlen, err)) == NULL)
		goto out;
	prog->rounds++;
	prog->sent_records += cur->bo.records;
	prog->sent_values += cur->bo.values;
	if (cJSON_GetArraySize(cJSON_GetObjectItem(resp, "changes")) != 0)
		outgoing_clear(next);
	if (apply_response(s, p, resp, cur, ps.echo_want, t0 + (t1 - t0) / 2,
	    more, prog, err) == -1)
		goto out;
	*more = *more || cur->bo.more;
	ret = 0;
out:
	if (ret == -1)
		outgoing_clear(next);
	free(raw);
	buf_free(&body);
	proto_json_free(resp);
	pairstate_clear(&ps);
	free(id);
	return ret;
}

int
active_sync(struct store *s, const struct pairing *p, struct client **clp,
    int need_hello, struct sync_progress *prog, struct fs_err *err)
{
	struct sync_progress local;
	struct pairstate ps;
	struct outgoing cur, next;
	int more = 1, ret = -1, helloed = 0;

	memset(&cur, 0, sizeof cur);
	memset(&next, 0, sizeof next);

	if (prog == NULL) {
		memset(&local, 0, sizeof local);
		prog = &local;
	}
	if (strcmp(p->role, "active") != 0)
		return fs_err_set(err, FS_EINVAL, "pairing %s is passive",
		    p->name);
	if (pairstate_load(s, p->pid, &ps, err) == -1)
		return -1;
	/*
	 * Hello (which checks that something can flow) before a first
	 * complete pass, after any error, and when asked: a first pass
	 * through a map where nothing flows would end the first-sync window
	 * in which match keys link records.
	 */
	if (ps.peer_instance == NULL || ps.error_kind != NULL ||
	    ps.last_ok == NULL)
		need_hello = 1;
	pairstate_clear(&ps);
	if (*clp == NULL && (*clp = connect_peer(p, err)) == NULL)
		goto record;
	if (need_hello) {
		if (hello(s, p, *clp, NULL, err) == -1)
			goto record;
		helloed = 1;
	}
	for (int64_t r = 0; more && r < MAX_ROUNDS &&
	    !(prog->stop != NULL && *prog->stop); r++) {
		struct outgoing t = cur;

		cur = next;
		next = t;
		if (round_trip(s, p, *clp, &cur, &next, &more, prog,
		    err) == -1) {
			if (err && err->code == FS_EAGAIN_HELLO && !helloed) {
				if (hello(s, p, *clp, NULL, err) == -1)
					goto record;
				helloed = 1;
				more = 1;
				continue;
			}
			goto record;
		}
		if (prog->cb)
			prog->cb(prog->ctx, prog);
	}
	ret = 0;
record:
	outgoing_clear(&cur);
	outgoing_clear(&next);
	prog->done = 1;
	if (prog->cb)
		prog->cb(prog->ctx, prog);
	if (ret == 0) {
		struct pairstate now;

		/* Health is refreshed now and then, not on every idle poll. */
		if (pairstate_load(s, p->pid, &now, NULL) == -1 ||
		    now.error_kind != NULL || now.last_ok == NULL ||
		    prog->recv_values || prog->sent_values ||
		    pairstate_due(now.last_ok))
			pairstate_record(s, p->pid, NULL, NULL, NULL);
		pairstate_clear(&now);
	}
	else {
		if (err && err->code == FS_EAGAIN_HELLO)
			err->code = FS_EPROTO;
		/*
		 * When the lock that failed the pass is on this database, the
		 * record would wait for it as long again: try briefly.
		 */
		if (err && err->code == FS_EBUSY)
			sqlite3_busy_timeout(s->db, 1000);
		pairstate_record(s, p->pid, err ?
		    active_error_kind(err->code) : "error", err ? err->msg :
		    "failed", NULL);
		if (err && err->code == FS_EBUSY)
			sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	}
	return ret;
}
