/*
 * cmd.h - the command table behind the fieldsync program.
 *
 * One entry per subcommand drives dispatch, usage lines and --help; the
 * man page, README and tests are kept in agreement with it by
 * tests/scenario/doc-agreement.sh.  Each cmd-<noun>.c is a thin adapter:
 * it parses arguments, calls one core function and prints the result.
 */
#ifndef FS_CMD_H
#define FS_CMD_H

#include <stdio.h>
#include <cjson/cJSON.h>

#include "err.h"
#include "store.h"

#define FS_EXIT_OK 0
#define FS_EXIT_FAIL 1
#define FS_EXIT_USAGE 2

struct cmd_ctx {
	const char *db;		/* -d or $FIELDSYNC_DB */
	struct store *store;	/* opened by cmd_open */
	struct fs_err err;
};

struct cmd_entry {
	const char *name;	/* "table add" */
	const char *args;	/* usage after the name */
	const char *summary;	/* one line for the command list */
	const char *help;	/* options, one per line, or NULL */
	int (*run)(struct cmd_ctx *, int, char **);
};

extern const struct cmd_entry cmd_table[];

/* Open ctx->db as the store; prints the error and returns -1 on failure. */
int cmd_open(struct cmd_ctx *ctx);
/* Print "fieldsync: msg" for ctx->err and return the fitting exit status. */
int cmd_fail(struct cmd_ctx *ctx);
/* Print a usage error for entry e and return FS_EXIT_USAGE. */
int cmd_usage(const struct cmd_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const struct cmd_entry *cmd_find(const char *name);
/* A display-JSON value (see value.h) on stdout: 'text', 42, null, ... */
void cmd_print_value(const cJSON *v);
/* A field map (fieldmap_list) as lines, then its warnings. */
void cmd_print_map(const cJSON *map, const char *indent);
/* Print JSON to stdout followed by a newline, then free it. */
void cmd_print_json(cJSON *j);
/* Print full help for e (or the command list when e is NULL). */
void cmd_help(FILE *f, const struct cmd_entry *e);
/* Common getopt handling of --help, --password and refused options. */
int cmd_parse_common(const struct cmd_entry *e, int c, char **argv);

/* Parse [--json] and exactly npos positional arguments (from optind). */
int cmd_parse_json(const struct cmd_entry *e, int argc, char **argv,
    int *json, int npos);

/* The new UI admin password from file, or typed twice at a terminal. */
char *cmd_read_admin_password(const char *file, struct fs_err *err);

int cmd_init(struct cmd_ctx *, int, char **);
int cmd_passwd(struct cmd_ctx *, int, char **);
int cmd_table_add(struct cmd_ctx *, int, char **);
int cmd_table_list(struct cmd_ctx *, int, char **);
int cmd_table_remove(struct cmd_ctx *, int, char **);
int cmd_pair_add(struct cmd_ctx *, int, char **);
int cmd_pair_list(struct cmd_ctx *, int, char **);
int cmd_pair_show(struct cmd_ctx *, int, char **);
int cmd_pair_remove(struct cmd_ctx *, int, char **);
int cmd_pair_set(struct cmd_ctx *, int, char **);
int cmd_map_add(struct cmd_ctx *, int, char **);
int cmd_map_list(struct cmd_ctx *, int, char **);
int cmd_map_set(struct cmd_ctx *, int, char **);
int cmd_map_remove(struct cmd_ctx *, int, char **);
int cmd_log(struct cmd_ctx *, int, char **);
int cmd_sync(struct cmd_ctx *, int, char **);
int cmd_serve(struct cmd_ctx *, int, char **);
int cmd_status(struct cmd_ctx *, int, char **);
int cmd_pair_test(struct cmd_ctx *, int, char **);
int cmd_conflicts(struct cmd_ctx *, int, char **);
int cmd_conflicts_resolve(struct cmd_ctx *, int, char **);

#endif
