/*
 * peermap.c - the peer's catalogue beside our map; see peermap.h.
 *
 * Everything is computed from three lists the core already gives:
 * fieldmap_list (our map), catalog_fields_json (our enrolled fields) and
 * the peer's published catalogue (pairstate_peer_catalog).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "fieldmap.h"
#include "pairing.h"
#include "pairstate.h"
#include "peermap.h"
#include "util.h"
#include "value.h"

const char *
peermap_affinity(const char *t)
{
	char up[256];
	size_t i;

	if (t == NULL || *t == '\0')
		return "BLOB";
	for (i = 0; t[i] && i + 1 < sizeof up; i++)
		up[i] = (t[i] >= 'a' && t[i] <= 'z') ? (char)(t[i] - 32) : t[i];
	up[i] = '\0';
	if (strstr(up, "INT"))
		return "INTEGER";
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return "TEXT";
	if (strstr(up, "BLOB"))
		return "BLOB";
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
		return "REAL";
	return "NUMERIC";
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int
num(const cJSON *o, const char *k, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v))
		return 0;
	*out = v->valuedouble;
	return 1;
}


/* The mode a passive field should have to mirror the active's. */
static const char *
mirror(const char *mode)
{
	if (strcmp(mode, "upload") == 0)
		return "download";
	if (strcmp(mode, "download") == 0)
		return "upload";
	return mode;
}

static int
types_differ(const char *a, const char *b)
{
	return strcmp(peermap_affinity(a), peermap_affinity(b)) != 0;
}

/*
 * Warnings for one of our mapped fields f against the peer entries that
 * stand for the same wire field (n of them in match[]; off more that the
 * passive side maps with mode off).
 */
static void
check_field(cJSON *w, const cJSON *f, const cJSON **match, int n,
    int passive, int off)
{
	const char *mode = str(f, "mode"), *peer = passive ? "the active side" :
	    "the passive side";
	int lm = fieldmap_mode_parse(mode), flows = 0;
	double fid = 0;

	num(f, "field", &fid);
	if (lm == FS_MODE_OFF || lm < 0)
		return;
	if (n == 0) {
		if (passive)
			value_add_message(w,
			    "%s.%s: active field %.0f is not in the active "
			    "side's field list; nothing flows", str(f, "table"),
			    str(f, "column"), cJSON_GetObjectItem(f,
			    "remote_field")->valuedouble);
		else
			value_add_message(w,
			    "%s.%s (field %.0f): %s on the passive side; "
			    "nothing flows", str(f, "table"), str(f, "column"),
			    fid, off ? "mode off" : "not mapped");
		return;
	}
	if (!passive && n > 1)
		value_add_message(w,
		    "%s.%s (field %.0f): mapped %d times on the passive "
		    "side", str(f, "table"), str(f, "column"), fid, n);
	for (int i = 0; i < n; i++) {
		int pm = fieldmap_mode_parse(str(match[i], "mode"));

		if (fieldmap_can_flow(lm, pm) || fieldmap_can_flow(pm, lm))
			flows = 1;
		if (types_differ(str(f, "type"), str(match[i], "type")))
			value_add_message(w,
			    "%s.%s (field %.0f): types differ: %s here, %s "
			    "on %s (%s.%s)", str(f, "table"), str(f, "column"),
			    fid, *str(f, "type") ? str(f, "type") : "none",
			    *str(match[i], "type") ? str(match[i], "type") :
			    "none", peer, str(match[i], "table"),
			    str(match[i], "column"));
	}
	if (!flows)
		value_add_message(w,
		    "%s.%s (field %.0f): mode %s here and %s on %s let "
		    "nothing flow", str(f, "table"), str(f, "column"), fid,
		    mode, str(match[0], "mode"), peer);
}

/* Is wire field r linked by one of our map entries? */
static int
linked(const cJSON *fields, double r, int passive)
{
	const cJSON *f;
	double v;

	cJSON_ArrayForEach(f, fields)
		if (num(f, passive ? "remote_field" : "field", &v) && v == r)
			return 1;
	return 0;
}

static int
mapped_fid(const cJSON *fields, double fid)
{
	const cJSON *f;
	double v;

	cJSON_ArrayForEach(f, fields)
		if (num(f, "field", &v) && v == fid)
			return 1;
	return 0;
}

/*
 * Suggest, for every active field no local field links to yet, the
 * best unmapped local field: same table and column name (3), or for a
 * system field the same role in the same table (3), or the same column
 * name in another table (1); a matching type affinity adds 1.  Each
 * local field is suggested at most once, best scores first (candidates
 * are scored once and sorted, so the cost is that of the sort).
 */
struct cand {
	int score, p, l;
};

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->score != y->score)
		return y->score - x->score;
	if (x->p != y->p)
		return x->p - y->p;
	return x->l - y->l;
}

static int
cand_score(const cJSON *p, const cJSON *l)
{
	const char *prole = str(p, "role");
	int sc = 0, same_t = strcasecmp(str(l, "table"), str(p, "table")) == 0;

	if (same_t && strcasecmp(str(l, "column"), str(p, "column")) == 0)
		sc = 3;
	else if (same_t && strcmp(prole, "data") != 0 &&
	    strcmp(prole, str(l, "role")) == 0)
		sc = 3;
	else if (strcasecmp(str(l, "column"), str(p, "column")) == 0 &&
	    strcmp(prole, str(l, "role")) == 0)
		sc = 1;
	if (sc > 0 && !types_differ(str(l, "type"), str(p, "type")))
		sc++;
	return sc;
}

static void
suggest(cJSON *out, const cJSON *peer, const cJSON *fields,
    const cJSON *local)
{
	int np = cJSON_GetArraySize(peer), nl = cJSON_GetArraySize(local);
	char *pdone = xcalloc((size_t)np + 1, 1), *ldone = xcalloc((size_t)nl + 1, 1);
	struct cand *c = NULL;
	size_t nc = 0, cap = 0;
	const cJSON *p, *l;
	int i = 0, k = 0;

	/* Local fields already mapped (or row ids) are never suggested. */
	cJSON_ArrayForEach(l, local) {
		double lf;

		if (!num(l, "field", &lf) || strcmp(str(l, "role"), "rowid") == 0
		    || mapped_fid(fields, lf))
			ldone[k] = 1;
		k++;
	}
	cJSON_ArrayForEach(p, peer) {
		double rf;

		if (!num(p, "field", &rf) || strcmp(str(p, "role"), "rowid") == 0
		    || fieldmap_mode_parse(str(p, "mode")) <= FS_MODE_OFF ||
		    linked(fields, rf, 1)) {
			i++;
			continue;
		}
		k = 0;
		cJSON_ArrayForEach(l, local) {
			int sc;

			if (!ldone[k] && (sc = cand_score(p, l)) > 0) {
				if (nc == cap) {
					cap = cap ? cap * 2 : 64;
					if ((c = realloc(c, cap * sizeof *c)) ==
					    NULL)
						abort();
				}
				c[nc].score = sc;
				c[nc].p = i;
				c[nc].l = k;
				nc++;
			}
			k++;
		}
		i++;
	}
	if (nc > 0)
		qsort(c, nc, sizeof *c, cand_cmp);
	for (size_t j = 0; j < nc; j++) {
		cJSON *sg;
		double rf = 0, lf = 0;

		if (pdone[c[j].p] || ldone[c[j].l])
			continue;
		pdone[c[j].p] = ldone[c[j].l] = 1;
		p = cJSON_GetArrayItem(peer, c[j].p);
		l = cJSON_GetArrayItem(local, c[j].l);
		num(p, "field", &rf);
		num(l, "field", &lf);
		sg = cJSON_CreateObject();
		cJSON_AddNumberToObject(sg, "remote_field", rf);
		cJSON_AddStringToObject(sg, "remote_table", str(p, "table"));
		cJSON_AddStringToObject(sg, "remote_column", str(p, "column"));
		cJSON_AddStringToObject(sg, "remote_type", str(p, "type"));
		cJSON_AddStringToObject(sg, "remote_mode", str(p, "mode"));
		cJSON_AddNumberToObject(sg, "field", lf);
		cJSON_AddStringToObject(sg, "table", str(l, "table"));
		cJSON_AddStringToObject(sg, "column", str(l, "column"));
		cJSON_AddStringToObject(sg, "type", str(l, "type"));
		cJSON_AddStringToObject(sg, "mode", mirror(str(p, "mode")));
		cJSON_AddBoolToObject(sg, "exact", c[j].score >= 3);
		cJSON_AddBoolToObject(sg, "type_match",
		    !types_differ(str(l, "type"), str(p, "type")));
		cJSON_AddItemToArray(out, sg);
	}
	free(c);
	free(pdone);
	free(ldone);
}

cJSON *
peermap_view(struct store *s, const char *pair, struct fs_err *err)
{
	struct pairing *p;
	cJSON *o = NULL, *map = NULL, *peer = NULL, *local = NULL;
	cJSON *warnings, *suggestions, *pv, *fields;
	const cJSON *f, *e;
	struct fs_err e2;
	int passive;

	if ((p = pairing_get(s, pair, err)) == NULL)
		return NULL;
	passive = strcmp(p->role, "passive") == 0;
	if ((map = fieldmap_list(s, pair, err)) == NULL ||
	    (local = catalog_fields_json(s, 0, err)) == NULL)
		goto out;
	fs_err_clear(&e2);
	peer = pairstate_peer_catalog(s, p->pid, &e2);
	if (peer == NULL && e2.code != FS_ENOTFOUND) {
		if (err)
			*err = e2;
		goto out;
	}
	fields = cJSON_GetObjectItem(map, "fields");
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pair", p->name);
	cJSON_AddStringToObject(o, "role", p->role);
	cJSON_AddBoolToObject(o, "known", peer != NULL);
	pv = cJSON_AddArrayToObject(o, "peer");
	suggestions = cJSON_AddArrayToObject(o, "suggestions");
	warnings = cJSON_AddArrayToObject(o, "warnings");
	if (peer == NULL)
		goto out;
	/* The peer's list, each entry with the fields of ours linked to it. */
	cJSON_ArrayForEach(e, peer) {
		cJSON *c = cJSON_Duplicate(e, 1), *m;
		double wire = 0, v;

		if (c == NULL || !cJSON_IsObject(c)) {
			cJSON_Delete(c);
			continue;
		}
		/* Passive: the entry's own number; active: what it links to. */
		num(e, passive ? "field" : "remote_field", &wire);
		m = cJSON_AddArrayToObject(c, "mapped");
		cJSON_ArrayForEach(f, fields) {
			if (!num(f, passive ? "remote_field" : "field", &v) ||
			    v != wire || wire == 0)
				continue;
			cJSON_AddItemToArray(m, cJSON_Duplicate(f, 1));
		}
		cJSON_AddItemToArray(pv, c);
	}
	/* Cross-side warnings for each of our mapped fields. */
	cJSON_ArrayForEach(f, fields) {
		const cJSON *match[64];
		double wire, v;
		int n = 0;

		if (!num(f, passive ? "remote_field" : "field", &wire))
			continue;
		int off = 0;

		cJSON_ArrayForEach(e, peer) {
			if (!num(e, passive ? "field" : "remote_field", &v) ||
			    v != wire)
				continue;
			if (!passive && fieldmap_mode_parse(str(e, "mode")) <=
			    FS_MODE_OFF) {
				off++;
				continue;
			}
			if (n < 64)
				match[n++] = e;
		}
		check_field(warnings, f, match, n, passive, off);
	}
	if (passive)
		suggest(suggestions, peer, fields, local);
out:
	cJSON_Delete(map);
	cJSON_Delete(peer);
	cJSON_Delete(local);
	pairing_free(p);
	return o;
}
