/*
 * main.c - the fieldsync program: global options, then one subcommand
 * from the command table (cmd.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static int
usage_families(const char *word)
{
	int n = 0;

	fprintf(stderr, "fieldsync: '%s' needs a subcommand:", word);
	for (const struct cmd_entry *e = cmd_table; e->name; e++) {
		size_t k = strlen(word);

		if (strncmp(e->name, word, k) == 0 && e->name[k] == ' ')
			fprintf(stderr, "%s %s", n++ ? "," : "", e->name + k + 1);
	}
	fputc('\n', stderr);
	return FS_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct cmd_ctx ctx;
	const struct cmd_entry *e = NULL;
	int i = 1, ret;

	memset(&ctx, 0, sizeof ctx);
	ctx.db = getenv("FIELDSYNC_DB");
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			ctx.db = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "-d", 2) == 0 && argv[i][2]) {
			ctx.db = argv[i] + 2;
			i++;
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			cmd_help(stdout, NULL);
			return FS_EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("fieldsync %s\n", PACKAGE_VERSION);
			return FS_EXIT_OK;
		} else {
			char opt[128];

			fs_err_oneline(opt, sizeof opt, argv[i]);
			fprintf(stderr, "fieldsync: unknown option %s (see "
			    "fieldsync --help)\n", opt);
			return FS_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		cmd_help(stderr, NULL);
		return FS_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		char name[64] = "";

		if (i + 2 < argc)
			snprintf(name, sizeof name, "%s %s", argv[i + 1],
			    argv[i + 2]);
		if (i + 2 >= argc || (e = cmd_find(name)) == NULL)
			e = i + 1 < argc ? cmd_find(argv[i + 1]) : NULL;
		cmd_help(stdout, e);
		return FS_EXIT_OK;
	}
	if (i + 1 < argc) {
		char name[64];

		snprintf(name, sizeof name, "%s %s", argv[i], argv[i + 1]);
		if ((e = cmd_find(name)) != NULL)
			i++;
	}
	if (e == NULL && (e = cmd_find(argv[i])) == NULL) {
		char cmd[128];

		for (const struct cmd_entry *f = cmd_table; f->name; f++)
			if (strncmp(f->name, argv[i], strlen(argv[i])) == 0 &&
			    f->name[strlen(argv[i])] == ' ')
				return usage_families(argv[i]);
		fs_err_oneline(cmd, sizeof cmd, argv[i]);
		fprintf(stderr, "fieldsync: unknown command '%s' (see "
		    "fieldsync --help)\n", cmd);
		return FS_EXIT_USAGE;
	}
	ret = e->run(&ctx, argc - i, argv + i);
	store_close(ctx.store);
	return ret;
}
