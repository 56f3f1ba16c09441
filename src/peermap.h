/*
 * peermap.h - a pairing's field map seen from both sides.
 *
 * The peer's field catalogue (from its last hello: on the passive side
 * the active's fields with their numbers, on the active side the
 * passive's fields with the active numbers they link to) is set beside
 * this side's map, so that:
 *
 *  - on the passive side, unmapped active fields get a suggested local
 *    column, matched by table and column name (system fields by role)
 *    and checked for type, with the mode that mirrors the active's, so
 *    nobody copies field numbers by hand;
 *  - on either side, a mapped field through which nothing can flow, an
 *    active field that the passive maps twice, or a field whose types
 *    differ across the two sides gets a warning.
 *
 * Read only; accepting a suggestion is fieldmap_add with its values.
 */
#ifndef FS_PEERMAP_H
#define FS_PEERMAP_H

#include <cjson/cJSON.h>

#include "store.h"

/*
 * {pair, role, known, peer:[...the peer's catalogue, each entry with
 *  "mapped":[{field, table, column, mode}] of ours linked to it],
 *  suggestions:[{remote_field, remote_table, remote_column, remote_type,
 *  remote_mode, field, table, column, type, mode, exact, type_match}],
 *  warnings:["..."]}.  known is false (and the lists empty) until the
 * peer has said hello.  Suggestions are only made on a passive pairing.
 */
cJSON *peermap_view(struct store *s, const char *pair, struct fs_err *err);
/* SQLite's type affinity of a declared type: "INTEGER", "TEXT", "BLOB",
 * "REAL" or "NUMERIC" (the rules of section 3.1 of datatype3). */
const char *peermap_affinity(const char *decl_type);

#endif
