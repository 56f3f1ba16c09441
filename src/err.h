/*
 * err.h - how the core reports failure.
 *
 * A core function that can fail returns -1 (or NULL) and fills the
 * struct fs_err its caller passed in.  Only the edges (the CLI, the HTTP
 * handlers) turn it into output, exactly once.  The code tells an edge
 * which exit status or HTTP status fits; the message is one line meant
 * for a person and never contains a secret.
 */
#ifndef FS_ERR_H
#define FS_ERR_H

#include <stddef.h>

enum fs_errcode {
	FS_OK = 0,
	FS_EINVAL,	/* bad input from the user or a peer */
	FS_ENOTFOUND,	/* named thing does not exist */
	FS_EEXIST,	/* named thing already exists */
	FS_EDB,		/* SQLite failed */
	FS_EIO,		/* file or system call failed */
	FS_ESCHEMA,	/* database not initialised or too new */
	FS_EAUTH,	/* authentication refused */
	FS_ENET,	/* peer unreachable */
	FS_EPROTO,	/* peer spoke something we do not understand */
	FS_EBUSY,	/* someone else holds the lock */
	FS_ECONFLICT,	/* state does not allow it */
	FS_EAGAIN_HELLO	/* peer asks for a hello first */
};

struct fs_err {
	int code;
	char msg[512];
};

/* Fill err (if not NULL) and return -1, so callers can "return fs_err_set(...)". */
int fs_err_set(struct fs_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fs_err_clear(struct fs_err *err);
/*
 * Copy src to dst (n bytes, always terminated, truncated if need be) with
 * control characters escaped (\n, \t, \r, \xHH), so text that came
 * from a user or a peer keeps an error message on one line.
 */
void fs_err_oneline(char *dst, size_t n, const char *src);

#endif
