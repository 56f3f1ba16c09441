/*
 * instance.h - turning an app database into a fieldsync instance.
 *
 * init adds the state tables (running migrations from sql/), gives the
 * instance a random 128-bit identity and a name, and switches the file to
 * WAL so the app and fieldsync can read while the other writes.  Running
 * it again is harmless: it only migrates and, if asked, renames.
 */
#ifndef FS_INSTANCE_H
#define FS_INSTANCE_H

#include <cjson/cJSON.h>

#include "store.h"

/* name may be NULL: keep the current one, or use the file's base name. */
int instance_init(struct store *s, const char *name, int *created,
    struct fs_err *err);
/*
 * Give an instance a new identity, for a copy of another instance's
 * database: what it holds from before was made by the instance it is a
 * copy of, and is kept as that instance's (its old identity becomes an
 * origin like any peer's), so the two can be paired and converge.
 * Records created from now on get sync identities of the new prefix.
 */
int instance_new_identity(struct store *s, struct fs_err *err);
/* -1 with the way out when a peer has our own identity (own: ours). */
int instance_check_peer(const char *own, const char *peer, const char *who,
    struct fs_err *err);
/* {instance, name, schema_version, database} */
cJSON *instance_info(struct store *s, struct fs_err *err);

#endif
