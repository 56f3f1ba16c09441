/*
 * buf.h - a growable byte buffer with a hard cap.
 *
 * Anything whose size a peer or a user controls is collected in a buf
 * whose cap is set up front, so an oversized input fails cleanly instead
 * of exhausting memory.  The data is always NUL-terminated for
 * convenience; len does not count the terminator.
 */
#ifndef FS_BUF_H
#define FS_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;	/* allocated */
	size_t max;	/* hard limit on len; 0 means unlimited */
};

void buf_init(struct buf *b, size_t max);
/* Append; -1 when the cap would be exceeded or memory runs out. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addstr(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hand the data to the caller (who frees it); b is reset. */
/* Append a decimal integer (no printf: this sits in hot loops). */
int buf_add_i64(struct buf *b, int64_t v);
char *buf_steal(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
