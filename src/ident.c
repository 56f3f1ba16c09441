/* ident.c - quoting and sanity checks for identifiers; see ident.h. */
#include "config.h"

#include <string.h>

#include "ident.h"
#include "util.h"

int
ident_quote(struct buf *b, const char *name)
{
	if (buf_add(b, "\"", 1) == -1)
		return -1;
	for (const char *p = name; *p; p++) {
		if (*p == '"' && buf_add(b, "\"", 1) == -1)
			return -1;
		if (buf_add(b, p, 1) == -1)
			return -1;
	}
	return buf_add(b, "\"", 1);
}

char *
ident_quoted(const char *name)
{
	struct buf b;

	buf_init(&b, 0);
	if (ident_quote(&b, name) == -1) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

int
ident_literal(struct buf *b, const char *name)
{
	if (buf_add(b, "'", 1) == -1)
		return -1;
	for (const char *p = name; *p; p++) {
		if (*p == '\'' && buf_add(b, "'", 1) == -1)
			return -1;
		if (buf_add(b, p, 1) == -1)
			return -1;
	}
	return buf_add(b, "'", 1);
}

int
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else
			return 0;
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

int
ident_plausible(const char *name)
{
	size_t n;

	if (name == NULL || (n = strlen(name)) == 0 || n > 255)
		return 0;
	if (!utf8_valid(name, n))
		return 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}
