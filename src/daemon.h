/*
 * daemon.h - "fieldsync serve": the HTTP server (sync endpoint, the web
 * UI and its API) plus the loop that runs every enabled active pairing
 * each interval, backing off while a peer is unreachable, and the
 * passes and connection tests the UI asks for (see jobs.h).
 *
 * SIGINT and SIGTERM stop it cleanly: the current pass finishes its
 * transaction or rolls back, the server stops, the process exits 0.
 */
#ifndef FS_DAEMON_H
#define FS_DAEMON_H

#include "err.h"

struct daemon_opts {
	const char *db;
	const char *listen;	/* default 127.0.0.1:8080 */
	const char *tls_cert;
	const char *tls_key;
	int no_ui;		/* serve only /sync/: no web UI, no /api/ */
};

#define FS_DEFAULT_LISTEN "127.0.0.1:8080"
#define FS_MAX_BACKOFF_S 300

int daemon_run(const struct daemon_opts *o, struct fs_err *err);

#endif
