/*
 * fuzz-exchange.c - libFuzzer target for the passive side of the sync
 * protocol: every input is sent as a request body to passive_exchange
 * (on a pairing that has said hello and synced once, so batches reach
 * the merge) and to passive_hello (on a pairing that has not).
 *
 * The instance enrols two tables (contacts with a match key, so
 * records may link by it: the pairing is kept in its first-sync
 * window), maps fields in every mode, and applies a peer's hard deletes
 * as hard deletes.
 *
 * What must hold for any input:
 *  - no crash, no sanitizer report, no leak;
 *  - a refused body gets FS_EINVAL, FS_ECONFLICT or FS_ENOTFOUND with a
 *    message, an empty response, and leaves every byte of the database
 *    as it was (all tables are compared with a snapshot);
 *  - an accepted body gets a response the active side can parse;
 *  - proto_parse agrees with the parse it replaced (cJSON behind checks
 *    for UTF-8, NUL and \u0000): what it accepts, that accepted too,
 *    with the same tree; what only that accepted is a spelling RFC 8259
 *    does not allow, so cJSON's printing of its tree (canonical JSON)
 *    must be accepted by both, with the same tree.
 * After an accepted body the database is put back from the snapshot, so
 * every input meets the same instance and a crash replays alone.
 *
 * Built with clang -fsanitize=fuzzer by "make fuzz"; fuzz-replay.c runs
 * the seed corpus through the same function in "make check".
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "catalog.h"
#include "fieldmap.h"
#include "ident.h"
#include "instance.h"
#include "pairing.h"
#include "passive.h"
#include "proto.h"
#include "store.h"
#include "syncmap.h"

#define ACTIVE_ID "0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *s;
static sqlite3 *pristine;
static char *snapshot;
static size_t snapshot_len;
static char dir[4096];
static int64_t pids[2];
static int verbose;	/* FUZZ_VERBOSE set: say what became of each body */

static void
die(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz-exchange: %s: %s\n", what, msg ? msg : "");
	abort();
}

/* The active side's catalogue: field numbers 101.. as the wire uses. */
static const char CATALOGUE[] = "["
    "{\"field\":101,\"table\":\"contacts\",\"column\":\"name\",\"type\":"
	"\"TEXT\",\"role\":\"data\",\"mode\":\"two-way\"},"
    "{\"field\":102,\"table\":\"contacts\",\"column\":\"phone\",\"type\":"
	"\"TEXT\",\"role\":\"data\",\"mode\":\"two-way\"},"
    "{\"field\":103,\"table\":\"contacts\",\"column\":\"photo\",\"type\":"
	"\"BLOB\",\"role\":\"data\",\"mode\":\"two-way\"},"
    "{\"field\":104,\"table\":\"contacts\",\"column\":\"n\",\"type\":"
	"\"\",\"role\":\"data\",\"mode\":\"upload\"},"
    "{\"field\":105,\"table\":\"contacts\",\"column\":\"fs_status\","
	"\"type\":\"INTEGER\",\"role\":\"status\",\"mode\":\"two-way\"},"
    "{\"field\":106,\"table\":\"contacts\",\"column\":\"fs_added\","
	"\"type\":\"TEXT\",\"role\":\"added\",\"mode\":\"two-way\"},"
    "{\"field\":107,\"table\":\"contacts\",\"column\":\"unmapped\","
	"\"type\":\"TEXT\",\"role\":\"data\",\"mode\":\"two-way\"},"
    "{\"field\":108,\"table\":\"other\",\"column\":\"x\",\"type\":"
	"\"\",\"role\":\"data\",\"mode\":\"two-way\"}"
    "]";

/* Every row of every table, types and bytes. */
static char *
fingerprint(size_t *len)
{
	sqlite3_stmt *tabs, *rows;
	struct buf b;

	buf_init(&b, 0);
	if (sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_schema WHERE "
	    "type = 'table' ORDER BY name", -1, &tabs, NULL) != SQLITE_OK)
		die("fingerprint", sqlite3_errmsg(s->db));
	while (sqlite3_step(tabs) == SQLITE_ROW) {
		char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"",
		    (const char *)sqlite3_column_text(tabs, 0));

		if (sqlite3_prepare_v2(s->db, sql, -1, &rows, NULL) != SQLITE_OK)
			die("fingerprint", sqlite3_errmsg(s->db));
		sqlite3_free(sql);
		buf_printf(&b, "[%s]", sqlite3_column_text(tabs, 0));
		while (sqlite3_step(rows) == SQLITE_ROW) {
			for (int i = 0; i < sqlite3_column_count(rows); i++) {
				int ty = sqlite3_column_type(rows, i);
				double d;

				buf_printf(&b, "%d:", ty);
				if (ty == SQLITE_FLOAT) {
					d = sqlite3_column_double(rows, i);
					buf_add(&b, &d, sizeof d);
				} else if (ty == SQLITE_BLOB) {
					buf_add(&b, sqlite3_column_blob(rows, i),
					    (size_t)sqlite3_column_bytes(rows, i));
				} else if (ty != SQLITE_NULL) {
					buf_add(&b, sqlite3_column_text(rows, i),
					    (size_t)sqlite3_column_bytes(rows, i));
				}
				buf_addstr(&b, ",");
			}
			buf_addstr(&b, "\n");
		}
		sqlite3_finalize(rows);
	}
	sqlite3_finalize(tabs);
	*len = b.len;
	return buf_steal(&b);
}

static void
copy_db(sqlite3 *to, sqlite3 *from)
{
	sqlite3_backup *bk = sqlite3_backup_init(to, "main", from, "main");

	if (bk == NULL)
		die("backup", sqlite3_errmsg(to));
	if (sqlite3_backup_step(bk, -1) != SQLITE_DONE)
		die("backup step", sqlite3_errmsg(to));
	sqlite3_backup_finish(bk);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
cleanup(void)
{
	store_close(s);
	s = NULL;
	sqlite3_close(pristine);
	free(snapshot);
	if (dir[0] != '\0')
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void
must(int rc, struct fs_err *err, const char *what)
{
	if (rc != 0)
		die(what, err->msg);
}

/* Send one body the way the fuzzer does; returns 0 when accepted. */
static int
call(int hello, const char *body, size_t len, struct buf *out,
    struct fs_err *err)
{
	fs_err_clear(err);
	buf_init(out, 0);
	if (hello)
		return passive_hello(s, "fresh", body, len, out, err);
	return passive_exchange(s, "link", body, len, out, err);
}

static void
setup(void)
{
	static const char *const cols[] = { "name", "phone", "photo", "n",
	    "fs_status", "fs_added" };
	static const int modes[] = { FS_MODE_TWO_WAY, FS_MODE_DOWNLOAD,
	    FS_MODE_TWO_WAY, FS_MODE_UPLOAD, FS_MODE_TWO_WAY, FS_MODE_TWO_WAY };
	const char *tmp = getenv("TMPDIR");
	struct table_opts match = { NULL, NULL, "phone" };
	struct fs_err err;
	struct buf body, out;
	char path[4200];
	sqlite3 *db;
	int created;

	snprintf(dir, sizeof dir, "%s/fieldsync-fuzz-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", strerror(errno));
	atexit(cleanup);
	snprintf(path, sizeof path, "%s/app.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db,
	    "CREATE TABLE contacts(id INTEGER PRIMARY KEY, name TEXT, "
	    "phone TEXT, photo BLOB, n);"
	    "CREATE TABLE other(id INTEGER PRIMARY KEY, x);", NULL, NULL,
	    NULL) != SQLITE_OK)
		die("create", sqlite3_errmsg(db));
	sqlite3_close(db);
	if ((s = store_open(path, &err)) == NULL)
		die("store_open", err.msg);
	must(instance_init(s, "fuzz", &created, &err), &err, "init");
	must(catalog_table_add(s, "other", NULL, &err), &err, "enrol other");
	must(catalog_table_add(s, "contacts", &match, &err), &err, "enrol");
	must(pairing_add(s, "link", "passive", NULL, "fuzz pass", -1, &err),
	    &err, "pair link");
	must(pairing_add(s, "fresh", "passive", NULL, "fuzz pass", -1, &err),
	    &err, "pair fresh");
	for (int i = 0; i < 6; i++) {
		char tc[64];

		snprintf(tc, sizeof tc, "contacts.%s", cols[i]);
		must(fieldmap_add(s, "link", tc, modes[i], 101 + i, NULL, &err),
		    &err, "map link");
		must(fieldmap_add(s, "fresh", tc, FS_MODE_TWO_WAY, 101 + i,
		    NULL, &err), &err, "map fresh");
	}
	must(fieldmap_add(s, "link", "other.x", FS_MODE_TWO_WAY, 108, NULL,
	    &err), &err, "map other");
	must(pairing_set(s, "link", "deletes", "hard", &err), &err, "deletes");
	/* Local records, one soft-deleted, one with odd values. */
	if (store_exec(s, "INSERT INTO contacts(name, phone, photo, n) VALUES "
	    "('Ann', '1', x'00ff', 1.5), ('Bob', NULL, NULL, -0.0), "
	    "(CAST(x'ff00' AS TEXT), '', x'', 9223372036854775807);"
	    "UPDATE contacts SET fs_status = 1 WHERE name = 'Bob';"
	    "INSERT INTO other(x) VALUES (1);", &err) == -1)
		die("rows", err.msg);
	/* Hello and a first exchange that creates a record from the peer,
	 * so inputs can name a known record (sync identity ...a1). */
	buf_init(&body, 0);
	buf_printf(&body, "{\"protocol\":1,\"instance\":\"%s\",\"name\":\"a\","
	    "\"fields\":%s}", ACTIVE_ID, CATALOGUE);
	buf_init(&out, 0);
	must(passive_hello(s, "link", body.data, body.len, &out, &err), &err,
	    "hello");
	buf_free(&out);
	buf_reset(&body);
	buf_printf(&body, "{\"protocol\":1,\"instance\":\"%s\",\"policy\":"
	    "\"newest\",\"interval\":5,\"since\":\"0\",\"from\":\"0\","
	    "\"to\":\"7\",\"origins\":[\"%s\"],\"changes\":[{\"r\":"
	    "\"000000000000000000000000000000a1\",\"c\":[\"1000000\",0],"
	    "\"f\":[[101,\"t:Peer\"],[102,\"t:5\"],[103,\"b:AAE=\"],"
	    "[105,\"i:0\"],[106,\"t:2026-01-01T00:00:00.000Z\"]]}]}",
	    ACTIVE_ID, ACTIVE_ID);
	must(call(0, body.data, body.len, &out, &err), &err, "first exchange");
	buf_free(&out);
	buf_free(&body);
	/* Still in the first-sync window: records may link by match key. */
	if (store_exec(s, "UPDATE _fs_pair_state SET last_ok = NULL", &err) ==
	    -1)
		die("first sync", err.msg);
	for (int i = 0; i < 2; i++) {
		struct pairing *p = pairing_get(s, i ? "fresh" : "link", &err);

		if (p == NULL)
			die("pairing_get", err.msg);
		pids[i] = p->pid;
		pairing_free(p);
	}
	if (sqlite3_open(":memory:", &pristine) != SQLITE_OK)
		die("memory db", "");
	copy_db(pristine, s->db);
	snapshot = fingerprint(&snapshot_len);
}

static void
restore(void)
{
	copy_db(s->db, pristine);
	syncmap_forget(s, pids[0]);
	syncmap_forget(s, pids[1]);
}

/* proto_parse as it was before json-parse.c: checks, then cJSON. */
static cJSON *
cjson_parse(const char *body, size_t len)
{
	const char *end = NULL;
	cJSON *j;

	if (len == 0 || !utf8_valid(body, len) || memchr(body, '\0', len))
		return NULL;
	for (size_t i = 0; i + 1 < len; i++) {
		if (body[i] != '\\')
			continue;
		if (body[i + 1] == 'u' && i + 5 < len &&
		    memcmp(body + i + 2, "0000", 4) == 0)
			return NULL;
		i++;
	}
	if ((j = cJSON_ParseWithLengthOpts(body, len, &end, 0)) == NULL)
		return NULL;
	while (end < body + len &&
	    (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end != body + len || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static int
same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Same types, values (doubles bit for bit), strings, keys, order, and
 * a's children linked as cJSON links them (the first's prev is the
 * last). */
static int
same_tree(const cJSON *a, const cJSON *b)
{
	const cJSON *ca, *cb, *last = NULL;

	if (a->type != b->type || a->valueint != b->valueint ||
	    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
	    !same_str(a->valuestring, b->valuestring) ||
	    !same_str(a->string, b->string))
		return 0;
	for (ca = a->child, cb = b->child; ca && cb;
	    last = ca, ca = ca->next, cb = cb->next)
		if ((last != NULL && ca->prev != last) || !same_tree(ca, cb))
			return 0;
	if (ca != NULL || cb != NULL)
		return 0;
	return a->child == NULL || a->child->prev == last;
}

static void
differential(const char *body, size_t len)
{
	struct fs_err err;
	cJSON *mine = proto_parse(body, len, &err), *theirs;
	char *canon;

	theirs = cjson_parse(body, len);
	if (mine != NULL) {
		if (theirs == NULL)
			die("proto_parse accepts what cJSON refused", "");
		if (!same_tree(mine, theirs))
			die("proto_parse and cJSON build different trees", "");
	} else if (theirs != NULL) {
		if ((canon = cJSON_PrintUnformatted(theirs)) == NULL)
			die("cJSON_PrintUnformatted", "");
		cJSON_Delete(theirs);
		if ((mine = proto_parse(canon, strlen(canon), &err)) == NULL)
			die("proto_parse refuses canonical JSON", err.msg);
		if ((theirs = cjson_parse(canon, strlen(canon))) == NULL)
			die("cJSON refuses its own printing", canon);
		if (!same_tree(mine, theirs))
			die("proto_parse and cJSON build different trees from "
			    "canonical JSON", canon);
		free(canon);
	}
	proto_json_free(mine);
	cJSON_Delete(theirs);
}

static void
check(int hello, const uint8_t *data, size_t size)
{
	struct fs_err err;
	struct buf out;
	size_t len;
	char *now;

	int rc = call(hello, (const char *)data, size, &out, &err);

	if (verbose)
		fprintf(stderr, "  %-8s %s\n", hello ? "hello" : "exchange",
		    rc == 0 ? "accepted" : err.msg);
	if (rc == 0) {
		struct fs_err e2;
		cJSON *resp = proto_parse(out.data, out.len, &e2);

		if (resp == NULL)
			die(hello ? "hello response does not parse" :
			    "exchange response does not parse", e2.msg);
		proto_json_free(resp);
		buf_free(&out);
		restore();
		return;
	}
	if (err.code != FS_EINVAL && err.code != FS_ECONFLICT &&
	    err.code != FS_ENOTFOUND) {
		fprintf(stderr, "fuzz-exchange: %s refused with code %d\n",
		    hello ? "hello" : "exchange", err.code);
		die("unexpected error", err.msg);
	}
	if (err.msg[0] == '\0')
		die("refused without a message", hello ? "hello" : "exchange");
	if (out.len != 0)
		die("refused with a response body", out.data);
	buf_free(&out);
	now = fingerprint(&len);
	if (len != snapshot_len || memcmp(now, snapshot, len) != 0)
		die("a refused body changed the database", err.msg);
	free(now);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (s == NULL) {
		verbose = getenv("FUZZ_VERBOSE") != NULL;
		setup();
	}
	differential((const char *)data, size);
	check(0, data, size);
	check(1, data, size);
	return 0;
}
