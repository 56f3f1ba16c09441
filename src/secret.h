/*
 * secret.h - pairing passwords, from file to what is stored.
 *
 * The clear password never leaves the process that read it, is never
 * stored and never crosses the wire.  Both sides derive the same key
 * from it (PBKDF2-SHA256, fixed salt and rounds: part of protocol v1).
 * The active stores the key and hands it to libcurl as the Digest
 * password; the passive stores only the Digest SHA-256 HA1 of that key
 * (SHA-256 of "user:realm:key"), which is what libmicrohttpd checks.
 */
#ifndef FS_SECRET_H
#define FS_SECRET_H

#include <stddef.h>

#include "err.h"

#define FS_REALM "fieldsync"
#define FS_KEY_HEX 65	/* 64 hex digits and NUL */

/* Read a password file: first line, at most 1 KiB, not empty. malloc'd. */
char *secret_read_file(const char *path, struct fs_err *err);
/* Derive the shared key (64 hex digits) from a password. */
int secret_derive_key(const char *password, char out[FS_KEY_HEX],
    struct fs_err *err);
/* HA1 = SHA-256(user ":" realm ":" key), as 64 hex digits. */
int secret_ha1(const char *user, const char *key, char out[FS_KEY_HEX],
    struct fs_err *err);
/* SHA-256 of data into out[32]. */
int secret_sha256(const void *data, size_t len, unsigned char out[32]);
/* Compare two equal-length strings in constant time. */
int secret_equal(const char *a, const char *b);
/* Overwrite then free a secret string. */
void secret_free(char *s);

#endif
