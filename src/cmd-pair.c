/* cmd-pair.c - "fieldsync pair add|list|show|remove|set". */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fieldmap.h"
#include "pairing.h"
#include "secret.h"
#include "util.h"

int
cmd_pair_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passive", no_argument, NULL, 'p' },
		{ "active", no_argument, NULL, 'a' },
		{ "url", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'f' },
		{ "interval", required_argument, NULL, 'i' },
		{ "password", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("pair add");
	const char *role = NULL, *url = NULL, *pwfile = NULL;
	char *password;
	long long interval = -1;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 'a':
			if (role != NULL)
				return cmd_usage(e, "give one of --active or "
				    "--passive");
			role = c == 'p' ? "passive" : "active";
			break;
		case 'u':
			url = optarg;
			break;
		case 'f':
			pwfile = optarg;
			break;
		case 'i':
			if (util_parse_int(optarg, 1, 604800, &interval) == -1)
				return cmd_usage(e, "--interval must be 1 to "
				    "604800 seconds");
			break;
		default:
			return cmd_parse_common(e, c, argv);
		}
	}
	if (argc - optind != 1)
		return cmd_usage(e, "expected one NAME");
	if (role == NULL)
		return cmd_usage(e, "give --active or --passive");
	if (pwfile == NULL)
		return cmd_usage(e, "--password-file F is required");
	if (cmd_open(ctx) == -1)
		return cmd_fail(ctx);
	if ((password = secret_read_file(pwfile, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	r = pairing_add(ctx->store, argv[optind], role, url, password,
	    (int)interval, &ctx->err);
	secret_free(password);
	if (r == -1)
		return cmd_fail(ctx);
	printf("added %s pairing %s\n", role, argv[optind]);
	return FS_EXIT_OK;
}

int
cmd_pair_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("pair list");
	cJSON *list, *p;
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 0)) != 0)
		return r;
	if (cmd_open(ctx) == -1 ||
	    (list = pairing_list(ctx->store, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	if (json) {
		cmd_print_json(list);
		return FS_EXIT_OK;
	}
	cJSON_ArrayForEach(p, list) {
		cJSON *url = cJSON_GetObjectItem(p, "url");
		const char *role = cJSON_GetObjectItem(p, "role")->valuestring;

		printf("%-20s %-7s %-8s ",
		    cJSON_GetObjectItem(p, "name")->valuestring, role,
		    cJSON_IsTrue(cJSON_GetObjectItem(p, "enabled")) ?
		    "enabled" : "disabled");
		/* The active side's interval and policy decide for both. */
		if (strcmp(role, "passive") == 0)
			printf("polled and decided by the active side\n");
		else
			printf("every %5.0fs  policy %-7s %s\n",
			    cJSON_GetObjectItem(p, "interval")->valuedouble,
			    cJSON_GetObjectItem(p, "policy")->valuestring,
			    cJSON_IsString(url) ? url->valuestring : "");
	}
	cJSON_Delete(list);
	return FS_EXIT_OK;
}

int
cmd_pair_show(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("pair show");
	struct pairing *p;
	cJSON *o, *map;
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 1)) != 0)
		return r;
	if (cmd_open(ctx) == -1 || store_check_ready(ctx->store,
	    &ctx->err) == -1)
		return cmd_fail(ctx);
	if ((p = pairing_get(ctx->store, argv[optind], &ctx->err)) == NULL)
		return cmd_fail(ctx);
	o = pairing_json(p);
	pairing_free(p);
	if ((map = fieldmap_list(ctx->store, argv[optind], &ctx->err)) == NULL) {
		cJSON_Delete(o);
		return cmd_fail(ctx);
	}
	if (json) {
		cJSON_AddItemToObject(o, "map", map);
		cmd_print_json(o);
		return FS_EXIT_OK;
	}
	for (cJSON *k = o->child; k; k = k->next) {
		if (cJSON_IsString(k))
			printf("%-9s %s\n", k->string, k->valuestring);
		else if (cJSON_IsNumber(k))
			printf("%-9s %.0f\n", k->string, k->valuedouble);
		else if (cJSON_IsBool(k))
			printf("%-9s %s\n", k->string, cJSON_IsTrue(k) ?
			    "yes" : "no");
		else
			printf("%-9s -\n", k->string);
	}
	printf("map:\n");
	cmd_print_map(map, "  ");
	cJSON_Delete(map);
	cJSON_Delete(o);
	return FS_EXIT_OK;
}

int
cmd_pair_remove(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("pair remove");
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 1)) != 0)
		return r;
	if (json)
		return cmd_usage(e, "--json is for listings");
	if (cmd_open(ctx) == -1 || pairing_remove(ctx->store, argv[optind],
	    &ctx->err) == -1)
		return cmd_fail(ctx);
	printf("removed pairing %s\n", argv[optind]);
	return FS_EXIT_OK;
}

int
cmd_pair_set(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("pair set");
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 3)) != 0)
		return r;
	if (json)
		return cmd_usage(e, "--json is for listings");
	if (cmd_open(ctx) == -1)
		return cmd_fail(ctx);
	if (strcmp(argv[optind + 1], "password") == 0)
		return cmd_usage(e, "passwords are never taken on the command "
		    "line; use 'pair set NAME password-file F'");
	if (strcmp(argv[optind + 1], "password-file") == 0) {
		char *pw;

		if (store_check_ready(ctx->store, &ctx->err) == -1 ||
		    (pw = secret_read_file(argv[optind + 2], &ctx->err)) == NULL)
			return cmd_fail(ctx);
		r = pairing_set_password(ctx->store, argv[optind], pw,
		    &ctx->err);
		secret_free(pw);
	} else
		r = pairing_set(ctx->store, argv[optind], argv[optind + 1],
		    argv[optind + 2], &ctx->err);
	if (r == -1)
		return cmd_fail(ctx);
	printf("%s: %s set\n", argv[optind], argv[optind + 1]);
	if (strcmp(argv[optind + 1], "policy") == 0) {
		struct pairing *p = pairing_get(ctx->store, argv[optind], NULL);

		if (p != NULL && strcmp(p->role, "passive") == 0)
			printf("note: the active side sends its policy with every "
			    "exchange, and that one decides; this setting is "
			    "kept, not used\n");
		pairing_free(p);
	}
	return FS_EXIT_OK;
}
