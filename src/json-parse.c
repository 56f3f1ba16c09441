/* json-parse.c - strict one-pass JSON to cJSON trees; see json-parse.h. */
#include "config.h"

#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-parse.h"

struct parser {
	const unsigned char *text, *end;
	json_alloc_fn *alloc;
	void *arg;
	struct json_fault *fault;
};

/*
 * 1 for the bytes a string copies as they are: printable ASCII but the
 * quote and the backslash.  Control characters must be escaped (RFC 8259
 * section 7); 0x80 and up start a UTF-8 sequence to check.
 */
static const unsigned char plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 10 */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 70 */
};

/*
 * Past the plain bytes at p, eight at a time while eight are left: the
 * word test sees a byte below 0x20 (x - 0x20 borrows), at or above 0x80
 * (its top bit), a quote or a backslash (x ^ c is 0, and 0 - 1
 * borrows).  A borrow can only start at such a byte, so a word of plain
 * bytes is never taken for anything else; a flagged word goes to the
 * byte loop.
 */
static const unsigned char *
skip_plain(const unsigned char *p, const unsigned char *end)
{
	const uint64_t ones = 0x0101010101010101ULL, tops = ones << 7;

	while (end - p >= 8) {
		uint64_t w;

		memcpy(&w, p, sizeof w);
		if (((w - ones * 0x20) | ((w ^ ones * '"') - ones) |
		    ((w ^ ones * '\\') - ones) | w) & tops)
			break;
		p += 8;
	}
	while (p < end && plain[*p])
		p++;
	return p;
}

static void *
fail(struct parser *ps, enum json_fault_kind kind, const unsigned char *at)
{
	ps->fault->kind = kind;
	ps->fault->at = (size_t)(at - ps->text);
	return NULL;
}

static int
is_digit(unsigned c)
{
	return c - '0' < 10;
}

/* RFC 8259 blank space: nothing else, not even a form feed. */
static const unsigned char *
skip_blank(const unsigned char *p, const unsigned char *end)
{
	while (p < end && *p <= ' ' &&
	    (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/*
 * Length of the well-formed UTF-8 sequence at p (lead byte 0x80 or up),
 * 0 if it is not one: the byte ranges of Unicode's table 3-7, which
 * leave out overlong forms, surrogates and anything past U+10FFFF.
 */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p);
	unsigned c = p[0], lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		return avail >= 3 && p[1] >= lo && p[1] <= hi &&
		    (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		return avail >= 4 && p[1] >= lo && p[1] <= hi &&
		    (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* Four hex digits (there are four bytes at p), or -1. */
static long
hex4(const unsigned char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned c = p[i];

		if (is_digit(c))
			c -= '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			c = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | c;
	}
	return v;
}

/*
 * Decode the escapes of the string content [p, end) into out, which has
 * room for end - p + 1 bytes: no escape decodes to more bytes than it
 * takes.  The scan in parse_string has checked the raw bytes, and that
 * a backslash is never the last byte of the content.
 */
static int
unescape(struct parser *ps, const unsigned char *p, const unsigned char *end,
    char *out)
{
	unsigned char *o = (unsigned char *)out;

	for (;;) {
		const unsigned char *bs = memchr(p, '\\', (size_t)(end - p));
		size_t run = (size_t)((bs ? bs : end) - p);
		long cp, lo;

		memcpy(o, p, run);
		o += run;
		if (bs == NULL)
			break;
		p = bs;
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			*o++ = p[1];
			p += 2;
			continue;
		case 'b':
			*o++ = '\b';
			p += 2;
			continue;
		case 'f':
			*o++ = '\f';
			p += 2;
			continue;
		case 'n':
			*o++ = '\n';
			p += 2;
			continue;
		case 'r':
			*o++ = '\r';
			p += 2;
			continue;
		case 't':
			*o++ = '\t';
			p += 2;
			continue;
		case 'u':
			break;
		default:
			fail(ps, JSON_FAULT_SYNTAX, p);
			return -1;
		}
		if (end - p < 6 || (cp = hex4(p + 2)) == -1) {
			fail(ps, JSON_FAULT_SYNTAX, p);
			return -1;
		}
		/* A C string would end there: callers would see less than
		 * was sent. */
		if (cp == 0) {
			fail(ps, JSON_FAULT_NUL_ESCAPE, p);
			return -1;
		}
		/* UTF-16 surrogates come in pairs, high then low; alone
		 * they name no character and have no UTF-8 form. */
		if (cp >= 0xd800 && cp <= 0xdfff) {
			if (cp >= 0xdc00 || end - p < 12 || p[6] != '\\' ||
			    p[7] != 'u' || (lo = hex4(p + 8)) < 0xdc00 ||
			    lo > 0xdfff) {
				fail(ps, JSON_FAULT_SYNTAX, p);
				return -1;
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		p += 6;
		if (cp < 0x80)
			*o++ = (unsigned char)cp;
		else if (cp < 0x800) {
			*o++ = (unsigned char)(0xc0 | cp >> 6);
			*o++ = (unsigned char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			*o++ = (unsigned char)(0xe0 | cp >> 12);
			*o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (unsigned char)(0x80 | (cp & 0x3f));
		} else {
			*o++ = (unsigned char)(0xf0 | cp >> 18);
			*o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
			*o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
			*o++ = (unsigned char)(0x80 | (cp & 0x3f));
		}
	}
	*o = '\0';
	return 0;
}

/*
 * The string whose opening quote is at *pp, as a C string from the
 * allocator; *pp moves past the closing quote.  One scan finds the end
 * and checks the raw bytes, so the copy knows its size; most strings
 * have no escape and are copied as they are.
 */
static char *
parse_string(struct parser *ps, const unsigned char **pp)
{
	const unsigned char *start = *pp + 1, *p = start, *end = ps->end;
	int escaped = 0;
	size_t n, k;
	char *out;

	for (;;) {
		if ((p = skip_plain(p, end)) == end)
			return fail(ps, JSON_FAULT_SYNTAX, p);
		if (*p == '"')
			break;
		if (*p == '\\') {
			/* Which escape it is, unescape judges; here only
			 * that it is not the start of a UTF-8 sequence or
			 * a control character, which no escape is. */
			if (end - p < 2 || p[1] < 0x20 || p[1] >= 0x80)
				return fail(ps, JSON_FAULT_SYNTAX, p);
			escaped = 1;
			p += 2;
		} else if (*p >= 0x80) {
			if ((k = utf8_seq(p, end)) == 0)
				return fail(ps, JSON_FAULT_UTF8, p);
			p += k;
		} else
			return fail(ps, *p == '\0' ? JSON_FAULT_UTF8 :
			    JSON_FAULT_SYNTAX, p);
	}
	n = (size_t)(p - start);
	if ((out = ps->alloc(ps->arg, n + 1)) == NULL)
		return fail(ps, JSON_FAULT_NOMEM, start);
	if (!escaped) {
		memcpy(out, start, n);
		out[n] = '\0';
	} else if (unescape(ps, start, p, out) == -1)
		return NULL;
	*pp = p + 1;
	return out;
}

/*
 * strtod in the C locale whatever the process's locale: "1.5" must not
 * depend on LC_NUMERIC.  Made once; kept for the life of the process.
 */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void
make_c_locale(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double
strtod_c(const char *s)
{
	pthread_once(&c_locale_once, make_c_locale);
	/* Without the object (no memory for it), the process locale,
	 * which fieldsync never changes from "C". */
	if (c_locale == (locale_t)0)
		return strtod(s, NULL);
	return strtod_l(s, NULL, c_locale);
}

/*
 * The number at *pp (a '-' or a digit there); *pp moves past it.
 * Integers of up to 15 digits are below 2^53, so their double is exact
 * and computed here; anything else goes to strtod.  valueint saturates
 * the way cJSON's does.
 */
static int
parse_number(struct parser *ps, const unsigned char **pp, cJSON *item)
{
	const unsigned char *start = *pp, *p = start, *end = ps->end;
	uint64_t v = 0;
	int neg = 0;
	double d;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (p == end || !is_digit(*p)) {
		fail(ps, JSON_FAULT_SYNTAX, p);
		return -1;
	}
	if (*p == '0') {
		if (++p < end && is_digit(*p)) {	/* no leading zeros */
			fail(ps, JSON_FAULT_SYNTAX, p);
			return -1;
		}
	} else {
		/* Wraps for long ones, which then go to strtod anyway. */
		while (p < end && is_digit(*p))
			v = v * 10 + (*p++ - '0');
	}
	if (p - start - neg <= 15 &&
	    (p == end || (*p != '.' && *p != 'e' && *p != 'E'))) {
		d = (double)v;
		if (neg)
			d = -d;		/* -0 is -0.0, as strtod has it */
	} else {
		char num[JSON_MAX_NUMBER + 1];

		if (p < end && *p == '.') {
			if (++p == end || !is_digit(*p)) {
				fail(ps, JSON_FAULT_SYNTAX, p);
				return -1;
			}
			while (p < end && is_digit(*p))
				p++;
		}
		if (p < end && (*p == 'e' || *p == 'E')) {
			if (++p < end && (*p == '+' || *p == '-'))
				p++;
			if (p == end || !is_digit(*p)) {
				fail(ps, JSON_FAULT_SYNTAX, p);
				return -1;
			}
			while (p < end && is_digit(*p))
				p++;
		}
		/* cJSON read no more than this; no fieldsync number
		 * comes near it. */
		if (p - start > JSON_MAX_NUMBER) {
			fail(ps, JSON_FAULT_SYNTAX, start + JSON_MAX_NUMBER);
			return -1;
		}
		memcpy(num, start, (size_t)(p - start));
		num[p - start] = '\0';
		d = strtod_c(num);	/* out of range: +-inf or 0, as cJSON */
	}
	item->type = cJSON_Number;
	item->valuedouble = d;
	if (d >= INT_MAX)
		item->valueint = INT_MAX;
	else if (d <= (double)INT_MIN)
		item->valueint = INT_MIN;
	else
		item->valueint = (int)d;
	*pp = p;
	return 0;
}

static cJSON *
new_item(struct parser *ps, const unsigned char *at)
{
	cJSON *item = ps->alloc(ps->arg, sizeof *item);

	if (item == NULL)
		return fail(ps, JSON_FAULT_NOMEM, at);
	memset(item, 0, sizeof *item);
	return item;
}

/* A new last child of parent, linked the way cJSON links children: the
 * first one's prev is the last one, the last one's next is NULL. */
static cJSON *
new_child(struct parser *ps, cJSON *parent, const unsigned char *at)
{
	cJSON *item = new_item(ps, at), *first = parent->child;

	if (item == NULL)
		return NULL;
	if (first == NULL) {
		parent->child = item;
		item->prev = item;
	} else {
		item->prev = first->prev;
		first->prev->next = item;
		first->prev = item;
	}
	return item;
}

static int
closer(const cJSON *container)
{
	return container->type == cJSON_Object ? '}' : ']';
}

static int
literal(const unsigned char **pp, const unsigned char *end, const char *word,
    size_t n)
{
	if ((size_t)(end - *pp) < n || memcmp(*pp, word, n) != 0)
		return 0;
	*pp += n;
	return 1;
}

cJSON *
json_parse(const char *text, size_t len, json_alloc_fn *alloc, void *arg,
    struct json_fault *fault)
{
	/* The open containers, innermost last; no recursion, so the depth
	 * limit is this array's size, not the stack's. */
	cJSON *open[JSON_MAX_DEPTH], *root, *item, *up;
	const unsigned char *p, *end;
	struct parser ps;
	int depth = 0;

	ps.text = (const unsigned char *)text;
	ps.end = end = ps.text + len;
	ps.alloc = alloc;
	ps.arg = arg;
	ps.fault = fault;
	fault->kind = JSON_FAULT_NONE;
	fault->at = 0;
	p = skip_blank(ps.text, end);
	if ((root = item = new_item(&ps, p)) == NULL)
		return NULL;

value:	/* item is new and linked in; p is at its first byte */
	if (p == end)
		return fail(&ps, JSON_FAULT_SYNTAX, p);
	switch (*p) {
	case '{':
	case '[':
		if (depth == JSON_MAX_DEPTH)
			return fail(&ps, JSON_FAULT_DEPTH, p);
		item->type = *p == '{' ? cJSON_Object : cJSON_Array;
		open[depth++] = up = item;
		p = skip_blank(p + 1, end);
		if (p < end && *p == closer(up)) {
			p++;
			depth--;
			goto next;
		}
		if ((item = new_child(&ps, up, p)) == NULL)
			return NULL;
		if (up->type == cJSON_Object)
			goto member;
		goto value;
	case '"':
		item->type = cJSON_String;
		if ((item->valuestring = parse_string(&ps, &p)) == NULL)
			return NULL;
		break;
	case 't':
		if (!literal(&p, end, "true", 4))
			return fail(&ps, JSON_FAULT_SYNTAX, p);
		item->type = cJSON_True;
		item->valueint = 1;	/* as cJSON has it */
		break;
	case 'f':
		if (!literal(&p, end, "false", 5))
			return fail(&ps, JSON_FAULT_SYNTAX, p);
		item->type = cJSON_False;
		break;
	case 'n':
		if (!literal(&p, end, "null", 4))
			return fail(&ps, JSON_FAULT_SYNTAX, p);
		item->type = cJSON_NULL;
		break;
	default:
		if (*p != '-' && !is_digit(*p))
			return fail(&ps, JSON_FAULT_SYNTAX, p);
		if (parse_number(&ps, &p, item) == -1)
			return NULL;
		break;
	}

next:	/* a value ended at p */
	if (depth == 0) {
		if ((p = skip_blank(p, end)) != end)
			return fail(&ps, JSON_FAULT_TRAILING, p);
		return root;
	}
	p = skip_blank(p, end);
	up = open[depth - 1];
	if (p < end && *p == ',') {
		p = skip_blank(p + 1, end);
		if ((item = new_child(&ps, up, p)) == NULL)
			return NULL;
		if (up->type == cJSON_Object)
			goto member;
		goto value;
	}
	if (p < end && *p == closer(up)) {
		p++;
		depth--;
		goto next;
	}
	return fail(&ps, JSON_FAULT_SYNTAX, p);

member:	/* item is new; p is at its key */
	if (p == end || *p != '"')
		return fail(&ps, JSON_FAULT_SYNTAX, p);
	if ((item->string = parse_string(&ps, &p)) == NULL)
		return NULL;
	p = skip_blank(p, end);
	if (p == end || *p != ':')
		return fail(&ps, JSON_FAULT_SYNTAX, p);
	p = skip_blank(p + 1, end);
	goto value;
}
