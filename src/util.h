/*
 * util.h - small helpers every module uses: allocation that aborts on
 * exhaustion (there is nothing sensible to do then), random bytes, hex.
 */
#ifndef FS_UTIL_H
#define FS_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Fill p with n bytes from the kernel's CSPRNG; -1 on failure. */
int util_random(void *p, size_t n);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void util_hex(const unsigned char *p, size_t n, char *out);
/* Parse exactly 2n hex digits; -1 on anything else. */
int util_unhex(const char *s, unsigned char *out, size_t n);
/* Milliseconds since the epoch, wall clock. */
int64_t util_now_ms(void);
/* Strict decimal parse of a whole string into [min, max]; -1 otherwise. */
int util_parse_int(const char *s, long long min, long long max,
    long long *out);
/* Read a whole small file (capped at max bytes); malloc'd, NUL-terminated. */
char *util_read_file(const char *path, size_t max, size_t *len);

#endif
