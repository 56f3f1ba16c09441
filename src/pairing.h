/*
 * pairing.h - named links from this instance to its peers (configuration).
 *
 * A pairing has a role (active: this side polls; passive: this side
 * serves), a transport (http), the peer URL on the active side, the
 * stored secret (see secret.h), an interval, a conflict policy, what a
 * hard delete becomes on the peer, and whether it is enabled.  The
 * passive side's pairing name is the user name the active presents.
 */
#ifndef FS_PAIRING_H
#define FS_PAIRING_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store.h"

#define FS_DEFAULT_INTERVAL 60

struct pairing {
	int64_t pid;
	char *name;
	char *role;		/* "active" or "passive" */
	char *transport;
	char *url;		/* active only */
	char *secret;		/* active: derived key; passive: HA1 */
	int interval;
	char *policy;		/* newest, active, passive */
	int enabled;
	char *deletes;		/* soft, hard */
	char *ca_file;
};

/*
 * password is the clear password, already read from its file.  Runs in
 * its own transaction, or in the caller's when one is open.
 */
int pairing_add(struct store *s, const char *name, const char *role,
    const char *url, const char *password, int interval, struct fs_err *err);
int pairing_remove(struct store *s, const char *name, struct fs_err *err);
/* KEY is one of interval, policy, enabled, url, deletes, ca-file. */
int pairing_set(struct store *s, const char *name, const char *key,
    const char *value, struct fs_err *err);
/* Replace the stored secret from a new password. */
int pairing_set_password(struct store *s, const char *name,
    const char *password, struct fs_err *err);
struct pairing *pairing_get(struct store *s, const char *name,
    struct fs_err *err);
struct pairing *pairing_get_pid(struct store *s, int64_t pid,
    struct fs_err *err);
void pairing_free(struct pairing *p);
/* Names of all pairings, NULL-terminated (free with appschema_strv_free). */
char **pairing_names(struct store *s, struct fs_err *err);
/* A pairing as JSON, without its secret. */
cJSON *pairing_json(const struct pairing *p);
cJSON *pairing_list(struct store *s, struct fs_err *err);
/* Pairing name rules: 1-64 of [A-Za-z0-9._-], not starting with '-' or '.'. */
int pairing_name_valid(const char *name);
/* Keys accepted by pairing_set, NULL-terminated (for help and checks). */
extern const char *const pairing_keys[];

#endif
