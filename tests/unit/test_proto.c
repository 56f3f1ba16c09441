/*
 * test_proto.c - the wire codec and strict JSON access (proto.c).
 *
 * Values go the whole way a peer's value goes: an SQLite value is
 * encoded (proto_encode_value) into a JSON body, the body is parsed as
 * a peer would parse it (proto_parse), decoded (proto_decode_value),
 * bound into a statement and read back; what comes out must have the
 * same type and the same bytes (reals bit for bit) as what went in,
 * compared here by code independent of proto_value_equal.  Then the
 * decoder and parser are fed what no fieldsync peer sends, and the
 * parse arena is exercised the ways the daemon uses it.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proto.h"
#include "testhelp.h"

static sqlite3 *mem;

static int
open_mem(void **state)
{
	(void)state;
	if (sqlite3_open(":memory:", &mem) != SQLITE_OK)
		fail_msg("cannot open :memory:");
	return 0;
}

static int
close_mem(void **state)
{
	(void)state;
	sqlite3_close(mem);
	mem = NULL;
	return 0;
}

/* "SELECT ?1", not yet stepped. */
static sqlite3_stmt *
select1(void)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(mem, "SELECT ?1", -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare: %s", sqlite3_errmsg(mem));
	return st;
}

static void
step_row(sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("step: %s", sqlite3_errmsg(mem));
}

/* Independent of proto_value_equal: same type, same bits. */
static void
assert_same(sqlite3_value *a, sqlite3_value *b, const char *what)
{
	int t = sqlite3_value_type(a);
	double x, y;

	if (t != sqlite3_value_type(b))
		fail_msg("%s: type %d came back as %d", what, t,
		    sqlite3_value_type(b));
	switch (t) {
	case SQLITE_INTEGER:
		if (sqlite3_value_int64(a) != sqlite3_value_int64(b))
			fail_msg("%s: integer changed", what);
		break;
	case SQLITE_FLOAT:
		x = sqlite3_value_double(a);
		y = sqlite3_value_double(b);
		if (memcmp(&x, &y, sizeof x) != 0)
			fail_msg("%s: real %a came back as %a", what, x, y);
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = t == SQLITE_TEXT ?
		    (const void *)sqlite3_value_text(a) : sqlite3_value_blob(a);
		int n = sqlite3_value_bytes(a);
		const void *q = t == SQLITE_TEXT ?
		    (const void *)sqlite3_value_text(b) : sqlite3_value_blob(b);

		if (n != sqlite3_value_bytes(b))
			fail_msg("%s: %d bytes came back as %d", what, n,
			    sqlite3_value_bytes(b));
		if (n > 0 && memcmp(p, q, (size_t)n) != 0)
			fail_msg("%s: bytes changed", what);
		break;
	}
	default:
		break;
	}
}

/*
 * Encode the value in column 0 of st (stepped) into {"v": ...}, parse,
 * decode, bind, read back, compare.  Returns the encoded JSON value
 * (malloc'd) so callers can check the tag.
 */
static char *
round_trip(sqlite3_stmt *st, const char *what)
{
	sqlite3_value *v = sqlite3_column_value(st, 0);
	struct fs_err err;
	struct fs_value fv;
	struct buf b;
	sqlite3_stmt *back;
	cJSON *j;
	char *enc;

	buf_init(&b, 0);
	buf_addstr(&b, "{\"v\":");
	assert_int_equal(proto_encode_value(&b, v), 0);
	enc = strdup(b.data + 5);
	buf_addstr(&b, "}");
	fs_err_clear(&err);
	if ((j = proto_parse(b.data, b.len, &err)) == NULL)
		fail_msg("%s: encoded body does not parse: %s", what, err.msg);
	if (proto_decode_value(cJSON_GetObjectItemCaseSensitive(j, "v"), &fv,
	    &err) == -1)
		fail_msg("%s: does not decode: %s (%s)", what, err.msg, enc);
	assert_int_equal(fv.type, sqlite3_value_type(v));
	assert_true(proto_value_equal(&fv, v));
	back = select1();
	assert_int_equal(proto_bind_value(back, 1, &fv), SQLITE_OK);
	step_row(back);
	assert_same(v, sqlite3_column_value(back, 0), what);
	sqlite3_finalize(back);
	proto_value_free(&fv);
	proto_json_free(j);
	buf_free(&b);
	return enc;
}

static void
trip_int(int64_t i, const char *want)
{
	sqlite3_stmt *st = select1();
	char *enc;

	sqlite3_bind_int64(st, 1, i);
	step_row(st);
	enc = round_trip(st, "integer");
	assert_string_equal(enc, want);
	free(enc);
	sqlite3_finalize(st);
}

static void
test_integers(void **state)
{
	(void)state;
	trip_int(0, "\"i:0\"");
	trip_int(1, "\"i:1\"");
	trip_int(-1, "\"i:-1\"");
	trip_int(INT64_MAX, "\"i:9223372036854775807\"");
	trip_int(INT64_MIN, "\"i:-9223372036854775808\"");
	/* Past what a JSON double carries exactly. */
	trip_int(((int64_t)1 << 53) + 1, "\"i:9007199254740993\"");
	trip_int(-((int64_t)1 << 53) - 1, "\"i:-9007199254740993\"");
}

static void
trip_real(double d, const char *want)
{
	sqlite3_stmt *st = select1();
	char *enc;

	sqlite3_bind_double(st, 1, d);
	step_row(st);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_FLOAT);
	enc = round_trip(st, "real");
	assert_true(strncmp(enc, "\"r:", 3) == 0);
	if (want != NULL)
		assert_string_equal(enc, want);
	free(enc);
	sqlite3_finalize(st);
}

static void
test_reals(void **state)
{
	(void)state;
	trip_real(0.1, "\"r:0x1.999999999999ap-4\"");
	trip_real(-0.0, "\"r:-0x0p+0\"");
	trip_real(0.0, "\"r:0x0p+0\"");
	trip_real(1e308, NULL);
	trip_real(-1e308, NULL);
	trip_real(5e-324, "\"r:0x0.0000000000001p-1022\"");
	trip_real(-5e-324, NULL);
	trip_real(DBL_MAX, "\"r:0x1.fffffffffffffp+1023\"");
	trip_real(DBL_MIN, NULL);
	/* Subnormals with many bits set: exact, so no range error. */
	trip_real(DBL_MIN / 3.0, NULL);
	trip_real(-DBL_MIN * 0.75, NULL);
	trip_real(1.0 / 3.0, NULL);
	trip_real(INFINITY, "\"r:inf\"");
	trip_real(-INFINITY, "\"r:-inf\"");
	trip_real(123456789.0, NULL);
}

static void
trip_text(const char *p, int n, const char *tag, const char *what)
{
	sqlite3_stmt *st = select1();
	char *enc;

	sqlite3_bind_text(st, 1, p, n, SQLITE_TRANSIENT);
	step_row(st);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_TEXT);
	assert_int_equal(sqlite3_column_bytes(st, 0), n);
	enc = round_trip(st, what);
	if (strncmp(enc, tag, strlen(tag)) != 0)
		fail_msg("%s: encoded as %.40s, expected tag %s", what, enc,
		    tag);
	free(enc);
	sqlite3_finalize(st);
}

/* Valid UTF-8 without NUL travels as "t:". */
static void
trip_str(const char *s, const char *what)
{
	trip_text(s, (int)strlen(s), "\"t:", what);
}

static void
test_text(void **state)
{
	char ctl[64], big[100000];
	int n = 0;

	(void)state;
	trip_text("", 0, "\"t:", "empty text");
	trip_text("plain", 5, "\"t:plain\"", "plain");
	/* Every escape class JSON has, and every control character. */
	for (int c = 1; c < 0x20; c++)
		ctl[n++] = (char)c;
	memcpy(ctl + n, "\"\\/\x7f", 4);
	n += 4;
	trip_text(ctl, n, "\"t:", "control characters");
	trip_str("a\"b\\c\nd\re\tf\bg\fh", "short escapes");
	/* A text that spells an escaped NUL is not one. */
	trip_str("\\u0000 and \\\\u0000", "literal \\u0000");
	/* Multi-byte UTF-8: 2, 3 and 4 bytes, separators, the last BMP. */
	trip_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8"
	    "\xe2\x80\xa9 \xef\xbf\xbf \xf4\x8f\xbf\xbf", "utf-8");
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)(' ' + i % 95);
	trip_text(big, (int)sizeof big, "\"t:", "100 kB of text");
}

static void
test_text_not_utf8_or_with_nul(void **state)
{
	(void)state;
	/* Not UTF-8: a stray byte, an overlong '/', a surrogate, cut short,
	 * past U+10FFFF. */
	trip_text("\xff", 1, "\"T:", "0xff");
	trip_text("\xc0\xaf", 2, "\"T:", "overlong");
	trip_text("\xed\xa0\x80", 3, "\"T:", "surrogate");
	trip_text("ok \xe2\x82", 5, "\"T:", "cut short");
	trip_text("\xf4\x90\x80\x80", 4, "\"T:", "beyond U+10FFFF");
	/* NUL bytes inside text survive, in the middle and at the end. */
	trip_text("a\0b", 3, "\"T:YQBi\"", "NUL inside");
	trip_text("\0", 1, "\"T:AA==\"", "only NUL");
	trip_text("ab\0", 3, "\"T:", "NUL at the end");
}

static void
trip_blob(const void *p, int n, const char *want)
{
	sqlite3_stmt *st = select1();
	char *enc;

	sqlite3_bind_blob(st, 1, n ? p : "", n, SQLITE_TRANSIENT);
	step_row(st);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_BLOB);
	enc = round_trip(st, "blob");
	if (want != NULL)
		assert_string_equal(enc, want);
	else
		assert_true(strncmp(enc, "\"b:", 3) == 0);
	free(enc);
	sqlite3_finalize(st);
}

static void
test_blobs_and_null(void **state)
{
	unsigned char all[256];
	sqlite3_stmt *st;
	char *enc;

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	trip_blob("", 0, "\"b:\"");
	trip_blob("\0", 1, "\"b:AA==\"");
	trip_blob("\0\0", 2, "\"b:AAA=\"");
	trip_blob("\0\0\0", 3, "\"b:AAAA\"");
	trip_blob("a\0b\0", 4, "\"b:YQBiAA==\"");
	trip_blob(all, 256, NULL);
	st = select1();
	sqlite3_bind_null(st, 1);
	step_row(st);
	enc = round_trip(st, "null");
	assert_string_equal(enc, "null");
	free(enc);
	sqlite3_finalize(st);
}

/* Empty text, empty blob and NULL are three different values. */
static void
test_empty_text_blob_null_differ(void **state)
{
	sqlite3_stmt *st;
	struct fs_value v[3];
	struct fs_err err;
	const char *body = "{\"a\":\"t:\",\"b\":\"b:\",\"c\":null,\"d\":\"T:\"}";
	static const int types[] = { SQLITE_TEXT, SQLITE_BLOB, SQLITE_NULL };
	cJSON *j;

	(void)state;
	j = proto_parse(body, strlen(body), &err);
	assert_non_null(j);
	assert_int_equal(proto_decode_value(cJSON_GetObjectItem(j, "a"), &v[0],
	    &err), 0);
	assert_int_equal(proto_decode_value(cJSON_GetObjectItem(j, "b"), &v[1],
	    &err), 0);
	assert_int_equal(proto_decode_value(cJSON_GetObjectItem(j, "c"), &v[2],
	    &err), 0);
	assert_int_equal(v[0].type, SQLITE_TEXT);
	assert_int_equal(v[0].n, 0);
	assert_int_equal(v[1].type, SQLITE_BLOB);
	assert_int_equal(v[1].n, 0);
	assert_int_equal(v[2].type, SQLITE_NULL);
	for (int i = 0; i < 3; i++) {
		st = select1();
		assert_int_equal(proto_bind_value(st, 1, &v[i]), SQLITE_OK);
		step_row(st);
		assert_int_equal(sqlite3_column_type(st, 0), types[i]);
		for (int k = 0; k < 3; k++)
			assert_int_equal(proto_value_equal(&v[k],
			    sqlite3_column_value(st, 0)), k == i);
		sqlite3_finalize(st);
	}
	/* "T:" with nothing is empty text as well. */
	proto_value_free(&v[0]);
	assert_int_equal(proto_decode_value(cJSON_GetObjectItem(j, "d"), &v[0],
	    &err), 0);
	assert_int_equal(v[0].type, SQLITE_TEXT);
	assert_int_equal(v[0].n, 0);
	for (int i = 0; i < 3; i++)
		proto_value_free(&v[i]);
	proto_json_free(j);
}

/* proto_value_equal tells apart what must not be confused. */
static void
test_value_equal_is_strict(void **state)
{
	static const struct {
		const char *enc, *sql;
	} differ[] = {
		{ "r:0x0p+0", "SELECT -0.0" },
		{ "r:-0x0p+0", "SELECT 0.0" },
		{ "i:1", "SELECT 1.0" },
		{ "r:0x1p+0", "SELECT 1" },
		{ "t:a", "SELECT x'61'" },
		{ "b:YQ==", "SELECT 'a'" },
		{ "t:ab", "SELECT 'a'" },
		{ "t:a", "SELECT 'ab'" },
		{ "b:", "SELECT NULL" },
		{ "t:", "SELECT x''" },
		{ "i:2", "SELECT 3" },
	};
	struct fs_err err;
	char body[128];

	(void)state;
	for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
		struct fs_value v;
		sqlite3_stmt *st;
		cJSON *j;

		snprintf(body, sizeof body, "{\"v\":\"%s\"}", differ[i].enc);
		j = proto_parse(body, strlen(body), &err);
		assert_non_null(j);
		assert_int_equal(proto_decode_value(cJSON_GetObjectItem(j, "v"),
		    &v, &err), 0);
		if (sqlite3_prepare_v2(mem, differ[i].sql, -1, &st, NULL) !=
		    SQLITE_OK)
			fail_msg("prepare %s", differ[i].sql);
		step_row(st);
		if (proto_value_equal(&v, sqlite3_column_value(st, 0)))
			fail_msg("%s equals %s", differ[i].enc, differ[i].sql);
		sqlite3_finalize(st);
		proto_value_free(&v);
		proto_json_free(j);
	}
}

/* Each of these parses as JSON but is no value a peer may send. */
static void
test_bad_values(void **state)
{
	static const char *const bad[] = {
		"5", "true", "false", "[]", "{}", "\"\"", "\"i\"", "\"x:1\"",
		"\"I:1\"", "\"R:0x1p0\"", "\"B:AA==\"", "\":1\"", "\"i1\"",
		/* integers */
		"\"i:\"", "\"i:1x\"", "\"i:1.0\"", "\"i:0x10\"", "\"i:1e3\"",
		"\"i:9223372036854775808\"", "\"i:-9223372036854775809\"",
		"\"i:99999999999999999999\"", "\"i: 5\"", "\"i:+5\"",
		"\"i:\\t5\"", "\"i:5 \"", "\"i:-\"",
		/* reals: not hex floats, NaN, out of range */
		"\"r:\"", "\"r:0x\"", "\"r:0x1p\"", "\"r:0xg\"", "\"r:0x1.gp0\"",
		"\"r:1.5x\"", "\"r:nan\"", "\"r:-nan\"", "\"r:NAN\"",
		"\"r:nan(0x1)\"", "\"r: 0x1p0\"", "\"r:+0x1p0\"", "\"r:\\n1\"",
		"\"r:0x1p99999\"", "\"r:1e999\"", "\"r:-0x1p+1024\"",
		"\"r:0x1p-1080\"", "\"r:0x1p0 \"",
		/* base64 */
		"\"b:!!!!\"", "\"b:Y\"", "\"b:YQ\"", "\"b:YQ=\"", "\"b:====\"",
		"\"b:YQ==YQ==\"", "\"b:Y Q==\"", "\"b:YQ==\\n\"", "\"b:YW\\nJj\"",
		"\"T:!!!!\"", "\"T:YQ\"", "\"b:YQ=A\"", "\"T:=AAA\"",
	};
	struct fs_err err;
	char body[128];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fs_value v;
		cJSON *j;

		snprintf(body, sizeof body, "{\"v\":%s}", bad[i]);
		fs_err_clear(&err);
		if ((j = proto_parse(body, strlen(body), &err)) == NULL)
			fail_msg("%s: does not even parse: %s", body, err.msg);
		memset(&v, 0xa5, sizeof v);
		if (proto_decode_value(cJSON_GetObjectItem(j, "v"), &v,
		    &err) != -1)
			fail_msg("value %s was accepted", bad[i]);
		assert_int_equal(err.code, FS_EINVAL);
		assert_true(err.msg[0] != '\0');
		proto_value_free(&v);	/* nothing owned is left behind */
		proto_json_free(j);
	}
}

/* Accepted spellings of valid values: what our encoder writes. */
static void
test_good_values(void **state)
{
	static const struct {
		const char *enc;
		int type;
	} good[] = {
		{ "\"i:-0\"", SQLITE_INTEGER }, { "\"i:007\"", SQLITE_INTEGER },
		{ "\"r:-inf\"", SQLITE_FLOAT }, { "\"r:inf\"", SQLITE_FLOAT },
		{ "\"r:0x1p-1074\"", SQLITE_FLOAT },
		{ "\"b:AAAA\"", SQLITE_BLOB }, { "\"b:+/+/\"", SQLITE_BLOB },
		{ "\"t:\\u00e9\\ud83d\\ude00\"", SQLITE_TEXT },
		{ "null", SQLITE_NULL },
	};
	struct fs_err err;
	char body[128];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct fs_value v;
		cJSON *j;

		snprintf(body, sizeof body, "{\"v\":%s}", good[i].enc);
		j = proto_parse(body, strlen(body), &err);
		assert_non_null(j);
		if (proto_decode_value(cJSON_GetObjectItem(j, "v"), &v,
		    &err) == -1)
			fail_msg("%s refused: %s", good[i].enc, err.msg);
		assert_int_equal(v.type, good[i].type);
		proto_value_free(&v);
		proto_json_free(j);
	}
}

static void
assert_body_refused(const char *body, size_t len, const char *what)
{
	struct fs_err err;
	cJSON *j;

	fs_err_clear(&err);
	if ((j = proto_parse(body, len, &err)) != NULL) {
		proto_json_free(j);
		fail_msg("%s: body accepted", what);
	}
	if (err.code != FS_EINVAL || err.msg[0] == '\0')
		fail_msg("%s: code %d '%s'", what, err.code, err.msg);
}

#define REFUSE(lit) assert_body_refused(lit, sizeof lit - 1, #lit)

static void
test_bad_bodies(void **state)
{
	(void)state;
	assert_body_refused(NULL, 0, "NULL");
	assert_body_refused("{}", 0, "zero length");
	/* Not an object. */
	REFUSE("[]");
	REFUSE("[{}]");
	REFUSE("\"{}\"");
	REFUSE("1");
	REFUSE("null");
	REFUSE("true");
	/* Malformed. */
	REFUSE("{");
	REFUSE("{\"a\":}");
	REFUSE("{\"a\" 1}");
	REFUSE("{'a':1}");
	REFUSE("{\"a\":1,}");
	REFUSE("{\"a\":\"unterminated}");
	REFUSE("{\"a\":\"\\x41\"}");
	REFUSE("{\"a\":\"\\ud800\"}");
	REFUSE("{\"a\":\"\\udc00x\"}");
	/* Trailing data. */
	REFUSE("{}{}");
	REFUSE("{} x");
	REFUSE("{}\n]");
	REFUSE("{}\0");
	/* Escaped NUL, in values and in keys, any case of the hex. */
	REFUSE("{\"a\":\"x\\u0000y\"}");
	REFUSE("{\"a\\u0000\":1}");
	REFUSE("{\"a\":[\"\\u0000\"]}");
	/* Raw NUL and invalid UTF-8 anywhere in the body. */
	REFUSE("{\"a\":\"x\0y\"}");
	REFUSE("{\"a\":\"\xff\"}");
	REFUSE("{\"a\":\"\xc0\xaf\"}");
	REFUSE("{\"a\":\"\xed\xa0\x80\"}");
	REFUSE("{\"a\":\"\xe2\x82\"}");
	REFUSE("{\"a\":1}\xff");
}

static void
test_good_bodies(void **state)
{
	static const char *const good[] = {
		"{}", " {} ", "\n\t{\r\n}\n", "{\"a\":\"\\\\u0000\"}",
		"{\"a\":\"\\u0001\\u001f\\u0020\\u00e9\"}",
		"{\"a\":[1,2.5,-3e2,true,false,null,{},[]]}",
		"{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}",
	};
	struct fs_err err;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		cJSON *j = proto_parse(good[i], strlen(good[i]), &err);

		if (j == NULL)
			fail_msg("%s refused: %s", good[i], err.msg);
		proto_json_free(j);
	}
}

/* A body of nested arrays inside the top object, depth levels in all. */
static char *
nested(int depth, size_t *len)
{
	char *b = malloc(2 * (size_t)depth + 16);
	size_t k;

	if (b == NULL)
		fail_msg("out of memory");
	strcpy(b, "{\"a\":");
	k = strlen(b);
	for (int i = 1; i < depth; i++)
		b[k++] = '[';
	for (int i = 1; i < depth; i++)
		b[k++] = ']';
	b[k++] = '}';
	b[k] = '\0';
	*len = k;
	return b;
}

static void
test_nesting_limit(void **state)
{
	struct fs_err err;
	size_t len;
	char *b;
	cJSON *j;

	(void)state;
	/* cJSON's limit is 1000 levels, the top object included. */
	b = nested(1000, &len);
	j = proto_parse(b, len, &err);
	if (j == NULL)
		fail_msg("1000 levels refused: %s", err.msg);
	proto_json_free(j);
	free(b);
	b = nested(1001, &len);
	assert_body_refused(b, len, "1001 levels");
	free(b);
	/* Far deeper: refused, not a stack overflow. */
	b = nested(1000000, &len);
	assert_body_refused(b, len, "a million levels");
	free(b);
}

static void
test_get_i64(void **state)
{
	const char *body = "{\"s\":\"42\",\"n\":42,\"neg\":\"-7\",\"nn\":-7,"
	    "\"max\":\"9223372036854775807\",\"min\":\"-9223372036854775808\","
	    "\"over\":\"9223372036854775808\",\"frac\":1.5,\"sfrac\":\"1.5\","
	    "\"big\":9007199254740992,\"okbig\":9007199254740991,"
	    "\"exp\":1e3,\"plus\":\"+5\",\"space\":\" 5\",\"tab\":\"\\t5\","
	    "\"trail\":\"5 \",\"empty\":\"\",\"hex\":\"0x10\",\"t\":true,"
	    "\"nul\":null,\"arr\":[1],\"obj\":{\"a\":1},\"zero\":\"0\","
	    "\"negzero\":-0.0,\"huge\":1e300,\"S\":\"43\"}";
	static const char *const refused[] = { "over", "frac", "sfrac", "big",
	    "plus", "space", "tab", "trail", "empty", "hex", "t", "nul", "arr",
	    "obj", "missing", "huge" };
	struct fs_err err;
	int64_t v;
	cJSON *j;

	(void)state;
	j = proto_parse(body, strlen(body), &err);
	assert_non_null(j);
	assert_int_equal(proto_get_i64(j, "s", 0, 100, &v, &err), 0);
	assert_int_equal(v, 42);
	assert_int_equal(proto_get_i64(j, "n", 0, 100, &v, &err), 0);
	assert_int_equal(v, 42);
	/* Keys are case-sensitive. */
	assert_int_equal(proto_get_i64(j, "S", 0, 100, &v, &err), 0);
	assert_int_equal(v, 43);
	assert_int_equal(proto_get_i64(j, "okbig", 0, INT64_MAX, &v, &err), 0);
	assert_int_equal(v, 9007199254740991LL);
	assert_int_equal(proto_get_i64(j, "exp", 0, 1000, &v, &err), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(proto_get_i64(j, "negzero", 0, 1, &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(proto_get_i64(j, "max", 0, INT64_MAX, &v, &err), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(proto_get_i64(j, "min", INT64_MIN, 0, &v, &err), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(proto_get_i64(j, "zero", 0, 0, &v, &err), 0);
	assert_int_equal(v, 0);
	/* Range limits, both as strings and as numbers, both ends. */
	assert_int_equal(proto_get_i64(j, "s", 42, 42, &v, &err), 0);
	v = 99;
	assert_int_equal(proto_get_i64(j, "s", 43, 100, &v, &err), -1);
	assert_int_equal(proto_get_i64(j, "s", 0, 41, &v, &err), -1);
	assert_int_equal(proto_get_i64(j, "n", 43, 100, &v, &err), -1);
	assert_int_equal(proto_get_i64(j, "n", 0, 41, &v, &err), -1);
	assert_int_equal(proto_get_i64(j, "neg", 0, 100, &v, &err), -1);
	assert_int_equal(proto_get_i64(j, "nn", 0, 100, &v, &err), -1);
	assert_int_equal(proto_get_i64(j, "max", 0, INT64_MAX - 1, &v, &err),
	    -1);
	assert_int_equal(v, 99);	/* untouched on failure */
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		fs_err_clear(&err);
		if (proto_get_i64(j, refused[i], INT64_MIN, INT64_MAX, &v,
		    &err) != -1)
			fail_msg("'%s' accepted", refused[i]);
		assert_int_equal(err.code, FS_EINVAL);
		/* The message names the member. */
		assert_non_null(strstr(err.msg, refused[i]));
	}
	proto_json_free(j);
}

static void
test_get_str_array_sid(void **state)
{
	const char *body = "{\"s\":\"abc\",\"n\":1,\"a\":[],\"o\":{},"
	    "\"u\":\"\xc3\xa9\"}";
	char sid[2 * FS_SID_LEN + 1];
	struct fs_err err;
	cJSON *j;

	(void)state;
	j = proto_parse(body, strlen(body), &err);
	assert_non_null(j);
	assert_string_equal(proto_get_str(j, "s", 3, &err), "abc");
	assert_null(proto_get_str(j, "s", 2, &err));
	assert_int_equal(err.code, FS_EINVAL);
	assert_string_equal(proto_get_str(j, "u", 2, &err), "\xc3\xa9");
	assert_null(proto_get_str(j, "u", 1, &err));	/* bytes, not chars */
	assert_null(proto_get_str(j, "n", 10, &err));
	assert_null(proto_get_str(j, "a", 10, &err));
	assert_null(proto_get_str(j, "missing", 10, &err));
	assert_non_null(proto_get_array(j, "a", &err));
	assert_null(proto_get_array(j, "o", &err));
	assert_null(proto_get_array(j, "s", &err));
	assert_null(proto_get_array(j, "missing", &err));
	proto_json_free(j);

	assert_int_equal(proto_sid_parse("0123456789ABCDEFabcdef0123456789",
	    sid), 0);
	assert_string_equal(sid, "0123456789abcdefabcdef0123456789");
	assert_int_equal(proto_sid_parse("0123456789abcdef0123456789abcde",
	    sid), -1);
	assert_int_equal(proto_sid_parse("0123456789abcdef0123456789abcdef0",
	    sid), -1);
	assert_int_equal(proto_sid_parse("0123456789abcdef0123456789abcdeg",
	    sid), -1);
	assert_int_equal(proto_sid_parse(" 123456789abcdef0123456789abcdef",
	    sid), -1);
	assert_int_equal(proto_sid_parse("", sid), -1);
	assert_int_equal(proto_sid_parse(NULL, sid), -1);
}

/* --- the parse arena ----------------------------------------------------- */

static cJSON *
parse_ok(const char *body)
{
	struct fs_err err;
	cJSON *j = proto_parse(body, strlen(body), &err);

	if (j == NULL)
		fail_msg("parse %s: %s", body, err.msg);
	return j;
}

static const char *
sval(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) ? v->valuestring : "(none)";
}

static void
test_arena_many(void **state)
{
	char body[256];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		cJSON *j;

		snprintf(body, sizeof body, "{\"i\":\"%d\",\"a\":[1,2,{\"x\":"
		    "\"%d\"}],\"s\":\"some text to copy\"}", i, i * 7);
		j = parse_ok(body);
		snprintf(body, sizeof body, "%d", i);
		assert_string_equal(sval(j, "i"), body);
		proto_json_free(j);
	}
}

static void
test_arena_interleaved(void **state)
{
	cJSON *a, *b, *c, *d;

	(void)state;
	a = parse_ok("{\"n\":\"a\",\"pad\":[\"aaaaaaaaaaaaaaaaaaaaaaaa\"]}");
	b = parse_ok("{\"n\":\"b\",\"pad\":[\"bbbbbbbbbbbbbbbbbbbbbbbb\"]}");
	c = parse_ok("{\"n\":\"c\",\"pad\":[\"cccccccccccccccccccccccc\"]}");
	/* Free the middle one; the others stay whole. */
	proto_json_free(b);
	assert_string_equal(sval(a, "n"), "a");
	assert_string_equal(sval(c, "n"), "c");
	/* A new tree may reuse nothing of the live ones. */
	d = parse_ok("{\"n\":\"d\",\"pad\":[\"dddddddddddddddddddddddd\"]}");
	assert_string_equal(sval(a, "n"), "a");
	assert_string_equal(sval(c, "n"), "c");
	assert_string_equal(sval(d, "n"), "d");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(a, "pad"),
	    0)->valuestring, "aaaaaaaaaaaaaaaaaaaaaaaa");
	proto_json_free(a);
	assert_string_equal(sval(c, "n"), "c");
	proto_json_free(d);
	proto_json_free(c);
	proto_json_free(NULL);
}

static void
test_arena_large(void **state)
{
	struct buf b;
	size_t big = (size_t)1 << 20;
	cJSON *j, *arr, *it;
	int64_t n = 0, sum = 0;

	(void)state;
	/* One string larger than an arena chunk, and many small nodes. */
	buf_init(&b, 0);
	buf_addstr(&b, "{\"big\":\"");
	for (size_t i = 0; i < big; i++)
		buf_add(&b, "x", 1);
	buf_addstr(&b, "\",\"arr\":[");
	for (int i = 0; i < 50000; i++)
		buf_printf(&b, "%s%d", i ? "," : "", i);
	buf_addstr(&b, "]}");
	j = parse_ok(b.data);
	assert_int_equal(strlen(sval(j, "big")), big);
	arr = cJSON_GetObjectItem(j, "arr");
	cJSON_ArrayForEach(it, arr) {
		n++;
		sum += (int64_t)it->valuedouble;
	}
	assert_int_equal(n, 50000);
	assert_int_equal(sum, (int64_t)50000 * 49999 / 2);
	proto_json_free(j);
	buf_free(&b);
}

/* Ordinary cJSON trees keep working once the arena hooks are in. */
static void
test_plain_cjson_after_hooks(void **state)
{
	cJSON *arena, *plain, *dup, *detached, *ordinary;
	struct fs_err err;
	char *txt;

	(void)state;
	arena = parse_ok("{\"k\":\"v\",\"arr\":[1,2,3],\"o\":{\"x\":\"y\"}}");
	/* Built by hand while an arena tree lives: malloc'd, not arena. */
	plain = cJSON_CreateObject();
	cJSON_AddStringToObject(plain, "hello", "world");
	cJSON_AddItemToObject(plain, "n", cJSON_CreateNumber(5));
	txt = cJSON_PrintUnformatted(plain);
	assert_string_equal(txt, "{\"hello\":\"world\",\"n\":5}");
	free(txt);
	/* A deep copy of an arena tree outlives the arena. */
	dup = cJSON_Duplicate(arena, 1);
	/* Detaching from an arena tree and deleting it is harmless. */
	detached = cJSON_DetachItemFromObject(arena, "o");
	cJSON_Delete(detached);
	proto_json_free(arena);
	assert_string_equal(sval(dup, "k"), "v");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(dup, "arr")), 3);
	txt = cJSON_PrintUnformatted(dup);
	assert_string_equal(txt, "{\"k\":\"v\",\"arr\":[1,2,3],\"o\":{\"x\":"
	    "\"y\"}}");
	free(txt);
	cJSON_Delete(dup);
	cJSON_Delete(plain);
	/* cJSON_Parse trees are not arena trees; proto_json_free takes both. */
	ordinary = cJSON_Parse("{\"a\":[\"b\"]}");
	assert_non_null(ordinary);
	proto_json_free(ordinary);
	ordinary = cJSON_Parse("[1,2]");
	cJSON_Delete(ordinary);
	/* A failed parse leaves no arena half filled behind. */
	assert_null(proto_parse("{\"a\":[1,2", 9, &err));
	plain = cJSON_CreateArray();
	for (int i = 0; i < 1000; i++)
		cJSON_AddItemToArray(plain, cJSON_CreateString("after failure"));
	cJSON_Delete(plain);
}

static void *
thread_parse(void *arg)
{
	int *ok = arg;
	char body[64];

	*ok = 1;
	for (int i = 0; i < 2000 && *ok; i++) {
		struct fs_err err;
		cJSON *j;

		snprintf(body, sizeof body, "{\"t\":\"%d\"}", i);
		if ((j = proto_parse(body, strlen(body), &err)) == NULL)
			*ok = 0;
		else {
			snprintf(body, sizeof body, "%d", i);
			if (strcmp(sval(j, "t"), body) != 0)
				*ok = 0;
			proto_json_free(j);
		}
	}
	return NULL;
}

/* Arenas are per thread: threads parse side by side. */
static void
test_arena_threads(void **state)
{
	pthread_t th[2];
	int ok[2] = { 0, 0 };
	cJSON *mine;

	(void)state;
	mine = parse_ok("{\"mine\":\"yes\"}");
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_parse,
		    &ok[i]), 0);
	thread_parse(&(int){ 0 });
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_true(ok[i]);
	}
	assert_string_equal(sval(mine, "mine"), "yes");
	proto_json_free(mine);
}

static void
test_json_string(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	proto_json_string(&b, "a\"b\\c\n\x01\x1f\x7f/", 10);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\\u001f\x7f/\"");
	buf_reset(&b);
	proto_json_string(&b, "", 0);
	assert_string_equal(b.data, "\"\"");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_reals),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_not_utf8_or_with_nul),
		cmocka_unit_test(test_blobs_and_null),
		cmocka_unit_test(test_empty_text_blob_null_differ),
		cmocka_unit_test(test_value_equal_is_strict),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_good_bodies),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_get_i64),
		cmocka_unit_test(test_get_str_array_sid),
		cmocka_unit_test(test_arena_many),
		cmocka_unit_test(test_arena_interleaved),
		cmocka_unit_test(test_arena_large),
		cmocka_unit_test(test_plain_cjson_after_hooks),
		cmocka_unit_test(test_arena_threads),
		cmocka_unit_test(test_json_string),
	};

	return cmocka_run_group_tests(tests, open_mem, close_mem);
}
