/*
 * testhelp.h - shared fixtures for the cmocka unit tests.
 *
 * Every test gets a fresh temporary directory holding a fresh app
 * database (created with the plain sqlite3 API, as any app would, then
 * closed), opened with store_open and, unless asked otherwise, turned
 * into an instance with instance_init.  th_free removes the directory.
 *
 * The SQL helpers take sqlite3_mprintf formats (%q, %Q, %w, %lld ...) and
 * fail the running test on any SQL error, so a test reads as a list of
 * statements and expectations.  They work on the store's connection or
 * on any other one (th_conn opens one like a separate app would).
 */
#ifndef FS_TESTHELP_H
#define FS_TESTHELP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "err.h"
#include "store.h"

struct th {
	char *dir;		/* temporary directory, removed by th_free */
	char *path;		/* dir/app.db */
	struct store *s;	/* NULL after th_close_store */
	struct fs_err err;	/* scratch for calls under test */
};

/* Directory and database (app_sql may be NULL), opened and initialised. */
struct th *th_new(const char *app_sql);
/* Same, but not initialised: a plain app database opened by the store. */
struct th *th_new_uninit(const char *app_sql);
/* Only the directory: no database file, no store. */
struct th *th_new_dir(void);
/* Close the store (if open) and remove the directory. NULL is fine. */
void th_free(struct th *t);

/* cmocka fixtures: *state becomes th_new(NULL), th_new_uninit(NULL) or
 * th_new_dir(); th_teardown frees any of them. */
int th_setup(void **state);
int th_setup_uninit(void **state);
int th_setup_dir(void **state);
int th_teardown(void **state);

/* Close and reopen the store on t->path (as a new process would). */
void th_reopen(struct th *t);
void th_close_store(struct th *t);

/* dir/name, malloc'd. */
char *th_file(struct th *t, const char *name);
/* Write a file in the directory; returns its malloc'd path. */
char *th_write_file(struct th *t, const char *name, const void *data,
    size_t len);
/* Read a whole file; NULL if it does not exist. */
unsigned char *th_read_file(const char *path, size_t *len);

/* A separate connection to t->path, like another app; recursive
 * triggers set as given (-1: leave the library's default). */
sqlite3 *th_conn(struct th *t, int recursive_triggers);
void th_conn_close(sqlite3 *db);

/* Run SQL (a sqlite3_mprintf format); fail the test on error. */
void th_exec(struct th *t, const char *fmt, ...);
void th_db_exec(sqlite3 *db, const char *fmt, ...);
/* Run SQL and return the SQLite result code (no failure on error). */
int th_db_try(sqlite3 *db, const char *fmt, ...);
/* First column of the first row as an integer; fails if no row. */
int64_t th_int(struct th *t, const char *fmt, ...);
int64_t th_db_int(sqlite3 *db, const char *fmt, ...);
/* First column of the first row as malloc'd text; NULL for SQL NULL. */
char *th_text(struct th *t, const char *fmt, ...);
char *th_db_text(sqlite3 *db, const char *fmt, ...);

/* Assert that a call failed with the given fs_err code (message shown). */
#define th_assert_fails(t, ecode, call) do {				\
	fs_err_clear(&(t)->err);					\
	if ((call) != -1)						\
		fail_msg("%s succeeded, expected failure", #call);	\
	if ((t)->err.code != (ecode))					\
		fail_msg("%s: code %d, expected %d (%s)", #call,	\
		    (t)->err.code, (ecode), (t)->err.msg);		\
	if ((t)->err.msg[0] == '\0')					\
		fail_msg("%s: empty error message", #call);		\
} while (0)

/* Same for a call returning a pointer: NULL with the given code. */
#define th_assert_fails_null(t, ecode, call) do {			\
	fs_err_clear(&(t)->err);					\
	if ((call) != NULL)						\
		fail_msg("%s succeeded, expected failure", #call);	\
	if ((t)->err.code != (ecode))					\
		fail_msg("%s: code %d, expected %d (%s)", #call,	\
		    (t)->err.code, (ecode), (t)->err.msg);		\
} while (0)

/* Assert that a call returned 0 (the error message is shown if not). */
#define th_assert_ok(t, call) do {					\
	fs_err_clear(&(t)->err);					\
	if ((call) != 0)						\
		fail_msg("%s failed: %s", #call, (t)->err.msg);		\
} while (0)

#endif
