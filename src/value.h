/*
 * value.h - SQLite values for people and for JSON listings.
 *
 * Display JSON: NULL is null, an integer a JSON number (written exactly,
 * even past 2^53), a real a number with 17 significant digits, text a
 * string, a blob {"blob": "<hex>"}.  The wire encoding, which must be
 * bit-exact, lives in the protocol module.
 */
#ifndef FS_VALUE_H
#define FS_VALUE_H

#include <sqlite3.h>
#include <cjson/cJSON.h>

#include "buf.h"

cJSON *value_to_json(sqlite3_value *v);
/* A record status value that says deleted: not NULL and not zero. */
int value_is_deleted(sqlite3_value *v);
cJSON *value_column_json(sqlite3_stmt *st, int col);
/* One line of text for a terminal: NULL, 42, 'text', x'00ff'; long values
 * are cut at max bytes with "..." appended. */
void value_column_text(struct buf *out, sqlite3_stmt *st, int col, size_t max);
/* Append a formatted message (at most 511 bytes) to a JSON array. */
void value_add_message(cJSON *arr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
