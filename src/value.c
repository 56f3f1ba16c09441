/* value.c - SQLite values as display JSON and text; see value.h. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "util.h"
#include "value.h"

static cJSON *
text_json(const unsigned char *t, int n)
{
	char *copy;
	cJSON *j;

	/* cJSON would emit invalid UTF-8 as is; show a replacement instead. */
	if (utf8_valid((const char *)t, (size_t)n) &&
	    memchr(t, '\0', (size_t)n) == NULL)
		return cJSON_CreateString((const char *)t);
	copy = xmalloc((size_t)n * 3 + 1);
	{
		size_t o = 0;

		for (int i = 0; i < n; i++) {
			if (t[i] >= 0x20 && t[i] < 0x7f)
				copy[o++] = (char)t[i];
			else {
				memcpy(copy + o, "\xef\xbf\xbd", 3);
				o += 3;
			}
		}
		copy[o] = '\0';
	}
	j = cJSON_CreateString(copy);
	free(copy);
	return j;
}

/* A real as text that reads back bit for bit and never looks like an
 * integer ("1.0", not "1"). */
static void
real_text(double d, char num[64])
{
	snprintf(num, 64, "%.17g", d);
	if (strspn(num, "-0123456789") == strlen(num))
		strcat(num, ".0");
}

static cJSON *
any_json(int type, sqlite3_int64 i, double d, const unsigned char *t,
    const void *b, int n)
{
	char num[64];

	switch (type) {
	case SQLITE_INTEGER:
		snprintf(num, sizeof num, "%" PRId64, (int64_t)i);
		return cJSON_CreateRaw(num);
	case SQLITE_FLOAT:
		if (!isfinite(d))
			return cJSON_CreateString(d > 0 ? "Infinity" :
			    "-Infinity");
		real_text(d, num);
		return cJSON_CreateRaw(num);
	case SQLITE_TEXT:
		return text_json(t, n);
	case SQLITE_BLOB: {
		cJSON *o = cJSON_CreateObject();
		char *hex = xmalloc((size_t)n * 2 + 1);

		util_hex(b, (size_t)n, hex);
		cJSON_AddStringToObject(o, "blob", hex);
		free(hex);
		return o;
	}
	default:
		return cJSON_CreateNull();
	}
}

int
value_is_deleted(sqlite3_value *v)
{
	if (sqlite3_value_type(v) == SQLITE_NULL)
		return 0;
	return sqlite3_value_int64(v) != 0 || sqlite3_value_double(v) != 0.0;
}

cJSON *
value_to_json(sqlite3_value *v)
{
	int type = sqlite3_value_type(v);

	return any_json(type, sqlite3_value_int64(v), sqlite3_value_double(v),
	    type == SQLITE_TEXT ? sqlite3_value_text(v) : NULL,
	    type == SQLITE_BLOB ? sqlite3_value_blob(v) : NULL,
	    sqlite3_value_bytes(v));
}

cJSON *
value_column_json(sqlite3_stmt *st, int col)
{
	return value_to_json(sqlite3_column_value(st, col));
}

void
value_column_text(struct buf *out, sqlite3_stmt *st, int col, size_t max)
{
	int type = sqlite3_column_type(st, col);
	size_t n;

	switch (type) {
	case SQLITE_NULL:
		buf_addstr(out, "NULL");
		return;
	case SQLITE_INTEGER:
		buf_printf(out, "%" PRId64, (int64_t)sqlite3_column_int64(st, col));
		return;
	case SQLITE_FLOAT: {
		char num[64];

		real_text(sqlite3_column_double(st, col), num);
		buf_addstr(out, num);
		return;
	}
	case SQLITE_TEXT: {
		const unsigned char *t = sqlite3_column_text(st, col);
		size_t cut;

		n = (size_t)sqlite3_column_bytes(st, col);
		/* Cut on a character boundary, never inside a UTF-8 sequence. */
		cut = n < max ? n : max;
		if (cut < n)
			while (cut > 0 && (t[cut] & 0xc0) == 0x80)
				cut--;
		buf_addstr(out, "'");
		for (size_t i = 0; i < cut; i++) {
			if (t[i] == '\'')
				buf_addstr(out, "''");
			else if (t[i] < 0x20 || t[i] == 0x7f)
				buf_printf(out, "\\x%02x", t[i]);
			else
				buf_add(out, &t[i], 1);
		}
		buf_addstr(out, n > max ? "'..." : "'");
		return;
	}
	default: {
		const unsigned char *b = sqlite3_column_blob(st, col);
		char hex[3];

		n = (size_t)sqlite3_column_bytes(st, col);
		buf_addstr(out, "x'");
		for (size_t i = 0; i < n && i < max / 2; i++) {
			util_hex(&b[i], 1, hex);
			buf_addstr(out, hex);
		}
		buf_addstr(out, n > max / 2 ? "'..." : "'");
	}
	}
}

void
value_add_message(cJSON *arr, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(arr, cJSON_CreateString(msg));
}
