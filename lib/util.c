/* util.c - start-up, streams, buffers and atomic files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <sodium.h>

#include "api.h"

int
api_no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return api_error_set(API_ERROR, "cannot disable core dumps: %s",
		    strerror(errno));
	/* Also keeps other processes of this user from reading our memory. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return api_error_set(API_ERROR, "cannot disable core dumps: %s",
		    strerror(errno));
	return API_OK;
}

int
api_init(void)
{
	if (sodium_init() < 0)
		return api_error_set(API_ERROR, "libsodium failed to initialise");
	if (git_libgit2_init() < 0)
		return api_error_set(API_ERROR, "libgit2 failed to initialise");
	/* libgit2 maps a pack in windows of 1 GiB and keeps up to 8 GiB
	 * mapped: every page of a large store's pack that a run touches then
	 * counts in its memory (136 MiB for a status over 2,000 cases).
	 * Smaller windows, and at most 32 MiB of them at once. */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)4 << 20);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)32 << 20);
	/* and its object cache (256 MiB by default): api-verify, which
	 * reads every commit and tree of a history, grew to 147 MiB */
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)24 << 20);
	return API_OK;
}

int
api_fd_read(void *ctx, unsigned char *buf, size_t len, size_t *got)
{
	api_fd *f = ctx;
	ssize_t n;

	do
		n = read(f->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return api_error_set(API_EIO, "%s: read failed: %s",
		    f->name ? f->name : "input", strerror(errno));
	*got = (size_t)n;
	return API_OK;
}

int
api_fd_write(void *ctx, const unsigned char *buf, size_t len)
{
	api_fd *f = ctx;

	while (len > 0) {
		ssize_t n = write(f->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return api_error_set(API_EIO, "%s: write failed: %s",
			    f->name ? f->name : "output",
			    n < 0 ? strerror(errno) : "short write");
		buf += n;
		len -= (size_t)n;
	}
	return API_OK;
}

static int
buf_grow(api_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	unsigned char *p;

	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return api_error_set(API_ENOMEM, "out of memory");
		cap *= 2;
	}
	if (b->secret) {
		p = sodium_malloc(cap);
		if (p == NULL)
			return api_error_set(API_ENOMEM, "out of secure memory");
		if (b->len)
			memcpy(p, b->ptr, b->len);
		sodium_free(b->ptr);
	} else {
		p = realloc(b->ptr, cap);
		if (p == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
	}
	b->ptr = p;
	b->cap = cap;
	return API_OK;
}

int
api_buf_append(api_buf *b, const void *data, size_t len)
{
	int rc;

	if (b->max && (len > b->max || b->len > b->max - len))
		return api_error_set(API_EINVAL, "data exceeds the limit of %zu bytes",
		    b->max);
	if (len > SIZE_MAX - b->len - 1)
		return api_error_set(API_ENOMEM, "out of memory");
	/* one spare byte, so that text can always be NUL-terminated */
	if (b->len + len + 1 > b->cap && (rc = buf_grow(b, b->len + len + 1)) < 0)
		return rc;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return API_OK;
}

int
api_buf_write(void *ctx, const unsigned char *buf, size_t len)
{
	return api_buf_append(ctx, buf, len);
}

int
api_mem_read(void *ctx, unsigned char *buf, size_t len, size_t *got)
{
	api_mem *m = ctx;
	size_t n = m->len - m->pos;

	if (n > len)
		n = len;
	if (n)
		memcpy(buf, m->ptr + m->pos, n);
	m->pos += n;
	*got = n;
	return API_OK;
}

void
api_buf_free(api_buf *b)
{
	if (b == NULL || b->ptr == NULL)
		return;
	if (b->secret)
		sodium_free(b->ptr);
	else
		free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

int
api_file_read(const char *path, api_buf *b, size_t max)
{
	unsigned char chunk[65536];
	api_fd f;
	size_t got;
	int fd, rc = API_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return api_error_set(errno == ENOENT ? API_ENOTFOUND : API_EIO,
		    "%s: %s", path, strerror(errno));
	f.fd = fd;
	f.name = path;
	for (;;) {
		if ((rc = api_fd_read(&f, chunk, sizeof chunk, &got)) < 0)
			break;
		if (got == 0)
			break;
		if (max && b->len + got > max) {
			rc = api_error_set(API_EINVAL, "%s: larger than %zu bytes",
			    path, max);
			break;
		}
		if ((rc = api_buf_append(b, chunk, got)) < 0)
			break;
	}
	sodium_memzero(chunk, sizeof chunk);
	close(fd);
	return rc;
}

int
api_file_write(const char *path, const void *data, size_t len, mode_t mode,
    int excl)
{
	char tmp[PATH_MAX];
	api_fd f;
	int fd, rc;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid())
	    >= (int)sizeof tmp)
		return api_error_set(API_EINVAL, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return api_error_set(API_EIO, "%s: cannot create: %s", path,
		    strerror(errno));
	f.fd = fd;
	f.name = path;
	rc = api_fd_write(&f, data, len);
	if (rc == 0 && fchmod(fd, mode) != 0)
		rc = api_error_set(API_EIO, "%s: chmod: %s", path, strerror(errno));
	if (rc == 0 && fsync(fd) != 0)
		rc = api_error_set(API_EIO, "%s: fsync: %s", path, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = api_error_set(API_EIO, "%s: close: %s", path, strerror(errno));
	if (rc == 0) {
		/* link() refuses an existing target: no race with another writer */
		if (excl) {
			if (link(tmp, path) != 0)
				rc = api_error_set(errno == EEXIST ? API_EEXIST : API_EIO,
				    "%s: %s", path, errno == EEXIST ?
				    "already exists; refusing to overwrite" :
				    strerror(errno));
		} else if (rename(tmp, path) != 0) {
			rc = api_error_set(API_EIO, "%s: %s", path, strerror(errno));
		}
	}
	unlink(tmp);
	return rc;
}
