/* cmd-conflicts.c - "fieldsync conflicts" and "conflicts resolve". */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "conflict.h"
#include "util.h"

int
cmd_conflicts(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("conflicts");
	int c, json = 0, all = 0;
	cJSON *list, *it;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'a')
			all = 1;
		else
			return cmd_parse_common(e, c, argv);
	}
	if (optind != argc)
		return cmd_usage(e, "unexpected argument %s", argv[optind]);
	if (cmd_open(ctx) == -1 ||
	    (list = conflict_list(ctx->store, all, 0, 0, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	if (json) {
		cmd_print_json(list);
		return FS_EXIT_OK;
	}
	if (cJSON_GetArraySize(list) == 0)
		printf("no %sconflicts\n", all ? "" : "open ");
	cJSON_ArrayForEach(it, list) {
		cJSON *rowid = cJSON_GetObjectItem(it, "rowid");
		cJSON *res = cJSON_GetObjectItem(it, "resolution");
		cJSON *pair = cJSON_GetObjectItem(it, "pair");

		char row[32] = "(deleted)";	/* a record with no row here */

		if (cJSON_IsNumber(rowid))
			snprintf(row, sizeof row, "%.0f", rowid->valuedouble);
		printf("#%.0f %s row %s %s (pairing %s, %s): kept %s\n",
		    cJSON_GetObjectItem(it, "id")->valuedouble,
		    cJSON_GetObjectItem(it, "table")->valuestring, row,
		    cJSON_GetObjectItem(it, "column")->valuestring,
		    cJSON_IsString(pair) ? pair->valuestring : "?",
		    cJSON_GetObjectItem(it, "policy")->valuestring,
		    cJSON_GetObjectItem(it, "winner")->valuestring);
		printf("    local  ");
		cmd_print_value(cJSON_GetObjectItem(it, "local"));
		printf("  at %s\n    remote ",
		    cJSON_GetObjectItem(it, "local_time")->valuestring);
		cmd_print_value(cJSON_GetObjectItem(it, "remote"));
		printf("  at %s\n",
		    cJSON_GetObjectItem(it, "remote_time")->valuestring);
		if (cJSON_IsString(res))
			printf("    resolved: %s\n", res->valuestring);
	}
	cJSON_Delete(list);
	return FS_EXIT_OK;
}

int
cmd_conflicts_resolve(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep", required_argument, NULL, 'k' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("conflicts resolve");
	const char *keep = NULL;
	long long id = 0;
	int superseded;
	int c, all = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k')
			keep = optarg;
		else if (c == 'a')
			all = 1;
		else
			return cmd_parse_common(e, c, argv);
	}
	if (all ? argc != optind : (argc - optind != 1 ||
	    util_parse_int(argv[optind], 1, INT64_MAX, &id) == -1))
		return cmd_usage(e, "expected one conflict ID, or --all");
	if (keep == NULL)
		return cmd_usage(e, "--keep local|remote|winner is required");
	if (cmd_open(ctx) == -1)
		return cmd_fail(ctx);
	if (all) {
		int64_t n, skipped, stale;

		if (conflict_resolve_all(ctx->store, keep, &n, &skipped,
		    &stale, &ctx->err) == -1)
			return cmd_fail(ctx);
		printf("%" PRId64 " conflicts resolved: kept the %s value\n", n,
		    keep);
		if (stale > 0)
			printf("%" PRId64 " closed without writing: their field "
			    "changed again since, and that later change "
			    "stands\n", stale);
		if (skipped > 0)
			printf("%" PRId64 " left open: their rows were "
			    "hard-deleted here (restore them on the peer)\n",
			    skipped);
		return FS_EXIT_OK;
	}
	if (conflict_resolve(ctx->store, id, keep, &superseded,
	    &ctx->err) == -1)
		return cmd_fail(ctx);
	if (superseded)
		printf("conflict %lld closed without writing: its field changed "
		    "again since, and that later change stands\n", id);
	else
		printf("conflict %lld resolved: kept %s value\n", id, keep);
	return FS_EXIT_OK;
}
