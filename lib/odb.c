/*
 * odb.c - a guard in front of every object database backend of a
 * repository: an object whose header claims more than API_OBJECT_MAX
 * bytes is refused before it is read.
 *
 * libgit2 1.5 reads a loose object by allocating the size its header
 * claims, inflating what there is and hashing the whole buffer: a few
 * bytes claiming 4 GiB keep a program hashing zeros for half a minute
 * (and a claim just under the memory limit takes that memory) before it
 * fails.  Reading the header first costs one small inflate.  No record
 * of a store comes near the limit (a note is at most API_NOTE_MAX).
 *
 * Each backend of the repository's object database is wrapped, in the
 * same order, in a new database that replaces it.  Alternates become
 * ordinary backends of the new one (a store has none).
 */
#include <stdlib.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include "api.h"

struct guard {
	git_odb_backend parent;
	git_odb_backend *in;    /* owned by old */
	git_odb *old;           /* one reference to the original database */
};

/* Refuses id when in's header says it is larger than API_OBJECT_MAX. */
static int
too_large(git_odb_backend *in, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_object_t t;
	size_t len;

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

static int
g_read(void **data, size_t *len, git_object_t *t, git_odb_backend *b,
    const git_oid *id)
{
	git_odb_backend *in = ((struct guard *)b)->in;

	if (too_large(in, id))
		return -1;
	return in->read(data, len, t, in, id);
}

static int
g_read_prefix(git_oid *full, void **data, size_t *len, git_object_t *t,
    git_odb_backend *b, const git_oid *id, size_t n)
{
	git_odb_backend *in = ((struct guard *)b)->in;
	git_oid found;

	if (in->exists_prefix && in->exists_prefix(&found, in, id, n) == 0 &&
	    too_large(in, &found))
		return -1;
	git_error_clear();
	return in->read_prefix(full, data, len, t, in, id, n);
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

	if (too_large(in, id))
		return -1;
	return in->readstream(out, len, t, in, id);
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
