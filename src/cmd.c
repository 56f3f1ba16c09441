/*
 * cmd.c - the command table, dispatch helpers, usage and help.
 * Keep this table, man/fieldsync.1 and README.md in agreement (a test
 * checks it).
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

const struct cmd_entry cmd_table[] = {
	{ "init", "[--name NAME] [--admin-password-file F] [--new-identity]",
	  "add fieldsync's state tables to an app database (any command "
	  "upgrades them)",
	  "--name NAME\tname of this instance (default: the file's base name)\n"
	  "--admin-password-file F\tfile whose first line becomes the web "
	  "UI's admin password\n"
	  "--new-identity\tfor a copy of another instance's database: give "
	  "this one its own identity, so the two can be paired",
	  cmd_init },
	{ "passwd", "[--password-file F]",
	  "set the web UI's admin password (ends the UI's open sessions)",
	  "--password-file F\tfile whose first line is the new password "
	  "(default: type it twice at the terminal)",
	  cmd_passwd },
	{ "table add", "TABLE [--status-column C] [--added-column C] "
	  "[--match COL[,COL]]",
	  "enrol a table: system fields, field numbers, capture triggers",
	  "--status-column C\trecord status column (default fs_status; "
	  "added if missing; non-zero means deleted)\n"
	  "--added-column C\ttime added column (default fs_added; added if "
	  "missing)\n"
	  "--match COL[,COL]\tcolumns that link existing records on a first "
	  "sync\n\t(indexed by fieldsync unless the app has an index for "
	  "them)",
	  cmd_table_add },
	{ "table list", "[--json]", "list enrolled tables, their fields, and "
	  "columns not captured yet",
	  "--json\tmachine-readable output", cmd_table_list },
	{ "table remove", "TABLE",
	  "stop capturing a table (app data and field numbers are kept)",
	  NULL, cmd_table_remove },
	{ "pair add", "NAME --passive --password-file F | NAME --active "
	  "--url URL --password-file F [--interval SECONDS]",
	  "add a pairing with a peer",
	  "--passive\tthis side serves; the active side connects as NAME\n"
	  "--active\tthis side polls the peer at --url\n"
	  "--url URL\tthe passive peer, http://HOST:PORT/ or https://... "
	  "(no user or password in it)\n"
	  "--password-file F\tfile whose first line is the shared password\n"
	  "--interval SECONDS\tactive only: seconds between polls, 1 to "
	  "604800 (default 60)",
	  cmd_pair_add },
	{ "pair list", "[--json]", "list pairings",
	  "--json\tmachine-readable output", cmd_pair_list },
	{ "pair show", "NAME [--json]", "show a pairing and its field map",
	  "--json\tmachine-readable output", cmd_pair_show },
	{ "pair remove", "NAME", "remove a pairing and its field map", NULL,
	  cmd_pair_remove },
	{ "pair test", "NAME [--json]",
	  "check an active pairing: reachable, password, protocol, map",
	  "--json\tmachine-readable report", cmd_pair_test },
	{ "pair set", "NAME KEY VALUE",
	  "change a pairing setting",
	  "interval SECONDS\tactive only: seconds between polls (1 to 604800)\n"
	  "policy newest|active|passive\twho wins a conflict (the active "
	  "side's setting decides)\n"
	  "enabled yes|no\twhether the pairing runs\n"
	  "url URL\tthe passive peer (active pairings)\n"
	  "deletes soft|hard\thow a peer's hard DELETE is applied here\n"
	  "ca-file F\tCA certificate file to verify the peer's TLS "
	  "certificate (empty to unset)\n"
	  "password-file F\treplace the shared password",
	  cmd_pair_set },
	{ "map add", "PAIR TABLE.COLUMN [--mode two-way|upload|download|off] "
	  "[--remote-field N]",
	  "add a field to a pairing's map",
	  "--mode M\ttwo-way (default), upload, download or off\n"
	  "--remote-field N\ton a passive pairing, the active side's field "
	  "number (one column each)",
	  cmd_map_add },
	{ "map list", "PAIR [--json]", "show a pairing's field map and "
	  "warnings", "--json\tmachine-readable output", cmd_map_list },
	{ "map set", "PAIR TABLE.COLUMN --mode M", "change a mapped field's "
	  "mode", "--mode M\ttwo-way, upload, download or off", cmd_map_set },
	{ "map remove", "PAIR TABLE.COLUMN", "remove a field from a map",
	  NULL, cmd_map_remove },
	{ "log", "TABLE ROWID [--json] [--limit N]",
	  "show a record's change log, newest first",
	  "--json\tmachine-readable output\n"
	  "--limit N\tshow at most N entries", cmd_log },
	{ "sync", "[PAIR]", "run one sync pass of every enabled active "
	  "pairing (or of PAIR) and exit", NULL, cmd_sync },
	{ "serve", "[--listen ADDR:PORT] [--tls-cert F --tls-key F] [--no-ui]",
	  "serve the sync endpoint and run active pairings every interval; "
	  "log each event (changes moved, failures, refusals) on stderr",
	  "--listen ADDR:PORT\taddress to serve on (default 127.0.0.1:8080; "
	  "port 0 picks a free one)\n"
	  "--tls-cert F\tPEM certificate: serve HTTPS\n"
	  "--tls-key F\tPEM private key of --tls-cert\n"
	  "--no-ui\tserve the sync endpoint only: no web UI, no /api/",
	  cmd_serve },
	{ "status", "[--json]", "show each pairing: green or red and why, "
	  "last sync, pending changes, conflicts, clock offset to the peer",
	  "--json\tmachine-readable output", cmd_status },
	{ "conflicts", "[--all] [--json]", "list conflicts waiting for review",
	  "--all\talso list resolved conflicts\n"
	  "--json\tmachine-readable output", cmd_conflicts },
	{ "conflicts resolve", "ID|--all --keep local|remote|winner",
	  "keep one value of a conflict; the choice syncs like any edit",
	  "--keep K\tthe value to keep: local, remote, or winner (the one the\n"
	  "\tpolicy chose); remote is refused when the row was hard-deleted\n"
	  "\there (restore it on the peer)\n"
	  "--all\tresolve every open conflict alike, in one transaction",
	  cmd_conflicts_resolve },
	{ NULL, NULL, NULL, NULL, NULL }
};

const struct cmd_entry *
cmd_find(const char *name)
{
	for (const struct cmd_entry *e = cmd_table; e->name; e++)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

int
cmd_open(struct cmd_ctx *ctx)
{
	if (ctx->store != NULL)
		return 0;
	ctx->store = store_open(ctx->db, &ctx->err);
	return ctx->store ? 0 : -1;
}

int
cmd_fail(struct cmd_ctx *ctx)
{
	fprintf(stderr, "fieldsync: %s\n", ctx->err.msg[0] ? ctx->err.msg :
	    "unknown error");
	return ctx->err.code == FS_EINVAL ? FS_EXIT_USAGE : FS_EXIT_FAIL;
}

int
cmd_usage(const struct cmd_entry *e, const char *fmt, ...)
{
	char msg[512], line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fs_err_oneline(line, sizeof line, msg);
	fprintf(stderr, "fieldsync: %s (usage: fieldsync [-d DB] %s %s)\n",
	    line, e->name, e->args);
	return FS_EXIT_USAGE;
}

void
cmd_print_json(cJSON *j)
{
	char *s = cJSON_Print(j);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	cJSON_Delete(j);
}

void
cmd_help(FILE *f, const struct cmd_entry *e)
{
	if (e == NULL) {
		fprintf(f, "usage: fieldsync [-d DB] COMMAND [ARGS]\n\n"
		    "Keeps chosen fields of SQLite tables in sync between "
		    "instances.\n-d DB defaults to $FIELDSYNC_DB.\n"
		    "An argument that starts with a dash (a negative row id) "
		    "goes after --.\n\n"
		    "commands:\n");
		for (e = cmd_table; e->name; e++)
			fprintf(f, "  %-18s %s\n", e->name, e->summary);
		fprintf(f, "\n'fieldsync COMMAND --help' shows a command's "
		    "options; man fieldsync has it all.\n");
		return;
	}
	fprintf(f, "usage: fieldsync [-d DB] %s %s\n\n%s.\n", e->name, e->args,
	    e->summary);
	if (e->help != NULL) {
		const char *p = e->help;

		fprintf(f, "\n");
		while (*p) {
			size_t n = strcspn(p, "\n"), k = strcspn(p, "\t");

			if (k < n)
				fprintf(f, "  %-24.*s %.*s\n", (int)k, p,
				    (int)(n - k - 1), p + k + 1);
			else
				fprintf(f, "  %.*s\n", (int)n, p);
			p += n;
			if (*p == '\n')
				p++;
		}
	}
}

/*
 * What was wrong with the option getopt refused, in the user's words.
 * optopt is 0 for an unknown long option, else the option's letter: an
 * unknown short one (then optind may still sit on its cluster, "-12"),
 * or a long one given without its value or with one it does not take.
 */
static const char *
bad_option(char **argv, char *buf, size_t n)
{
	const char *cur = argv[optind], *prev = argv[optind - 1];
	int in_cluster = cur != NULL && cur[0] == '-' && cur[1] != '-' &&
	    optopt != 0 && strchr(cur + 1, optopt) != NULL;

	if (optopt == 0)
		snprintf(buf, n, "invalid option %.*s", (int)strcspn(prev, "="),
		    prev);
	else if (!in_cluster && strncmp(prev, "--", 2) == 0)
		snprintf(buf, n, "%.*s %s", (int)strcspn(prev, "="), prev,
		    strchr(prev, '=') ? "takes no value" : "needs a value");
	else if (isdigit((unsigned char)optopt))
		snprintf(buf, n, "invalid option %s (an argument that starts "
		    "with '-' goes after '--', as in: -- %s)",
		    in_cluster ? cur : prev, in_cluster ? cur : prev);
	else
		snprintf(buf, n, "invalid option -%c", optopt);
	return buf;
}

int
cmd_parse_common(const struct cmd_entry *e, int c, char **argv)
{
	char buf[160];

	switch (c) {
	case 'h':
		cmd_help(stdout, e);
		exit(FS_EXIT_OK);
	case 'P':
		return cmd_usage(e, "passwords are never taken on the command "
		    "line; put it in a file and use --password-file F");
	default:
		break;
	}
	return cmd_usage(e, "%s", bad_option(argv, buf, sizeof buf));
}

int
cmd_parse_json(const struct cmd_entry *e, int argc, char **argv, int *json,
    int npos)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*json = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			*json = 1;
		else
			return cmd_parse_common(e, c, argv);
	}
	if (argc - optind != npos)
		return cmd_usage(e, "wrong number of arguments");
	return 0;
}


void
cmd_print_value(const cJSON *v)
{
	char *s;

	if (cJSON_IsString(v)) {
		printf("'%s'", v->valuestring);
		return;
	}
	s = cJSON_PrintUnformatted(v);
	printf("%s", s ? s : "?");
	free(s);
}

void
cmd_print_map(const cJSON *map, const char *indent)
{
	const cJSON *f, *w;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(map, "fields")) {
		const cJSON *rf = cJSON_GetObjectItem(f, "remote_field");
		char remote[40] = "";

		if (cJSON_IsNumber(rf))
			snprintf(remote, sizeof remote, "-> active field %.0f",
			    rf->valuedouble);
		printf("%s%6.0f  %s.%s  %-8s %s\n", indent,
		    cJSON_GetObjectItem(f, "field")->valuedouble,
		    cJSON_GetObjectItem(f, "table")->valuestring,
		    cJSON_GetObjectItem(f, "column")->valuestring,
		    cJSON_GetObjectItem(f, "mode")->valuestring, remote);
	}
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(map, "warnings"))
		printf("warning: %s\n", w->valuestring);
}
