/*
 * merge-dupkeys.c - match keys the sender holds more than once.
 *
 * On a first sync a record is linked to the local row with the same
 * --match key.  When the sender has two records with that key, linking
 * the one that happens to come first would be a guess: so before a batch
 * is applied its match keys are counted, and a key that comes twice
 * matches nothing (the records are created, and the ambiguity counted).
 * A duplicate in a later batch is caught by merge_find_match instead.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "merge-int.h"
#include "util.h"

/* r's match key as a string (table, then each value typed), or NULL. */
char *
merge_match_key(const struct inrec *r)
{
	const struct synctable *t = r->table;
	struct buf b;

	if (t == NULL || t->match == NULL || t->match[0] == NULL)
		return NULL;
	buf_init(&b, 0);
	buf_printf(&b, "%lld", (long long)t->tid);
	for (int k = 0; t->match[k] != NULL; k++) {
		const struct infield *v = merge_in_column(r, t->match[k]);

		if (v == NULL || v->v.type == SQLITE_NULL) {
			buf_free(&b);
			return NULL;	/* no key: never matched */
		}
		buf_printf(&b, "|%d:", v->v.type);
		if (v->v.type == SQLITE_INTEGER)
			buf_printf(&b, "%lld", (long long)v->v.i);
		else if (v->v.type == SQLITE_FLOAT)
			buf_printf(&b, "%a", v->v.d);
		else
			for (size_t i = 0; i < v->v.n; i++)
				buf_printf(&b, "%02x",
				    (unsigned char)v->v.p[i]);
	}
	return b.data;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
merge_dupkeys_free(struct merge_ctx *c)
{
	for (int i = 0; i < c->ndupkeys; i++)
		free(c->dupkeys[i]);
	free(c->dupkeys);
	c->dupkeys = NULL;
	c->ndupkeys = 0;
}

int
merge_dupkeys_build(struct merge_ctx *c, const cJSON *changes,
    const int64_t *ids, int nids, struct fs_err *err)
{
	const cJSON *rec;
	char **keys = NULL;
	int n = 0, cap = 0, keyed = 0;

	c->dupkeys = NULL;
	c->ndupkeys = 0;
	for (int i = 0; i < c->m->ntables; i++)
		keyed |= c->m->tables[i].match != NULL &&
		    c->m->tables[i].match[0] != NULL;
	if (!c->matching || !keyed)
		return 0;
	cJSON_ArrayForEach(rec, changes) {
		struct inrec r;
		char *k;

		if (merge_decode_record(c, rec, ids, nids, &r, err) == -1) {
			merge_inrec_free(&r);
			for (int i = 0; i < n; i++)
				free(keys[i]);
			free(keys);
			return -1;
		}
		k = merge_match_key(&r);
		merge_inrec_free(&r);
		if (k == NULL)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			keys = xrealloc(keys, (size_t)cap * sizeof *keys);
		}
		keys[n++] = k;
	}
	if (n > 1)
		qsort(keys, (size_t)n, sizeof *keys, cmp_str);
	/* Keep one copy of each key that comes twice or more. */
	for (int i = 0; i < n; i++) {
		if (i + 1 < n && strcmp(keys[i], keys[i + 1]) == 0 &&
		    (c->ndupkeys == 0 || strcmp(c->dupkeys[c->ndupkeys - 1],
		    keys[i]) != 0)) {
			c->dupkeys = xrealloc(c->dupkeys,
			    (size_t)(c->ndupkeys + 1) * sizeof *c->dupkeys);
			c->dupkeys[c->ndupkeys++] = keys[i];
		} else
			free(keys[i]);
	}
	free(keys);
	return 0;
}

int
merge_dupkey(const struct merge_ctx *c, const struct inrec *r)
{
	char *k;
	int found;

	if (c->ndupkeys == 0 || (k = merge_match_key(r)) == NULL)
		return 0;
	found = bsearch(&k, c->dupkeys, (size_t)c->ndupkeys,
	    sizeof *c->dupkeys, cmp_str) != NULL;
	free(k);
	return found;
}
