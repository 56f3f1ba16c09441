/*
 * adminpw.h - the web UI's admin password.
 *
 * One password guards the UI of an instance.  Only a salted PBKDF2-SHA256
 * hash of it is kept, in _fs_meta under the key "ui_password", written as
 * "pbkdf2-sha256$ROUNDS$SALTHEX$HASHHEX" so the round count can grow
 * later without breaking stored hashes.  The clear password is never
 * stored, logged or returned.  Sessions and throttling of logins are the
 * session module's business, not this one's.
 */
#ifndef FS_ADMINPW_H
#define FS_ADMINPW_H

#include "store.h"

#define FS_ADMINPW_MIN 8	/* shortest password accepted */
#define FS_ADMINPW_MAX 1024	/* longest */
#define FS_ADMINPW_ROUNDS 100000

/* Hash and store password (own transaction unless one is open). */
int adminpw_set(struct store *s, const char *password, struct fs_err *err);
/*
 * 1 when password is the stored one, 0 when it is not, -1 with err when
 * no password is set (FS_ENOTFOUND) or the check failed.  Takes the same
 * time whether the password is right or wrong.
 */
int adminpw_check(struct store *s, const char *password, struct fs_err *err);
/* Whether a password is set (0 on any error). */
int adminpw_is_set(struct store *s);
/*
 * A fingerprint of the stored hash (all zero when none is set), which
 * changes whenever the password is set again, even to the same one.
 */
void adminpw_tag(struct store *s, unsigned char tag[32]);
/* Length and content rules; 0 or -1 with a message for the user. */
int adminpw_valid(const char *password, struct fs_err *err);

#endif
