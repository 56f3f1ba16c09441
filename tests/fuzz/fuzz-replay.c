/*
 * fuzz-replay.c - run inputs through the fuzz target without libFuzzer,
 * so the seed corpus (and any crash file kept as a regression case) is
 * an ordinary test in "make check", with any compiler.
 *
 * Usage: fuzz-replay [FILE|DIR ...]; with no arguments it replays
 * $TOP_SRCDIR/tests/fuzz/corpus (or ./tests/fuzz/corpus).  A failed
 * check in the target aborts; no input at all is a failure too.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	size_t n = 0, cap = 0, r;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((p = realloc(p, cap)) == NULL)
				abort();
		}
		r = fread(p + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	/* An exact-size copy, so reading past the input is caught. */
	{
		unsigned char *exact = malloc(n ? n : 1);

		if (exact == NULL)
			abort();
		memcpy(exact, p, n);
		free(p);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	return 0;
}

static int
replay(const char *path, int *count)
{
	struct stat st;
	struct dirent **names;
	int n, ret = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "%s\n", path);
		return replay_file(path);
	}
	if ((n = scandir(path, &names, NULL, alphasort)) < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && ret == 0) {
			size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
			char *full = malloc(len);

			if (full == NULL)
				abort();
			snprintf(full, len, "%s/%s", path, names[i]->d_name);
			ret = replay(full, count);
			free(full);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int
main(int argc, char **argv)
{
	const char *top = getenv("TOP_SRCDIR");
	char def[4096];
	int count = 0;

	if (argc < 2) {
		snprintf(def, sizeof def, "%s/tests/fuzz/corpus",
		    top != NULL && *top != '\0' ? top : ".");
		if (replay(def, &count) == -1)
			return 1;
	}
	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) == -1)
			return 1;
	if (count == 0) {
		fprintf(stderr, "fuzz-replay: no inputs\n");
		return 1;
	}
	printf("fuzz-replay: %d inputs, all checks held\n", count);
	return 0;
}
