/*
 * test_json_parse.c - the strict JSON parser (json-parse.c) and
 * proto_parse, which runs it into an arena.
 *
 * Every caller reads these trees with cJSON's accessors, so on valid
 * text the tree must be the one cJSON builds: each text here is parsed
 * by both and the trees compared node by node (type, valueint, the
 * bytes of valuedouble, of every string and key, child order and the
 * prev/next links).  The texts: a list written by hand (every escape,
 * surrogate pairs, numbers of every shape) and thousands generated at
 * random from the grammar.  Then text that is not RFC 8259 JSON must be
 * refused with the message proto_parse gave before it had this parser:
 * bad UTF-8, NUL, \u0000, every grammar point cJSON let through, every
 * prefix of a document, nesting past the limit.  json_parse is called
 * directly as well, with an allocator that mallocs every block on its
 * own, so the sanitizers see a one-byte overrun of any string, and that
 * fails on demand.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json-parse.h"
#include "proto.h"

/* --- an allocator that keeps a list, and fails on demand ---------------- */

struct blocks {
	void **p;
	size_t n, cap;
	long fail_after;	/* allocations left before NULL; -1: never */
};

static void *
blocks_alloc(void *arg, size_t n)
{
	struct blocks *b = arg;
	void *p;

	assert_true(n > 0);
	if (b->fail_after == 0)
		return NULL;
	if (b->fail_after > 0)
		b->fail_after--;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		if ((b->p = realloc(b->p, b->cap * sizeof *b->p)) == NULL)
			fail_msg("out of memory");
	}
	if ((p = malloc(n)) == NULL)
		fail_msg("out of memory");
	memset(p, 0xa5, n);	/* nothing may rely on zeroed memory */
	b->p[b->n++] = p;
	return p;
}

static void
blocks_free(struct blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->p[i]);
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* json_parse on an exact-size copy (no terminator to lean on). */
static cJSON *
parse_direct(const char *text, size_t len, struct blocks *b,
    struct json_fault *f)
{
	char *copy = malloc(len ? len : 1);
	cJSON *j;

	if (copy == NULL)
		fail_msg("out of memory");
	memcpy(copy, text, len);
	memset(b, 0, sizeof *b);
	b->fail_after = -1;
	j = json_parse(copy, len, blocks_alloc, b, f);
	free(copy);
	return j;
}

/* --- comparing trees ------------------------------------------------------ */

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Fails the test unless a and b are the same tree, naming the text. */
static void
compare(const cJSON *a, const cJSON *b, const char *text, const char *path)
{
	const cJSON *ca, *cb, *pa = NULL;
	char sub[256];
	int i = 0;

	if (a->type != b->type)
		fail_msg("%s: %s: type %d, cJSON %d", text, path, a->type,
		    b->type);
	if (a->valueint != b->valueint)
		fail_msg("%s: %s: valueint %d, cJSON %d", text, path,
		    a->valueint, b->valueint);
	if (memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0)
		fail_msg("%s: %s: valuedouble %.17g, cJSON %.17g", text, path,
		    a->valuedouble, b->valuedouble);
	if (!same_str(a->valuestring, b->valuestring))
		fail_msg("%s: %s: valuestring '%s', cJSON '%s'", text, path,
		    a->valuestring ? a->valuestring : "(null)",
		    b->valuestring ? b->valuestring : "(null)");
	if (!same_str(a->string, b->string))
		fail_msg("%s: %s: key '%s', cJSON '%s'", text, path,
		    a->string ? a->string : "(null)",
		    b->string ? b->string : "(null)");
	for (ca = a->child, cb = b->child; ca && cb;
	    pa = ca, ca = ca->next, cb = cb->next, i++) {
		/* cJSON's links: the first child's prev is the last. */
		if (pa != NULL && ca->prev != pa)
			fail_msg("%s: %s: child %d: prev is not the one before",
			    text, path, i);
		snprintf(sub, sizeof sub, "%s/%d", path, i);
		compare(ca, cb, text, sub);
	}
	if (ca != NULL || cb != NULL)
		fail_msg("%s: %s: %d children, cJSON %s", text, path, i,
		    ca ? "fewer" : "more");
	if (a->child != NULL && a->child->prev != pa)
		fail_msg("%s: %s: first child's prev is not the last", text,
		    path);
}

/* cJSON's tree for a text it must accept whole. */
static cJSON *
cjson_parse(const char *text, size_t len)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);

	if (j == NULL)
		fail_msg("cJSON refuses %.*s", (int)len, text);
	while (end < text + len && (*end == ' ' || *end == '\t' ||
	    *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len)
		fail_msg("cJSON stops early in %.*s", (int)len, text);
	return j;
}

/*
 * text (any JSON value) through json_parse and, as the value of a
 * member of an object, through proto_parse: both trees must be cJSON's.
 * Printed, the arena tree reads as cJSON's own does.
 */
static void
check_same(const char *text, size_t len)
{
	struct json_fault f;
	struct fs_err err;
	struct blocks b;
	struct buf wrap;
	cJSON *mine, *theirs;
	char *pm, *pt;

	theirs = cjson_parse(text, len);
	if ((mine = parse_direct(text, len, &b, &f)) == NULL)
		fail_msg("refused (fault %d at %zu): %.*s", f.kind, f.at,
		    (int)len, text);
	compare(mine, theirs, text, "");
	blocks_free(&b);
	cJSON_Delete(theirs);

	buf_init(&wrap, 0);
	buf_addstr(&wrap, "{\"k\":");
	buf_add(&wrap, text, len);
	buf_addstr(&wrap, "}");
	theirs = cjson_parse(wrap.data, wrap.len);
	if ((mine = proto_parse(wrap.data, wrap.len, &err)) == NULL)
		fail_msg("proto_parse refuses %s: %s", wrap.data, err.msg);
	compare(mine, theirs, wrap.data, "");
	pm = cJSON_PrintUnformatted(mine);
	pt = cJSON_PrintUnformatted(theirs);
	assert_non_null(pm);
	assert_non_null(pt);
	assert_string_equal(pm, pt);
	free(pm);
	free(pt);
	proto_json_free(mine);
	cJSON_Delete(theirs);
	buf_free(&wrap);
}

#define SAME(lit) check_same(lit, sizeof lit - 1)

/* --- refusals, as proto_parse words them --------------------------------- */

static const char MSG_UTF8[] = "body is not valid UTF-8 text";
static const char MSG_NUL[] = "\\u0000 is not allowed in strings";
static const char MSG_SYNTAX[] = "malformed JSON (or nested too deeply) "
    "near byte ";
static const char MSG_TRAILING[] = "trailing data after JSON";
static const char MSG_NOT_OBJECT[] = "body must be a JSON object";
static const char MSG_EMPTY[] = "empty body: a JSON object is required";

/* proto_parse on an exact-size copy refuses with msg (a prefix for the
 * syntax message, which goes on with the byte offset). */
static void
refused_len(const char *text, size_t len, const char *msg)
{
	char *copy = text ? malloc(len ? len : 1) : NULL;
	struct fs_err err;
	cJSON *j;

	if (text != NULL && copy == NULL)
		fail_msg("out of memory");
	if (text != NULL)
		memcpy(copy, text, len);
	fs_err_clear(&err);
	j = proto_parse(copy, len, &err);
	free(copy);
	if (j != NULL) {
		proto_json_free(j);
		fail_msg("accepted: %.*s", (int)len, text);
	}
	if (err.code != FS_EINVAL)
		fail_msg("%.*s: code %d", (int)len, text, err.code);
	if (strncmp(err.msg, msg, strlen(msg)) != 0 || (msg != MSG_SYNTAX &&
	    strlen(err.msg) != strlen(msg)))
		fail_msg("%.*s: '%s', not '%s'", (int)len, text, err.msg, msg);
}

#define REFUSED(lit, msg) refused_len(lit, sizeof lit - 1, msg)

/* Refused with the syntax message naming byte at. */
static void
refused_at(const char *text, size_t at)
{
	char msg[128];

	snprintf(msg, sizeof msg, "%s%zu", MSG_SYNTAX, at);
	refused_len(text, strlen(text), MSG_SYNTAX);
	{
		struct fs_err err;
		cJSON *j = proto_parse(text, strlen(text), &err);

		assert_null(j);
		if (strcmp(err.msg, msg) != 0)
			fail_msg("%s: '%s', not '%s'", text, err.msg, msg);
	}
}

/* --- valid text: written by hand ------------------------------------------ */

static void
test_same_as_cjson(void **state)
{
	static const char *const texts[] = {
		/* structure */
		"{}", "[]", "{\"a\":{}}", "[[]]", "[{}]", "[1]", "{\"a\":1}",
		"[1,2,3]", "{\"a\":1,\"b\":2,\"c\":3}", "[[1,[2,[3,[4]]]],5]",
		"{\"a\":[{\"b\":[{\"c\":{}}]},[]],\"d\":null}",
		"{\"dup\":1,\"dup\":2,\"Dup\":3}",
		"{\"\":\"\",\"\":[]}",
		" \t\r\n[ \t\r\n1 \t\r\n, \t\r\n{ \t\r\n\"k\" \t\r\n: \t\r\n"
		    "true \t\r\n} \t\r\n] \t\r\n",
		/* literals */
		"true", "false", "null", "[true,false,null]",
		"{\"t\":true,\"f\":false,\"n\":null}",
		/* strings: every escape */
		"\"\"", "\"a\"", "\"\\\"\"", "\"\\\\\"", "\"\\/\"", "\"\\b\"",
		"\"\\f\"", "\"\\n\"", "\"\\r\"", "\"\\t\"",
		"\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"",
		"\"\\\\u0000\"", "\"\\\\\\\\\"", "\"x\\\\\"",
		"\"\\u0001\\u001f\\u0020\\u007f\\u0080\\u00e9\\u07ff\"",
		"\"\\u0800\\u0fff\\u1234\\uabcd\\uABCD\\ud7ff\\ue000\\ufffd"
		    "\\uffff\\ufeff\"",
		/* surrogate pairs: first, last, an emoji, both cases */
		"\"\\ud800\\udc00\"", "\"\\udbff\\udfff\"",
		"\"\\ud83d\\ude00\"",
		"\"\\uD83D\\uDE00x\\ud83d\\uDE00\"", "\"a\\ud834\\udd1eb\"",
		/* raw UTF-8: 2, 3 and 4 bytes, the edges of each */
		"\"\xc2\x80\xdf\xbf\"", "\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
		    "\xef\xbf\xbf\"", "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
		"{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}", "\"\x7f\"",
		"{\"\\u00e9\\n\":1}", "{\"a\\\"b\":\"c\\\\d\"}",
		/* numbers */
		"0", "-0", "1", "-1", "9", "10", "123", "-123", "0.0", "-0.0",
		"0.1", "0.5", "-0.5", "1.5", "3.14159", "1e0", "1E0", "1e+0",
		"1e-0", "1e5", "1E5", "1e+5", "1e-5", "-1e-5", "0e0", "-0e-0",
		"0.0e0", "1.5e3", "1.5E+3", "1.5e-3", "2.5e-3",
		"1e308", "1.7976931348623157e308", "1.7976931348623159e308",
		"1e309", "-1e309", "1e400", "-1e400", "1e-320", "4.9e-324",
		"2.4e-324", "1e-400", "-1e-400", "2.2250738585072014e-308",
		"999999999999999", "-999999999999999", "1000000000000000",
		"9007199254740991", "9007199254740992", "9007199254740993",
		"-9007199254740993", "18446744073709551615",
		"18446744073709551616", "99999999999999999999999999999",
		"2147483646", "2147483647", "2147483648", "-2147483647",
		"-2147483648", "-2147483649", "4294967296", "1e10", "-1e10",
		"0.30000000000000004", "123456789012345.6", "0.000001",
		"[0,-0,1,-1,0.5,1e2,-1E-2]", "{\"n\":1,\"m\":-2.5e3}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		check_same(texts[i], strlen(texts[i]));
	SAME("[\"\\u0041\\u00410\"]");
}

/* Every \u escape of the Basic Multilingual Plane but NUL and the
 * surrogates, in one string, and a stride of surrogate pairs. */
static void
test_every_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	for (unsigned lo = 1; lo < 0x10000; lo += 0x1000) {
		buf_reset(&b);
		buf_addstr(&b, "\"");
		for (unsigned cp = lo; cp < lo + 0x1000 && cp < 0x10000; cp++)
			if (cp < 0xd800 || cp > 0xdfff)
				buf_printf(&b, cp & 1 ? "\\u%04x" : "\\u%04X",
				    cp);
		buf_addstr(&b, "\"");
		check_same(b.data, b.len);
	}
	buf_reset(&b);
	buf_addstr(&b, "\"");
	for (unsigned hi = 0xd800; hi <= 0xdbff; hi += 7)
		for (unsigned lo = 0xdc00; lo <= 0xdfff; lo += 61)
			buf_printf(&b, "\\u%04x\\u%04x", hi, lo);
	buf_addstr(&b, "\"");
	check_same(b.data, b.len);
	buf_free(&b);
}

/* Numbers of every shape the grammar has, within cJSON's 63 bytes. */
static void
test_number_shapes(void **state)
{
	static const char *const ints[] = { "0", "1", "7", "10", "99",
	    "12345", "2147483647", "2147483648", "999999999999999",
	    "1000000000000000", "9007199254740993", "123456789012345678901" };
	static const char *const fracs[] = { "", ".0", ".5", ".25", ".1",
	    ".000001", ".9999999999999999", ".12345678901234567890" };
	static const char *const exps[] = { "", "e0", "E1", "e+2", "e-2",
	    "E+08", "e-0", "e22", "e23", "e-7", "e308", "e309", "e-320",
	    "e-330", "E400", "e-400" };
	char text[80];

	(void)state;
	for (int neg = 0; neg < 2; neg++)
		for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
			for (size_t f = 0; f < sizeof fracs / sizeof fracs[0];
			    f++)
				for (size_t e = 0; e < sizeof exps /
				    sizeof exps[0]; e++) {
					snprintf(text, sizeof text, "%s%s%s%s",
					    neg ? "-" : "", ints[i], fracs[f],
					    exps[e]);
					check_same(text, strlen(text));
				}
	/* 63 bytes, the most cJSON read: the same; 64: refused. */
	for (int shape = 0; shape < 3; shape++) {
		char body[JSON_MAX_NUMBER + 16];
		size_t k = 0;

		if (shape == 1)
			text[k++] = '-';
		text[k++] = '1';
		if (shape == 2)
			text[k++] = '.';
		while (k < JSON_MAX_NUMBER)
			text[k++] = shape == 2 ? '5' : '0';
		text[k] = '\0';
		assert_int_equal(strlen(text), 63);
		check_same(text, k);
		snprintf(body, sizeof body, "{\"a\":%s0}", text);
		refused_len(body, strlen(body), MSG_SYNTAX);
		snprintf(body, sizeof body, "{\"a\":%s}", text);
		body[5 + JSON_MAX_NUMBER - 1] = 'e';	/* 1.55...e5 */
		body[5 + JSON_MAX_NUMBER] = '5';
		body[5 + JSON_MAX_NUMBER + 1] = '}';
		body[5 + JSON_MAX_NUMBER + 2] = '\0';
		refused_len(body, strlen(body), MSG_SYNTAX);
	}
}

/* --- valid text: generated from the grammar --------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)((rng >> 16) % n);
}

static void
gen_blank(struct buf *b)
{
	if (rnd(3) == 0)
		for (unsigned k = rnd(3) + 1; k > 0; k--)
			buf_add(b, &" \t\r\n"[rnd(4)], 1);
}

static void
add_utf8(struct buf *b, unsigned cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* A code point that is not NUL and not a surrogate, of any length. */
static unsigned
gen_cp(void)
{
	static const unsigned top[] = { 0x80, 0x800, 0x10000, 0x110000 };
	unsigned cp;

	do
		cp = rnd(top[rnd(4)]);
	while (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff));
	return cp;
}

static void
gen_string(struct buf *b)
{
	buf_addstr(b, "\"");
	for (unsigned n = rnd(10); n > 0; n--) {
		unsigned cp;

		switch (rnd(8)) {
		case 0:
			buf_add(b, "\\", 1);
			buf_add(b, &"\"\\/bfnrt"[rnd(8)], 1);
			break;
		case 1:
			cp = gen_cp();
			if (cp < 0x10000)
				buf_printf(b, rnd(2) ? "\\u%04x" : "\\u%04X",
				    cp);
			else
				buf_printf(b, "\\u%04x\\u%04x",
				    0xd800 + ((cp - 0x10000) >> 10),
				    0xdc00 + ((cp - 0x10000) & 0x3ff));
			break;
		case 2:
			buf_printf(b, "\\u%04x", 1 + rnd(0x1f));
			break;
		case 3:
			do
				cp = gen_cp();
			while (cp < 0x20 || cp == '"' || cp == '\\');
			add_utf8(b, cp);
			break;
		default:
			buf_add(b, &"abcdefghijklmnopqrstuvwxyz"
			    "0123456789 :,{}[]"[rnd(43)], 1);
			break;
		}
	}
	buf_addstr(b, "\"");
}

static void
gen_digits(struct buf *b, unsigned n)
{
	while (n-- > 0)
		buf_add(b, &"0123456789"[rnd(10)], 1);
}

/* A number of at most 4 + 20 + 1 + 20 + 2 + 3 < 63 bytes. */
static void
gen_number(struct buf *b)
{
	if (rnd(2))
		buf_addstr(b, "-");
	if (rnd(4) == 0)
		buf_addstr(b, "0");
	else {
		buf_add(b, &"123456789"[rnd(9)], 1);
		gen_digits(b, rnd(4) ? rnd(6) : rnd(20));
	}
	if (rnd(3) == 0) {
		buf_addstr(b, ".");
		gen_digits(b, 1 + rnd(20));
	}
	if (rnd(3) == 0) {
		buf_add(b, &"eE"[rnd(2)], 1);
		if (rnd(2))
			buf_add(b, &"+-"[rnd(2)], 1);
		gen_digits(b, 1 + rnd(3));
	}
}

static void
gen_value(struct buf *b, int depth)
{
	unsigned kind = rnd(depth > 5 ? 5 : 8), n;

	switch (kind) {
	case 0:
	case 1:
		gen_string(b);
		break;
	case 2:
	case 3:
		gen_number(b);
		break;
	case 4:
		buf_addstr(b, rnd(3) == 0 ? "null" : rnd(2) ? "true" :
		    "false");
		break;
	case 5:
	case 6:
		buf_addstr(b, "{");
		gen_blank(b);
		for (n = rnd(5); n > 0; n--) {
			gen_string(b);
			gen_blank(b);
			buf_addstr(b, ":");
			gen_blank(b);
			gen_value(b, depth + 1);
			gen_blank(b);
			if (n > 1) {
				buf_addstr(b, ",");
				gen_blank(b);
			}
		}
		buf_addstr(b, "}");
		break;
	default:
		buf_addstr(b, "[");
		gen_blank(b);
		for (n = rnd(5); n > 0; n--) {
			gen_value(b, depth + 1);
			gen_blank(b);
			if (n > 1) {
				buf_addstr(b, ",");
				gen_blank(b);
			}
		}
		buf_addstr(b, "]");
		break;
	}
}

static void
test_generated(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	for (int i = 0; i < 5000; i++) {
		buf_reset(&b);
		gen_blank(&b);
		gen_value(&b, i % 4 == 0 ? 0 : 4);
		gen_blank(&b);
		check_same(b.data, b.len);
	}
	buf_free(&b);
}

/* --- refusals --------------------------------------------------------- */

static void
test_refuse_utf8(void **state)
{
	(void)state;
	/* Overlong forms. */
	REFUSED("{\"a\":\"\xc0\xaf\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xc1\xbf\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xe0\x80\x80\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xe0\x9f\xbf\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xf0\x80\x80\x80\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xf0\x8f\xbf\xbf\"}", MSG_UTF8);
	/* Surrogates encoded in UTF-8. */
	REFUSED("{\"a\":\"\xed\xa0\x80\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xed\xbf\xbf\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xed\xa0\xbd\xed\xb8\x80\"}", MSG_UTF8);
	/* Past U+10FFFF, and bytes that never occur. */
	REFUSED("{\"a\":\"\xf4\x90\x80\x80\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xf5\x80\x80\x80\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xf8\x88\x80\x80\x80\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xfe\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xff\"}", MSG_UTF8);
	/* Stray continuation bytes, cut sequences. */
	REFUSED("{\"a\":\"\x80\"}", MSG_UTF8);
	REFUSED("{\"a\":\"a\xbf\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xc3\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xc3x\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xe2\x82\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xf0\x9f\x98\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\xc3\xa9\xc3", MSG_UTF8);
	/* In keys, outside strings, after the value. */
	REFUSED("{\"\xff\":1}", MSG_UTF8);
	REFUSED("{\"a\":\xff}", MSG_UTF8);
	REFUSED("\xef\xbb{}", MSG_UTF8);
	REFUSED("{\"a\":1}\xff", MSG_UTF8);
	/* NUL bytes, anywhere, even after an earlier fault. */
	REFUSED("{\"a\":\"x\0y\"}", MSG_UTF8);
	REFUSED("{\"a\0\":1}", MSG_UTF8);
	REFUSED("{\"a\":1\0}", MSG_UTF8);
	REFUSED("{}\0", MSG_UTF8);
	REFUSED("\0{}", MSG_UTF8);
	REFUSED("{\"a\":\"\\\0\"}", MSG_UTF8);
	REFUSED("{,\"a\":\"\0\"}", MSG_UTF8);
	REFUSED("{\"a\":\"\\u0000\",\"b\":\"\xff\"}", MSG_UTF8);
}

static void
test_refuse_nul_escape(void **state)
{
	(void)state;
	REFUSED("{\"a\":\"x\\u0000y\"}", MSG_NUL);
	REFUSED("{\"a\":\"\\u0000\"}", MSG_NUL);
	REFUSED("{\"a\\u0000\":1}", MSG_NUL);
	REFUSED("{\"a\":[\"\\u0000\"]}", MSG_NUL);
	REFUSED("{\"a\":[\"\\\\\\u0000\"]}", MSG_NUL);
	/* As before: named even when another fault comes first. */
	REFUSED("{\"a\":01,\"b\":\"\\u0000\"}", MSG_NUL);
	REFUSED("{\"a\":\"\\ud800\\u0000\"}", MSG_NUL);
	REFUSED("{} \"\\u0000\"", MSG_NUL);
}

static void
test_refuse_grammar(void **state)
{
	static const char *const bad[] = {
		/* blank space is space, tab, CR and LF only */
		"\f{}", "{\v}", "\xef\xbb\xbf{}", "{\"a\":\xc2\xa0" "1}",
		"{\"a\"\f:1}", "\x1f{}",
		/* comments */
		"{/**/}", "{\"a\":1 /* c */}", "{\"a\":1 // c\n}", "#{}",
		/* commas and colons */
		"{,}", "{\"a\":1,}", "{\"a\":1,,\"b\":2}", "{,\"a\":1}",
		"{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":[1,,2]}", "{\"a\":[,]}",
		"{\"a\" 1}", "{\"a\"::1}", "{\"a\":1 \"b\":2}", "{\"a\":[1 2]}",
		"{\"a\";1}", "{\"a\":1;\"b\":2}", "{\"a\"}", "{\"a\":}",
		"{:1}", "{\"a\":1:2}",
		/* keys and quotes */
		"{a:1}", "{'a':1}", "{\"a\":'b'}", "{1:1}", "{null:1}",
		"{\"a\":\"b}", "{\"a", "{\"a\":\"\\\"}",
		/* brackets */
		"{", "}", "{]", "{\"a\":[}", "{\"a\":]}", "{\"a\":[1}",
		"{\"a\":{]}", "{\"a\":{\"b\":1]}", "{\"a\":[1]]}", "{{}}",
		"", " ", "\n",
		/* literals */
		"{\"a\":tru}", "{\"a\":True}", "{\"a\":TRUE}", "{\"a\":nul}",
		"{\"a\":nulll}", "{\"a\":fals}", "{\"a\":falsey}",
		"{\"a\":None}", "{\"a\":undefined}", "{\"a\":t}",
		/* numbers */
		"{\"a\":01}", "{\"a\":00}", "{\"a\":-01}", "{\"a\":00.5}",
		"{\"a\":+1}", "{\"a\":+0}", "{\"a\":.5}", "{\"a\":-.5}",
		"{\"a\":1.}", "{\"a\":1.e5}", "{\"a\":1e}", "{\"a\":1e+}",
		"{\"a\":1E-}", "{\"a\":1e5.5}", "{\"a\":1.5.5}", "{\"a\":-}",
		"{\"a\":--1}", "{\"a\":-+1}", "{\"a\":1-2}", "{\"a\":1+2}",
		"{\"a\":0x10}", "{\"a\":0b1}", "{\"a\":1_000}", "{\"a\":1,5}",
		"{\"a\":NaN}", "{\"a\":nan}", "{\"a\":Infinity}",
		"{\"a\":-Infinity}", "{\"a\":inf}", "{\"a\":-inf}",
		"{\"a\":1e5e5}", "{\"a\":0.}", "{\"a\":-0.}", "{\"a\":0e}",
		"{\"a\":\xef\xbc\x91}",
		/* escapes */
		"{\"a\":\"\\x41\"}", "{\"a\":\"\\a\"}", "{\"a\":\"\\0\"}",
		"{\"a\":\"\\'\"}", "{\"a\":\"\\U0041\"}", "{\"a\":\"\\v\"}",
		"{\"a\":\"\\ \"}", "{\"a\":\"\\\xc3\xa9\"}", "{\"a\":\"\\\n\"}",
		"{\"a\":\"\\u\"}", "{\"a\":\"\\u1\"}", "{\"a\":\"\\u12\"}",
		"{\"a\":\"\\u123\"}", "{\"a\":\"\\u12g4\"}",
		"{\"a\":\"\\u 123\"}", "{\"a\":\"\\u-123\"}",
		"{\"a\":\"\\u+123\"}", "{\"a\":\"\\u00zz\"}",
		"{\"a\":\"\\u00\xc3\xa9\"}", "{\"a\":\"\\", "{\"a\":\"\\\"",
		/* surrogates alone, the wrong way round, half pairs */
		"{\"a\":\"\\ud800\"}", "{\"a\":\"\\udbff\"}",
		"{\"a\":\"\\udc00\"}", "{\"a\":\"\\udfff\"}",
		"{\"a\":\"\\ud800x\"}", "{\"a\":\"\\udc00x\"}",
		"{\"a\":\"\\ud800\\n\"}", "{\"a\":\"\\ud800\\\\udc00\"}",
		"{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\\ud800\\ud800\"}",
		"{\"a\":\"\\ud800\\ue000\"}", "{\"a\":\"\\udbff\\ue000\"}",
		"{\"a\":\"\\udc00\\ud800\"}", "{\"a\":\"\\ud800\\udc0\"}",
		"{\"a\":\"\\ud800\\u\"}", "{\"a\":\"\\ud800\\\"}",
		"{\"a\":\"\\ud800u\\udc00\"}", "{\"\\ud800\":1}",
		"{\"a\":\"\\ud83d\\ude00\\ud83d\"}",
	};
	char text[16];

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (bad[i][0] == '\0') {
			REFUSED("", MSG_EMPTY);
			continue;
		}
		refused_len(bad[i], strlen(bad[i]), MSG_SYNTAX);
	}
	/* Every control character, raw in a string and in a key. */
	for (int c = 1; c < 0x20; c++) {
		snprintf(text, sizeof text, "{\"a\":\"%c\"}", c);
		refused_len(text, strlen(text), MSG_SYNTAX);
		snprintf(text, sizeof text, "{\"%c\":1}", c);
		refused_len(text, strlen(text), MSG_SYNTAX);
	}
	/* Where the fault is. */
	refused_at("{\"a\":01}", 6);
	refused_at("{\"a\":1,}", 7);
	refused_at("{\"a\" 1}", 5);
	refused_at("{\"a\":\"x\ty\"}", 7);
	refused_at("{\"a\":\"\\ud800\"}", 6);
	refused_at("{\"a\":[1,2", 9);
	refused_at(" ", 1);
}

static void
test_refuse_trailing_and_shape(void **state)
{
	(void)state;
	REFUSED("{}{}", MSG_TRAILING);
	REFUSED("{} x", MSG_TRAILING);
	REFUSED("{}\n]", MSG_TRAILING);
	REFUSED("{}\f", MSG_TRAILING);
	REFUSED("{}\x01", MSG_TRAILING);
	REFUSED("{}//", MSG_TRAILING);
	REFUSED("{\"a\":1}#", MSG_TRAILING);
	REFUSED("{}/* c */", MSG_TRAILING);
	REFUSED("{},", MSG_TRAILING);
	REFUSED("{} {", MSG_TRAILING);
	REFUSED("[] x", MSG_TRAILING);
	REFUSED("[]", MSG_NOT_OBJECT);
	REFUSED("[{}]", MSG_NOT_OBJECT);
	REFUSED("\"{}\"", MSG_NOT_OBJECT);
	REFUSED("1", MSG_NOT_OBJECT);
	REFUSED("-0", MSG_NOT_OBJECT);
	REFUSED("null", MSG_NOT_OBJECT);
	REFUSED(" true ", MSG_NOT_OBJECT);
	refused_len("{}", 0, MSG_EMPTY);
	refused_len(NULL, 0, MSG_EMPTY);
}

/* Every proper prefix of a document is refused; no prefix is read past
 * its end (each is an exact-size copy). */
static void
test_truncated(void **state)
{
	static const char doc[] = "{\"protocol\":1,\"instance\":"
	    "\"0123456789abcdef0123456789abcdef\",\"origins\":[\"x\"],"
	    "\"changes\":[{\"r\":\"000000000000000000000000000000a1\","
	    "\"c\":[\"1000000\",0],\"f\":[[101,\"t:P\\u00e9er \\\"q\\\" "
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\ud83d\\ude00\"],"
	    "[102,null],[103,true],[104,false],[105,-12.5e-3]]}],"
	    "\"more\":false , \"e\" : { } , \"a\" : [ ] }";
	struct fs_err err;
	cJSON *j;

	(void)state;
	if ((j = proto_parse(doc, sizeof doc - 1, &err)) == NULL)
		fail_msg("the whole document: %s", err.msg);
	proto_json_free(j);
	for (size_t k = 1; k < sizeof doc - 1; k++) {
		/* A cut inside a UTF-8 sequence is bad UTF-8 first. */
		int bad = (doc[k] & 0xc0) == 0x80;

		refused_len(doc, k, bad ? MSG_UTF8 : MSG_SYNTAX);
	}
}

/* A body nested depth levels, the top object included: objects in
 * objects, or arrays in the top object. */
static char *
nested(int depth, int objects, size_t *len)
{
	char *b = malloc(6 * (size_t)depth + 16);
	size_t k = 0;

	if (b == NULL)
		fail_msg("out of memory");
	b[k++] = '{';
	for (int i = 1; i < depth; i++) {
		if (objects || i == 1) {
			memcpy(b + k, "\"a\":", 4);
			k += 4;
		}
		b[k++] = objects ? '{' : '[';
	}
	for (int i = 1; i < depth; i++)
		b[k++] = objects ? '}' : ']';
	b[k++] = '}';
	b[k] = '\0';
	*len = k;
	return b;
}

static void
test_nesting(void **state)
{
	struct json_fault f;
	struct fs_err err;
	struct blocks bl;
	size_t len;
	char *b;
	cJSON *j, *c;

	(void)state;
	for (int objects = 0; objects < 2; objects++) {
		/* 1000 levels, the top object included: cJSON's limit. */
		b = nested(1000, objects, &len);
		if ((j = proto_parse(b, len, &err)) == NULL)
			fail_msg("1000 levels refused: %s", err.msg);
		c = cJSON_ParseWithLength(b, len);
		assert_non_null(c);
		compare(j, c, "1000 levels", "");
		cJSON_Delete(c);
		proto_json_free(j);
		free(b);
		b = nested(1001, objects, &len);
		assert_null(cJSON_ParseWithLength(b, len));
		refused_len(b, len, MSG_SYNTAX);
		assert_null(parse_direct(b, len, &bl, &f));
		assert_int_equal(f.kind, JSON_FAULT_DEPTH);
		blocks_free(&bl);
		free(b);
	}
	/* Far deeper: refused at the limit, not a stack overflow. */
	len = 1000000;
	if ((b = malloc(len)) == NULL)
		fail_msg("out of memory");
	memset(b, '[', len);
	assert_null(parse_direct(b, len, &bl, &f));
	assert_int_equal(f.kind, JSON_FAULT_DEPTH);
	assert_int_equal(f.at, JSON_MAX_DEPTH);
	blocks_free(&bl);
	memcpy(b, "{\"a\":", 5);
	refused_len(b, len, MSG_SYNTAX);
	free(b);
	/* A bare array root counts the same. */
	b = malloc(2 * JSON_MAX_DEPTH + 2);
	memset(b, '[', JSON_MAX_DEPTH);
	memset(b + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	assert_non_null(j = parse_direct(b, 2 * JSON_MAX_DEPTH, &bl, &f));
	blocks_free(&bl);
	memset(b, '[', JSON_MAX_DEPTH + 1);
	memset(b + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
	assert_null(parse_direct(b, 2 * JSON_MAX_DEPTH + 2, &bl, &f));
	assert_int_equal(f.kind, JSON_FAULT_DEPTH);
	blocks_free(&bl);
	free(b);
}

/* The fault kinds json_parse reports itself, first fault first. */
static void
test_fault_kinds(void **state)
{
	static const struct {
		const char *text;
		enum json_fault_kind kind;
		size_t at;
	} cases[] = {
		{ "[1,]", JSON_FAULT_SYNTAX, 3 },
		{ "\"\xff\"", JSON_FAULT_UTF8, 1 },
		{ "[\"a\",\"\xed\xa0\x80\"]", JSON_FAULT_UTF8, 6 },
		{ "\"\\u0000\"", JSON_FAULT_NUL_ESCAPE, 1 },
		{ "[\"ab\\u0000\",\xff]", JSON_FAULT_NUL_ESCAPE, 4 },
		{ "[1] [", JSON_FAULT_TRAILING, 4 },
		{ "[01,\"\\u0000\"]", JSON_FAULT_SYNTAX, 2 },
		{ "\"\\ud800\"", JSON_FAULT_SYNTAX, 1 },
		{ "\"\\udc00\"", JSON_FAULT_SYNTAX, 1 },
		{ "\"abc", JSON_FAULT_SYNTAX, 4 },
		{ "\"\t\"", JSON_FAULT_SYNTAX, 1 },
		{ "", JSON_FAULT_SYNTAX, 0 },
		{ "  ", JSON_FAULT_SYNTAX, 2 },
	};
	struct json_fault f;
	struct blocks b;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (parse_direct(cases[i].text, strlen(cases[i].text), &b,
		    &f) != NULL)
			fail_msg("accepted %s", cases[i].text);
		if (f.kind != cases[i].kind || f.at != cases[i].at)
			fail_msg("%s: fault %d at %zu, not %d at %zu",
			    cases[i].text, f.kind, f.at, cases[i].kind,
			    cases[i].at);
		blocks_free(&b);
	}
	assert_non_null(parse_direct("\"\"", 2, &b, &f));
	assert_int_equal(f.kind, JSON_FAULT_NONE);
	blocks_free(&b);
}

/* An allocator that gives out: refused, nothing half built is left (the
 * caller frees all that was handed out). */
static void
test_allocation_failure(void **state)
{
	static const char text[] = "{\"a\":[1,\"two\",{\"three\":[3]}],"
	    "\"b\":\"\\u00e9\"}";
	struct json_fault f;
	struct blocks b;
	long total;
	cJSON *j;

	(void)state;
	j = parse_direct(text, sizeof text - 1, &b, &f);
	assert_non_null(j);
	total = (long)b.n;
	blocks_free(&b);
	for (long k = 0; k < total; k++) {
		memset(&b, 0, sizeof b);
		b.fail_after = k;
		assert_null(json_parse(text, sizeof text - 1, blocks_alloc, &b,
		    &f));
		assert_int_equal(f.kind, JSON_FAULT_NOMEM);
		blocks_free(&b);
	}
}

/* The accessors callers use, on a tree from proto_parse. */
static void
test_accessors(void **state)
{
	static const char text[] = "{\"n\":42,\"big\":1e300,\"neg\":-3e9,"
	    "\"s\":\"x\\ny\",\"a\":[10,\"b\",null,true,false,[],{}],"
	    "\"o\":{\"k\":\"v\"},\"S\":1}";
	struct fs_err err;
	cJSON *j, *a;

	(void)state;
	j = proto_parse(text, sizeof text - 1, &err);
	assert_non_null(j);
	assert_true(cJSON_IsObject(j));
	assert_int_equal(cJSON_GetArraySize(j), 7);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "n")->valueint,
	    42);
	assert_int_equal(cJSON_GetObjectItem(j, "big")->valueint, INT_MAX);
	assert_int_equal(cJSON_GetObjectItem(j, "neg")->valueint, INT_MIN);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "s")),
	    "x\ny");
	a = cJSON_GetObjectItemCaseSensitive(j, "a");
	assert_true(cJSON_IsArray(a));
	assert_int_equal(cJSON_GetArraySize(a), 7);
	assert_true(cJSON_IsNumber(cJSON_GetArrayItem(a, 0)));
	assert_true(cJSON_IsString(cJSON_GetArrayItem(a, 1)));
	assert_true(cJSON_IsNull(cJSON_GetArrayItem(a, 2)));
	assert_true(cJSON_IsTrue(cJSON_GetArrayItem(a, 3)));
	assert_true(cJSON_IsFalse(cJSON_GetArrayItem(a, 4)));
	assert_true(cJSON_IsBool(cJSON_GetArrayItem(a, 4)));
	assert_true(cJSON_IsArray(cJSON_GetArrayItem(a, 5)));
	assert_null(cJSON_GetArrayItem(a, 5)->child);
	assert_true(cJSON_IsObject(cJSON_GetArrayItem(a, 6)));
	assert_null(cJSON_GetArrayItem(a, 7));
	assert_null(cJSON_GetArrayItem(a, -1));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItem(j, "o"), "k")->valuestring, "v");
	/* Case: the sensitive lookup tells "s" from "S". */
	assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "s")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "S")));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "missing"));
	/* Detached and deleted: the arena's memory is not freed twice. */
	cJSON_Delete(cJSON_DetachItemFromObject(j, "a"));
	assert_int_equal(cJSON_GetArraySize(j), 6);
	proto_json_free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_cjson),
		cmocka_unit_test(test_every_escape),
		cmocka_unit_test(test_number_shapes),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_refuse_utf8),
		cmocka_unit_test(test_refuse_nul_escape),
		cmocka_unit_test(test_refuse_grammar),
		cmocka_unit_test(test_refuse_trailing_and_shape),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_fault_kinds),
		cmocka_unit_test(test_allocation_failure),
		cmocka_unit_test(test_accessors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
