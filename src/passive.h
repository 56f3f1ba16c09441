/*
 * passive.h - the passive side of the sync protocol, without sockets.
 *
 * Each call takes the authenticated pairing name and a request body and
 * fills a response body, so the protocol is tested without HTTP; the
 * daemon's HTTP endpoint only routes to these.  Errors come back as
 * fs_err codes the endpoint maps to statuses: FS_EINVAL 400, FS_ECONFLICT
 * 409 (protocol version, hello needed, another instance), FS_ENOTFOUND
 * 403 (no such enabled passive pairing).  Nothing is written unless the
 * whole request is valid.
 */
#ifndef FS_PASSIVE_H
#define FS_PASSIVE_H

#include <stddef.h>

#include "buf.h"
#include "store.h"

int passive_hello(struct store *s, const char *pair, const char *body,
    size_t len, struct buf *out, struct fs_err *err);
int passive_exchange(struct store *s, const char *pair, const char *body,
    size_t len, struct buf *out, struct fs_err *err);
/*
 * A request that was valid but could not be applied here (a 5xx: the
 * app's own constraint refused a row, the disk is full): record it in the
 * pairing's state, own transaction, so this side's status turns red with
 * the reason too.  Bad input (4xx) changes nothing, state included.
 */
void passive_record_failure(struct store *s, const char *pair,
    const struct fs_err *e);

#endif
