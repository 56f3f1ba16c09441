/* cmd-map.c - "fieldsync map add|list|set|remove". */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "fieldmap.h"
#include "util.h"

static int
parse_mode_opts(const struct cmd_entry *e, int argc, char **argv, int *mode,
    long long *remote, int allow_remote)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "remote-field", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm') {
			if ((*mode = fieldmap_mode_parse(optarg)) < 0)
				return cmd_usage(e, "invalid mode %s: use "
				    "two-way, upload, download or off", optarg);
		} else if (c == 'r' && allow_remote) {
			if (util_parse_int(optarg, 1, INT64_MAX, remote) == -1)
				return cmd_usage(e, "--remote-field must be a "
				    "positive field number");
		} else
			return cmd_parse_common(e, c, argv);
	}
	if (argc - optind != 2)
		return cmd_usage(e, "expected PAIR TABLE.COLUMN");
	return 0;
}

int
cmd_map_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("map add");
	int mode = FS_MODE_TWO_WAY, r;
	long long remote = -1;
	int64_t fid;

	if ((r = parse_mode_opts(e, argc, argv, &mode, &remote, 1)) != 0)
		return r;
	if (cmd_open(ctx) == -1 || fieldmap_add(ctx->store, argv[optind],
	    argv[optind + 1], mode, remote, &fid, &ctx->err) == -1)
		return cmd_fail(ctx);
	printf("mapped %s as field %" PRId64 " (%s)\n", argv[optind + 1], fid,
	    fieldmap_mode_name(mode));
	return FS_EXIT_OK;
}

int
cmd_map_set(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("map set");
	int mode = -1, r;

	if ((r = parse_mode_opts(e, argc, argv, &mode, NULL, 0)) != 0)
		return r;
	if (mode < 0)
		return cmd_usage(e, "--mode M is required");
	if (cmd_open(ctx) == -1 || fieldmap_set(ctx->store, argv[optind],
	    argv[optind + 1], mode, &ctx->err) == -1)
		return cmd_fail(ctx);
	printf("%s is now %s\n", argv[optind + 1], fieldmap_mode_name(mode));
	return FS_EXIT_OK;
}

int
cmd_map_remove(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("map remove");
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 2)) != 0)
		return r;
	if (json)
		return cmd_usage(e, "--json is for listings");
	if (cmd_open(ctx) == -1 || fieldmap_remove(ctx->store, argv[optind],
	    argv[optind + 1], &ctx->err) == -1)
		return cmd_fail(ctx);
	printf("unmapped %s\n", argv[optind + 1]);
	return FS_EXIT_OK;
}

int
cmd_map_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("map list");
	cJSON *map;
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 1)) != 0)
		return r;
	if (cmd_open(ctx) == -1 || (map = fieldmap_list(ctx->store,
	    argv[optind], &ctx->err)) == NULL)
		return cmd_fail(ctx);
	if (json) {
		cmd_print_json(map);
		return FS_EXIT_OK;
	}
	cmd_print_map(map, "");
	cJSON_Delete(map);
	return FS_EXIT_OK;
}
