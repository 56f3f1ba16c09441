/*
 * test_jobs.c - the job board between the web UI and the daemon loop
 * (jobs.c): one job per pairing at a time, oldest first, progress and
 * outcome, bounded memory, and the board shared by threads.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "testhelp.h"

static int
setup(void **state)
{
	*state = jobs_new();
	return 0;
}

static int
teardown(void **state)
{
	jobs_free(*state);
	return 0;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v))
		fail_msg("'%s' is not a number", k);
	return v->valuedouble;
}

static void
assert_state(struct job_board *b, const char *pair, enum job_kind kind,
    int64_t id, const char *state)
{
	cJSON *o = jobs_get(b, pair, kind);

	if (o == NULL)
		fail_msg("no job for %s", pair);
	assert_int_equal((int64_t)num(o, "id"), id);
	assert_string_equal(str(o, "state"), state);
	assert_string_equal(str(o, "pair"), pair);
	assert_string_equal(str(o, "kind"), kind == JOB_SYNC ? "sync" : "test");
	cJSON_Delete(o);
}

static void
test_lifecycle(void **state)
{
	struct job_board *b = *state;
	struct sync_progress p;
	struct fs_err err;
	char pair[FS_JOB_NAME];
	enum job_kind kind;
	int64_t id, id2;
	cJSON *o;

	assert_null(jobs_get(b, "hq", JOB_SYNC));
	assert_int_equal(jobs_claim(b, pair, &kind), 0);
	assert_int_equal(jobs_submit(b, "hq", JOB_SYNC, &id, &err), 0);
	assert_true(id > 0);
	assert_state(b, "hq", JOB_SYNC, id, "queued");
	assert_null(jobs_get(b, "hq", JOB_TEST));
	assert_null(jobs_get(b, "other", JOB_SYNC));
	/* One job per pairing: a second of either kind is refused. */
	fs_err_clear(&err);
	assert_int_equal(jobs_submit(b, "hq", JOB_SYNC, &id2, &err), -1);
	assert_int_equal(err.code, FS_EBUSY);
	assert_non_null(strstr(err.msg, "waiting"));
	assert_int_equal(jobs_submit(b, "hq", JOB_TEST, &id2, &err), -1);
	assert_int_equal(err.code, FS_EBUSY);
	/* The loop claims it. */
	memset(pair, 0, sizeof pair);
	assert_int_equal(jobs_claim(b, pair, &kind), id);
	assert_string_equal(pair, "hq");
	assert_int_equal(kind, JOB_SYNC);
	assert_state(b, "hq", JOB_SYNC, id, "running");
	assert_int_equal(jobs_claim(b, pair, &kind), 0);	/* not twice */
	assert_int_equal(jobs_submit(b, "hq", JOB_TEST, &id2, &err), -1);
	assert_non_null(strstr(err.msg, "running"));
	/* Progress shows; the callback pointers are not kept. */
	memset(&p, 0, sizeof p);
	p.rounds = 3;
	p.sent_records = 10;
	p.sent_values = 20;
	p.recv_records = 4;
	p.recv_values = 8;
	p.conflicts = 1;
	p.ctx = &p;
	jobs_progress(b, id, &p);
	o = jobs_get(b, "hq", JOB_SYNC);
	assert_int_equal(num(o, "rounds"), 3);
	assert_int_equal(num(o, "sent_records"), 10);
	assert_int_equal(num(o, "sent_values"), 20);
	assert_int_equal(num(o, "recv_records"), 4);
	assert_int_equal(num(o, "recv_values"), 8);
	assert_int_equal(num(o, "conflicts"), 1);
	assert_null(cJSON_GetObjectItem(o, "ok"));	/* not done yet */
	cJSON_Delete(o);
	/* Done, with an error. */
	fs_err_set(&err, FS_ENET, "cannot reach 127.0.0.1:9");
	jobs_finish(b, id, 0, &err, NULL);
	o = jobs_get(b, "hq", JOB_SYNC);
	assert_string_equal(str(o, "state"), "done");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "ok")));
	assert_string_equal(str(o, "error"), "cannot reach 127.0.0.1:9");
	assert_string_equal(str(o, "error_kind"), "unreachable");
	assert_int_equal(num(o, "rounds"), 3);
	cJSON_Delete(o);
	/* Now another may start; a test keeps its report. */
	assert_int_equal(jobs_submit(b, "hq", JOB_TEST, &id2, &err), 0);
	assert_true(id2 > id);
	assert_int_equal(jobs_claim(b, pair, &kind), id2);
	assert_int_equal(kind, JOB_TEST);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddStringToObject(o, "peer", "abc");
	jobs_finish(b, id2, 1, NULL, o);	/* consumes o */
	o = jobs_get(b, "hq", JOB_TEST);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "ok")));
	assert_null(cJSON_GetObjectItem(o, "error"));
	assert_string_equal(str(cJSON_GetObjectItem(o, "report"), "peer"),
	    "abc");
	cJSON_Delete(o);
	/* The last sync is still shown beside the test. */
	assert_state(b, "hq", JOB_SYNC, id, "done");
	/* Unknown ids are ignored. */
	jobs_progress(b, 9999, &p);
	jobs_finish(b, 9999, 1, NULL, cJSON_CreateObject());
	jobs_requeue(b, 9999, "x");
	jobs_free(NULL);
}

static void
test_oldest_first_and_requeue(void **state)
{
	struct job_board *b = *state;
	char pair[FS_JOB_NAME];
	enum job_kind kind;
	struct fs_err err;
	int64_t ids[5];
	cJSON *o;

	for (int i = 0; i < 5; i++) {
		snprintf(pair, sizeof pair, "p%d", i);
		assert_int_equal(jobs_submit(b, pair, i % 2 ? JOB_TEST :
		    JOB_SYNC, &ids[i], &err), 0);
		if (i > 0)
			assert_true(ids[i] > ids[i - 1]);
	}
	assert_int_equal(jobs_claim(b, pair, &kind), ids[0]);
	assert_string_equal(pair, "p0");
	assert_int_equal(jobs_claim(b, pair, &kind), ids[1]);
	assert_string_equal(pair, "p1");
	assert_int_equal(kind, JOB_TEST);
	/* Put p0 back (say the lock was busy): it is the oldest again. */
	jobs_requeue(b, ids[0], "waiting for another sync");
	o = jobs_get(b, "p0", JOB_SYNC);
	assert_string_equal(str(o, "state"), "queued");
	assert_string_equal(str(o, "note"), "waiting for another sync");
	cJSON_Delete(o);
	assert_int_equal(jobs_claim(b, pair, &kind), ids[0]);
	o = jobs_get(b, "p0", JOB_SYNC);
	assert_string_equal(str(o, "note"), "");	/* cleared on claim */
	cJSON_Delete(o);
	assert_int_equal(jobs_claim(b, pair, &kind), ids[2]);
	assert_int_equal(jobs_claim(b, pair, &kind), ids[3]);
	assert_int_equal(jobs_claim(b, pair, &kind), ids[4]);
	assert_int_equal(jobs_claim(b, pair, &kind), 0);
}

static void
test_names_and_capacity(void **state)
{
	struct job_board *b = *state;
	char pair[FS_JOB_NAME + 8];
	enum job_kind kind;
	struct fs_err err;
	int64_t id, first = 0;
	cJSON *o;

	memset(pair, 'n', sizeof pair);
	pair[FS_JOB_NAME] = '\0';	/* one byte too long */
	assert_int_equal(jobs_submit(b, pair, JOB_SYNC, &id, &err), -1);
	assert_int_equal(err.code, FS_EINVAL);
	pair[FS_JOB_NAME - 1] = '\0';	/* the longest name */
	assert_int_equal(jobs_submit(b, pair, JOB_SYNC, &id, &err), 0);
	assert_int_equal(jobs_claim(b, pair, &kind), id);
	assert_int_equal(strlen(pair), FS_JOB_NAME - 1);
	jobs_finish(b, id, 1, NULL, NULL);
	/* 63 waiting and that done one fill the board... */
	for (int i = 1; i < FS_JOBS_MAX; i++) {
		snprintf(pair, sizeof pair, "w%d", i);
		assert_int_equal(jobs_submit(b, pair, JOB_SYNC, &id, &err), 0);
		if (first == 0)
			first = id;
	}
	/* ...so the done one gives way to the next... */
	assert_int_equal(jobs_submit(b, "w64", JOB_SYNC, &id, &err), 0);
	memset(pair, 'n', sizeof pair);
	pair[FS_JOB_NAME - 1] = '\0';
	assert_null(jobs_get(b, pair, JOB_SYNC));
	/* ...and with every job waiting, one more is refused. */
	fs_err_clear(&err);
	assert_int_equal(jobs_submit(b, "one-more", JOB_SYNC, &id, &err), -1);
	assert_int_equal(err.code, FS_EBUSY);
	assert_null(jobs_get(b, "one-more", JOB_SYNC));
	/* Once they are done, the oldest done job gives way. */
	for (int i = 0; i < FS_JOBS_MAX; i++) {
		int64_t c = jobs_claim(b, pair, &kind);

		assert_int_equal(c, first + i);
		jobs_finish(b, c, 1, NULL, NULL);
	}
	assert_int_equal(jobs_claim(b, pair, &kind), 0);
	assert_int_equal(jobs_submit(b, "one-more", JOB_SYNC, &id, &err), 0);
	assert_null(jobs_get(b, "w1", JOB_SYNC));
	o = jobs_get(b, "w2", JOB_SYNC);
	assert_non_null(o);
	cJSON_Delete(o);
	o = jobs_get(b, "one-more", JOB_SYNC);
	assert_non_null(o);
	cJSON_Delete(o);
}

/* --- threads ---------------------------------------------------------- */

#define NJOBS 3000
#define NPAIRS 40

struct shared {
	struct job_board *b;
	atomic_int claimed[NJOBS + 1];	/* by id */
	atomic_int nclaimed, nsubmitted, done_producing;
	atomic_int bad;
};

struct worker {
	struct shared *sh;
	int64_t last;		/* ids claimed by one worker only grow */
	int n;
};

static void *
producer(void *arg)
{
	struct shared *sh = arg;
	char pair[FS_JOB_NAME];
	struct fs_err err;
	int64_t id;

	for (int i = 0; atomic_load(&sh->nsubmitted) < NJOBS; i++) {
		snprintf(pair, sizeof pair, "pair-%d", i % NPAIRS);
		if (jobs_submit(sh->b, pair, i & 1 ? JOB_SYNC : JOB_TEST, &id,
		    &err) == 0) {
			if (id < 1 || id > NJOBS)
				atomic_store(&sh->bad, 1);
			atomic_fetch_add(&sh->nsubmitted, 1);
		} else if (err.code != FS_EBUSY)
			atomic_store(&sh->bad, 1);
		else
			sched_yield();
	}
	atomic_store(&sh->done_producing, 1);
	return NULL;
}

static void *
consumer(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	char pair[FS_JOB_NAME];
	enum job_kind kind;

	while (atomic_load(&sh->nclaimed) < NJOBS) {
		struct sync_progress p;
		int64_t id = jobs_claim(sh->b, pair, &kind);

		if (id == 0) {
			sched_yield();
			continue;
		}
		if (id < 1 || id > NJOBS || id <= w->last ||
		    atomic_fetch_add(&sh->claimed[id], 1) != 0 ||
		    strncmp(pair, "pair-", 5) != 0)
			atomic_store(&sh->bad, 1);
		w->last = id;
		w->n++;
		atomic_fetch_add(&sh->nclaimed, 1);
		memset(&p, 0, sizeof p);
		p.rounds = id;
		jobs_progress(sh->b, id, &p);
		jobs_finish(sh->b, id, 1, NULL, kind == JOB_TEST ?
		    cJSON_CreateObject() : NULL);
	}
	return NULL;
}

static void *
reader(void *arg)
{
	struct shared *sh = arg;

	while (!atomic_load(&sh->done_producing) ||
	    atomic_load(&sh->nclaimed) < NJOBS) {
		for (int i = 0; i < NPAIRS; i++) {
			char pair[FS_JOB_NAME];
			cJSON *o;

			snprintf(pair, sizeof pair, "pair-%d", i);
			o = jobs_get(sh->b, pair, i & 1 ? JOB_SYNC : JOB_TEST);
			if (o != NULL && str(o, "state") == NULL)
				atomic_store(&sh->bad, 1);
			cJSON_Delete(o);
		}
		sched_yield();
	}
	return NULL;
}

/*
 * One thread posts jobs (as the server thread does), two claim and
 * finish them (two loops), one reads the board (pages polling): every
 * job is claimed exactly once, each claimer sees ids grow, nothing
 * breaks.  Run it under helgrind or TSan to check the locking itself.
 */
static void
test_threads(void **state)
{
	struct job_board *b = *state;
	struct shared *sh = calloc(1, sizeof *sh);
	struct worker w[2];
	pthread_t tp, tc[2], tr;

	sh->b = b;
	memset(w, 0, sizeof w);
	assert_int_equal(pthread_create(&tp, NULL, producer, sh), 0);
	for (int i = 0; i < 2; i++) {
		w[i].sh = sh;
		assert_int_equal(pthread_create(&tc[i], NULL, consumer, &w[i]),
		    0);
	}
	assert_int_equal(pthread_create(&tr, NULL, reader, sh), 0);
	pthread_join(tp, NULL);
	pthread_join(tc[0], NULL);
	pthread_join(tc[1], NULL);
	pthread_join(tr, NULL);
	assert_int_equal(atomic_load(&sh->bad), 0);
	assert_int_equal(atomic_load(&sh->nsubmitted), NJOBS);
	assert_int_equal(atomic_load(&sh->nclaimed), NJOBS);
	for (int i = 1; i <= NJOBS; i++)
		assert_int_equal(atomic_load(&sh->claimed[i]), 1);
	assert_int_equal(w[0].n + w[1].n, NJOBS);
	free(sh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oldest_first_and_requeue,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_and_capacity, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
