/* cmd-sync.c - "fieldsync sync", "serve", "status", "pair test". */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "active.h"
#include "appschema.h"
#include "catalog.h"
#include "client.h"
#include "cmd.h"
#include "daemon.h"
#include "pairing.h"
#include "pairstate.h"

int
cmd_sync(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("sync");
	char **names;
	int c, failed = 0, ran = 0, fd = -1;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		return cmd_parse_common(e, c, argv);
	if (argc - optind > 1)
		return cmd_usage(e, "at most one PAIR");
	if (cmd_open(ctx) == -1 || store_check_ready(ctx->store,
	    &ctx->err) == -1)
		return cmd_fail(ctx);
	if (optind < argc) {
		struct pairing *p = pairing_get(ctx->store, argv[optind],
		    &ctx->err);

		if (p == NULL)
			return cmd_fail(ctx);
		if (strcmp(p->role, "active") != 0) {
			pairing_free(p);
			return cmd_usage(e, "pairing %s is passive: it syncs "
			    "when its active side connects", argv[optind]);
		}
		pairing_free(p);
	}
	if ((names = pairing_names(ctx->store, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	if (active_lock(ctx->db, 600, &fd, &ctx->err) == -1) {
		appschema_strv_free(names);
		return cmd_fail(ctx);
	}
	{
		/* Deletes no trigger saw (catalog_sweep), at most hourly. */
		struct fs_err err;
		int64_t gone;

		fs_err_clear(&err);
		/* Busy: the next pass looks again (swept_at is not moved). */
		if (catalog_sweep(ctx->store, &gone, &err) == -1 &&
		    err.code != FS_EBUSY)
			fprintf(stderr, "fieldsync: looking for rows removed "
			    "without a delete: %s\n", err.msg);
		else if (gone > 0)
			printf("%lld records whose rows were removed without a "
			    "delete trigger (a REPLACE) are now deleted\n",
			    (long long)gone);
	}
	for (char **n = names; *n; n++) {
		struct pairing *p;
		struct client *cl = NULL;
		struct sync_progress prog;
		struct fs_err err;

		if (optind < argc && strcmp(*n, argv[optind]) != 0)
			continue;
		if ((p = pairing_get(ctx->store, *n, &ctx->err)) == NULL)
			continue;
		if (strcmp(p->role, "active") != 0 || (!p->enabled &&
		    optind == argc)) {
			pairing_free(p);
			continue;
		}
		memset(&prog, 0, sizeof prog);
		fs_err_clear(&err);
		ran++;
		if (active_sync(ctx->store, p, &cl, 1, &prog, &err) == -1) {
			fprintf(stderr, "fieldsync: pairing %s: %s: %s\n",
			    p->name, active_error_kind(err.code), err.msg);
			failed++;
		} else
			printf("%s: sent %lld values in %lld records, received "
			    "%lld values in %lld records, %lld conflicts\n",
			    p->name, (long long)prog.sent_values,
			    (long long)prog.sent_records,
			    (long long)prog.recv_values,
			    (long long)prog.recv_records,
			    (long long)prog.conflicts);
		client_free(cl);
		pairing_free(p);
	}
	active_unlock(fd);
	appschema_strv_free(names);
	if (ran == 0 && optind == argc)
		printf("no enabled active pairings\n");
	return failed ? FS_EXIT_FAIL : FS_EXIT_OK;
}

int
cmd_serve(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "no-ui", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("serve");
	struct daemon_opts o;
	int c;

	memset(&o, 0, sizeof o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'l')
			o.listen = optarg;
		else if (c == 'c')
			o.tls_cert = optarg;
		else if (c == 'k')
			o.tls_key = optarg;
		else if (c == 'n')
			o.no_ui = 1;
		else
			return cmd_parse_common(e, c, argv);
	}
	if (optind != argc)
		return cmd_usage(e, "unexpected argument %s", argv[optind]);
	if ((o.tls_cert == NULL) != (o.tls_key == NULL))
		return cmd_usage(e, "give both --tls-cert and --tls-key");
	if (ctx->db == NULL || *ctx->db == '\0')
		return cmd_usage(e, "no database given: use -d DB or set "
		    "FIELDSYNC_DB");
	o.db = ctx->db;
	if (daemon_run(&o, &ctx->err) == -1)
		return cmd_fail(ctx);
	return FS_EXIT_OK;
}

int
cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("status");
	cJSON *list, *p;
	int json, r;

	if ((r = cmd_parse_json(e, argc, argv, &json, 0)) != 0)
		return r;
	if (cmd_open(ctx) == -1 ||
	    (list = pairstate_status(ctx->store, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	if (json) {
		cmd_print_json(list);
		return FS_EXIT_OK;
	}
	if (cJSON_GetArraySize(list) == 0)
		printf("no pairings\n");
	cJSON_ArrayForEach(p, list) {
		cJSON *ok = cJSON_GetObjectItem(p, "last_ok");
		cJSON *in = cJSON_GetObjectItem(p, "pending_in");
		cJSON *off = cJSON_GetObjectItem(p, "clock_offset_ms"), *cw;

		printf("%-20s %-7s %-5s %s\n",
		    cJSON_GetObjectItem(p, "pair")->valuestring,
		    cJSON_GetObjectItem(p, "role")->valuestring,
		    cJSON_GetObjectItem(p, "state")->valuestring,
		    cJSON_GetObjectItem(p, "reason")->valuestring);
		printf("    last sync %s, pending out %.0f, ",
		    cJSON_IsString(ok) ? ok->valuestring : "never",
		    cJSON_GetObjectItem(p, "pending_out")->valuedouble);
		if (cJSON_IsNumber(in))
			printf("pending in %.0f", in->valuedouble);
		else
			printf("pending in unknown");
		printf(", conflicts %.0f",
		    cJSON_GetObjectItem(p, "conflicts")->valuedouble);
		if (cJSON_IsNumber(off))
			printf(", clock offset %.0f ms", off->valuedouble);
		printf("\n");
		if (cJSON_IsString(cw = cJSON_GetObjectItem(p, "clock_warning")))
			printf("    warning: %s\n", cw->valuestring);
	}
	cJSON_Delete(list);
	return FS_EXIT_OK;
}

int
cmd_pair_test(struct cmd_ctx *ctx, int argc, char **argv)
{
	const struct cmd_entry *e = cmd_find("pair test");
	struct pairing *p;
	cJSON *rep, *w;
	int json, r, ok;

	if ((r = cmd_parse_json(e, argc, argv, &json, 1)) != 0)
		return r;
	if (cmd_open(ctx) == -1 || store_check_ready(ctx->store,
	    &ctx->err) == -1 || (p = pairing_get(ctx->store, argv[optind],
	    &ctx->err)) == NULL)
		return cmd_fail(ctx);
	r = active_test(ctx->store, p, &rep, &ctx->err);
	pairing_free(p);
	if (r == -1)
		return cmd_fail(ctx);
	ok = cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok"));
	if (json)
		cmd_print_json(rep);
	else {
		cJSON *prob = cJSON_GetObjectItem(rep, "problem");

		if (ok)
			printf("green: %s reached peer %s (%s), protocol %.0f, "
			    "%.0f fields flow, clock offset %.0f ms\n",
			    argv[optind],
			    cJSON_GetObjectItem(rep, "name")->valuestring,
			    cJSON_GetObjectItem(rep, "peer")->valuestring,
			    cJSON_GetObjectItem(rep, "protocol")->valuedouble,
			    cJSON_GetObjectItem(rep, "flows")->valuedouble,
			    cJSON_GetObjectItem(rep,
			    "clock_offset_ms")->valuedouble);
		else
			fprintf(stderr, "fieldsync: %s: red: %s\n", argv[optind],
			    cJSON_IsString(prob) ? prob->valuestring :
			    "unknown problem");
		cJSON_ArrayForEach(w, cJSON_GetObjectItem(rep, "warnings"))
			printf("warning: %s\n", w->valuestring);
		cJSON_Delete(rep);
	}
	return ok ? FS_EXIT_OK : FS_EXIT_FAIL;
}
