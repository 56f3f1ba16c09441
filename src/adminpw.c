/*
 * adminpw.c - hashing and checking the UI admin password; see adminpw.h.
 *
 * The hash is PBKDF2-HMAC-SHA256 with a 16-byte random salt.  A check
 * costs one derivation (about 0.1 s) in the caller's thread; the session
 * module limits how often one client address may pay that.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "adminpw.h"
#include "ident.h"
#include "secret.h"
#include "util.h"

#define META_KEY "ui_password"
#define SCHEME "pbkdf2-sha256"
#define SALT_LEN 16
#define HASH_LEN 32

static int
derive(const char *password, const unsigned char *salt, size_t saltlen,
    unsigned int rounds, unsigned char out[HASH_LEN], struct fs_err *err)
{
	gnutls_datum_t key = { (unsigned char *)password,
	    (unsigned int)strlen(password) };
	gnutls_datum_t sd = { (unsigned char *)salt, (unsigned int)saltlen };

	if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &sd, rounds, out,
	    HASH_LEN) != 0)
		return fs_err_set(err, FS_EIO, "password hashing failed");
	return 0;
}

int
adminpw_valid(const char *password, struct fs_err *err)
{
	size_t n = password ? strlen(password) : 0;

	if (n < FS_ADMINPW_MIN)
		return fs_err_set(err, FS_EINVAL, "the admin password must "
		    "have at least %d characters", FS_ADMINPW_MIN);
	if (n > FS_ADMINPW_MAX)
		return fs_err_set(err, FS_EINVAL, "the admin password must "
		    "have at most %d characters", FS_ADMINPW_MAX);
	if (!utf8_valid(password, n))
		return fs_err_set(err, FS_EINVAL, "the admin password is not "
		    "valid UTF-8");
	return 0;
}

int
adminpw_set(struct store *s, const char *password, struct fs_err *err)
{
	unsigned char salt[SALT_LEN], hash[HASH_LEN];
	char salthex[2 * SALT_LEN + 1], hashhex[2 * HASH_LEN + 1];
	char stored[sizeof SCHEME + 16 + sizeof salthex + sizeof hashhex];
	int ret = -1, own_tx = !s->in_tx;

	if (store_check_ready(s, err) == -1 ||
	    adminpw_valid(password, err) == -1)
		return -1;
	if (util_random(salt, sizeof salt) == -1)
		return fs_err_set(err, FS_EIO, "cannot get random bytes");
	if (derive(password, salt, sizeof salt, FS_ADMINPW_ROUNDS, hash,
	    err) == -1)
		goto out;
	util_hex(salt, sizeof salt, salthex);
	util_hex(hash, sizeof hash, hashhex);
	snprintf(stored, sizeof stored, "%s$%d$%s$%s", SCHEME,
	    FS_ADMINPW_ROUNDS, salthex, hashhex);
	if (own_tx && store_begin(s, err) == -1)
		goto out;
	if (store_meta_set(s, META_KEY, stored, err) == -1) {
		if (own_tx)
			store_rollback(s);
		goto out;
	}
	ret = own_tx ? store_commit(s, err) : 0;
out:
	explicit_bzero(hash, sizeof hash);
	explicit_bzero(hashhex, sizeof hashhex);
	explicit_bzero(stored, sizeof stored);
	return ret;
}

int
adminpw_check(struct store *s, const char *password, struct fs_err *err)
{
	unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
	char *stored, *p, *q;
	long long rounds;
	unsigned char d = 0;
	int ret = -1;

	if ((stored = store_meta_get(s, META_KEY, NULL)) == NULL)
		return fs_err_set(err, FS_ENOTFOUND, "no admin password is "
		    "set: run 'fieldsync passwd' on the server");
	/* SCHEME$ROUNDS$SALT$HASH */
	p = stored;
	if (strncmp(p, SCHEME "$", sizeof SCHEME) != 0)
		goto bad;
	p += sizeof SCHEME;
	if ((q = strchr(p, '$')) == NULL)
		goto bad;
	*q = '\0';
	if (util_parse_int(p, 1000, 100000000, &rounds) == -1)
		goto bad;
	p = q + 1;
	if ((q = strchr(p, '$')) == NULL)
		goto bad;
	*q = '\0';
	if (util_unhex(p, salt, sizeof salt) == -1 ||
	    util_unhex(q + 1, want, sizeof want) == -1)
		goto bad;
	/* A password of any length is hashed: same cost either way. */
	if (derive(password ? password : "", salt, sizeof salt,
	    (unsigned int)rounds, got, err) == -1)
		goto out;
	for (size_t i = 0; i < HASH_LEN; i++)
		d |= (unsigned char)(want[i] ^ got[i]);
	ret = d == 0;
	goto out;
bad:
	fs_err_set(err, FS_EIO, "the stored admin password hash is damaged: "
	    "set it again with 'fieldsync passwd'");
out:
	explicit_bzero(want, sizeof want);
	explicit_bzero(got, sizeof got);
	secret_free(stored);
	return ret;
}

void
adminpw_tag(struct store *s, unsigned char tag[32])
{
	char *v = store_meta_get(s, META_KEY, NULL);

	memset(tag, 0, 32);
	if (v != NULL)
		secret_sha256(v, strlen(v), tag);
	secret_free(v);
}

int
adminpw_is_set(struct store *s)
{
	char *v = store_meta_get(s, META_KEY, NULL);
	int set = v != NULL;

	secret_free(v);
	return set;
}
