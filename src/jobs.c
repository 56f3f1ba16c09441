/* jobs.c - the board between the UI and the daemon loop; see jobs.h. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "util.h"

enum job_state { JOB_FREE, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
	int64_t id;		/* grows; 0 = free slot */
	enum job_state state;
	enum job_kind kind;
	char pair[FS_JOB_NAME];
	char note[160];
	struct sync_progress prog;	/* counters only; cb unused */
	int ok;
	struct fs_err err;
	char *report;		/* JSON text of a test report */
};

struct job_board {
	pthread_mutex_t mu;
	int64_t next_id;
	struct job j[FS_JOBS_MAX];
};

struct job_board *
jobs_new(void)
{
	struct job_board *b = xcalloc(1, sizeof *b);

	pthread_mutex_init(&b->mu, NULL);
	b->next_id = 1;
	return b;
}

void
jobs_free(struct job_board *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < FS_JOBS_MAX; i++)
		free(b->j[i].report);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static struct job *
by_id(struct job_board *b, int64_t id)
{
	for (int i = 0; i < FS_JOBS_MAX; i++)
		if (b->j[i].id == id && id != 0)
			return &b->j[i];
	return NULL;
}

int
jobs_submit(struct job_board *b, const char *pair, enum job_kind kind,
    int64_t *id, struct fs_err *err)
{
	struct job *slot = NULL, *oldest = NULL;
	int ret = -1;

	if (strlen(pair) >= FS_JOB_NAME)
		return fs_err_set(err, FS_EINVAL, "pairing name too long");
	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < FS_JOBS_MAX; i++) {
		struct job *j = &b->j[i];

		if (j->id == 0) {
			if (slot == NULL)
				slot = j;
			continue;
		}
		if (strcmp(j->pair, pair) != 0)
			continue;
		if (j->state == JOB_QUEUED || j->state == JOB_RUNNING) {
			fs_err_set(err, FS_EBUSY, "pairing %s already has a %s "
			    "%s", pair, j->kind == JOB_SYNC ? "sync" :
			    "connection test", j->state == JOB_QUEUED ?
			    "waiting" : "running");
			goto out;
		}
		if (j->kind == kind)
			slot = j;	/* replaces the last one of its kind */
	}
	if (slot == NULL) {
		/* Full: the oldest finished job gives way. */
		for (int i = 0; i < FS_JOBS_MAX; i++)
			if (b->j[i].state == JOB_DONE && (oldest == NULL ||
			    b->j[i].id < oldest->id))
				oldest = &b->j[i];
		if ((slot = oldest) == NULL) {
			fs_err_set(err, FS_EBUSY, "too many jobs waiting");
			goto out;
		}
	}
	free(slot->report);
	memset(slot, 0, sizeof *slot);
	slot->id = b->next_id++;
	slot->state = JOB_QUEUED;
	slot->kind = kind;
	snprintf(slot->pair, sizeof slot->pair, "%s", pair);
	*id = slot->id;
	ret = 0;
out:
	pthread_mutex_unlock(&b->mu);
	return ret;
}

int64_t
jobs_claim(struct job_board *b, char pair[FS_JOB_NAME], enum job_kind *kind)
{
	struct job *first = NULL;
	int64_t id = 0;

	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < FS_JOBS_MAX; i++)
		if (b->j[i].state == JOB_QUEUED && (first == NULL ||
		    b->j[i].id < first->id))
			first = &b->j[i];
	if (first != NULL) {
		first->state = JOB_RUNNING;
		first->note[0] = '\0';
		memcpy(pair, first->pair, FS_JOB_NAME);
		*kind = first->kind;
		id = first->id;
	}
	pthread_mutex_unlock(&b->mu);
	return id;
}

void
jobs_requeue(struct job_board *b, int64_t id, const char *note)
{
	struct job *j;

	pthread_mutex_lock(&b->mu);
	if ((j = by_id(b, id)) != NULL) {
		j->state = JOB_QUEUED;
		snprintf(j->note, sizeof j->note, "%s", note ? note : "");
	}
	pthread_mutex_unlock(&b->mu);
}

void
jobs_progress(struct job_board *b, int64_t id, const struct sync_progress *p)
{
	struct job *j;

	pthread_mutex_lock(&b->mu);
	if ((j = by_id(b, id)) != NULL) {
		j->prog = *p;
		j->prog.cb = NULL;
		j->prog.ctx = NULL;
	}
	pthread_mutex_unlock(&b->mu);
}

void
jobs_finish(struct job_board *b, int64_t id, int ok, const struct fs_err *err,
    cJSON *report)
{
	char *txt = report ? cJSON_PrintUnformatted(report) : NULL;
	struct job *j;

	cJSON_Delete(report);
	pthread_mutex_lock(&b->mu);
	if ((j = by_id(b, id)) != NULL) {
		j->state = JOB_DONE;
		j->ok = ok;
		j->prog.done = 1;
		if (err != NULL)
			j->err = *err;
		free(j->report);
		j->report = txt;
		txt = NULL;
	}
	pthread_mutex_unlock(&b->mu);
	free(txt);
}

static const char *
state_name(enum job_state s)
{
	switch (s) {
	case JOB_QUEUED:
		return "queued";
	case JOB_RUNNING:
		return "running";
	default:
		return "done";
	}
}

cJSON *
jobs_get(struct job_board *b, const char *pair, enum job_kind kind)
{
	struct job *j = NULL;
	cJSON *o = NULL;

	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < FS_JOBS_MAX; i++)
		if (b->j[i].id != 0 && b->j[i].kind == kind &&
		    strcmp(b->j[i].pair, pair) == 0 &&
		    (j == NULL || b->j[i].id > j->id))
			j = &b->j[i];
	if (j != NULL) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)j->id);
		cJSON_AddStringToObject(o, "pair", j->pair);
		cJSON_AddStringToObject(o, "kind", kind == JOB_SYNC ? "sync" :
		    "test");
		cJSON_AddStringToObject(o, "state", state_name(j->state));
		cJSON_AddStringToObject(o, "note", j->note);
		cJSON_AddNumberToObject(o, "rounds", (double)j->prog.rounds);
		cJSON_AddNumberToObject(o, "sent_records",
		    (double)j->prog.sent_records);
		cJSON_AddNumberToObject(o, "sent_values",
		    (double)j->prog.sent_values);
		cJSON_AddNumberToObject(o, "recv_records",
		    (double)j->prog.recv_records);
		cJSON_AddNumberToObject(o, "recv_values",
		    (double)j->prog.recv_values);
		cJSON_AddNumberToObject(o, "conflicts",
		    (double)j->prog.conflicts);
		if (j->state == JOB_DONE) {
			cJSON_AddBoolToObject(o, "ok", j->ok);
			if (!j->ok)
				cJSON_AddStringToObject(o, "error",
				    j->err.msg[0] ? j->err.msg : "failed");
			if (!j->ok)
				cJSON_AddStringToObject(o, "error_kind",
				    active_error_kind(j->err.code));
			if (j->report != NULL)
				cJSON_AddItemToObject(o, "report",
				    cJSON_Parse(j->report));
		}
	}
	pthread_mutex_unlock(&b->mu);
	return o;
}
