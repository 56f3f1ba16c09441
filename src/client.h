/*
 * client.h - the active side's HTTP client (libcurl's only door).
 */
#ifndef FS_CLIENT_H
#define FS_CLIENT_H

#include "err.h"

/* An absolute http:// or https:// URL with a host; else FS_EINVAL. */
int client_url_check(const char *url, struct fs_err *err);

#endif
