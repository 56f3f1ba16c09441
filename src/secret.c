/* secret.c - password files, key derivation, HA1; see secret.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "secret.h"
#include "util.h"

#define KDF_SALT "fieldsync-pairing-v1"
#define KDF_ROUNDS 20000

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

char *
secret_read_file(const char *path, struct fs_err *err)
{
	struct stat sb;
	char *p;
	size_t n;

	if (path == NULL) {
		fs_err_set(err, FS_EINVAL, "a password file is required "
		    "(--password-file F)");
		return NULL;
	}
	/* A file that cannot be read failed (exit 1); a bad one is bad input. */
	if (stat(path, &sb) == -1) {
		fs_err_set(err, FS_EIO, "cannot read password file %s: %s",
		    path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		fs_err_set(err, FS_EIO, "cannot read password file %s: not "
		    "a regular file", path);
		return NULL;
	}
	if ((p = util_read_file(path, 1024, &n)) == NULL) {
		fs_err_set(err, errno == EFBIG ? FS_EINVAL : FS_EIO,
		    "cannot read password file %s: %s", path, errno == EFBIG ?
		    "longer than 1 KiB" : strerror(errno));
		return NULL;
	}
	/* The first line is the password, so "echo pw > f" works. */
	{
		size_t line = 0;

		while (line < n && p[line] != '\n' && p[line] != '\r')
			line++;
		if (memchr(p, '\0', line) != NULL) {
			secret_free(p);
			fs_err_set(err, FS_EINVAL, "password file %s is not "
			    "text", path);
			return NULL;
		}
		p[line] = '\0';
	}
	if (*p == '\0') {
		secret_free(p);
		fs_err_set(err, FS_EINVAL, "password file %s is empty", path);
		return NULL;
	}
	return p;
}

int
secret_sha256(const void *data, size_t len, unsigned char out[32])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0 ?
	    0 : -1;
}

int
secret_derive_key(const char *password, char out[FS_KEY_HEX],
    struct fs_err *err)
{
	gnutls_datum_t key = { (unsigned char *)password,
	    (unsigned int)strlen(password) };
	gnutls_datum_t salt = { (unsigned char *)KDF_SALT,
	    (unsigned int)strlen(KDF_SALT) };
	unsigned char k[32];

	if (gnutls_pbkdf2(GNUTLS_MAC_SHA256, &key, &salt, KDF_ROUNDS, k,
	    sizeof k) != 0)
		return fs_err_set(err, FS_EIO, "key derivation failed");
	util_hex(k, sizeof k, out);
	explicit_bzero(k, sizeof k);
	return 0;
}

int
secret_ha1(const char *user, const char *key, char out[FS_KEY_HEX],
    struct fs_err *err)
{
	size_t n = strlen(user) + strlen(FS_REALM) + strlen(key) + 3;
	char *in = xmalloc(n);
	unsigned char h[32];
	int ret = 0;

	snprintf(in, n, "%s:%s:%s", user, FS_REALM, key);
	if (secret_sha256(in, strlen(in), h) == -1)
		ret = fs_err_set(err, FS_EIO, "hash failed");
	else
		util_hex(h, sizeof h, out);
	explicit_bzero(in, n);
	free(in);
	return ret;
}

int
secret_equal(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char d = 0;

	if (n != strlen(b))
		return 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}
