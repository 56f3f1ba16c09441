/* pairstate.c - sync progress and health per pairing; see pairstate.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appschema.h"
#include "changes.h"
#include "log.h"
#include "pairing.h"
#include "pairstate.h"
#include "proto.h"
#include "util.h"

static const char SQL_LOAD[] =
    "SELECT sent_seq, recv_seq, map_epoch, peer_epoch, peer_instance, "
    "peer_name, last_ok, last_error, error_kind, peer_pending, offset_ms, "
    "failures, ambiguous, peer_interval, last_attempt, recv_mark, "
    "echo_want, echo_give, acked_seq FROM _fs_pair_state "
    "WHERE pid = ?1";

static char *
dup_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

void
pairstate_clear(struct pairstate *ps)
{
	free(ps->peer_instance);
	free(ps->peer_name);
	free(ps->last_ok);
	free(ps->last_error);
	free(ps->error_kind);
	free(ps->last_attempt);
	memset(ps, 0, sizeof *ps);
}

int
pairstate_load(struct store *s, int64_t pid, struct pairstate *ps,
    struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, SQL_LOAD, err);
	int rc;

	memset(ps, 0, sizeof *ps);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return fs_err_set(err, FS_ENOTFOUND, "pairing state "
			    "missing");
		return store_dberr(s, err, "read pairing state");
	}
	ps->sent_seq = sqlite3_column_int64(st, 0);
	ps->recv_seq = sqlite3_column_int64(st, 1);
	ps->map_epoch = sqlite3_column_int64(st, 2);
	ps->has_peer_epoch = sqlite3_column_type(st, 3) != SQLITE_NULL;
	ps->peer_epoch = sqlite3_column_int64(st, 3);
	ps->peer_instance = dup_col(st, 4);
	ps->peer_name = dup_col(st, 5);
	ps->last_ok = dup_col(st, 6);
	ps->last_error = dup_col(st, 7);
	ps->error_kind = dup_col(st, 8);
	ps->has_peer_pending = sqlite3_column_type(st, 9) != SQLITE_NULL;
	ps->peer_pending = sqlite3_column_int64(st, 9);
	ps->has_offset = sqlite3_column_type(st, 10) != SQLITE_NULL;
	ps->offset_ms = sqlite3_column_int64(st, 10);
	ps->failures = sqlite3_column_int64(st, 11);
	ps->ambiguous = sqlite3_column_int64(st, 12);
	ps->peer_interval = sqlite3_column_int64(st, 13);
	ps->last_attempt = dup_col(st, 14);
	ps->recv_mark = sqlite3_column_int64(st, 15);
	ps->echo_want = sqlite3_column_int(st, 16);
	ps->echo_give = sqlite3_column_int(st, 17);
	ps->acked_seq = sqlite3_column_int64(st, 18);
	sqlite3_reset(st);
	return 0;
}

int
pairstate_update(struct store *s, int64_t pid, const char *assignments,
    const int64_t *args, int n, struct fs_err *err)
{
	char sql[512];
	sqlite3_stmt *st;
	int ret;

	snprintf(sql, sizeof sql, "UPDATE _fs_pair_state SET %s WHERE pid = ?1",
	    assignments);
	if ((st = store_prepare(s, sql, err)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 2, args[i]);
	ret = store_step_done(s, st, err);
	sqlite3_finalize(st);
	return ret;
}

int
pairstate_record(struct store *s, int64_t pid, const char *kind,
    const char *error, struct fs_err *err)
{
	sqlite3_stmt *st;
	char now[64];
	int ret;

	store_now_iso(now);
	if (store_begin(s, err) == -1)
		return -1;
	if (kind == NULL)
		st = store_prepare(s, "UPDATE _fs_pair_state SET last_ok = ?2, "
		    "last_attempt = ?2, last_error = NULL, error_kind = NULL, "
		    "failures = 0 WHERE pid = ?1", err);
	else
		st = store_prepare(s, "UPDATE _fs_pair_state SET last_attempt = "
		    "?2, last_error = ?3, error_kind = ?4, failures = failures "
		    "+ 1 WHERE pid = ?1", err);
	if (st == NULL) {
		store_rollback(s);
		return -1;
	}
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	if (kind != NULL) {
		sqlite3_bind_text(st, 3, error, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, kind, -1, SQLITE_TRANSIENT);
	}
	ret = store_step_done(s, st, err);
	sqlite3_finalize(st);
	if (ret == -1) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s, err);
}

int
pairstate_map_changed(struct store *s, int64_t pid, struct fs_err *err)
{
	/* acked_seq stays: what the peer has seen it still has (sql/004). */
	return pairstate_update(s, pid, "sent_seq = 0, recv_seq = 0, "
	    "recv_mark = 0, map_epoch = map_epoch + 1", NULL, 0, err);
}

int
pairstate_remapped(struct store *s, int64_t pid, int active, struct buf *out,
    struct fs_err *err)
{
	/* The wire number: the active side's field number. */
	sqlite3_stmt *st = store_stmt(s, active ? "SELECT fid FROM _fs_map "
	    "WHERE pid = ?1 AND remap_seq > 0 ORDER BY fid" : "SELECT "
	    "remote_fid FROM _fs_map WHERE pid = ?1 AND remap_seq > 0 AND "
	    "remote_fid IS NOT NULL ORDER BY fid", err);
	int rc, n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < FS_MAX_REMAPPED) {
		buf_addstr(out, n++ ? "," : "\"remapped\":[");
		buf_add_i64(out, sqlite3_column_int64(st, 0));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_dberr(s, err, "read remapped fields");
	if (n > 0)
		buf_addstr(out, "],");
	return 0;
}

int
pairstate_unremap(struct store *s, int64_t pid, int64_t seq,
    struct fs_err *err)
{
	sqlite3_stmt *st = store_stmt(s, "UPDATE _fs_map SET remap_seq = 0 "
	    "WHERE pid = ?1 AND remap_seq > 0 AND remap_seq <= ?2", err);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int64(st, 2, seq);
	return store_step_done(s, st, err);
}

int64_t
pairstate_open_conflicts(struct store *s, int64_t pid)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT count(*) FROM _fs_conflict "
	    "WHERE pid = ?1 AND resolved_at IS NULL", NULL);
	int64_t n = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, pid);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * The links of removed pairings bound to peer instance inst become
 * pairing pid's (sql/006); one the pairing made itself meanwhile stays.
 */
int
pairstate_adopt_links(struct store *s, int64_t pid, const char *inst,
    struct fs_err *err)
{
	static const char *const sql[] = {
		"UPDATE OR IGNORE _fs_link SET pid = ?1 WHERE pid IN (SELECT "
		"pid FROM _fs_pair_gone WHERE peer_instance = ?2)",
		"DELETE FROM _fs_link WHERE pid IN (SELECT pid FROM "
		"_fs_pair_gone WHERE peer_instance = ?2)",
		"DELETE FROM _fs_pair_gone WHERE peer_instance = ?2",
	};

	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st = store_stmt(s, sql[i], err);

		if (st == NULL)
			return -1;
		if (i == 0)
			sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_text(st, 2, inst, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_reset(st);
			return store_dberr(s, err, "keep links");
		}
		sqlite3_reset(st);
	}
	return 0;
}

cJSON *
pairstate_peer_catalog(struct store *s, int64_t pid, struct fs_err *err)
{
	sqlite3_stmt *st;
	cJSON *cat = NULL;
	int rc, failed = 0;

	st = store_prepare(s, "SELECT peer_catalog FROM _fs_pair_state "
	    "WHERE pid = ?1", err);
	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, pid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		cat = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		failed = store_dberr(s, err, "read peer catalogue");
	sqlite3_finalize(st);
	if (cat != NULL && !cJSON_IsArray(cat)) {
		cJSON_Delete(cat);
		cat = NULL;
	}
	if (cat == NULL && !failed)
		fs_err_set(err, FS_ENOTFOUND, "the peer has not published its "
		    "fields yet");
	return cat;
}

/* Seconds since an ISO 8601 UTC time written by store_now_iso. */
double
pairstate_age_s(const char *iso)
{
	struct tm tm;
	int ms = 0;

	memset(&tm, 0, sizeof tm);
	if (iso == NULL || sscanf(iso, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &ms) < 6)
		return 1e18;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)(util_now_ms() - ((int64_t)timegm(&tm) * 1000 + ms)) /
	    1000.0;
}

int
pairstate_due(const char *iso)
{
	double age = pairstate_age_s(iso);

	return age >= FS_STATE_REFRESH_S || age <= -FS_STATE_REFRESH_S;
}

static int64_t
abs_ms(int64_t v)
{
	return v < 0 ? (v == INT64_MIN ? INT64_MAX : -v) : v;
}

int
pairstate_offset_moved(const struct pairstate *ps, int64_t offset_ms)
{
	if (!ps->has_offset)
		return 1;
	/* Halves: a peer's time_ms may be anything up to INT64_MAX. */
	return abs_ms(offset_ms / 2 - ps->offset_ms / 2) >=
	    FS_CLOCK_MOVED_MS / 2;
}

int
pairstate_clock_warning(int64_t offset_ms, char *buf, size_t n)
{
	int64_t a = abs_ms(offset_ms), min = a / 60000 + (a % 60000 >= 30000);
	char span[64];

	buf[0] = '\0';
	if (a < FS_CLOCK_WARN_MS)
		return 0;
	if (min >= 2 * 24 * 60)
		snprintf(span, sizeof span, "%" PRId64 " days", min / (24 * 60));
	else if (min >= 60)
		snprintf(span, sizeof span, "%" PRId64 " h %" PRId64 " min",
		    min / 60, min % 60);
	else
		snprintf(span, sizeof span, "%" PRId64 " min", min);
	snprintf(buf, n, "the peer's clock is %s %s this machine's: edits "
	    "that clash are ordered by these clocks (policy newest) and "
	    "changes are dated by them; set the wrong clock right (NTP)",
	    span, offset_ms > 0 ? "ahead of" : "behind");
	return 1;
}

void
pairstate_log_offset(const char *pair, const struct pairstate *ps,
    int64_t offset_ms)
{
	char w[300];
	int was = ps->has_offset && abs_ms(ps->offset_ms) >= FS_CLOCK_WARN_MS;

	if (pairstate_clock_warning(offset_ms, w, sizeof w)) {
		if (!was)
			log_warn("pairing %s: %s", pair, w);
	} else if (was)
		log_info("pairing %s: the peer's clock is within %d min of "
		    "this machine's again", pair, FS_CLOCK_WARN_MS / 60000);
}

static void
add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

cJSON *
pairstate_status(struct store *s, struct fs_err *err)
{
	char **names;
	cJSON *arr;

	if (store_check_ready(s, err) == -1)
		return NULL;
	if ((names = pairing_names(s, err)) == NULL)
		return NULL;
	arr = cJSON_CreateArray();
	for (char **n = names; *n; n++) {
		struct pairing *p = pairing_get(s, *n, err);
		struct pairstate ps;
		cJSON *o;
		int64_t conflicts, pending;
		const char *state = "green";
		char reason[600] = "in sync";
		const char *contact;

		if (p == NULL || pairstate_load(s, p->pid, &ps, err) == -1) {
			pairing_free(p);
			cJSON_Delete(arr);
			arr = NULL;
			break;
		}
		contact = ps.last_attempt ? ps.last_attempt : ps.last_ok;
		conflicts = pairstate_open_conflicts(s, p->pid);
		pending = changes_pending(s, p->pid, ps.sent_seq, NULL);
		if (!p->enabled) {
			state = "red";
			snprintf(reason, sizeof reason, "disabled");
		} else if (ps.error_kind != NULL) {
			state = "red";
			snprintf(reason, sizeof reason, "%s: %s", ps.error_kind,
			    ps.last_error ? ps.last_error : "");
		} else if (ps.last_ok == NULL) {
			state = "red";
			snprintf(reason, sizeof reason, strcmp(p->role,
			    "passive") == 0 ? "the active side has not "
			    "connected yet" : "never synced");
		} else if (strcmp(p->role, "passive") == 0 &&
		    pairstate_age_s(contact) < -60.0) {
			/* Silence cannot be measured from a time ahead. */
			state = "red";
			snprintf(reason, sizeof reason, "the last contact from "
			    "the active side, %s, is ahead of this machine's "
			    "clock (was it set back?); the next contact puts "
			    "this right", contact);
		} else if (strcmp(p->role, "passive") == 0 &&
		    pairstate_age_s(contact) >
		    3.0 * (ps.peer_interval > 0 ? ps.peer_interval : 20) +
		    FS_STATE_REFRESH_S) {
			/*
			 * Silent for three of the active's intervals (20 s
			 * when it never said); an idle poll refreshes the
			 * time of contact only every FS_STATE_REFRESH_S.
			 */
			state = "red";
			/*
			 * Nothing is written for a refused request (bad input
			 * changes nothing), so the reason names what to look
			 * at, the log's refusals among it.
			 */
			snprintf(reason, sizeof reason, "unreachable: no contact "
			    "from the active side since %s (is it running, and "
			    "does it reach this machine? this side's log shows "
			    "any request it refused, a wrong password among "
			    "them)", contact);
		} else if (conflicts > 0) {
			state = "red";
			snprintf(reason, sizeof reason, "%" PRId64 " conflict%s "
			    "waiting", conflicts, conflicts == 1 ? "" : "s");
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "pair", p->name);
		cJSON_AddStringToObject(o, "role", p->role);
		cJSON_AddBoolToObject(o, "enabled", p->enabled);
		cJSON_AddStringToObject(o, "state", state);
		cJSON_AddStringToObject(o, "reason", reason);
		add_str(o, "last_ok", ps.last_ok);
		add_str(o, "last_attempt", ps.last_attempt);
		add_str(o, "last_error", ps.last_error);
		add_str(o, "error_kind", ps.error_kind);
		cJSON_AddNumberToObject(o, "pending_out", (double)pending);
		if (ps.has_peer_pending)
			cJSON_AddNumberToObject(o, "pending_in",
			    (double)ps.peer_pending);
		else
			cJSON_AddNullToObject(o, "pending_in");
		cJSON_AddNumberToObject(o, "conflicts", (double)conflicts);
		cJSON_AddNumberToObject(o, "ambiguous_matches",
		    (double)ps.ambiguous);
		if (ps.has_offset)
			cJSON_AddNumberToObject(o, "clock_offset_ms",
			    (double)ps.offset_ms);
		else
			cJSON_AddNullToObject(o, "clock_offset_ms");
		{
			char w[300];

			add_str(o, "clock_warning", ps.has_offset &&
			    pairstate_clock_warning(ps.offset_ms, w, sizeof w) ?
			    w : NULL);
		}
		add_str(o, "peer_instance", ps.peer_instance);
		add_str(o, "peer_name", ps.peer_name);
		cJSON_AddItemToArray(arr, o);
		pairstate_clear(&ps);
		pairing_free(p);
	}
	appschema_strv_free(names);
	return arr;
}
