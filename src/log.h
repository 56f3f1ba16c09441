/*
 * log.h - one line per event on stderr, for the daemon and the CLI.
 * Never pass a password, key, HA1 or Digest header to these.
 */
#ifndef FS_LOG_H
#define FS_LOG_H

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* With on, info lines are dropped (a benchmark's thousands of passes). */
void log_quiet(int on);

#endif
