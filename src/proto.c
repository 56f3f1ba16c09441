/* proto.c - wire value encoding and strict JSON access; see proto.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <gnutls/gnutls.h>

#include "ident.h"
#include "json-parse.h"
#include "proto.h"
#include "util.h"

void
proto_value_free(struct fs_value *v)
{
	if (v == NULL)
		return;
	free(v->owned);
	v->owned = NULL;
}

void
proto_value_copy(struct fs_value *out, sqlite3_value *v)
{
	proto_value_free(out);
	memset(out, 0, sizeof *out);
	out->type = sqlite3_value_type(v);
	if (out->type == SQLITE_INTEGER)
		out->i = sqlite3_value_int64(v);
	else if (out->type == SQLITE_FLOAT)
		out->d = sqlite3_value_double(v);
	else if (out->type == SQLITE_TEXT || out->type == SQLITE_BLOB) {
		const void *b = out->type == SQLITE_TEXT ?
		    (const void *)sqlite3_value_text(v) : sqlite3_value_blob(v);

		out->n = (size_t)sqlite3_value_bytes(v);
		out->owned = xmalloc(out->n + 1);
		if (out->n > 0)
			memcpy(out->owned, b, out->n);
		out->owned[out->n] = '\0';
		out->p = out->owned;
	}
}

void
proto_json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		buf_add(b, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			buf_add(b, esc, 2);
		} else if (c == '\n')
			buf_add(b, "\\n", 2);
		else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + n - run, run);
	buf_add(b, "\"", 1);
}

static int
add_base64(struct buf *b, const void *p, size_t n)
{
	gnutls_datum_t in = { (unsigned char *)p, (unsigned int)n }, out;

	if (n == 0)
		return 0;
	if (gnutls_base64_encode2(&in, &out) != 0)
		return -1;
	buf_add(b, out.data, out.size);
	gnutls_free(out.data);
	return 0;
}

int
proto_encode_value(struct buf *b, sqlite3_value *v)
{
	char num[64];
	const char *t;
	int n;

	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		buf_addstr(b, "\"i:");
		buf_add_i64(b, (int64_t)sqlite3_value_int64(v));
		return buf_addstr(b, "\"");
	case SQLITE_FLOAT:
		snprintf(num, sizeof num, "\"r:%a\"", sqlite3_value_double(v));
		return buf_addstr(b, num);
	case SQLITE_TEXT:
		t = (const char *)sqlite3_value_text(v);
		n = sqlite3_value_bytes(v);
		if (memchr(t, '\0', (size_t)n) == NULL &&
		    utf8_valid(t, (size_t)n)) {
			/* "t:" goes inside the quotes, before the escaped text. */
			size_t at = b->len;

			proto_json_string(b, t, (size_t)n);
			if (b->data == NULL || b->len < at + 1)
				return -1;
			buf_add(b, "  ", 2);
			memmove(b->data + at + 3, b->data + at + 1,
			    b->len - at - 3);
			memcpy(b->data + at, "\"t:", 3);
			return 0;
		}
		buf_addstr(b, "\"T:");
		add_base64(b, t, (size_t)n);
		return buf_addstr(b, "\"");
	case SQLITE_BLOB:
		buf_addstr(b, "\"b:");
		add_base64(b, sqlite3_value_blob(v),
		    (size_t)sqlite3_value_bytes(v));
		return buf_addstr(b, "\"");
	default:
		return buf_addstr(b, "null");
	}
}

/*
 * Numbers only as the encoder writes them: an optional '-', then a digit
 * (or "inf" for a real).  strtoll and strtod would also skip blanks and
 * take '+'.
 */
static int
number_start(const char *s, int real)
{
	if (*s == '-')
		s++;
	return (*s >= '0' && *s <= '9') || (real && *s == 'i');
}

/* Plain base64 as the encoder writes it: no blanks, no line breaks. */
static int
base64_plain(const char *s, size_t n)
{
	size_t pad = 0;

	if (n % 4 != 0)
		return 0;
	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < n - pad; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

static int
decode_base64(const char *s, size_t n, struct fs_value *out)
{
	gnutls_datum_t in = { (unsigned char *)s, (unsigned int)n }, res;

	if (!base64_plain(s, n))
		return -1;
	if (n == 0) {
		out->owned = xstrdup("");
		out->p = out->owned;
		out->n = 0;
		return 0;
	}
	if (gnutls_base64_decode2(&in, &res) != 0)
		return -1;
	out->owned = xmalloc(res.size + 1);
	memcpy(out->owned, res.data, res.size);
	out->owned[res.size] = '\0';
	out->p = out->owned;
	out->n = res.size;
	gnutls_free(res.data);
	return 0;
}

int
proto_decode_value(const cJSON *j, struct fs_value *out, struct fs_err *err)
{
	const char *s;
	size_t n;
	char *end;

	memset(out, 0, sizeof *out);
	if (cJSON_IsNull(j)) {
		out->type = SQLITE_NULL;
		return 0;
	}
	if (!cJSON_IsString(j) || (s = j->valuestring) == NULL ||
	    s[0] == '\0' || s[1] != ':')
		return fs_err_set(err, FS_EINVAL, "value must be null or a "
		    "tagged string");
	n = strlen(s + 2);
	switch (s[0]) {
	case 'i':
		errno = 0;
		out->type = SQLITE_INTEGER;
		out->i = strtoll(s + 2, &end, 10);
		if (!number_start(s + 2, 0) || errno != 0 || end == s + 2 ||
		    *end != '\0')
			return fs_err_set(err, FS_EINVAL, "bad integer value");
		return 0;
	case 'r':
		errno = 0;
		out->type = SQLITE_FLOAT;
		out->d = strtod(s + 2, &end);
		/* ERANGE: the text names no double (overflow, or underflow
		 * that lost bits); "inf" itself is fine. */
		if (!number_start(s + 2, 1) || errno == ERANGE ||
		    end == s + 2 || *end != '\0' || isnan(out->d))
			return fs_err_set(err, FS_EINVAL, "bad real value");
		return 0;
	case 't':
		out->type = SQLITE_TEXT;
		out->p = s + 2;
		out->n = n;
		return 0;
	case 'T':
	case 'b':
		out->type = s[0] == 'T' ? SQLITE_TEXT : SQLITE_BLOB;
		if (decode_base64(s + 2, n, out) == -1)
			return fs_err_set(err, FS_EINVAL, "bad base64 value");
		return 0;
	default:
		return fs_err_set(err, FS_EINVAL, "unknown value tag '%c'", s[0]);
	}
}

int
proto_bind_value(sqlite3_stmt *st, int idx, const struct fs_value *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		return sqlite3_bind_int64(st, idx, v->i);
	case SQLITE_FLOAT:
		return sqlite3_bind_double(st, idx, v->d);
	case SQLITE_TEXT:
		return sqlite3_bind_text64(st, idx, v->p, v->n, SQLITE_STATIC,
		    SQLITE_UTF8);
	case SQLITE_BLOB:
		return sqlite3_bind_blob64(st, idx, v->p, v->n, SQLITE_STATIC);
	default:
		return sqlite3_bind_null(st, idx);
	}
}

int
proto_value_equal(const struct fs_value *a, sqlite3_value *b)
{
	double d;

	if (a->type != sqlite3_value_type(b))
		return 0;
	switch (a->type) {
	case SQLITE_INTEGER:
		return a->i == sqlite3_value_int64(b);
	case SQLITE_FLOAT:
		d = sqlite3_value_double(b);
		return memcmp(&d, &a->d, sizeof d) == 0;
	case SQLITE_TEXT:
		return (size_t)sqlite3_value_bytes(b) == a->n &&
		    memcmp(sqlite3_value_text(b), a->p, a->n) == 0;
	case SQLITE_BLOB:
		return (size_t)sqlite3_value_bytes(b) == a->n &&
		    (a->n == 0 || memcmp(sqlite3_value_blob(b), a->p, a->n) == 0);
	default:
		return 1;
	}
}

/*
 * Arenas for parsed bodies: json_parse takes every byte of a tree from
 * the tree's own arena.  cJSON's free hook is global and can still be
 * handed arena memory (an item detached from a parsed tree, then
 * deleted), so it looks at this thread's live arenas and frees only
 * what lies in none of them.
 */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *chunks;
	cJSON *root;
	struct arena *next;
};

#define ARENA_CHUNK ((size_t)256 << 10)

static __thread struct arena *live_arenas;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

/* A json_alloc_fn. */
static void *
arena_alloc(void *arg, size_t n)
{
	struct arena *a = arg;
	struct arena_chunk *c = a->chunks;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (c == NULL || c->cap - c->used < need) {
		size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;

		if ((c = malloc(sizeof *c + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->chunks;
		a->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	return p;
}

static int
arena_owns(const struct arena *a, const void *p)
{
	for (const struct arena_chunk *c = a->chunks; c; c = c->next)
		if ((const char *)p >= (const char *)c->data &&
		    (const char *)p < (const char *)c->data + c->cap)
			return 1;
	return 0;
}

static void
hook_free(void *p)
{
	if (p == NULL)
		return;
	for (struct arena *a = live_arenas; a; a = a->next)
		if (arena_owns(a, p))
			return;
	free(p);
}

static void
install_hooks(void)
{
	cJSON_Hooks h = { malloc, hook_free };

	cJSON_InitHooks(&h);
}

static void
arena_release(struct arena *a)
{
	while (a->chunks) {
		struct arena_chunk *c = a->chunks;

		a->chunks = c->next;
		free(c);
	}
	free(a);
}

void
proto_json_free(cJSON *root)
{
	struct arena **pp;

	if (root == NULL)
		return;
	for (pp = &live_arenas; *pp; pp = &(*pp)->next) {
		if ((*pp)->root == root) {
			struct arena *a = *pp;

			*pp = a->next;
			arena_release(a);
			return;
		}
	}
	cJSON_Delete(root);
}

static cJSON *
parse_in_arena(const char *body, size_t len, struct json_fault *f)
{
	struct arena *a = calloc(1, sizeof *a);
	cJSON *j;

	pthread_once(&hooks_once, install_hooks);
	if (a == NULL) {
		f->kind = JSON_FAULT_NOMEM;
		return NULL;
	}
	if ((j = json_parse(body, len, arena_alloc, a, f)) == NULL) {
		arena_release(a);
		return NULL;
	}
	a->root = j;
	a->next = live_arenas;
	live_arenas = a;
	return j;
}

/* An escaped NUL, found the way the check before cJSON found it. */
static int
has_nul_escape(const char *body, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (body[i] != '\\')
			continue;
		if (body[i + 1] == 'u' && i + 5 < len &&
		    memcmp(body + i + 2, "0000", 4) == 0)
			return 1;
		i++;
	}
	return 0;
}

cJSON *
proto_parse(const char *body, size_t len, struct fs_err *err)
{
	struct json_fault f;
	cJSON *j;

	if (body == NULL || len == 0) {
		fs_err_set(err, FS_EINVAL, "empty body: a JSON object is "
		    "required");
		return NULL;
	}
	if ((j = parse_in_arena(body, len, &f)) == NULL) {
		/*
		 * The parser stops at the first fault; the checks it
		 * replaced looked at the whole body for one kind of fault
		 * after another.  Name the one they named (a cost paid by
		 * refused bodies only).
		 */
		if (f.kind == JSON_FAULT_NOMEM)
			fs_err_set(err, FS_EIO, "out of memory parsing a "
			    "body of %zu bytes", len);
		else if (!utf8_valid(body, len) ||
		    memchr(body, '\0', len) != NULL)
			fs_err_set(err, FS_EINVAL, "body is not valid UTF-8 "
			    "text");
		else if (f.kind == JSON_FAULT_NUL_ESCAPE ||
		    has_nul_escape(body, len))
			fs_err_set(err, FS_EINVAL, "\\u0000 is not allowed in "
			    "strings");
		else if (f.kind == JSON_FAULT_TRAILING)
			fs_err_set(err, FS_EINVAL, "trailing data after JSON");
		else
			fs_err_set(err, FS_EINVAL, "malformed JSON (or nested "
			    "too deeply) near byte %zu", f.at);
		return NULL;
	}
	if (!cJSON_IsObject(j)) {
		proto_json_free(j);
		fs_err_set(err, FS_EINVAL, "body must be a JSON object");
		return NULL;
	}
	return j;
}

int
proto_get_i64(const cJSON *obj, const char *key, int64_t min, int64_t max,
    int64_t *out, struct fs_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
	long long v;

	if (cJSON_IsString(j)) {
		if (j->valuestring == NULL || !number_start(j->valuestring, 0) ||
		    util_parse_int(j->valuestring, min, max, &v) == -1)
			return fs_err_set(err, FS_EINVAL, "'%s' must be an "
			    "integer from %" PRId64 " to %" PRId64, key, min,
			    max);
		*out = v;
		return 0;
	}
	if (cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) &&
	    fabs(j->valuedouble) < 9007199254740992.0 &&
	    j->valuedouble >= (double)min && j->valuedouble <= (double)max) {
		*out = (int64_t)j->valuedouble;
		return 0;
	}
	return fs_err_set(err, FS_EINVAL, "'%s' must be an integer from %"
	    PRId64 " to %" PRId64, key, min, max);
}

int
proto_get_i64_opt(const cJSON *obj, const char *key, int64_t min,
    int64_t max, int64_t *out, struct fs_err *err)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key) == NULL)
		return 0;
	return proto_get_i64(obj, key, min, max, out, err);
}

const char *
proto_get_str(const cJSON *obj, const char *key, size_t maxlen,
    struct fs_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(j) || j->valuestring == NULL ||
	    strlen(j->valuestring) > maxlen) {
		fs_err_set(err, FS_EINVAL, "'%s' must be a string of at most "
		    "%zu bytes", key, maxlen);
		return NULL;
	}
	return j->valuestring;
}

const cJSON *
proto_get_array(const cJSON *obj, const char *key, struct fs_err *err)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsArray(j)) {
		fs_err_set(err, FS_EINVAL, "'%s' must be an array", key);
		return NULL;
	}
	return j;
}

int
proto_field_number(const cJSON *w, int64_t *out)
{
	if (!cJSON_IsNumber(w) || w->valuedouble < 1 ||
	    w->valuedouble > 9007199254740991.0 ||
	    w->valuedouble != (double)(int64_t)w->valuedouble)
		return -1;
	*out = (int64_t)w->valuedouble;
	return 0;
}

int
proto_sid_parse(const char *s, char out[2 * FS_SID_LEN + 1])
{
	unsigned char raw[FS_SID_LEN];

	if (s == NULL || strlen(s) != 2 * FS_SID_LEN ||
	    util_unhex(s, raw, FS_SID_LEN) == -1)
		return -1;
	util_hex(raw, FS_SID_LEN, out);
	return 0;
}
