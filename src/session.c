/*
 * session.c - UI sessions in memory and the login brake; see session.h.
 *
 * Lookups compare SHA-256 hashes of tokens in constant time and visit
 * every slot, so the time a lookup takes says nothing about how much of
 * a guessed token was right.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "server-int.h"
#include "session.h"
#include "util.h"

struct session {
	unsigned char hash[32];	/* SHA-256 of the token's hex text */
	char csrf[FS_SESSION_HEX];
	int64_t opened, used;	/* ms, monotonic; opened 0 = free slot */
};

struct session_table {
	struct session s[FS_SESSION_MAX];
	struct server_throttle *brake;
	/* The last wrong passwords from anywhere: a ring, oldest at next. */
	int64_t fails[FS_LOGIN_FAILS_MAX];
	int next;
};

struct session_table *
session_table_new(void)
{
	struct session_table *t = xcalloc(1, sizeof *t);

	t->brake = server_throttle_new();
	return t;
}

void
session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	server_throttle_free(t->brake);
	explicit_bzero(t->s, sizeof t->s);
	free(t);
}

static int
expired(const struct session *s, int64_t now)
{
	return s->opened == 0 || now - s->used > FS_SESSION_IDLE_S * 1000LL ||
	    now - s->opened > FS_SESSION_LIFE_S * 1000LL;
}

int
session_open(struct session_table *t, int64_t now, char token[FS_SESSION_HEX],
    char csrf[FS_SESSION_HEX])
{
	unsigned char raw[32];
	struct session *slot = NULL;

	/* A free or expired slot, else the least recently used one. */
	for (int i = 0; i < FS_SESSION_MAX; i++) {
		struct session *s = &t->s[i];

		if (expired(s, now)) {
			slot = s;
			break;
		}
		if (slot == NULL || s->used < slot->used)
			slot = s;
	}
	if (util_random(raw, sizeof raw) == -1)
		return -1;
	util_hex(raw, sizeof raw, token);
	if (util_random(raw, sizeof raw) == -1)
		return -1;
	util_hex(raw, sizeof raw, csrf);
	explicit_bzero(raw, sizeof raw);
	memset(slot, 0, sizeof *slot);
	secret_sha256(token, strlen(token), slot->hash);
	memcpy(slot->csrf, csrf, FS_SESSION_HEX);
	slot->opened = slot->used = now > 0 ? now : 1;
	return 0;
}

/* The slot of token, or NULL; constant time over the table. */
static struct session *
lookup(struct session_table *t, const char *token)
{
	unsigned char h[32];
	struct session *found = NULL;

	if (token == NULL || strlen(token) != FS_SESSION_HEX - 1)
		return NULL;
	secret_sha256(token, FS_SESSION_HEX - 1, h);
	for (int i = 0; i < FS_SESSION_MAX; i++) {
		unsigned char d = 0;

		for (int k = 0; k < 32; k++)
			d |= (unsigned char)(t->s[i].hash[k] ^ h[k]);
		if (d == 0 && t->s[i].opened != 0)
			found = &t->s[i];
	}
	return found;
}

int
session_find(struct session_table *t, const char *token, int64_t now,
    char csrf[FS_SESSION_HEX], int64_t *left_s)
{
	struct session *s = lookup(t, token);
	int64_t idle, life;

	if (s == NULL)
		return -1;
	if (expired(s, now)) {
		memset(s, 0, sizeof *s);
		return -1;
	}
	s->used = now;
	memcpy(csrf, s->csrf, FS_SESSION_HEX);
	if (left_s != NULL) {
		idle = FS_SESSION_IDLE_S;
		life = FS_SESSION_LIFE_S - (now - s->opened) / 1000;
		*left_s = idle < life ? idle : life;
	}
	return 0;
}

void
session_close_all(struct session_table *t)
{
	for (int i = 0; i < FS_SESSION_MAX; i++)
		memset(&t->s[i], 0, sizeof t->s[i]);
}

void
session_close(struct session_table *t, const char *token)
{
	struct session *s = lookup(t, token);

	if (s != NULL)
		memset(s, 0, sizeof *s);
}

int
session_csrf_ok(const char csrf[FS_SESSION_HEX], const char *header)
{
	if (header == NULL || csrf[0] == '\0')
		return 0;
	return secret_equal(csrf, header);
}

int64_t
session_login_wait(struct session_table *t, const char *addr, int64_t now)
{
	return server_throttle_wait(t->brake, addr, now);
}

int64_t
session_login_busy(struct session_table *t, int64_t now)
{
	int64_t oldest = t->fails[t->next];

	if (oldest == 0 || now - oldest >= FS_LOGIN_FAILS_WINDOW_MS)
		return 0;
	return oldest + FS_LOGIN_FAILS_WINDOW_MS - now;
}

int64_t
session_login_failed(struct session_table *t, const char *addr, int64_t now)
{
	t->fails[t->next] = now > 0 ? now : 1;
	t->next = (t->next + 1) % FS_LOGIN_FAILS_MAX;
	return server_throttle_fail(t->brake, addr, now);
}

void
session_login_ok(struct session_table *t, const char *addr)
{
	server_throttle_ok(t->brake, addr);
}
