/*
 * fieldmap.h - per pairing, which local fields take part and how.
 *
 * Modes: two-way, upload (this side sends, never receives), download
 * (this side receives, never sends), off.  The active side's field
 * numbers are the wire contract: on a passive pairing each mapped local
 * field names the active field it stands for (remote_fid).  A value
 * flows from A to B only if A's mode sends and B's mode receives.
 */
#ifndef FS_FIELDMAP_H
#define FS_FIELDMAP_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "store.h"

enum fs_mode { FS_MODE_OFF, FS_MODE_TWO_WAY, FS_MODE_UPLOAD, FS_MODE_DOWNLOAD };

/* -1 when s names no mode. */
int fieldmap_mode_parse(const char *s);
const char *fieldmap_mode_name(int mode);
int fieldmap_mode_sends(int mode);
int fieldmap_mode_receives(int mode);
/* A value flows from a side in mode `from` to a side in mode `to`. */
int fieldmap_can_flow(int from, int to);

/*
 * Map TABLE.COLUMN (an enrolled table's column) in pairing pair.
 * remote_fid is -1 when not given; it is required to be absent on an
 * active pairing.  *fid receives the local field number.
 */
int fieldmap_add(struct store *s, const char *pair, const char *table_column,
    int mode, int64_t remote_fid, int64_t *fid, struct fs_err *err);
int fieldmap_set(struct store *s, const char *pair, const char *table_column,
    int mode, struct fs_err *err);
int fieldmap_remove(struct store *s, const char *pair,
    const char *table_column, struct fs_err *err);
/* {pair, role, fields:[{field, table, column, type, mode, remote_field}], warnings:[..]} */
cJSON *fieldmap_list(struct store *s, const char *pair, struct fs_err *err);

#endif
