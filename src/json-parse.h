/*
 * json-parse.h - the strict one-pass JSON parser for wire bodies.
 *
 * It exists for speed and strictness.  cJSON's parser needed three
 * checking passes in front of it (UTF-8, NUL bytes, and escaped NULs,
 * at which it would cut a string), went through localeconv() and
 * strtod() for every number and allocated node by node; on a large sync
 * that was a sixth of the receiving side's time.  It also takes more
 * than RFC 8259 allows: leading zeros, "1.", control characters in
 * strings, a byte order mark, any byte up to space as blank space.
 *
 * json_parse takes RFC 8259 JSON text and nothing else, checks
 * everything on the way through, once: UTF-8 (no overlong forms, no
 * encoded surrogates, nothing above U+10FFFF), no NUL byte and no
 * \u0000, no lone surrogate escape, nesting at most JSON_MAX_DEPTH
 * levels (cJSON's limit), numbers of at most JSON_MAX_NUMBER characters
 * (cJSON's limit too), and nothing but blank space after the value.
 * The tree it builds is what cJSON would build from the same text (same
 * types, values, keys, order and list links), so all of cJSON's
 * accessors work on it; every byte of it comes from the caller's
 * allocator.
 */
#ifndef FS_JSON_PARSE_H
#define FS_JSON_PARSE_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Containers nested, the top one included; bytes of one number. */
#define JSON_MAX_DEPTH CJSON_NESTING_LIMIT
#define JSON_MAX_NUMBER 63

/* Why a text was refused, and where: the first fault in text order. */
enum json_fault_kind {
	JSON_FAULT_NONE = 0,
	JSON_FAULT_SYNTAX,	/* not JSON, lone surrogate escapes included */
	JSON_FAULT_DEPTH,	/* nested deeper than JSON_MAX_DEPTH */
	JSON_FAULT_UTF8,	/* in a string: not UTF-8, or a NUL byte */
	JSON_FAULT_NUL_ESCAPE,	/* \u0000 in a string */
	JSON_FAULT_TRAILING,	/* more than blank space after the value */
	JSON_FAULT_NOMEM	/* the allocator returned NULL */
};

struct json_fault {
	enum json_fault_kind kind;
	size_t at;		/* byte offset in the text */
};

/*
 * n bytes (never 0) aligned for any type, from memory that the caller
 * releases as a whole: the parser never frees, not even when it fails.
 */
typedef void *json_alloc_fn(void *arg, size_t n);

/* The tree, or NULL with *fault filled in. */
cJSON *json_parse(const char *text, size_t len, json_alloc_fn *alloc,
    void *arg, struct json_fault *fault);

#endif
