/* history.c - reading a record's change log; see history.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "catalog.h"
#include "history.h"
#include "util.h"
#include "value.h"

static const char SQL_RECORD[] =
    "SELECT rid, sid FROM _fs_record WHERE tid = ?1 AND lrow = ?2";
static const char SQL_ENTRIES[] =
    "SELECT l.seq, l.hlc, l.fid, f.name, l.kind, l.old, l.new, o.instance, "
    "l.origin, p.name, l.src FROM _fs_log l "
    "LEFT JOIN _fs_field f ON f.fid = l.fid "
    "LEFT JOIN _fs_origin o ON o.id = l.origin "
    "LEFT JOIN _fs_pair p ON p.pid = l.src "
    "WHERE l.rid = ?1 AND l.kind & 8 = 0 ORDER BY l.seq DESC LIMIT ?2";

void
history_hlc_iso(int64_t hlc, char out[64])
{
	int64_t ms = hlc >> 16;
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case 1:
		return "created";
	case 2:
		return "hard-delete";
	case 3:
		return "conflict";
	default:
		return "change";
	}
}

cJSON *
history_record(struct store *s, const char *table, int64_t rowid, int limit,
    struct fs_err *err)
{
	struct catalog_table *t;
	sqlite3_stmt *st;
	cJSON *o = NULL, *entries;
	int64_t rid;
	int rc;

	if (store_check_ready(s, err) == -1)
		return NULL;
	if ((t = catalog_table_get(s, table, err)) == NULL)
		return NULL;
	if ((st = store_stmt(s, SQL_RECORD, err)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, t->tid);
	sqlite3_bind_int64(st, 2, rowid);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			fs_err_set(err, FS_ENOTFOUND, "no record %" PRId64
			    " in %s", rowid, t->name);
		else
			store_dberr(s, err, "find record");
		sqlite3_reset(st);
		goto out;
	}
	rid = sqlite3_column_int64(st, 0);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "table", t->name);
	cJSON_AddNumberToObject(o, "rowid", (double)rowid);
	cJSON_AddStringToObject(o, "sync_id",
	    (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	entries = cJSON_AddArrayToObject(o, "entries");
	if ((st = store_stmt(s, SQL_ENTRIES, err)) == NULL) {
		cJSON_Delete(o);
		o = NULL;
		goto out;
	}
	sqlite3_bind_int64(st, 1, rid);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *e = cJSON_CreateObject();
		char when[64];
		int kind = sqlite3_column_int(st, 4);

		cJSON_AddNumberToObject(e, "seq",
		    (double)sqlite3_column_int64(st, 0));
		history_hlc_iso(sqlite3_column_int64(st, 1), when);
		cJSON_AddStringToObject(e, "time", when);
		cJSON_AddNumberToObject(e, "field",
		    (double)sqlite3_column_int64(st, 2));
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			cJSON_AddStringToObject(e, "column",
			    (const char *)sqlite3_column_text(st, 3));
		else
			cJSON_AddNullToObject(e, "column");
		cJSON_AddStringToObject(e, "kind", kind_name(kind & 3));
		cJSON_AddItemToObject(e, "old", value_column_json(st, 5));
		cJSON_AddItemToObject(e, "new", value_column_json(st, 6));
		if (sqlite3_column_type(st, 7) != SQLITE_NULL)
			cJSON_AddStringToObject(e, "origin",
			    (const char *)sqlite3_column_text(st, 7));
		else
			cJSON_AddNullToObject(e, "origin");
		if (sqlite3_column_type(st, 10) == SQLITE_NULL)
			cJSON_AddStringToObject(e, "source", "local");
		else if (sqlite3_column_type(st, 9) != SQLITE_NULL)
			cJSON_AddStringToObject(e, "source",
			    (const char *)sqlite3_column_text(st, 9));
		else
			cJSON_AddStringToObject(e, "source", "(removed pairing)");
		cJSON_AddBoolToObject(e, "conflict", (kind & 4) != 0);
		cJSON_AddItemToArray(entries, e);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		cJSON_Delete(o);
		o = NULL;
		store_dberr(s, err, "read log");
	}
out:
	catalog_table_free(t);
	return o;
}
