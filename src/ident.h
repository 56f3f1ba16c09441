/*
 * ident.h - SQL identifiers that come from users or peers.
 *
 * Values are always bound; identifiers cannot be, so any table or column
 * name is first checked against the database's real schema (appschema.h)
 * and then quoted here before it is put into SQL text.
 */
#ifndef FS_IDENT_H
#define FS_IDENT_H

#include "buf.h"

/* Append name as a double-quoted SQL identifier ("a""b"). */
int ident_quote(struct buf *b, const char *name);
/* Same, as a new malloc'd string. */
char *ident_quoted(const char *name);
/* Append name as a single-quoted SQL string literal (for DDL only). */
int ident_literal(struct buf *b, const char *name);
/*
 * Plausible as a name at all: non-empty, at most 255 bytes, valid UTF-8,
 * no control characters.  Existence is checked against the schema.
 */
int ident_plausible(const char *name);
/* Valid UTF-8 (no overlongs or surrogates) of n bytes; NUL allowed. */
int utf8_valid(const char *s, size_t n);

#endif
