/*
 * proto.h - the sync wire format, version 1 (no I/O here).
 *
 * Notes on the design (DESIGN.md invariants 7 and 8; the full format is
 * in fieldsync-protocol(7)):
 *
 * - Bodies are JSON objects, strict RFC 8259 text in valid UTF-8,
 *   checked and parsed in one pass into cJSON trees (json-parse.h:
 *   nesting limited, no NUL, no \u0000), and every member is
 *   type-checked; an unexpected shape is an FS_EINVAL with a message
 *   naming the member.
 * - Values travel as tagged strings so they arrive bit-exact: null,
 *   "i:<decimal int64>", "r:<C99 hex float>" (so 0.1, -0.0 and 1e308
 *   survive), "t:<text>" for valid UTF-8 text without NUL, "T:<base64>"
 *   for any other text bytes, "b:<base64>" for blobs.
 * - 64-bit numbers that JSON doubles cannot carry (clock values, sequence
 *   numbers) are decimal strings; small ones (field numbers) are numbers.
 */
#ifndef FS_PROTO_H
#define FS_PROTO_H

#include <stdint.h>
#include <sqlite3.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"

#define FS_PROTO_VERSION 1
#define FS_PROTO_MAX_BODY ((size_t)256 << 20)	/* whole request/response */
#define FS_BATCH_BYTES ((size_t)1 << 20)	/* soft limit per batch: the peer
						 * parses it into a tree ~8x larger */
#define FS_BATCH_ROWS 4000			/* log rows scanned per batch */
#define FS_SID_LEN 16
#define FS_MAX_REMAPPED 4096	/* "remapped" field numbers per message */
#define FS_MAX_PRIORS 3		/* "p" entries per field */

/* A decoded value; p points into the JSON tree or into owned. */
struct fs_value {
	int type;		/* SQLITE_INTEGER, _FLOAT, _TEXT, _BLOB, _NULL */
	int64_t i;
	double d;
	const char *p;
	size_t n;
	char *owned;
};

void proto_value_free(struct fs_value *v);
/* Make *out (freed first) an owned copy of v. */
void proto_value_copy(struct fs_value *out, sqlite3_value *v);
/* Append v as a JSON value (string or null). */
int proto_encode_value(struct buf *b, sqlite3_value *v);
int proto_decode_value(const cJSON *j, struct fs_value *out,
    struct fs_err *err);
int proto_bind_value(sqlite3_stmt *st, int idx, const struct fs_value *v);
/* Same type and same bytes (reals compared bit for bit). */
int proto_value_equal(const struct fs_value *a, sqlite3_value *b);

/* Append s (n bytes, valid UTF-8) as a quoted JSON string. */
void proto_json_string(struct buf *b, const char *s, size_t n);

/*
 * Parse a JSON object body strictly (json-parse.h).  The tree lives in an
 * arena of its own (a batch is tens of thousands of nodes: one malloc
 * and one free each would cost as much as the parse), so free it with
 * proto_json_free, in the thread that parsed it, and add nothing to it.
 */
cJSON *proto_parse(const char *body, size_t len, struct fs_err *err);
void proto_json_free(cJSON *root);
/* Members: decimal string or integral number within [min, max]. */
int proto_get_i64(const cJSON *obj, const char *key, int64_t min,
    int64_t max, int64_t *out, struct fs_err *err);
/* The same for an optional member: *out is left as it is when absent. */
int proto_get_i64_opt(const cJSON *obj, const char *key, int64_t min,
    int64_t max, int64_t *out, struct fs_err *err);
/* A string member of at most maxlen bytes (NULL + error otherwise). */
const char *proto_get_str(const cJSON *obj, const char *key, size_t maxlen,
    struct fs_err *err);
/* An array member (NULL + error when missing or of another type). */
const cJSON *proto_get_array(const cJSON *obj, const char *key,
    struct fs_err *err);
/* A field number: a JSON integer from 1 to 2^53 - 1 (0, or -1 if not). */
int proto_field_number(const cJSON *w, int64_t *out);
/* Check 32 hex digits of a sync identity; out gets them in lower case. */
int proto_sid_parse(const char *s, char out[2 * FS_SID_LEN + 1]);

#endif
