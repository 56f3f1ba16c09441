/*
 * merge-int.h - what the parts of the merge share; not for other code.
 * merge.c applies a batch record by record, merge-decode.c reads it,
 * merge-field.c merges the fields of a record that exists here,
 * merge-create.c creates (or links) a record new here,
 * merge-pending.c writes the records a batch creates in bulk,
 * merge-adopt.c registers rows the app's own triggers insert meanwhile,
 * and merge-dupkeys.c finds match keys a batch holds twice.
 */
#ifndef FS_MERGE_INT_H
#define FS_MERGE_INT_H

#include <stdint.h>
#include <sqlite3.h>
#include <cjson/cJSON.h>

#include "merge.h"
#include "proto.h"
#include "store.h"
#include "syncmap.h"

/*
 * Pending records: 256 is four full chunks and about 20 KB; flushing at
 * that bound keeps memory flat on a batch of any size.
 */
#define MERGE_PENDING_MAX	256
#define PENDING_SLOTS		512	/* sid hash set, at most half full */
#define SID_PREFIXES		8	/* creating instances tracked a batch */

/* One field change of a batch, decoded: the local field it maps to. */
struct infield {
	struct syncfield *f;
	struct fs_value v;
	int64_t hlc, origin;
	/* Versions this one replaced where the peer made or took it. */
	int nprior;
	int64_t prior_hlc[FS_MAX_PRIORS], prior_origin[FS_MAX_PRIORS];
};

/* One record of a batch, decoded: only its fields mapped here. */
struct inrec {
	char sid[2 * FS_SID_LEN + 1];
	int has_c, hard;
	int64_t c_hlc, c_origin;
	struct infield *in;
	int nin;
	struct synctable *table;
};

/* A record created here whose _fs_record and "created" rows wait. */
struct pend {
	struct synctable *t;
	int64_t lrow, hlc, origin;	/* the row; the creation's version */
	char sid[2 * FS_SID_LEN + 1];
	int slot;			/* its slot in merge_pending.slots */
};

/* The largest sid of one prefix here or pending ("" for none). */
struct sidmax {
	char prefix[FS_SID_LEN + 1];
	char max[2 * FS_SID_LEN + 1];
};

struct merge_pending {
	struct pend rows[MERGE_PENDING_MAX];
	int n;
	int64_t last_rid;	/* of the last row a flush wrote */
	/* Slots hold an index into rows plus one; 0 is free. */
	uint16_t slots[PENDING_SLOTS];
	/* Per table of the map: 0 unknown, 1 plain inserts, 2 side effects. */
	int *plain;
	int nplain;
	struct sidmax maxes[SID_PREFIXES];
	int nmaxes;
	int sid_fast;		/* merge_sid_above may answer; -1 unknown */
	int run;		/* creations in a row into plain tables */
	int quiet;		/* triggers are off for this connection */
};

/* merge-adopt.c: rows the app's triggers insert during an apply. */
struct adopt_mark {
	int64_t tid, end;	/* the table; its largest row id before */
	char *qt, *qk, *qa;	/* quoted: table, key and time-added column */
};
struct merge_adopt {
	struct adopt_mark *m;
	int n;			/* 0 when the app has no triggers */
};
int merge_adopt_begin(struct store *s, struct syncmap *m,
    struct merge_adopt *a, struct fs_err *err);
int merge_adopt_end(struct store *s, struct merge_adopt *a,
    int64_t *adopted, struct fs_err *err);
void merge_adopt_free(struct merge_adopt *a);

/* merge-dupkeys.c: match keys a batch holds more than once. */
char *merge_match_key(const struct inrec *r);
int merge_dupkeys_build(struct merge_ctx *c, const cJSON *changes,
    const int64_t *ids, int nids, struct fs_err *err);
int merge_dupkey(const struct merge_ctx *c, const struct inrec *r);
void merge_dupkeys_free(struct merge_ctx *c);

/* Step st once and reset it; an error is reported as the apply's. */
int merge_step(struct store *s, sqlite3_stmt *st, struct fs_err *err);

/* merge-decode.c */
/* The local origin ids of a batch's "origins", in wire order. */
int merge_origins_map(struct store *s, const cJSON *arr, int64_t **ids,
    int *n, struct fs_err *err);
/* Decode one record object; fields not mapped here are dropped. */
int merge_decode_record(struct merge_ctx *c, const cJSON *rec,
    const int64_t *origins, int norigins, struct inrec *r,
    struct fs_err *err);
void merge_inrec_free(struct inrec *r);

/* merge-field.c */
/* The capture triggers stamp what they log with version (hlc, origin). */
int merge_set_switch(struct merge_ctx *c, const struct inrec *r, int64_t hlc,
    int64_t origin, struct fs_err *err);
/*
 * Write in's value to row lrow of record rid: 0 done (or, while a batch
 * is applied, put off: merge-defer.c), 1 refused by the app's CHECK or
 * UNIQUE constraint when c->defer_mode is MERGE_DEFER_TRY, -1 error.
 */
int merge_write_value(struct merge_ctx *c, const struct inrec *r,
    int64_t rid, int64_t lrow, const struct infield *in, int conflict,
    int *gone, struct fs_err *err);

/* merge-defer.c */
struct merge_deferred {
	struct synctable *t;
	int64_t rid, lrow;
	char sid[2 * FS_SID_LEN + 1];
	struct infield in;	/* its value owned */
	int conflict;
	int grouped;		/* tried together with its record's others */
};
/* Put off in's write until the rest of the batch is written. */
void merge_defer_push(struct merge_ctx *c, const struct inrec *r,
    int64_t rid, int64_t lrow, const struct infield *in, int conflict);
/* A later write of (rid, fid) in the batch replaces one put off. */
void merge_defer_drop(struct merge_ctx *c, int64_t rid, int64_t fid);
/* Write what was put off, or fail with the app's reason (-1). */
int merge_defer_finish(struct merge_ctx *c, struct fs_err *err);
void merge_defer_free(struct merge_ctx *c);
/* Log in's version of its field directly (old: the value it replaced). */
int merge_log_direct(struct merge_ctx *c, int64_t rid,
    const struct infield *in, sqlite3_value *old, struct fs_err *err);
/* Merge r into the record rid, whose app row is lrow. */
int merge_update_record(struct merge_ctx *c, struct inrec *r, int64_t rid,
    int64_t lrow, struct merge_stats *st, struct fs_err *err);
/* Bring back a record hard-deleted here when the peer restored it. */
int merge_revive_record(struct merge_ctx *c, struct inrec *r, int64_t rid,
    struct merge_stats *st, struct fs_err *err);

/* merge-create.c */
/* The value r brings for column col, NULL when it brings none. */
const struct infield *merge_in_column(const struct inrec *r,
    const char *col);
int merge_triggers_quiet(struct merge_ctx *c, struct merge_pending *p,
    int quiet);
int merge_insert_row(struct merge_ctx *c, struct inrec *r, const int *use,
    int has_added, int64_t *lrow, struct fs_err *err);
int merge_find_match(struct merge_ctx *c, struct synctable *t,
    const struct inrec *r, int64_t *rid, int *ambiguous,
    struct fs_err *err);
/*
 * Create r here: 0 done (or nothing to create), 1 when the app's UNIQUE
 * index holds its key in a record the peer does not know (*taken), -1.
 */
int merge_create_record(struct merge_ctx *c, struct merge_pending *p,
    struct inrec *r, struct merge_stats *st, int64_t *taken,
    struct fs_err *err);

/* merge-pending.c */
int merge_pend_has(const struct merge_pending *p, const char *sid);
void merge_pend_add(struct merge_pending *p, struct synctable *t,
    int64_t lrow, const char *sid, int64_t hlc, int64_t origin);
int merge_pend_flush(struct merge_ctx *c, struct merge_pending *p,
    struct fs_err *err);
int merge_sid_above(struct merge_ctx *c, struct merge_pending *p,
    const char *sid, struct sidmax **m, int *above, struct fs_err *err);
void merge_sidmax_raise(struct sidmax *m, const char *sid);

#endif
