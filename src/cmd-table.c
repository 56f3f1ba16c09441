/* cmd-table.c - "fieldsync table add|list|remove". */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "catalog.h"
#include "cmd.h"

int
cmd_table_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status-column", required_argument, NULL, 's' },
		{ "added-column", required_argument, NULL, 'a' },
		{ "match", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("table add");
	struct table_opts o = { NULL, NULL, NULL };
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			o.status_col = optarg;
		else if (c == 'a')
			o.added_col = optarg;
		else if (c == 'm')
			o.match = optarg;
		else
			return cmd_parse_common(e, c, argv);
	}
	if (argc - optind != 1)
		return cmd_usage(e, "expected one TABLE");
	if (cmd_open(ctx) == -1 || catalog_table_add(ctx->store, argv[optind],
	    &o, &ctx->err) == -1)
		return cmd_fail(ctx);
	printf("enrolled table %s\n", argv[optind]);
	return FS_EXIT_OK;
}

int
cmd_table_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("table list");
	cJSON *list, *t;
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 0)) != 0)
		return r;
	if (cmd_open(ctx) == -1 ||
	    (list = catalog_table_list(ctx->store, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	if (json) {
		cmd_print_json(list);
		return FS_EXIT_OK;
	}
	cJSON_ArrayForEach(t, list) {
		cJSON *f, *m;
		char *match;

		m = cJSON_GetObjectItem(t, "match");
		match = cJSON_PrintUnformatted(m);
		printf("%s: %.0f records, status %s, added %s, match %s\n",
		    cJSON_GetObjectItem(t, "table")->valuestring,
		    cJSON_GetObjectItem(t, "records")->valuedouble,
		    cJSON_GetObjectItem(t, "status_column")->valuestring,
		    cJSON_GetObjectItem(t, "added_column")->valuestring,
		    cJSON_GetArraySize(m) ? match : "none");
		free(match);
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(t, "fields"))
			printf("  %6.0f  %-24s %-10s %s\n",
			    cJSON_GetObjectItem(f, "field")->valuedouble,
			    cJSON_GetObjectItem(f, "column")->valuestring,
			    cJSON_GetObjectItem(f, "type")->valuestring,
			    cJSON_GetObjectItem(f, "role")->valuestring);
		if (cJSON_IsTrue(cJSON_GetObjectItem(t, "capture_lost")))
			printf("  capture lost (did the app rebuild the table?): "
			    "changes are not recorded; run 'fieldsync table "
			    "add %s'\n",
			    cJSON_GetObjectItem(t, "table")->valuestring);
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(t, "uncaptured"))
			printf("       -  %-24s not captured yet: run "
			    "'fieldsync table add %s'\n",
			    f->valuestring,
			    cJSON_GetObjectItem(t, "table")->valuestring);
	}
	cJSON_Delete(list);
	return FS_EXIT_OK;
}

int
cmd_table_remove(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("table remove");
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 1)) != 0)
		return r;
	if (json)
		return cmd_usage(e, "--json is for listings");
	if (cmd_open(ctx) == -1 || catalog_table_remove(ctx->store,
	    argv[optind], &ctx->err) == -1)
		return cmd_fail(ctx);
	printf("removed table %s (its data and field numbers are kept; "
	    "updates made to it from now on are not captured, even after "
	    "table add)\n", argv[optind]);
	return FS_EXIT_OK;
}
