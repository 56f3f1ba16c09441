/* cmd-log.c - "fieldsync log TABLE ROWID": a record's change log. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "history.h"
#include "util.h"

int
cmd_log(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("log");
	long long rowid, limit = 0;
	int c, json = 0;
	cJSON *h, *en;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'l') {
			if (util_parse_int(optarg, 1, 1000000000, &limit) == -1)
				return cmd_usage(e, "--limit must be a positive "
				    "number");
		} else
			return cmd_parse_common(e, c, argv);
	}
	if (argc - optind != 2)
		return cmd_usage(e, "expected TABLE ROWID");
	if (util_parse_int(argv[optind + 1], INT64_MIN, INT64_MAX, &rowid) == -1)
		return cmd_usage(e, "ROWID must be an integer");
	if (cmd_open(ctx) == -1 || (h = history_record(ctx->store,
	    argv[optind], rowid, (int)limit, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	if (json) {
		cmd_print_json(h);
		return FS_EXIT_OK;
	}
	printf("%s row %lld (sync id %s)\n", argv[optind], rowid,
	    cJSON_GetObjectItem(h, "sync_id")->valuestring);
	cJSON_ArrayForEach(en, cJSON_GetObjectItem(h, "entries")) {
		const char *kind = cJSON_GetObjectItem(en, "kind")->valuestring;
		cJSON *col = cJSON_GetObjectItem(en, "column");

		printf("%s  ", cJSON_GetObjectItem(en, "time")->valuestring);
		if (kind[0] == 'c' && kind[1] == 'r')
			printf("created");
		else {
			printf("%s: ", cJSON_IsString(col) ? col->valuestring :
			    "?");
			cmd_print_value(cJSON_GetObjectItem(en, "old"));
			printf(" -> ");
			cmd_print_value(cJSON_GetObjectItem(en, "new"));
			if (kind[0] == 'h')
				printf(" (hard delete)");
		}
		printf("  [%s]%s\n",
		    cJSON_GetObjectItem(en, "source")->valuestring,
		    cJSON_IsTrue(cJSON_GetObjectItem(en, "conflict")) ?
		    " conflict" : "");
	}
	cJSON_Delete(h);
	return FS_EXIT_OK;
}
