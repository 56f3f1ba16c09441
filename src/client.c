/*
 * client.c - requests to a peer over one reused libcurl handle; see
 * client.h.
 *
 * Why one easy handle per client and not a new one per call: the handle
 * owns the connection cache, the TLS session cache and the Digest state
 * (nonce and nc).  With CURLAUTH_DIGEST as the only method, libcurl picks
 * Digest up front and, once it holds a nonce, sends the Authorization
 * header with the next request without waiting for a challenge; the
 * server accepts it until the nonce expires, then answers "stale" and
 * libcurl retries once with the new nonce.  So a steady poll costs one
 * round trip on a warm connection.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "buf.h"
#include "client.h"
#include "secret.h"
#include "util.h"

struct client {
	CURL *curl;
	char *base;		/* without trailing '/' */
	char *peer;		/* host:port, for messages (no credentials) */
	char *user;
	char *key;
	struct curl_slist *post_hdrs;
	struct curl_slist *get_hdrs;
	struct buf resp;
	int overflow;		/* the response passed its cap */
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t client_once = PTHREAD_ONCE_INIT;
static CURLcode client_init_rc = CURLE_FAILED_INIT;

static void
client_global_init(void)
{
	client_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
client_write(char *p, size_t size, size_t n, void *arg)
{
	struct client *cl = arg;

	if (buf_add(&cl->resp, p, n) == -1) {
		cl->overflow = 1;
		return 0;	/* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	return n;
}

/* "host:port" of a checked URL, for messages that must not carry a password. */
static char *
client_peer_name(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *out;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		out = xstrdup("peer");
	else {
		out = xmalloc(strlen(host) + strlen(port) + 2);
		sprintf(out, "%s:%s", host, port);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

void
client_free(struct client *cl)
{
	if (cl == NULL)
		return;
	if (cl->curl != NULL)
		curl_easy_cleanup(cl->curl);
	curl_slist_free_all(cl->post_hdrs);
	curl_slist_free_all(cl->get_hdrs);
	buf_free(&cl->resp);
	free(cl->base);
	free(cl->peer);
	free(cl->user);
	secret_free(cl->key);
	free(cl);
}

/* Set once by the daemon before any client runs; read by every call. */
static volatile sig_atomic_t *stop_flag;

void
client_stop_on(volatile sig_atomic_t *flag)
{
	stop_flag = flag;
}

/* libcurl asks at least once a second, even while nothing arrives. */
static int
client_progress(void *p, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)p;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stop_flag != NULL && *stop_flag;
}

struct client *
client_new(const char *base_url, const char *user, const char *key,
    const char *ca_file, struct fs_err *err)
{
	struct client *cl = NULL;
	size_t n;
	CURLcode rc = CURLE_OK;

	if (client_url_check(base_url, err) == -1)
		return NULL;
	if (user == NULL || *user == '\0' || key == NULL || *key == '\0') {
		fs_err_set(err, FS_EINVAL, "a client needs a user name and a "
		    "key");
		return NULL;
	}
	if (ca_file != NULL && access(ca_file, R_OK) == -1) {
		fs_err_set(err, FS_EINVAL, "cannot read CA file %s: %s",
		    ca_file, strerror(errno));
		return NULL;
	}
	pthread_once(&client_once, client_global_init);
	if (client_init_rc != CURLE_OK) {
		fs_err_set(err, FS_EIO, "cannot initialise libcurl: %s",
		    curl_easy_strerror(client_init_rc));
		return NULL;
	}
	cl = xcalloc(1, sizeof *cl);
	buf_init(&cl->resp, 1);
	cl->base = xstrdup(base_url);
	n = strlen(cl->base);
	while (n > 0 && cl->base[n - 1] == '/')
		cl->base[--n] = '\0';
	cl->peer = client_peer_name(base_url);
	cl->user = xstrdup(user);
	cl->key = xstrdup(key);
	if ((cl->curl = curl_easy_init()) == NULL) {
		fs_err_set(err, FS_EIO, "cannot create a libcurl handle");
		goto fail;
	}
	if ((cl->post_hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL ||
	    curl_slist_append(cl->post_hdrs,
	    "Accept: application/json") == NULL ||
	    (cl->get_hdrs = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL) {
		fs_err_set(err, FS_EIO, "out of memory");
		goto fail;
	}
#define SET(opt, val) do {						\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(cl->curl, (opt), (val));		\
} while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, cl->errbuf);
	SET(CURLOPT_WRITEFUNCTION, client_write);
	SET(CURLOPT_WRITEDATA, cl);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_USERAGENT, "fieldsync/" PACKAGE_VERSION);
	SET(CURLOPT_TCP_NODELAY, 1L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)FS_CLIENT_CONNECT_MS);
	SET(CURLOPT_TIMEOUT_MS, (long)FS_CLIENT_TOTAL_MS);
	/* Abort a transfer stalled for a minute even inside the total. */
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, 60L);
	/* A stopping daemon does not wait for a silent peer. */
	SET(CURLOPT_XFERINFOFUNCTION, client_progress);
	SET(CURLOPT_NOPROGRESS, 0L);
	/* Digest only: libcurl authenticates up front once it has a nonce. */
	SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
	SET(CURLOPT_USERNAME, cl->user);
	SET(CURLOPT_PASSWORD, cl->key);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL)
		SET(CURLOPT_CAINFO, ca_file);
#undef SET
	if (rc != CURLE_OK) {
		fs_err_set(err, FS_EIO, "cannot set up libcurl: %s",
		    curl_easy_strerror(rc));
		goto fail;
	}
	return cl;
fail:
	client_free(cl);
	return NULL;
}

void
client_set_timeouts(struct client *cl, long connect_ms, long total_ms)
{
	if (connect_ms > 0)
		curl_easy_setopt(cl->curl, CURLOPT_CONNECTTIMEOUT_MS,
		    connect_ms);
	if (total_ms > 0)
		curl_easy_setopt(cl->curl, CURLOPT_TIMEOUT_MS, total_ms);
}

static int
client_curl_err(struct client *cl, CURLcode rc, size_t max_resp,
    struct fs_err *err)
{
	const char *msg = cl->errbuf[0] != '\0' ? cl->errbuf :
	    curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_WRITE_ERROR:
		if (cl->overflow)
			return fs_err_set(err, FS_EPROTO, "%s sent a response "
			    "larger than %zu bytes", cl->peer, max_resp);
		break;
	case CURLE_OPERATION_TIMEDOUT: {
		long sent = 0;

		curl_easy_getinfo(cl->curl, CURLINFO_REQUEST_SIZE, &sent);
		if (sent > 0)
			return fs_err_set(err, FS_ENET, "%s: it took the "
			    "request but did not answer (%s)",
			    cl->peer, msg);
	}
		/* FALLTHROUGH */
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return fs_err_set(err, FS_ENET, "%s: %s", cl->peer, msg);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return fs_err_set(err, FS_ENET, "%s: TLS certificate not "
		    "trusted: %s", cl->peer, msg);
	case CURLE_LOGIN_DENIED:
		return fs_err_set(err, FS_EAUTH, "%s refused authentication: "
		    "%s", cl->peer, msg);
	case CURLE_OUT_OF_MEMORY:
		return fs_err_set(err, FS_EIO, "out of memory");
	case CURLE_ABORTED_BY_CALLBACK:
		return fs_err_set(err, FS_ENET, "%s: given up: fieldsync is "
		    "stopping", cl->peer);
	default:
		break;
	}
	return fs_err_set(err, FS_EPROTO, "%s: %s", cl->peer, msg);
}

static int
client_perform(struct client *cl, const char *path, size_t max_resp,
    int *status, char **resp, size_t *resp_len, struct fs_err *err)
{
	char *url = NULL;
	CURLcode rc;
	long code = 0;
	int ret = -1;

	*status = 0;
	*resp = NULL;
	if (resp_len != NULL)
		*resp_len = 0;
	if (path == NULL || path[0] != '/' || max_resp == 0) {
		fs_err_set(err, FS_EINVAL, "client: bad path or response cap");
		goto out;
	}
	url = xmalloc(strlen(cl->base) + strlen(path) + 1);
	strcpy(url, cl->base);
	strcat(url, path);
	buf_init(&cl->resp, max_resp);
	if ((rc = curl_easy_setopt(cl->curl, CURLOPT_URL, url)) != CURLE_OK) {
		client_curl_err(cl, rc, max_resp, err);
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		cl->overflow = 0;
		cl->errbuf[0] = '\0';
		rc = curl_easy_perform(cl->curl);
		/*
		 * The peer dropped the connection before answering anything:
		 * a kept-alive one it had closed, or one it reset after its
		 * Digest challenge because the body was still unread.  Once
		 * more, on a new connection: every request of the protocol
		 * may be sent twice (fieldsync-protocol(7)).
		 */
		if (attempt == 0 && cl->resp.len == 0 &&
		    (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
		    rc == CURLE_GOT_NOTHING)) {
			curl_easy_setopt(cl->curl, CURLOPT_FRESH_CONNECT, 1L);
			continue;
		}
		curl_easy_setopt(cl->curl, CURLOPT_FRESH_CONNECT, 0L);
		break;
	}
	if (rc != CURLE_OK) {
		client_curl_err(cl, rc, max_resp, err);
		goto out;
	}
	curl_easy_getinfo(cl->curl, CURLINFO_RESPONSE_CODE, &code);
	*status = (int)code;
	if (code == 401) {
		fs_err_set(err, FS_EAUTH, "%s refused authentication as \"%s\" "
		    "(wrong password, or no pairing of that name there)",
		    cl->peer, cl->user);
		goto out;
	}
	if (code == 429) {
		curl_off_t after = 0;

		curl_easy_getinfo(cl->curl, CURLINFO_RETRY_AFTER, &after);
		fs_err_set(err, FS_EAUTH, "%s refuses us for %ld s after "
		    "repeated authentication failures", cl->peer, (long)after);
		goto out;
	}
	if (resp_len != NULL)
		*resp_len = cl->resp.len;
	*resp = buf_steal(&cl->resp);
	ret = 0;
out:
	buf_free(&cl->resp);
	free(url);
	return ret;
}

int
client_post(struct client *cl, const char *path, const char *body,
    size_t len, size_t max_resp, int *status, char **resp, size_t *resp_len,
    struct fs_err *err)
{
	curl_easy_setopt(cl->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDS,
	    body != NULL ? body : "");
	curl_easy_setopt(cl->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, cl->post_hdrs);
	return client_perform(cl, path, max_resp, status, resp, resp_len, err);
}

int
client_get(struct client *cl, const char *path, size_t max_resp,
    int *status, char **resp, size_t *resp_len, struct fs_err *err)
{
	curl_easy_setopt(cl->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(cl->curl, CURLOPT_HTTPHEADER, cl->get_hdrs);
	return client_perform(cl, path, max_resp, status, resp, resp_len, err);
}
