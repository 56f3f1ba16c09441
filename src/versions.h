/*
 * versions.h - a record's current version of some of its fields.
 *
 * The current version of a field is its newest _fs_log row (fid 0: the
 * record's creation row).  Both the sender (changes.c) and the receiver
 * (merge-field.c) need it for the fields in hand, never for the whole record:
 * one index seek per field, so the cost does not grow with how often a
 * record was changed before.
 */
#ifndef FS_VERSIONS_H
#define FS_VERSIONS_H

#include <stdint.h>

#include "store.h"

struct version {
	int64_t fid;		/* in: the field; 0 for the creation row */
	int found;		/* out: the field has a log row */
	int64_t seq, hlc, origin, src;
	int has_src;		/* src is a pairing (else made here) */
	int kind;		/* low bits of _fs_log.kind */
	int reasserted;		/* kind 8: a clash's winner again (sql/005) */
};

/* Fill v[0..n) (their fid set) for record rid; -1 on a database error. */
int versions_get(struct store *s, int64_t rid, struct version *v, int n,
    struct fs_err *err);
/*
 * The versions the log row at seq of field fid of record rid replaced,
 * as far as a peer might know them: the one just before it (prior), the
 * newest among the few before it that came through pairing pid (known),
 * and the record's creation before it (created); found says which there
 * are.  -1 on a database error.
 */
int versions_prior(struct store *s, int64_t rid, int64_t fid, int64_t seq,
    int64_t pid, struct version *prior, struct version *known,
    struct version *created, struct fs_err *err);
/*
 * For the log row at seq, when it logs again a version that won a clash
 * here (kind 8, sql/005), the version it won over: 1 found, 0 not such a
 * row, -1 on a database error.
 */
int versions_won_over(struct store *s, int64_t seq, int64_t *hlc,
    int64_t *origin, struct fs_err *err);
/* The entry of v[0..n) for fid, or NULL. */
struct version *versions_find(struct version *v, int n, int64_t fid);

#endif
