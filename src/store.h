/*
 * store.h - an instance's database: open, migrate, transactions, statements.
 *
 * The store is the only door to sqlite3 for modules that do not need
 * its types; domain modules (catalog, capture, history, pairing, ...)
 * include sqlite3.h themselves and use store->db.  Statements that run
 * often are prepared once and cached by the address of their SQL text,
 * so every frequently used statement is a named constant.
 *
 * store_open never creates a file: an instance is an existing app
 * database.  Nothing is written until a command asks for a transaction,
 * so a command that fails on bad input leaves the file untouched.
 */
#ifndef FS_STORE_H
#define FS_STORE_H

#include <stdint.h>
#include <sqlite3.h>

#include "err.h"

#define FS_SCHEMA_VERSION 6
#define FS_STMT_CACHE 64

struct store_stmt {
	const char *sql;	/* key: address of a constant */
	sqlite3_stmt *stmt;
};

struct store {
	sqlite3 *db;
	char *path;
	int in_tx;
	struct store_stmt cache[FS_STMT_CACHE];
	int ncache;
	/* Loaded field maps kept between exchanges (syncmap.c owns them). */
	void *maps;
	void (*maps_free)(void *);
};

/*
 * How long a statement waits for another program's write transaction
 * before it fails with FS_EBUSY.
 */
#define STORE_BUSY_MS 10000
struct store *store_open(const char *path, struct fs_err *err);
void store_close(struct store *s);

/* Require an initialised instance no newer than this program. */
int store_check_ready(struct store *s, struct fs_err *err);
/* Fail with what is wrong unless this user can write the database. */
int store_check_writable(struct store *s, struct fs_err *err);
/* Schema version recorded in the file; 0 when not initialised. */
int store_schema_version(struct store *s, struct fs_err *err);
/* Create or upgrade fieldsync's state tables (inside a transaction). */
int store_migrate(struct store *s, struct fs_err *err);

int store_exec(struct store *s, const char *sql, struct fs_err *err);
/* BEGIN IMMEDIATE: the write lock is taken up front, never upgraded. */
int store_begin(struct store *s, struct fs_err *err);
int store_commit(struct store *s, struct fs_err *err);
void store_rollback(struct store *s);

/*
 * A cached prepared statement for the constant sql (reset and with its
 * bindings cleared).  The store owns it: never finalize it.  The cache
 * is keyed by sql's address, so sql must live as long as the store (a
 * string literal): a built string's address is soon another's.
 */
sqlite3_stmt *store_stmt(struct store *s, const char *sql, struct fs_err *err);
/* A fresh statement the caller finalizes (for SQL built at run time). */
sqlite3_stmt *store_prepare(struct store *s, const char *sql, struct fs_err *err);
/* Step a statement to completion; -1 on error. */
int store_step_done(struct store *s, sqlite3_stmt *st, struct fs_err *err);

/* Report the last SQLite error as FS_EDB with a prefix. */
int store_dberr(struct store *s, struct fs_err *err, const char *what);

/* _fs_meta access.  meta_get returns a malloc'd string or NULL. */
char *store_meta_get(struct store *s, const char *key, struct fs_err *err);
int store_meta_set(struct store *s, const char *key, const char *value,
    struct fs_err *err);

/* This instance's identity (32 hex digits) and name, malloc'd. */
char *store_instance_id(struct store *s, struct fs_err *err);

/* The current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out[64]. */
void store_now_iso(char out[64]);

#endif
