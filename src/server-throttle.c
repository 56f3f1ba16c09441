/*
 * server-throttle.c - slowing down password guessing per client address.
 *
 * Each key that failed Digest auth has an entry: how many failures in a
 * row, and until when it must wait.  The server keys a wrong key for a
 * known user by address and user, and an unknown user by address alone:
 * a branch with a stale password does not lock out the other branches
 * behind the same address, while names tried at random still count
 * against the address.  The first FS_AUTH_FREE_FAILURES
 * failures cost nothing; from then on every failure blocks the address
 * for a window that starts at one second and doubles up to
 * THROTTLE_MAX_MS.  While blocked, the server answers 429 at once, so the
 * single server thread never sleeps and other clients are not slowed.
 * A success, or an hour without failures, forgets the address.
 *
 * The table is bounded (THROTTLE_SLOTS); when it is full the entry seen
 * least recently is reused, so an attacker with many addresses can only
 * forget his own oldest entries' penalties, never grow memory.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "server-int.h"
#include "util.h"

#define THROTTLE_SLOTS 1024
#define THROTTLE_BASE_MS 1000
#define THROTTLE_MAX_MS (15 * 60 * 1000)
#define THROTTLE_FORGET_MS (60 * 60 * 1000)

#define THROTTLE_KEY_MAX (FS_ADDR_MAX + 80)	/* address, space, user */

struct throttle_entry {
	char addr[THROTTLE_KEY_MAX];	/* the key; "" = free */
	unsigned int failures;
	int64_t until;		/* blocked before this time */
	int64_t last;		/* last failure */
};

struct server_throttle {
	struct throttle_entry e[THROTTLE_SLOTS];
};

int64_t
server_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct server_throttle *
server_throttle_new(void)
{
	return xcalloc(1, sizeof(struct server_throttle));
}

void
server_throttle_free(struct server_throttle *t)
{
	free(t);
}

static struct throttle_entry *
throttle_find(struct server_throttle *t, const char *addr, int64_t now)
{
	for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
		struct throttle_entry *e = &t->e[i];

		if (e->addr[0] == '\0' || strcmp(e->addr, addr) != 0)
			continue;
		if (now >= e->until && now - e->last > THROTTLE_FORGET_MS) {
			memset(e, 0, sizeof *e);
			return NULL;
		}
		return e;
	}
	return NULL;
}

int64_t
server_throttle_wait(struct server_throttle *t, const char *addr, int64_t now)
{
	struct throttle_entry *e = throttle_find(t, addr, now);

	if (e == NULL || now >= e->until)
		return 0;
	return e->until - now;
}

int64_t
server_throttle_fail(struct server_throttle *t, const char *addr, int64_t now)
{
	struct throttle_entry *e = throttle_find(t, addr, now), *old = NULL;
	int64_t win;
	unsigned int shift;

	if (e == NULL) {
		for (size_t i = 0; i < THROTTLE_SLOTS && e == NULL; i++) {
			if (t->e[i].addr[0] == '\0')
				e = &t->e[i];
			else if (old == NULL || t->e[i].last < old->last)
				old = &t->e[i];
		}
		if (e == NULL)
			e = old;
		memset(e, 0, sizeof *e);
		snprintf(e->addr, sizeof e->addr, "%s", addr);
	}
	e->failures++;
	e->last = now;
	if (e->failures < FS_AUTH_FREE_FAILURES)
		return 0;
	shift = e->failures - FS_AUTH_FREE_FAILURES;
	win = THROTTLE_MAX_MS;
	if (shift < 20 &&
	    ((int64_t)THROTTLE_BASE_MS << shift) < THROTTLE_MAX_MS)
		win = (int64_t)THROTTLE_BASE_MS << shift;
	e->until = now + win;
	return win;
}

void
server_throttle_ok(struct server_throttle *t, const char *addr)
{
	for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
		if (t->e[i].addr[0] != '\0' &&
		    strcmp(t->e[i].addr, addr) == 0) {
			memset(&t->e[i], 0, sizeof t->e[i]);
			return;
		}
	}
}
