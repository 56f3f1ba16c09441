/* passive.c - hello and exchange on the passive side; see passive.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "changes.h"
#include "fieldmap.h"
#include "instance.h"
#include "log.h"
#include "merge.h"
#include "pairing.h"
#include "pairstate.h"
#include "passive.h"
#include "proto.h"
#include "syncmap.h"
#include "util.h"

/* The passive pairing named by the Digest user, enabled. */
static struct pairing *
passive_pair(struct store *s, const char *pair, struct fs_err *err)
{
	struct pairing *p = pairing_get(s, pair, NULL);

	if (p != NULL && strcmp(p->role, "passive") == 0 && !p->enabled) {
		pairing_free(p);
		fs_err_set(err, FS_ENOTFOUND, "pairing %s is disabled on this "
		    "side ('pair set %s enabled yes' there turns it on)", pair,
		    pair);
		return NULL;
	}
	if (p == NULL || strcmp(p->role, "passive") != 0) {
		pairing_free(p);
		fs_err_set(err, FS_ENOTFOUND, "no enabled passive pairing %s",
		    pair);
		return NULL;
	}
	return p;
}

void
passive_record_failure(struct store *s, const char *pair,
    const struct fs_err *e)
{
	struct pairing *p;

	if (e->code == FS_EBUSY)
		return;	/* writing it down would wait for the lock again */
	p = passive_pair(s, pair, NULL);
	if (p != NULL)
		(void)pairstate_record(s, p->pid, "error", e->msg, NULL);
	pairing_free(p);
}

static int
check_common(const cJSON *req, const char **instance, struct fs_err *err)
{
	int64_t proto;
	unsigned char raw[16];

	if (proto_get_i64(req, "protocol", 0, 1000000, &proto, err) == -1)
		return -1;
	if (proto != FS_PROTO_VERSION)
		return fs_err_set(err, FS_ECONFLICT, "protocol version %" PRId64
		    " is not supported; this side speaks %d", proto,
		    FS_PROTO_VERSION);
	if ((*instance = proto_get_str(req, "instance", 32, err)) == NULL)
		return -1;
	if (strlen(*instance) != 32 || util_unhex(*instance, raw, 16) == -1)
		return fs_err_set(err, FS_EINVAL, "'instance' must be 32 hex "
		    "digits");
	return 0;
}

/* The same active instance must keep using a pairing. */
static int
check_peer(const struct pairstate *ps, const char *instance,
    struct fs_err *err)
{
	if (ps->peer_instance != NULL && strcmp(ps->peer_instance,
	    instance) != 0)
		return fs_err_set(err, FS_ECONFLICT, "this pairing belongs to "
		    "instance %s; to pair another (a replaced machine), "
		    "remove and add the pairing again on the passive side",
		    ps->peer_instance);
	return 0;
}

/*
 * Both requests start alike: the pairing, a write transaction, its state
 * loaded, and the check that this active instance may use it (and is
 * not a copy of this very database).  *self is our own identity, for
 * the answer (the caller frees it).  On NULL no transaction is left open.
 */
static struct pairing *
passive_begin(struct store *s, const char *pair, const char *instance,
    struct pairstate *ps, char **self, struct fs_err *err)
{
	struct pairing *p;

	*self = NULL;
	if ((p = passive_pair(s, pair, err)) == NULL)
		return NULL;
	if (store_begin(s, err) == -1) {
		pairing_free(p);
		return NULL;
	}
	if (pairstate_load(s, p->pid, ps, err) == -1 ||
	    check_peer(ps, instance, err) == -1 ||
	    (*self = store_instance_id(s, err)) == NULL ||
	    instance_check_peer(*self, instance, "the active side",
	    err) == -1) {
		store_rollback(s);
		pairing_free(p);
		free(*self);
		*self = NULL;
		return NULL;
	}
	return p;
}

static int
validate_catalogue(const cJSON *fields, struct fs_err *err)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, fields) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "field");
		int64_t dummy;

		if (!cJSON_IsObject(it) || proto_get_i64(it, "field", 1,
		    INT64_MAX / 2, &dummy, err) == -1 || !cJSON_IsNumber(f) ||
		    proto_get_str(it, "table", 255, err) == NULL ||
		    proto_get_str(it, "column", 255, err) == NULL ||
		    proto_get_str(it, "type", 255, err) == NULL ||
		    proto_get_str(it, "mode", 16, err) == NULL)
			return fs_err_set(err, FS_EINVAL, "'fields' entries "
			    "need field, table, column, type and mode");
		if (fieldmap_mode_parse(cJSON_GetObjectItem(it,
		    "mode")->valuestring) < 0)
			return fs_err_set(err, FS_EINVAL, "bad mode in 'fields'");
	}
	return 0;
}

int
passive_hello(struct store *s, const char *pair, const char *body,
    size_t len, struct buf *out, struct fs_err *err)
{
	struct pairing *p = NULL;
	struct pairstate ps;
	cJSON *req = NULL, *resp = NULL, *cat = NULL;
	const cJSON *fields;
	const char *instance, *name;
	char *txt = NULL, *id = NULL, *myname = NULL;
	int ret = -1, in_tx = 0;
	sqlite3_stmt *st = NULL;

	memset(&ps, 0, sizeof ps);
	if ((req = proto_parse(body, len, err)) == NULL)
		return -1;
	if (check_common(req, &instance, err) == -1 ||
	    (name = proto_get_str(req, "name", 255, err)) == NULL ||
	    (fields = proto_get_array(req, "fields", err)) == NULL ||
	    validate_catalogue(fields, err) == -1)
		goto out;
	if ((p = passive_begin(s, pair, instance, &ps, &id, err)) == NULL)
		goto out;
	in_tx = 1;
	txt = cJSON_PrintUnformatted(fields);
	st = store_prepare(s, "UPDATE _fs_pair_state SET peer_instance = ?2, "
	    "peer_name = ?3, peer_catalog = ?4 WHERE pid = ?1", err);
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, p->pid);
	sqlite3_bind_text(st, 2, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, txt, -1, SQLITE_STATIC);
	if (store_step_done(s, st, err) == -1 ||
	    pairstate_adopt_links(s, p->pid, instance, err) == -1)
		goto out;
	if ((cat = catalog_fields_json(s, p->pid, err)) == NULL)
		goto out;
	if (store_commit(s, err) == -1) {
		in_tx = 0;
		goto out;
	}
	in_tx = 0;
	syncmap_forget(s, p->pid);
	myname = store_meta_get(s, "name", NULL);
	resp = cJSON_CreateObject();
	cJSON_AddNumberToObject(resp, "protocol", FS_PROTO_VERSION);
	cJSON_AddStringToObject(resp, "instance", id ? id : "");
	cJSON_AddStringToObject(resp, "name", myname ? myname : "");
	{
		char num[32];

		snprintf(num, sizeof num, "%" PRId64, util_now_ms());
		cJSON_AddStringToObject(resp, "time_ms", num);
		snprintf(num, sizeof num, "%" PRId64, ps.map_epoch);
		cJSON_AddStringToObject(resp, "epoch", num);
	}
	cJSON_AddItemToObject(resp, "fields", cat);
	cat = NULL;
	free(txt);
	txt = cJSON_PrintUnformatted(resp);
	buf_addstr(out, txt);
	ret = 0;
out:
	if (in_tx)
		store_rollback(s);
	sqlite3_finalize(st);
	proto_json_free(req);
	cJSON_Delete(resp);
	cJSON_Delete(cat);
	free(txt);
	free(id);
	free(myname);
	pairstate_clear(&ps);
	pairing_free(p);
	return ret;
}

int
passive_exchange(struct store *s, const char *pair, const char *body,
    size_t len, struct buf *out, struct fs_err *err)
{
	struct pairing *p = NULL;
	struct pairstate ps;
	struct syncmap *m = NULL;
	struct merge_stats ms;
	struct batch_out bo;
	cJSON *req = NULL;
	const char *instance, *policy, *failed = NULL;
	char *id = NULL;
	int64_t since, from, to, interval = 0, recv, recv_mark;
	int64_t since_mark = 0, to_mark = 0, mark, peer_ms = 0, offset = 0;
	int ret = -1, in_tx = 0, gap, idle, echo = 0, resync = 0, moved;
	const cJSON *ej;
	char now[64];

	memset(&ps, 0, sizeof ps);
	memset(&ms, 0, sizeof ms);
	if ((req = proto_parse(body, len, err)) == NULL)
		return -1;
	if (check_common(req, &instance, err) == -1 ||
	    proto_get_i64(req, "since", 0, INT64_MAX, &since, err) == -1 ||
	    proto_get_i64(req, "from", 0, INT64_MAX, &from, err) == -1 ||
	    proto_get_i64(req, "to", 0, INT64_MAX, &to, err) == -1 ||
	    (policy = proto_get_str(req, "policy", 16, err)) == NULL ||
	    proto_get_array(req, "origins", err) == NULL ||
	    proto_get_array(req, "changes", err) == NULL)
		goto out;
	if (to < from) {
		fs_err_set(err, FS_EINVAL, "'to' is before 'from'");
		goto out;
	}
	if (strcmp(policy, "newest") != 0 && strcmp(policy, "active") != 0 &&
	    strcmp(policy, "passive") != 0) {
		fs_err_set(err, FS_EINVAL, "'policy' must be newest, active or "
		    "passive");
		goto out;
	}
	/* Marks (changes_mark) and echo are absent in older actives' requests. */
	if (proto_get_i64_opt(req, "interval", 1, 604800, &interval,
	    err) == -1 ||
	    proto_get_i64_opt(req, "since_mark", 0, INT64_MAX, &since_mark,
	    err) == -1 ||
	    proto_get_i64_opt(req, "to_mark", 0, INT64_MAX, &to_mark,
	    err) == -1 ||
	    proto_get_i64_opt(req, "time_ms", 0, INT64_MAX, &peer_ms,
	    err) == -1)
		goto out;
	if ((ej = cJSON_GetObjectItemCaseSensitive(req, "failed")) != NULL &&
	    (failed = proto_get_str(req, "failed", 1000, err)) == NULL)
		goto out;
	if ((ej = cJSON_GetObjectItemCaseSensitive(req, "echo")) != NULL) {
		if (!cJSON_IsBool(ej)) {
			fs_err_set(err, FS_EINVAL, "'echo' must be true or false");
			goto out;
		}
		echo = cJSON_IsTrue(ej);
	}
	if ((p = passive_begin(s, pair, instance, &ps, &id, err)) == NULL)
		goto out;
	in_tx = 1;
	if (ps.peer_instance == NULL) {
		fs_err_set(err, FS_ECONFLICT, "hello first: this pairing has "
		    "not seen the active side's field catalogue");
		goto out;
	}
	if ((m = syncmap_get(s, p, ps.map_epoch, err)) == NULL)
		goto out;
	/* The active's clock when it sent, minus ours now (a little late). */
	if (peer_ms > 0)
		offset = peer_ms - util_now_ms();
	moved = peer_ms > 0 && pairstate_offset_moved(&ps, offset);
	recv = ps.recv_seq;
	recv_mark = ps.recv_mark;
	gap = from > recv;
	/*
	 * The active side's cursor into our log must end where our log has
	 * the same row: if not, this database was rolled back (a backup
	 * restored) and reuses those numbers.  It has seen what we kept
	 * (changes_floor); we send from there, and ask it (resync) for what
	 * we lost, what came from us included.
	 */
	if (since > 0 && since_mark > 0) {	/* 0: unknown (older state) */
		if ((mark = changes_mark(s, since, err)) == -1)
			goto out;
		if (mark != since_mark) {
			if ((since = changes_floor(s, since, since_mark,
			    err)) == -1)
				goto out;
			log_warn("pairing %s: this database's change log is "
			    "older than the active side last saw (a backup "
			    "restored?): asking it for what was lost", pair);
			resync = 1;
		}
	}
	if (!gap) {
		/* Seqs of a rolled-back log are not the ones it saw. */
		struct merge_ctx mc = { .s = s, .m = m, .acked = since,
		    .policy = policy, .matching = ps.last_ok == NULL,
		    .watermark = resync ? 0 : ps.acked_seq };

		if (merge_apply(&mc, req, &ms, err) == -1 ||
		    merge_finish(s, ms.max_hlc, err) == -1)
			goto out;
		/*
		 * What the active side sent is what we have of its log, also
		 * when that is less than before (its log was rolled back).
		 */
		recv = to;
		recv_mark = to_mark;
	}
	/* Our batch is built after applying theirs, inside the same snapshot. */
	buf_addstr(out, "{\"protocol\":1,\"instance\":\"");
	buf_addstr(out, id);
	buf_printf(out, "\",\"ack\":\"%" PRId64 "\",\"prior\":\"%" PRId64
	    "\",\"prior_mark\":\"%" PRId64 "\",", recv, ps.recv_seq,
	    ps.recv_mark);
	if (pairstate_remapped(s, p->pid, 0, out, err) == -1 ||
	    changes_build(s, m, since, echo, FS_BATCH_BYTES, out, &bo,
	    err) == -1 || (mark = changes_mark(s, bo.cursor, err)) == -1)
		goto out;
	{
		int64_t pending = changes_pending(s, p->pid, bo.cursor, NULL);
		int64_t args[9] = { recv, since, pending, interval,
		    ms.ambiguous, recv_mark, moved, offset, resync };

		buf_printf(out, ",\"cursor\":\"%" PRId64 "\",\"cursor_mark\":"
		    "\"%" PRId64 "\",\"more\":%s,%s"
		    "\"epoch\":\"%" PRId64 "\",\"time_ms\":\"%" PRId64 "\","
		    "\"pending\":\"%" PRId64 "\",\"applied\":%" PRId64
		    ",\"conflicts\":%" PRId64 "}", bo.cursor, mark,
		    bo.more ? "true" : "false", resync ? "\"resync\":true," : "",
		    ps.map_epoch, util_now_ms(), pending, ms.applied,
		    ms.conflicts);
		/* An idle poll writes nothing, but now and then the time. */
		idle = !moved && ms.records == 0 && recv == ps.recv_seq &&
		    recv_mark == ps.recv_mark && !resync &&
		    since == ps.sent_seq && ps.has_peer_pending &&
		    pending == ps.peer_pending && (interval == 0 ||
		    interval == ps.peer_interval) && ps.error_kind == NULL &&
		    failed == NULL &&
		    ps.last_ok != NULL && !gap && !bo.more &&
		    !pairstate_due(ps.last_attempt);
		if (!idle && (pairstate_update(s, p->pid, "recv_seq = ?2, "
		    "sent_seq = ?3, peer_pending = ?4, peer_interval = "
		    "coalesce(nullif(?5, 0), peer_interval), ambiguous = "
		    "ambiguous + ?6, recv_mark = ?7, offset_ms = CASE WHEN ?8 "
		    "THEN ?9 ELSE offset_ms END, " PAIRSTATE_ACKED("?3", "?10"),
		    args, 9, err) == -1 ||
		    pairstate_unremap(s, p->pid, since, err) == -1))
			goto out;
	}
	store_now_iso(now);
	if (!idle) {
		/* What the active side says of its last pass shows here too. */
		sqlite3_stmt *st = store_prepare(s, "UPDATE _fs_pair_state SET "
		    "last_attempt = ?2, last_ok = CASE WHEN ?3 AND ?4 IS NULL "
		    "THEN ?2 ELSE last_ok END, last_error = CASE WHEN ?4 IS NOT "
		    "NULL THEN 'the active side''s last pass failed: ' || ?4 "
		    "END, error_kind = CASE WHEN ?4 IS NOT NULL THEN 'error' "
		    "END WHERE pid = ?1", err);

		if (st == NULL)
			goto out;
		sqlite3_bind_int64(st, 1, p->pid);
		sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, !gap && !bo.more);
		if (failed != NULL)
			sqlite3_bind_text(st, 4, failed, -1, SQLITE_STATIC);
		if (store_step_done(s, st, err) == -1) {
			sqlite3_finalize(st);
			goto out;
		}
		sqlite3_finalize(st);
	}
	if (store_commit(s, err) == -1) {
		in_tx = 0;
		goto out;
	}
	in_tx = 0;
	if (moved)
		pairstate_log_offset(pair, &ps, offset);
	if (failed != NULL && ps.error_kind == NULL)
		log_warn("pairing %s: the active side's last pass failed: %s",
		    pair, failed);
	else if (ps.error_kind != NULL && failed == NULL)
		log_info("pairing %s: the active side's exchanges succeed "
		    "again", pair);
	if (ms.records > 0 || bo.values > 0)
		log_info("pairing %s: exchange: received %lld values in %lld "
		    "records, sent %lld values in %lld records, %lld conflicts",
		    pair, (long long)ms.applied, (long long)ms.records,
		    (long long)bo.values, (long long)bo.records,
		    (long long)ms.conflicts);
	ret = 0;
out:
	if (in_tx)
		store_rollback(s);
	if (ret == -1)
		buf_reset(out);
	syncmap_free(m);
	proto_json_free(req);
	free(id);
	pairstate_clear(&ps);
	pairing_free(p);
	return ret;
}
