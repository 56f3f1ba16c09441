/* cmd-init.c - "fieldsync init": make an app database an instance. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "adminpw.h"
#include "cmd.h"
#include "instance.h"
#include "secret.h"

int
cmd_init(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "admin-password-file", required_argument, NULL, 'a' },
		{ "new-identity", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("init");
	const char *name = NULL, *pwfile = NULL;
	char *pw = NULL;
	cJSON *info;
	int c, created, r, renew = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			name = optarg;
		else if (c == 'a')
			pwfile = optarg;
		else if (c == 'i')
			renew = 1;
		else
			return cmd_parse_common(e, c, argv);
	}
	if (optind != argc)
		return cmd_usage(e, "unexpected argument %s", argv[optind]);
	if (cmd_open(ctx) == -1)
		return cmd_fail(ctx);
	/* A bad password file fails before anything is written. */
	if (pwfile != NULL && (pw = cmd_read_admin_password(pwfile,
	    &ctx->err)) == NULL)
		return cmd_fail(ctx);
	r = instance_init(ctx->store, name, &created, &ctx->err);
	if (r == 0 && renew && !created)
		r = instance_new_identity(ctx->store, &ctx->err);
	if (r == 0 && pw != NULL)
		r = adminpw_set(ctx->store, pw, &ctx->err);
	secret_free(pw);
	if (r == -1)
		return cmd_fail(ctx);
	if ((info = instance_info(ctx->store, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	printf("%s instance %s (%s) in %s\n", created ? "initialised" :
	    renew ? "new identity for" : "already initialised:",
	    cJSON_GetObjectItem(info, "name")->valuestring,
	    cJSON_GetObjectItem(info, "instance")->valuestring, ctx->db);
	cJSON_Delete(info);
	return FS_EXIT_OK;
}
