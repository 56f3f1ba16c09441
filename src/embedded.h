/*
 * embedded.h - files compiled into the binary (SQL migrations, web UI).
 * The tables are generated at build time by gen-embed from sql/ and web/.
 */
#ifndef FS_EMBEDDED_H
#define FS_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
	const char *name;		/* path relative to sql/ or web/ */
	const unsigned char *data;	/* NUL-terminated */
	size_t len;
};

extern const struct embedded_file embedded_sql[];
extern const struct embedded_file embedded_web[];

/* The entry named name in table, or NULL. */
const struct embedded_file *embedded_find(const struct embedded_file *table,
    const char *name);

#endif
