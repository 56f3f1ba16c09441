/* log.c - timestamped event lines on stderr; see log.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "store.h"

static int quiet;

void
log_quiet(int on)
{
	quiet = on;
}

static void
vlog(const char *level, const char *fmt, va_list ap)
{
	char now[64], line[2048];

	store_now_iso(now);
	vsnprintf(line, sizeof line, fmt, ap);
	/*
	 * A message may quote what a peer sent: a control character in it
	 * must not start a line of its own that looks like ours.
	 */
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	/* One write per line so lines from two threads never interleave. */
	fprintf(stderr, "%s %s %s\n", now, level, line);
	fflush(stderr);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warn", fmt, ap);
	va_end(ap);
}
