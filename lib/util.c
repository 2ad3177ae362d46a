/* util.c - start-up, streams, buffers and atomic files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
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
	/* an acknowledged write is never lost, a power cut included: every
	 * object, pack and ref file libgit2 writes, and its directory, is
	 * synced before the ref moves and the program says so (about 20
	 * fsyncs a note on disk; nothing on a tmpfs) */
	git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	return api_odb_init();
}

void
api_cache_walks(void)
{
	/* lib/verify.c keeps the trees a walk needs itself; libgit2's cache,
	 * whose limit counts objects at their raw size, would otherwise fill
	 * with a history's parsed trees and commits (125 MiB for 10,000) */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
	    (size_t)0);
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_COMMIT,
	    (size_t)0);
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
api_hex_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
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

/*
 * Secret memory for api_buf and api_secret_alloc (age's keys and scratch,
 * a case's keys).  sodium_malloc gives every allocation pages of its own
 * between guard pages, locked: several system calls and mappings each.
 * Reading a case of 2,000 records took 4,000 of them, and the kernel's
 * part was most of api-show's time (and a third of a status over 2,000
 * cases).  So secret buffers up to 128 KiB come from slabs of
 * sodium_malloc memory cut into blocks of a power-of-two size; a freed
 * block is wiped and kept for the next buffer of its size.  Larger ones
 * get their own.  Each block has a header byte before it: its size
 * class, or DIRECT.  Slabs live as long as the process, chained so that
 * they stay reachable.  Under AddressSanitizer
 * every buffer gets its own, so that overflows are still caught.
 */
#define POOL_MIN 6                       /* 64 bytes */
#define POOL_MAX 17                      /* 128 KiB (an age scratch is
                                         * 64 KiB and a few bytes) */
#define POOL_SLAB0 ((size_t)256 << 10)  /* the first slab: a short run
                                         * (api-log) locks no more */
#define POOL_SLAB ((size_t)1 << 20)      /* and the later ones grow to */
#define POOL_HDR 16
#define DIRECT 0xff
#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_OFF 1
#endif
#endif
#ifndef POOL_OFF
#define POOL_OFF 0
#endif

static struct {
	pthread_mutex_t mu;
	unsigned char *free[POOL_MAX + 1];   /* next pointer in the block */
	unsigned char *slab;                 /* the newest; each begins with
	                                      * a pointer to the one before */
	size_t used, size;                   /* of the newest */
} pool = { PTHREAD_MUTEX_INITIALIZER, { 0 }, NULL, 0, 0 };

static unsigned char *
secret_alloc(size_t size)
{
	unsigned cls = POOL_MIN;
	unsigned char *p = NULL;

	while (cls <= POOL_MAX && ((size_t)1 << cls) < size)
		cls++;
	if (POOL_OFF || cls > POOL_MAX) {
		if (size > SIZE_MAX - POOL_HDR ||
		    (p = sodium_malloc(size + POOL_HDR)) == NULL)
			return NULL;
		p[POOL_HDR - 1] = DIRECT;
		return p + POOL_HDR;
	}
	pthread_mutex_lock(&pool.mu);
	if ((p = pool.free[cls]) != NULL)
		memcpy(&pool.free[cls], p, sizeof p);
	else {
		size_t need = POOL_HDR + ((size_t)1 << cls);
		if (pool.slab == NULL || pool.size - pool.used < need) {
			size_t sz = pool.slab == NULL ? POOL_SLAB0 :
			    pool.size < POOL_SLAB ? 2 * pool.size : POOL_SLAB;
			unsigned char *slab = sodium_malloc(sz);
			if (slab != NULL) {
				memcpy(slab, &pool.slab, sizeof slab);
				pool.slab = slab;
				pool.used = POOL_HDR;
				pool.size = sz;
			}
		}
		if (pool.slab != NULL && pool.size - pool.used >= need) {
			p = pool.slab + pool.used;
			pool.used += need;
		}
	}
	pthread_mutex_unlock(&pool.mu);
	if (p == NULL)
		return NULL;
	p[POOL_HDR - 1] = (unsigned char)cls;
	return p + POOL_HDR;
}

static void
secret_free(unsigned char *u, size_t cap)
{
	unsigned char *p = u - POOL_HDR;
	unsigned cls = p[POOL_HDR - 1];

	if (cls == DIRECT) {
		sodium_free(p);
		return;
	}
	sodium_memzero(u, cap);
	pthread_mutex_lock(&pool.mu);
	memcpy(p, &pool.free[cls], sizeof p);
	pool.free[cls] = p;
	pthread_mutex_unlock(&pool.mu);
}

void *
api_secret_alloc(size_t n)
{
	return secret_alloc(n ? n : 1);
}

void
api_secret_free(void *p, size_t n)
{
	if (p != NULL)
		secret_free(p, n);
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
		p = secret_alloc(cap);
		if (p == NULL)
			return api_error_set(API_ENOMEM, "out of secure memory");
		if (b->len)
			memcpy(p, b->ptr, b->len);
		if (b->ptr)
			secret_free(b->ptr, b->cap);
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
		secret_free(b->ptr, b->cap);
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
