/* err.c - filling struct fs_err; see err.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int
fs_err_set(struct fs_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
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
