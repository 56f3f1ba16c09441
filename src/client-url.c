/* client-url.c - checking peer URLs with libcurl's parser; see client.h. */
#include "config.h"

#include <strings.h>
#include <curl/curl.h>

#include "client.h"

int
client_url_check(const char *url, struct fs_err *err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL;
	int ret = 0;

	if (url == NULL || *url == '\0')
		return fs_err_set(err, FS_EINVAL, "an active pairing needs a "
		    "URL: http://HOST:PORT/");
	if ((u = curl_url()) == NULL)
		return fs_err_set(err, FS_EIO, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		ret = fs_err_set(err, FS_EINVAL, "invalid URL: %s", url);
	else if (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)
		ret = fs_err_set(err, FS_EINVAL, "URL must be http:// or "
		    "https://: %s", url);
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		/* Not echoed: it may hold a password. */
		ret = fs_err_set(err, FS_EINVAL, "the URL must not name a user "
		    "or password (the pairing's name is the user, and the "
		    "password is the pairing's own)");
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return ret;
}
