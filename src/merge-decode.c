/*
 * merge-decode.c - reading a peer's batch: origins, records, field
 * versions and values, checked strictly before anything is applied.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge-int.h"
#include "util.h"

static const char SQL_ORIGIN_GET[] =
    "SELECT id FROM _fs_origin WHERE instance = ?1";
static const char SQL_ORIGIN_ADD[] =
    "INSERT INTO _fs_origin(id, instance) VALUES "
    "((SELECT max(id) + 1 FROM _fs_origin), ?1)";

int
merge_origins_map(struct store *s, const cJSON *arr, int64_t **ids, int *n,
    struct fs_err *err)
{
	const cJSON *it;
	sqlite3_stmt *st;

	*n = 0;
	*ids = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof **ids);
	cJSON_ArrayForEach(it, arr) {
		const char *inst = cJSON_IsString(it) ? it->valuestring : NULL;
		unsigned char raw[16];

		if (inst == NULL || strlen(inst) != 32 ||
		    util_unhex(inst, raw, sizeof raw) == -1)
			return fs_err_set(err, FS_EINVAL, "'origins' must hold "
			    "32-hex-digit instance identities");
		if ((st = store_stmt(s, SQL_ORIGIN_GET, err)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
			continue;
		}
		sqlite3_reset(st);
		if ((st = store_stmt(s, SQL_ORIGIN_ADD, err)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, inst, -1, SQLITE_STATIC);
		if (merge_step(s, st, err) == -1)
			return -1;
		(*ids)[(*n)++] = sqlite3_last_insert_rowid(s->db);
	}
	return 0;
}

static int
get_version(const cJSON *h, const cJSON *o, const int64_t *origins,
    int norigins, int64_t *hlc, int64_t *origin, struct fs_err *err)
{
	long long v;

	if (!cJSON_IsString(h) || util_parse_int(h->valuestring, 0, INT64_MAX,
	    &v) == -1)
		return fs_err_set(err, FS_EINVAL, "a version clock must be a "
		    "decimal string");
	if (!cJSON_IsNumber(o) || o->valuedouble < 0 ||
	    o->valuedouble >= norigins || o->valuedouble != (int)o->valuedouble)
		return fs_err_set(err, FS_EINVAL, "a version origin must index "
		    "'origins'");
	*hlc = v;
	*origin = origins[(int)o->valuedouble];
	return 0;
}

void
merge_inrec_free(struct inrec *r)
{
	for (int i = 0; i < r->nin; i++)
		proto_value_free(&r->in[i].v);
	free(r->in);
	r->in = NULL;
	r->nin = 0;
}

/*
 * "p": [[field, "clock", origin], ...], the version each field with a
 * version of its own replaced on the sender (optional).
 */
static int
decode_priors(struct merge_ctx *c, const cJSON *rec, const int64_t *origins,
    int norigins, struct inrec *r, struct fs_err *err)
{
	const cJSON *ps = cJSON_GetObjectItemCaseSensitive(rec, "p"), *it;

	if (ps == NULL)
		return 0;
	if (!cJSON_IsArray(ps))
		return fs_err_set(err, FS_EINVAL, "'p' must be an array");
	cJSON_ArrayForEach(it, ps) {
		int64_t wire, hlc, origin;

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 3 ||
		    proto_field_number(cJSON_GetArrayItem(it, 0), &wire) == -1)
			return fs_err_set(err, FS_EINVAL, "a prior must be "
			    "[field, \"clock\", origin]");
		if (!syncmap_peer_has(c->m, wire))
			return fs_err_set(err, FS_EINVAL, "unknown field number "
			    "%" PRId64, wire);
		if (get_version(cJSON_GetArrayItem(it, 1),
		    cJSON_GetArrayItem(it, 2), origins, norigins, &hlc, &origin,
		    err) == -1)
			return -1;
		for (int i = 0; i < r->nin; i++) {
			struct infield *in = &r->in[i];

			if (in->f->wire != wire)
				continue;
			if (in->nprior == FS_MAX_PRIORS)
				return fs_err_set(err, FS_EINVAL, "more than %d "
				    "priors for field %" PRId64, FS_MAX_PRIORS,
				    wire);
			in->prior_hlc[in->nprior] = hlc;
			in->prior_origin[in->nprior++] = origin;
		}
	}
	return 0;
}

/* Decode one record object; fields not mapped here are dropped. */
int
merge_decode_record(struct merge_ctx *c, const cJSON *rec,
    const int64_t *origins, int norigins, struct inrec *r, struct fs_err *err)
{
	const cJSON *sid, *cv, *fs, *it, *h;

	memset(r, 0, sizeof *r);
	if (!cJSON_IsObject(rec))
		return fs_err_set(err, FS_EINVAL, "each change must be an object");
	sid = cJSON_GetObjectItemCaseSensitive(rec, "r");
	if (!cJSON_IsString(sid) || proto_sid_parse(sid->valuestring,
	    r->sid) == -1)
		return fs_err_set(err, FS_EINVAL, "'r' must be a 32-hex-digit "
		    "sync identity");
	if ((cv = cJSON_GetObjectItemCaseSensitive(rec, "c")) != NULL) {
		if (!cJSON_IsArray(cv) || cJSON_GetArraySize(cv) != 2 ||
		    get_version(cJSON_GetArrayItem(cv, 0),
		    cJSON_GetArrayItem(cv, 1), origins, norigins, &r->c_hlc,
		    &r->c_origin, err) == -1)
			return fs_err_set(err, FS_EINVAL, "'c' must be "
			    "[\"clock\", origin]");
		r->has_c = 1;
	}
	if ((h = cJSON_GetObjectItemCaseSensitive(rec, "h")) != NULL) {
		if (!cJSON_IsNumber(h) || (h->valuedouble != 0 &&
		    h->valuedouble != 1))
			return fs_err_set(err, FS_EINVAL, "'h' must be 0 or 1");
		r->hard = h->valuedouble == 1;
	}
	if ((fs = proto_get_array(rec, "f", err)) == NULL)
		return -1;
	r->in = xcalloc((size_t)cJSON_GetArraySize(fs) + 1, sizeof *r->in);
	cJSON_ArrayForEach(it, fs) {
		struct infield *in = &r->in[r->nin];
		const cJSON *w;
		int n = cJSON_GetArraySize(it);
		int64_t wire;

		if (!cJSON_IsArray(it) || (n != 2 && n != 4))
			return fs_err_set(err, FS_EINVAL, "a field change must "
			    "be [field, value] or [field, value, \"clock\", "
			    "origin]");
		w = cJSON_GetArrayItem(it, 0);
		if (proto_field_number(w, &wire) == -1)
			return fs_err_set(err, FS_EINVAL, "a field number must "
			    "be a positive integer");
		if (!syncmap_peer_has(c->m, wire))
			return fs_err_set(err, FS_EINVAL, "unknown field number "
			    "%" PRId64, wire);
		if (n == 4) {
			if (get_version(cJSON_GetArrayItem(it, 2),
			    cJSON_GetArrayItem(it, 3), origins, norigins,
			    &in->hlc, &in->origin, err) == -1)
				return -1;
		} else if (r->has_c) {
			in->hlc = r->c_hlc;
			in->origin = r->c_origin;
		} else
			return fs_err_set(err, FS_EINVAL, "field %" PRId64
			    " has no version and the record no 'c'", wire);
		if (proto_decode_value(cJSON_GetArrayItem(it, 1), &in->v,
		    err) == -1)
			return -1;
		if ((in->f = syncmap_by_wire(c->m, wire)) == NULL) {
			proto_value_free(&in->v);
			continue;	/* not mapped here: nothing flows */
		}
		if (r->table == NULL)
			r->table = in->f->table;
		else if (r->table != in->f->table) {
			proto_value_free(&in->v);
			return fs_err_set(err, FS_EINVAL, "the fields of record "
			    "%s span tables", sid->valuestring);
		}
		r->nin++;
	}
	return decode_priors(c, rec, origins, norigins, r, err);
}
