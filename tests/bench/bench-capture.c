/*
 * bench-capture.c - the cost of capture on an app's write path.
 *
 * Plays the app: a realistic table (id INTEGER PRIMARY KEY and eight
 * columns of the usual kinds), N INSERTs in one transaction, then N
 * single-row UPDATEs of one column each (rotating over the columns, a
 * different row each time) in one transaction.  It knows nothing about
 * fieldsync and links only sqlite3: run-bench.sh runs it on a plain
 * database and on a copy enrolled with "fieldsync table add", so the
 * difference is the triggers.
 *
 *   bench-capture create DB          make the app table (WAL, 4 KiB pages)
 *   bench-capture run DB N [PHASE]   PHASE: all (default), insert, update
 *
 * "run" prints "insert SECONDS", "update SECONDS" and, when DB is an
 * instance, "log ROWS" (the rows the triggers wrote).  bench_insert and
 * bench_update are separate, never inlined functions so that
 * valgrind --tool=callgrind --toggle-collect=bench_update counts only
 * what one phase costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define NOINLINE __attribute__((noinline))

static const char SCHEMA[] =
    "PRAGMA page_size = 4096;"
    "PRAGMA journal_mode = WAL;"
    "CREATE TABLE customer ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " email TEXT,"
    " phone TEXT,"
    " city TEXT,"
    " postcode TEXT,"
    " balance REAL NOT NULL DEFAULT 0,"
    " visits INTEGER NOT NULL DEFAULT 0,"
    " notes TEXT);"
    "CREATE INDEX customer_email ON customer(email);";

/* Columns the UPDATE phase rotates over, with how to make a value. */
static const char *const upd_cols[] = {
	"phone", "city", "balance", "visits", "notes", "email", "postcode",
	"name"
};
#define NUPD (sizeof upd_cols / sizeof upd_cols[0])

static const char *const cities[] = {
	"Lisboa", "Porto", "Braga", "Coimbra", "Faro", "Aveiro", "Évora",
	"Viseu"
};

static void
die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "bench-capture: %s: %s\n", what,
	    db ? sqlite3_errmsg(db) : "error");
	exit(1);
}

static void
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench-capture: %s: %s\n", sql,
		    msg ? msg : "error");
		exit(1);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A deterministic pseudo-random sequence, the same for every run. */
static unsigned long long rng_state = 88172645463325252ULL;

static unsigned long long
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Bind a value for column col of row k.  gen 0 is the INSERT, gen 1 the
 * UPDATE; every gen 1 value differs from the gen 0 one, so each UPDATE
 * really changes its column (a no-op would record nothing).
 */
static void
bind_value(sqlite3_stmt *st, int i, const char *col, long k, int gen)
{
	char buf[160];

	if (strcmp(col, "name") == 0) {
		snprintf(buf, sizeof buf, "Customer %ld-%d", k, gen);
		sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
	} else if (strcmp(col, "email") == 0) {
		snprintf(buf, sizeof buf, "customer%ld.%d@example.com", k, gen);
		sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
	} else if (strcmp(col, "phone") == 0) {
		snprintf(buf, sizeof buf, "+351 %d%02d %03d %03d", 2 + gen * 7,
		    (int)(k % 100),
		    (int)(rng() % 1000), (int)(rng() % 1000));
		sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
	} else if (strcmp(col, "city") == 0) {
		sqlite3_bind_text(st, i, cities[(k + gen) % 8], -1,
		    SQLITE_STATIC);
	} else if (strcmp(col, "postcode") == 0) {
		snprintf(buf, sizeof buf, "%04d-%03d", (int)(1000 + rng() % 4000 +
		    gen * 5000), (int)(rng() % 1000));
		sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
	} else if (strcmp(col, "balance") == 0) {
		sqlite3_bind_double(st, i, (double)(rng() % 10000000) / 100.0 +
		    gen * 1e6);
	} else if (strcmp(col, "visits") == 0) {
		sqlite3_bind_int64(st, i, (sqlite3_int64)(rng() % 500) +
		    gen * 1000);
	} else {
		snprintf(buf, sizeof buf, "Prefers contact by e-mail; last "
		    "order %llu; account manager %llu; revision %d.",
		    rng() % 100000, rng() % 50, gen);
		sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
	}
}

static NOINLINE double
bench_insert(sqlite3 *db, long n)
{
	static const char *const cols[] = {
		"name", "email", "phone", "city", "postcode", "balance",
		"visits", "notes"
	};
	sqlite3_stmt *st;
	double t0 = now();

	if (sqlite3_prepare_v2(db, "INSERT INTO customer(name, email, phone, "
	    "city, postcode, balance, visits, notes) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8)", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare insert");
	exec(db, "BEGIN");
	for (long k = 1; k <= n; k++) {
		for (int i = 0; i < 8; i++)
			bind_value(st, i + 1, cols[i], k, 0);
		if (sqlite3_step(st) != SQLITE_DONE)
			die(db, "insert");
		sqlite3_reset(st);
	}
	exec(db, "COMMIT");
	sqlite3_finalize(st);
	return now() - t0;
}

static NOINLINE double
bench_update(sqlite3 *db, long n)
{
	sqlite3_stmt *st[NUPD];
	double t0 = now();

	for (size_t c = 0; c < NUPD; c++) {
		char sql[128];

		snprintf(sql, sizeof sql, "UPDATE customer SET %s = ?1 WHERE "
		    "id = ?2", upd_cols[c]);
		if (sqlite3_prepare_v2(db, sql, -1, &st[c], NULL) != SQLITE_OK)
			die(db, "prepare update");
	}
	exec(db, "BEGIN");
	/* Every row once, in a scattered order: k * 7919 mod n is a
	 * permutation when n is not a multiple of 7919. */
	for (long i = 0; i < n; i++) {
		long k = (long)(((unsigned long long)i * 7919ULL) %
		    (unsigned long long)n) + 1;
		sqlite3_stmt *s = st[(size_t)i % NUPD];

		bind_value(s, 1, upd_cols[(size_t)i % NUPD], k, 1);
		sqlite3_bind_int64(s, 2, k);
		if (sqlite3_step(s) != SQLITE_DONE)
			die(db, "update");
		if (sqlite3_changes(db) != 1)
			die(db, "update changed no row");
		sqlite3_reset(s);
	}
	exec(db, "COMMIT");
	for (size_t c = 0; c < NUPD; c++)
		sqlite3_finalize(st[c]);
	return now() - t0;
}

static sqlite3 *
open_db(const char *path, int create)
{
	sqlite3 *db;
	int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
		die(db, path);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

int
main(int argc, char **argv)
{
	sqlite3 *db;

	if (argc == 3 && strcmp(argv[1], "create") == 0) {
		db = open_db(argv[2], 1);
		exec(db, SCHEMA);
		sqlite3_close(db);
		return 0;
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "run") == 0) {
		const char *phase = argc == 5 ? argv[4] : "all";
		long n = atol(argv[3]);
		sqlite3_stmt *st;
		double t;

		if (n < 1 || n % 7919 == 0) {
			fprintf(stderr, "bench-capture: bad N\n");
			return 2;
		}
		db = open_db(argv[2], 0);
		/* The same file settings for both databases, whatever the
		 * build's defaults: WAL, synchronous NORMAL, and the page
		 * size fixed when the file was created. */
		exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
		/* The update phase needs the rows: always insert them. */
		t = bench_insert(db, n);
		if (strcmp(phase, "update") != 0)
			printf("insert %.4f\n", t);
		if (strcmp(phase, "insert") != 0)
			printf("update %.4f\n", bench_update(db, n));
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM _fs_log", -1,
		    &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				printf("log %lld\n", (long long)
				    sqlite3_column_int64(st, 0));
			sqlite3_finalize(st);
		}
		if (sqlite3_close(db) != SQLITE_OK)
			die(db, "close");
		return 0;
	}
	fprintf(stderr, "usage: bench-capture create DB\n"
	    "       bench-capture run DB N [all|insert|update]\n");
	return 2;
}
