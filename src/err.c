/* err.c - filling struct fs_err; see err.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void
fs_err_oneline(char *dst, size_t n, const char *src)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	if (n == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char esc[5];
		size_t k = 0;

		if (*p >= 0x20 && *p != 0x7f)
			esc[k++] = (char)*p;
		else {
			esc[k++] = '\\';
			if (*p == '\n')
				esc[k++] = 'n';
			else if (*p == '\t')
				esc[k++] = 't';
			else if (*p == '\r')
				esc[k++] = 'r';
			else {
				esc[k++] = 'x';
				esc[k++] = digits[*p >> 4];
				esc[k++] = digits[*p & 15];
			}
		}
		if (o + k >= n)
			break;
		memcpy(dst + o, esc, k);
		o += k;
	}
	dst[o] = '\0';
}

int
fs_err_set(struct fs_err *err, int code, const char *fmt, ...)
{
	char msg[sizeof err->msg];
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Names from users and peers must not split the one-line message. */
	fs_err_oneline(err->msg, sizeof err->msg, msg);
	return -1;
}

void
fs_err_clear(struct fs_err *err)
{
	if (err == NULL)
		return;
	err->code = FS_OK;
	err->msg[0] = '\0';
}
