/*
 * odb.c - a guard in front of every object database backend of a
 * repository: a loose object whose header claims more than
 * API_OBJECT_MAX bytes is refused before it is read, and a packed one
 * when libgit2 would allocate more than twice that to read it.
 *
 * libgit2 1.5 reads a loose object by allocating the size its header
 * claims, inflating what there is and hashing the whole buffer: a few
 * bytes claiming 4 GiB keep a program hashing zeros for half a minute
 * (and a claim just under the memory limit takes that memory) before it
 * fails.  Reading the header first costs one small inflate.  No record
 * of a store comes near the limit (a note is at most API_NOTE_MAX).
 *
 * A packed object is read at the size its entry claims, and a delta's
 * own data and its base at the sizes their pack entries claim when the
 * delta is applied.  So a read through the guard runs under a cap on
 * each allocation libgit2 makes (twice
 * API_OBJECT_MAX: a base and a delta of a record fit), set by the
 * allocator api_odb_init installs; every other allocation of libgit2
 * (fetching and pushing, where a server's objects are read and indexed
 * without the guard) is capped at ALLOC_MAX, far above what any store
 * needs.  And libgit2 reads a delta header's sizes in 32 bits: a claim
 * of 4 GiB reads as 0 and fails when the delta is applied, which the
 * guard's error then names the object of.
 *
 * Each backend of the repository's object database is wrapped, in the
 * same order, in a new database that replaces it.  Alternates become
 * ordinary backends of the new one (a store has none).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <git2/sys/alloc.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "api.h"

struct guard {
	git_odb_backend parent;
	git_odb_backend *in;    /* owned by old */
	git_odb *old;           /* one reference to the original database */
	int packed;             /* in reads packs (it writes none but packs) */
};

/* ---- the allocator -------------------------------------------------------- */

#define READ_ALLOC_MAX ((size_t)API_OBJECT_MAX * 2)
#define ALLOC_MAX ((size_t)1 << 30)

static _Thread_local int reading;      /* in a read through the guard */
static _Thread_local size_t refused;   /* the last size refused, or 0 */

/* Whether libgit2 may allocate n bytes at once here; if not, why. */
static int
allowed(size_t n)
{
	size_t max = reading ? READ_ALLOC_MAX : ALLOC_MAX;

	if (n <= max)
		return 1;
	refused = n;
	git_error_set(GIT_ERROR_NOMEMORY, "refused to allocate %zu bytes at "
	    "once (more than %zu MiB): an object claims a size no object of a "
	    "store has", n, max >> 20);
	return 0;
}

static void *
a_malloc(size_t n, const char *file, int line)
{
	void *p;

	(void)file;
	(void)line;
	if (!allowed(n))
		return NULL;
	if ((p = malloc(n)) == NULL)
		git_error_set_oom();
	return p;
}

static void *
a_calloc(size_t nelem, size_t elsize, const char *file, int line)
{
	void *p;

	(void)file;
	(void)line;
	if (elsize != 0 && nelem > SIZE_MAX / elsize) {
		git_error_set_oom();
		return NULL;
	}
	if (!allowed(nelem * elsize))
		return NULL;
	if ((p = calloc(nelem, elsize)) == NULL)
		git_error_set_oom();
	return p;
}

static void *
a_realloc(void *ptr, size_t n, const char *file, int line)
{
	void *p;

	(void)file;
	(void)line;
	if (!allowed(n))
		return NULL;
	if ((p = realloc(ptr, n)) == NULL)
		git_error_set_oom();
	return p;
}

static void *
a_reallocarray(void *ptr, size_t nelem, size_t elsize, const char *file,
    int line)
{
	if (elsize != 0 && nelem > SIZE_MAX / elsize) {
		git_error_set_oom();
		return NULL;
	}
	return a_realloc(ptr, nelem * elsize, file, line);
}

static void *
a_mallocarray(size_t nelem, size_t elsize, const char *file, int line)
{
	return a_reallocarray(NULL, nelem, elsize, file, line);
}

static char *
a_substrdup(const char *str, size_t n, const char *file, int line)
{
	char *p;

	if (n == SIZE_MAX) {
		git_error_set_oom();
		return NULL;
	}
	if ((p = a_malloc(n + 1, file, line)) == NULL)
		return NULL;
	memcpy(p, str, n);
	p[n] = '\0';
	return p;
}

static char *
a_strndup(const char *str, size_t n, const char *file, int line)
{
	const char *end = memchr(str, '\0', n);

	return a_substrdup(str, end ? (size_t)(end - str) : n, file, line);
}

static char *
a_strdup(const char *str, const char *file, int line)
{
	return a_substrdup(str, strlen(str), file, line);
}

static void
a_free(void *ptr)
{
	free(ptr);
}

int
api_odb_init(void)
{
	static git_allocator a = {
		a_malloc, a_calloc, a_strdup, a_strndup, a_substrdup,
		a_realloc, a_reallocarray, a_mallocarray, a_free,
	};

	if (git_libgit2_opts(GIT_OPT_SET_ALLOCATOR, &a) < 0)
		return api_git_fail(API_ERROR, "libgit2's allocator");
	return API_OK;
}

/* ---- the guard ------------------------------------------------------------ */

/*
 * A read of id through in that failed (rc) says which object: libgit2's
 * own errors do not (a delta that cannot be applied, a stream that does
 * not inflate), and an allocation refused while reading means the
 * object or its base claims too much.  Not found stays as it is: the
 * object may be in another backend.
 */
static int
failed(int rc, const git_oid *id, size_t n)
{
	const git_error *e = git_error_last();
	char hex[GIT_OID_HEXSZ + 1], msg[512];

	if (rc == GIT_ENOTFOUND || rc == GIT_PASSTHROUGH || rc >= 0)
		return rc;
	git_oid_tostr(hex, n + 1 < sizeof hex ? n + 1 : sizeof hex, id);
	if (refused)
		git_error_set(GIT_ERROR_ODB, "object %s claims %zu bytes (for "
		    "itself, its delta or its base), more than the %d MiB an "
		    "object of a store may have", hex, refused, API_OBJECT_MAX >> 20);
	else {
		snprintf(msg, sizeof msg, "%s", e && e->message ? e->message :
		    "cannot be read");
		git_error_set(e ? e->klass : GIT_ERROR_ODB, "object %s: %s", hex,
		    msg);
	}
	return rc;
}

/*
 * Refuses id when in's header says it is larger than API_OBJECT_MAX.
 * Loose objects only: libgit2 reads a loose object by allocating the
 * size its header claims and hashing all of it.  A packed object is read
 * at the size its entry (or its delta) claims too, but under the cap on
 * allocations, which refuses more than twice API_OBJECT_MAX at once, and
 * failed() then names the object; a header read of a packed delta is an
 * inflate of its own, and took a sixth of api-verify's time.
 */
static int
too_large(struct guard *g, const git_oid *id)
{
	git_odb_backend *in = g->in;
	char hex[GIT_OID_HEXSZ + 1];
	git_object_t t;
	size_t len;

	if (g->packed)
		return 0;
	if (in->read_header == NULL || in->read_header(&len, &t, in, id) < 0) {
		git_error_clear();
		return 0;
	}
	if (len <= API_OBJECT_MAX)
		return 0;
	git_oid_tostr(hex, sizeof hex, id);
	git_error_set(GIT_ERROR_ODB, "object %s claims %zu bytes, more than "
	    "the %d MiB an object of a store may have", hex, len,
	    API_OBJECT_MAX >> 20);
	return 1;
}

/* A read through the guard begins: refused when id (if known) is a loose
 * object that claims too much, else under the cap on allocations. */
static int
read_begin(git_odb_backend *b, const git_oid *id)
{
	if (id != NULL && too_large((struct guard *)b, id))
		return -1;
	reading++;
	refused = 0;
	return 0;
}

/* ... and ends with rc, the error naming id (its first n hex digits). */
static int
read_end(int rc, const git_oid *id, size_t n)
{
	reading--;
	return failed(rc, id, n);
}

static int
g_read(void **data, size_t *len, git_object_t *t, git_odb_backend *b,
    const git_oid *id)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	if (read_begin(b, id) < 0)
		return -1;
	return read_end(in->read(data, len, t, in, id), id, GIT_OID_HEXSZ);
}

static int
g_read_prefix(git_oid *full, void **data, size_t *len, git_object_t *t,
    git_odb_backend *b, const git_oid *id, size_t n)
{
	git_odb_backend *in = ((struct guard *)b)->in;
	git_oid found;

	if (in->exists_prefix && in->exists_prefix(&found, in, id, n) == 0 &&
	    too_large((struct guard *)b, &found))
		return -1;
	git_error_clear();
	if (read_begin(b, NULL) < 0)
		return -1;
	return read_end(in->read_prefix(full, data, len, t, in, id, n), id, n);
}

static int
g_read_header(size_t *len, git_object_t *t, git_odb_backend *b,
    const git_oid *id)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->read_header(len, t, in, id);
}

static int
g_write(git_odb_backend *b, const git_oid *id, const void *data, size_t len,
    git_object_t t)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->write(in, id, data, len, t);
}

static int
g_writestream(git_odb_stream **out, git_odb_backend *b, git_object_size_t len,
    git_object_t t)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->writestream(out, in, len, t);
}

static int
g_readstream(git_odb_stream **out, size_t *len, git_object_t *t,
    git_odb_backend *b, const git_oid *id)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	if (read_begin(b, id) < 0)
		return -1;
	return read_end(in->readstream(out, len, t, in, id), id, GIT_OID_HEXSZ);
}

static int
g_exists(git_odb_backend *b, const git_oid *id)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->exists(in, id);
}

static int
g_exists_prefix(git_oid *out, git_odb_backend *b, const git_oid *id, size_t n)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->exists_prefix(out, in, id, n);
}

static int
g_refresh(git_odb_backend *b)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->refresh(in);
}

static int
g_foreach(git_odb_backend *b, git_odb_foreach_cb cb, void *payload)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->foreach(in, cb, payload);
}

static int
g_writepack(git_odb_writepack **out, git_odb_backend *b, git_odb *odb,
    git_indexer_progress_cb cb, void *payload)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->writepack(out, in, odb, cb, payload);
}

static int
g_writemidx(git_odb_backend *b)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->writemidx(in);
}

static int
g_freshen(git_odb_backend *b, const git_oid *id)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	return in->freshen(in, id);
}

static void
g_free(git_odb_backend *b)
{
	struct guard *g = (struct guard *)b;

	git_odb_free(g->old);
	free(g);
}

int
api_repo_guard(git_repository *repo)
{
	git_odb *old = NULL, *odb = NULL;
	size_t n;
	int rc = API_OK;

	if (git_repository_odb(&old, repo) < 0 || git_odb_new(&odb) < 0) {
		rc = api_git_fail(API_EIO, "cannot open the object database");
		goto out;
	}
	n = git_odb_num_backends(old);
	for (size_t i = 0; i < n; i++) {
		git_odb_backend *in;
		struct guard *g;

		if (git_odb_get_backend(&in, old, i) < 0) {
			rc = api_git_fail(API_EIO, "cannot open the object database");
			goto out;
		}
		if ((g = calloc(1, sizeof *g)) == NULL) {
			rc = api_error_set(API_ENOMEM, "out of memory");
			goto out;
		}
		g->parent.version = GIT_ODB_BACKEND_VERSION;
		g->in = in;
		/* libgit2's pack backend writes packs only; the loose one
		 * writes objects one by one */
		g->packed = in->writepack != NULL && in->write == NULL;
#define FWD(f) g->parent.f = in->f ? g_##f : NULL
		FWD(read); FWD(read_prefix); FWD(read_header); FWD(write);
		FWD(writestream); FWD(readstream); FWD(exists);
		FWD(exists_prefix); FWD(refresh); FWD(foreach); FWD(writepack);
		FWD(writemidx); FWD(freshen);
#undef FWD
		g->parent.free = g_free;
		/* each guard holds a reference to the database of its backend */
		if (git_repository_odb(&g->old, repo) < 0) {
			free(g);
			rc = api_git_fail(API_EIO, "cannot open the object database");
			goto out;
		}
		/* the order of old (priority, then not alternates first) kept */
		if (git_odb_add_backend(odb, &g->parent, (int)(n - i)) < 0) {
			git_odb_free(g->old);
			free(g);
			rc = api_git_fail(API_EIO, "cannot open the object database");
			goto out;
		}
	}
	git_repository_set_odb(repo, odb);
out:
	git_odb_free(odb);
	git_odb_free(old);
	return rc;
}
