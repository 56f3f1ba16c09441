/*
 * cmd-passwd.c - "fieldsync passwd": set the web UI's admin password,
 * from a file or typed twice at a terminal without echo.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "adminpw.h"
#include "cmd.h"
#include "secret.h"
#include "util.h"

/* One line from the terminal without echo; malloc'd, or NULL. */
static char *
read_noecho(const char *prompt, struct fs_err *err)
{
	struct termios old, quiet;
	char line[FS_ADMINPW_MAX + 2];
	char *ret = NULL;
	size_t n;

	if (tcgetattr(STDIN_FILENO, &old) == -1) {
		fs_err_set(err, FS_EIO, "cannot read the terminal: %s",
		    strerror(errno));
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1) {
		fs_err_set(err, FS_EIO, "cannot turn off echo: %s",
		    strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof line, stdin) == NULL)
		fs_err_set(err, FS_EINVAL, "no password given");
	else if ((n = strcspn(line, "\r\n")) > FS_ADMINPW_MAX)
		fs_err_set(err, FS_EINVAL, "the password is too long");
	else {
		line[n] = '\0';
		ret = xstrdup(line);
	}
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	explicit_bzero(line, sizeof line);
	return ret;
}

/*
 * The new admin password: the first line of file, or typed twice at the
 * terminal.  Shared with "init --admin-password-file".
 */
char *
cmd_read_admin_password(const char *file, struct fs_err *err)
{
	char *a, *b;

	if (file != NULL)
		a = secret_read_file(file, err);
	else {
		if (!isatty(STDIN_FILENO)) {
			fs_err_set(err, FS_EINVAL, "no terminal to type the "
			    "password at: use --password-file F");
			return NULL;
		}
		if ((a = read_noecho("new UI admin password: ", err)) == NULL)
			return NULL;
		if ((b = read_noecho("again: ", err)) == NULL) {
			secret_free(a);
			return NULL;
		}
		if (strcmp(a, b) != 0) {
			fs_err_set(err, FS_EINVAL, "the two passwords differ; "
			    "nothing changed");
			secret_free(a);
			a = NULL;
		}
		secret_free(b);
	}
	if (a != NULL && adminpw_valid(a, err) == -1) {
		secret_free(a);
		a = NULL;
	}
	return a;
}

int
cmd_passwd(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "password-file", required_argument, NULL, 'f' },
		{ "password", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *e = cmd_find("passwd");
	const char *file = NULL;
	char *pw;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			file = optarg;
		else
			return cmd_parse_common(e, c, argv);
	}
	if (optind != argc)
		return cmd_usage(e, "unexpected argument %s", argv[optind]);
	if (cmd_open(ctx) == -1 || store_check_ready(ctx->store,
	    &ctx->err) == -1)
		return cmd_fail(ctx);
	if ((pw = cmd_read_admin_password(file, &ctx->err)) == NULL)
		return cmd_fail(ctx);
	r = adminpw_set(ctx->store, pw, &ctx->err);
	secret_free(pw);
	if (r == -1)
		return cmd_fail(ctx);
	printf("UI admin password set; a running 'fieldsync serve' uses it "
	    "from the next login\n");
	return FS_EXIT_OK;
}
