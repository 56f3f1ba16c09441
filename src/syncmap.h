/*
 * syncmap.h - a pairing's field map, loaded for one exchange.
 *
 * Translates between local field numbers and wire field numbers (the
 * active side's numbers: on an active pairing they are the same), groups
 * mapped fields by table, and owns the statements that read and write
 * those columns of the app tables.  Fields in mode off, of unenrolled
 * tables, or (on a passive pairing) not linked to an active field are
 * left out: nothing flows through them.
 */
#ifndef FS_SYNCMAP_H
#define FS_SYNCMAP_H

#include <stdint.h>

#include "pairing.h"
#include "store.h"

struct synctable;

struct syncfield {
	int64_t fid;		/* local field number */
	int64_t wire;		/* active side's field number */
	int64_t tid;
	int mode;		/* enum fs_mode */
	char *col;
	int is_status;
	int is_added;		/* the time-added system field */
	int col_idx;		/* column index in the table's read statement */
	int64_t floor;		/* log end when its mapping changed (sql/004) */
	struct synctable *table;
	sqlite3_stmt *update;	/* UPDATE t SET col = ?1 WHERE rowid = ?2 */
};

struct synctable {
	int64_t tid;
	char *name;
	char *qname;		/* quoted */
	char *qkey;		/* quoted INTEGER PRIMARY KEY column */
	char *key;		/* the same unquoted, NULL for plain rowid */
	int64_t status_fid;
	char *added_col;	/* the time-added column's name */
	char **match;		/* match columns (NULL-terminated) or NULL */
	struct syncfield **fields;
	int nfields;
	sqlite3_stmt *read;	/* all mapped columns of one row, by rowid */
	sqlite3_stmt *match_q;	/* find a record by the match columns */
	sqlite3_stmt *taken_q;	/* ... one linked to another peer record */
	sqlite3_stmt *insert;	/* last INSERT built, for ins_fids */
	int64_t *ins_fids;
	int ins_n;
};

struct syncmap {
	struct pairing *pair;	/* the caller's, for the current exchange */
	int cached;		/* owned by the store's cache */
	int64_t key_pid, key_epoch, key_schema;
	struct syncmap *next;
	int active;
	struct syncfield *fields;
	int nfields;
	struct synctable *tables;
	int ntables;
	/*
	 * Wire field numbers this side knows, sorted: on a passive pairing
	 * the active's published catalogue (NULL until its hello), on an
	 * active one our own field numbers.
	 */
	int64_t *peer_fields;
	int npeer_fields;
	/*
	 * Whether the app has triggers of its own (merge-adopt.c); -1 until
	 * asked.  A trigger made or dropped changes the schema, and with it
	 * the cached map.
	 */
	int app_triggers;
};

struct syncmap *syncmap_load(struct store *s, const struct pairing *p,
    struct fs_err *err);
/*
 * The map of p as of map epoch `epoch`, from the store's cache when
 * neither the epoch nor the database schema changed since it was loaded
 * (preparing its statements is most of an idle poll's cost).  Release
 * it with syncmap_free as usual; the cache keeps it.
 */
struct syncmap *syncmap_get(struct store *s, const struct pairing *p,
    int64_t epoch, struct fs_err *err);
/* Drop pairing pid's cached map (its peer's catalogue changed). */
void syncmap_forget(struct store *s, int64_t pid);
void syncmap_free(struct syncmap *m);
struct syncfield *syncmap_by_wire(const struct syncmap *m, int64_t wire);
struct syncfield *syncmap_by_fid(const struct syncmap *m, int64_t fid);
/* UPDATE t SET col = ?1 WHERE key = ?2 for f, prepared on first use. */
sqlite3_stmt *syncmap_update_stmt(struct store *s, struct syncfield *f,
    struct fs_err *err);
struct synctable *syncmap_table(const struct syncmap *m, int64_t tid);
/* Field number wire is known (see peer_fields; true when unknown). */
int syncmap_peer_has(const struct syncmap *m, int64_t wire);

#endif
