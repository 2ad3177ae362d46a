/*
 * store.c - the git store and the commit writer.
 *
 * The canonical state is the commit graph of refs/heads/main; the tools
 * read and write objects and refs, never a working tree.  Every write is
 * one signed commit: its tree is built with git_tree_create_updated from
 * the parent's tree (only the trees on the changed paths are rewritten),
 * the commit is signed with SSHSIG in its gpgsig header, and main is moved
 * by compare-and-swap; when another writer moved it first, the change is
 * built again on the new tip.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <git2.h>
#include <sodium.h>

#include "api.h"

#define MAIN_REF "refs/heads/main"
#define MAX_TRIES 200
#define MAX_FILE (64 * 1024 * 1024)
#define LOCK_WINDOW 2            /* seconds: see ref_flock */

struct api_store {
	git_repository *repo;
	char *path;
	int borrowed;                /* repo belongs to the caller */
};

struct change {
	char *path;
	git_oid id;
	int remove;
};

struct api_tx {
	api_store *s;
	const char *ref;
	git_tree *base;              /* NULL for the first commit */
	struct change *c;
	size_t n, cap;
	char subject[128], action[64], case_id[64], object[256];
	char trailers[1024];         /* more "Key: value\n" lines */
	size_t tlen;
	int64_t now;
};

int
api_git_fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return api_error_set(code, "%s: %s", what, e && e->message ? e->message :
	    "git error");
}

const char *
api_store_path(const api_store *s)
{
	return s->path;
}

git_repository *
api_store_repo(const api_store *s)
{
	return s->repo;
}

void
api_store_free(api_store *s)
{
	if (s == NULL)
		return;
	if (!s->borrowed)
		git_repository_free(s->repo);
	free(s->path);
	free(s);
}

static const char *
store_dir(const char *dir)
{
	const char *env;

	if (dir != NULL && *dir)
		return dir;
	if ((env = getenv("API_DIR")) != NULL && *env)
		return env;
	return ".";
}

/* The tree of ref's tip; API_ENOTFOUND when the ref does not exist. */
static int
ref_tree(git_repository *repo, const char *ref, git_commit **commit,
    git_tree **tree)
{
	git_oid id;
	int rc;

	*tree = NULL;
	if (commit)
		*commit = NULL;
	if ((rc = git_reference_name_to_id(&id, repo, ref)) < 0)
		return rc == GIT_ENOTFOUND ? api_error_set(API_ENOTFOUND, "no %s",
		    ref) : api_git_fail(API_EIO, ref);
	git_commit *c;
	if (git_commit_lookup(&c, repo, &id) < 0)
		return api_git_fail(API_EIO, ref);
	if (git_commit_tree(tree, c) < 0) {
		git_commit_free(c);
		return api_git_fail(API_EIO, ref);
	}
	if (commit)
		*commit = c;
	else
		git_commit_free(c);
	return API_OK;
}

static int
tip_tree(git_repository *repo, git_commit **commit, git_tree **tree)
{
	return ref_tree(repo, MAIN_REF, commit, tree);
}

int
api_store_tree(api_store *s, const char *ref, struct git_tree **out)
{
	return ref_tree(s->repo, ref ? ref : MAIN_REF, NULL, out);
}

static int
tree_read(git_repository *repo, git_tree *tree, const char *path, api_buf *out,
    const char *store)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int rc = API_OK;

	if (tree == NULL || git_tree_entry_bypath(&e, tree, path) < 0)
		return api_error_set(API_ENOTFOUND, "%s: no %s", store, path);
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
		rc = api_error_set(API_EINVAL, "%s: %s is not a file", store, path);
		goto out;
	}
	if (git_blob_lookup(&b, repo, git_tree_entry_id(e)) < 0) {
		rc = api_git_fail(API_EIO, path);
		goto out;
	}
	if (git_blob_rawsize(b) > MAX_FILE) {
		rc = api_error_set(API_EINVAL, "%s: %s is too large", store, path);
		goto out;
	}
	rc = api_buf_append(out, git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
out:
	git_blob_free(b);
	git_tree_entry_free(e);
	return rc;
}

int
api_store_wrap(api_store **out, git_repository *repo)
{
	api_store *s;
	int rc;

	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->path = strdup(git_repository_path(repo))) == NULL) {
		free(s);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	s->repo = repo;
	s->borrowed = 1;
	if ((rc = api_repo_guard(repo)) < 0) {
		free(s->path);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
api_store_open(api_store **out, const char *dir)
{
	api_store *s;
	git_tree *tree = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	dir = store_dir(dir);
	if (stat(dir, &st) != 0)
		return api_error_set(API_ENOTFOUND, "store %s: %s", dir,
		    strerror(errno));
	if ((s = calloc(1, sizeof *s)) == NULL || (s->path = strdup(dir)) == NULL) {
		free(s);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	if (git_repository_open_ext(&s->repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL) < 0) {
		rc = api_error_set(API_ENOTFOUND, "%s is not an api store "
		    "(not a git repository)", dir);
		goto out;
	}
	if ((rc = api_repo_guard(s->repo)) < 0)
		goto out;
	rc = tip_tree(s->repo, NULL, &tree);
	if (rc == API_ENOTFOUND || (rc == 0 &&
	    git_tree_entry_byname(tree, "api.conf") == NULL)) {
		rc = api_error_set(API_ENOTFOUND, "%s is a git repository but not an "
		    "api store (no api.conf on main)", dir);
		goto out;
	}
out:
	git_tree_free(tree);
	if (rc < 0)
		api_store_free(s);
	else
		*out = s;
	return rc;
}

int
api_store_create(api_store **out, const char *dir)
{
	git_repository_init_options o;
	api_store *s;
	struct dirent *de;
	DIR *d;
	int rc = API_OK;

	*out = NULL;
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
				closedir(d);
				return api_error_set(API_EEXIST, "%s is not empty; "
				    "refusing to create a store there", dir);
			}
		closedir(d);
	} else if (errno != ENOENT) {
		return api_error_set(API_EIO, "%s: %s", dir, strerror(errno));
	}
	if ((s = calloc(1, sizeof *s)) == NULL || (s->path = strdup(dir)) == NULL) {
		free(s);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	git_repository_init_options_init(&o, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
	    GIT_REPOSITORY_INIT_NO_REINIT;
	o.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	o.initial_head = "main";
	if (git_repository_init_ext(&s->repo, dir, &o) < 0) {
		rc = api_git_fail(API_EIO, dir);
		api_store_free(s);
		return rc;
	}
	*out = s;
	return API_OK;
}

int
api_store_read(api_store *s, const char *path, api_buf *out)
{
	git_tree *tree = NULL;
	int rc;

	if ((rc = tip_tree(s->repo, NULL, &tree)) < 0)
		return rc;
	rc = tree_read(s->repo, tree, path, out, s->path);
	git_tree_free(tree);
	return rc;
}

int
api_store_conf(api_store *s, api_conf **out)
{
	api_buf b = { 0 };
	int rc;

	if ((rc = api_store_read(s, "api.conf", &b)) == 0 &&
	    (rc = api_conf_parse(out, (const char *)b.ptr, b.len, "api.conf")) < 0)
		rc = api_error_set(rc, "%s: %s", s->path, api_error_last());
	api_buf_free(&b);
	return rc;
}

/* Every staff/<handle> file of tree. */
int
api_staff_from_tree(git_repository *repo, git_tree *tree, api_staff_list *l)
{
	git_tree_entry *dir = NULL;
	git_tree *st = NULL;
	int rc = API_OK;

	memset(l, 0, sizeof *l);
	if (tree == NULL || git_tree_entry_bypath(&dir, tree, "staff") < 0)
		return API_OK;
	if (git_tree_lookup(&st, repo, git_tree_entry_id(dir)) < 0) {
		rc = api_git_fail(API_EIO, "staff/");
		goto out;
	}
	size_t n = git_tree_entrycount(st);
	if ((l->v = calloc(n ? n : 1, sizeof *l->v)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(st, i);
		git_blob *blob;
		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
		    git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0) {
			rc = api_error_set(API_EINVAL, "staff/%s is not a file",
			    git_tree_entry_name(e));
			goto out;
		}
		rc = api_staff_parse(&l->v[l->n], git_blob_rawcontent(blob),
		    (size_t)git_blob_rawsize(blob));
		git_blob_free(blob);
		if (rc < 0)
			goto out;
		if (strcmp(l->v[l->n].handle, git_tree_entry_name(e)) != 0) {
			rc = api_error_set(API_EINVAL, "staff/%s names another handle",
			    git_tree_entry_name(e));
			goto out;
		}
		l->n++;
	}
out:
	git_tree_free(st);
	git_tree_entry_free(dir);
	if (rc < 0)
		api_staff_list_free(l);
	return rc;
}

int
api_store_staff(api_store *s, api_staff_list *out)
{
	git_tree *tree = NULL;
	int rc;

	if ((rc = tip_tree(s->repo, NULL, &tree)) < 0)
		return rc;
	rc = api_staff_from_tree(s->repo, tree, out);
	git_tree_free(tree);
	return rc;
}

/* ---- transactions ------------------------------------------------------ */

static void
tx_clear(api_tx *tx)
{
	for (size_t i = 0; i < tx->n; i++)
		free(tx->c[i].path);
	free(tx->c);
	git_tree_free(tx->base);
	memset(tx, 0, sizeof *tx);
}

int
api_tx_read(api_tx *tx, const char *path, api_buf *out)
{
	/* the transaction's own changes first */
	for (size_t i = tx->n; i > 0; i--)
		if (strcmp(tx->c[i - 1].path, path) == 0) {
			git_blob *b;
			int rc;
			if (tx->c[i - 1].remove)
				return api_error_set(API_ENOTFOUND, "no %s", path);
			if (git_blob_lookup(&b, tx->s->repo, &tx->c[i - 1].id) < 0)
				return api_git_fail(API_EIO, path);
			rc = api_buf_append(out, git_blob_rawcontent(b),
			    (size_t)git_blob_rawsize(b));
			git_blob_free(b);
			return rc;
		}
	return tree_read(tx->s->repo, tx->base, path, out, tx->s->path);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
api_tx_list(api_tx *tx, const char *dir, char ***names, size_t *n)
{
	git_tree_entry *e = NULL;
	git_tree *t = NULL;
	int rc = API_OK;

	*names = NULL;
	*n = 0;
	if (tx->base == NULL || git_tree_entry_bypath(&e, tx->base, dir) < 0)
		return API_OK;
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&t, tx->s->repo, git_tree_entry_id(e)) < 0) {
		rc = api_error_set(API_EINVAL, "%s is not a directory", dir);
		goto out;
	}
	size_t count = git_tree_entrycount(t);
	if ((*names = calloc(count ? count : 1, sizeof **names)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++)
		if (((*names)[i] = strdup(git_tree_entry_name(
		    git_tree_entry_byindex(t, i)))) == NULL) {
			rc = api_error_set(API_ENOMEM, "out of memory");
			goto out;
		}
	*n = count;
	qsort(*names, count, sizeof **names, cmp_str);
out:
	git_tree_free(t);
	git_tree_entry_free(e);
	return rc;
}

static int
tx_add(api_tx *tx, const char *path, const git_oid *id, int remove)
{
	if (path[0] == '/' || strstr(path, "//") || strstr(path, "..") ||
	    path[strlen(path) - 1] == '/')
		return api_error_set(API_EINVAL, "bad path '%s'", path);
	/* a later change of a path replaces the earlier */
	for (size_t i = 0; i < tx->n; i++)
		if (strcmp(tx->c[i].path, path) == 0) {
			if (id)
				tx->c[i].id = *id;
			tx->c[i].remove = remove;
			return API_OK;
		}
	if (tx->n == tx->cap) {
		size_t cap = tx->cap ? tx->cap * 2 : 8;
		struct change *c = realloc(tx->c, cap * sizeof *c);
		if (c == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		tx->c = c;
		tx->cap = cap;
	}
	if ((tx->c[tx->n].path = strdup(path)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	if (id)
		tx->c[tx->n].id = *id;
	tx->c[tx->n].remove = remove;
	tx->n++;
	return API_OK;
}

int
api_tx_put(api_tx *tx, const char *path, const void *data, size_t len)
{
	git_oid id;

	if (git_blob_create_from_buffer(&id, tx->s->repo, data, len) < 0)
		return api_git_fail(API_EIO, "cannot write an object");
	return tx_add(tx, path, &id, 0);
}

int
api_tx_remove(api_tx *tx, const char *path)
{
	return tx_add(tx, path, NULL, 1);
}

static int
set_field(char *dst, size_t cap, const char *v)
{
	size_t n = v ? strlen(v) : 0;

	if (n >= cap || (v && strpbrk(v, "\n\r")))
		return api_error_set(API_EINVAL, "commit message field too long "
		    "or not one line");
	if (n)
		memcpy(dst, v, n);
	dst[n] = '\0';
	return API_OK;
}

int
api_tx_message(api_tx *tx, const char *subject, const char *action,
    const char *case_id, const char *object)
{
	int rc;

	if ((rc = set_field(tx->subject, sizeof tx->subject, subject)) < 0 ||
	    (rc = set_field(tx->action, sizeof tx->action, action)) < 0 ||
	    (rc = set_field(tx->case_id, sizeof tx->case_id, case_id)) < 0 ||
	    (rc = set_field(tx->object, sizeof tx->object, object)) < 0)
		return rc;
	return API_OK;
}

int
api_tx_trailer(api_tx *tx, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);

	/* "Api-Name", as git interpret-trailers reads it back */
	if (kl < 5 || strncmp(key, "Api-", 4) != 0 ||
	    strspn(key + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
	    != kl - 4)
		return api_error_set(API_EINVAL, "bad trailer name '%s'", key);
	for (size_t i = 0; i < vl; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return api_error_set(API_EINVAL, "trailer %s: not one line "
			    "of text", key);
	if (vl == 0 || tx->tlen + kl + vl + 3 >= sizeof tx->trailers)
		return api_error_set(API_EINVAL, "trailer %s: empty or too long",
		    key);
	tx->tlen += (size_t)snprintf(tx->trailers + tx->tlen,
	    sizeof tx->trailers - tx->tlen, "%s: %s\n", key, value);
	return API_OK;
}

int64_t
api_tx_now(const api_tx *tx)
{
	return tx->now;
}

int
api_tx_is_root(const api_tx *tx)
{
	return tx->base == NULL;
}

int
api_tx_staff(api_tx *tx, api_staff_list *out)
{
	return api_staff_from_tree(tx->s->repo, tx->base, out);
}

int
api_staff_require(const api_staff_list *l, const api_identity *signer,
    const char *roles)
{
	const api_staff *m;
	size_t rl;
	long i;

	if ((i = api_staff_find(l, signer->handle)) < 0 ||
	    memcmp(l->v[i].pub.sign_pk, signer->sign_pk, 32) != 0)
		return api_error_set(API_EPERM, "%s is not a member of staff of "
		    "this store (or not with this key)", signer->handle);
	m = &l->v[i];
	if (m->valid_until[0])
		return api_error_set(API_EPERM, "%s was retired on %s", m->handle,
		    m->valid_until);
	rl = strlen(m->role);
	for (const char *p = roles; (p = strstr(p, m->role)) != NULL; p += rl)
		if ((p == roles || p[-1] == ' ') && (p[rl] == ' ' || p[rl] == '\0'))
			return API_OK;
	return api_error_set(API_EPERM, "%s has role %s; this needs %s", m->handle,
	    m->role, roles);
}

int
api_tx_require_role(api_tx *tx, const api_identity *signer, const char *roles)
{
	api_staff_list l;
	int rc;

	if ((rc = api_tx_staff(tx, &l)) < 0)
		return rc;
	rc = api_staff_require(&l, signer, roles);
	api_staff_list_free(&l);
	return rc;
}

int
api_tx_put_staff(api_tx *tx, const api_staff *m, const api_staff_list *l)
{
	api_buf b = { 0 };
	char path[API_HANDLE_MAX + 8];
	int rc;

	snprintf(path, sizeof path, "staff/%s", m->handle);
	if ((rc = api_staff_format(m, &b)) == 0 &&
	    (rc = api_tx_put(tx, path, b.ptr, b.len)) == 0) {
		b.len = 0;
		if ((rc = api_allowed_signers(l, &b)) == 0)
			rc = api_tx_put(tx, "allowed_signers", b.ptr, b.len);
	}
	api_buf_free(&b);
	return rc;
}

/* ---- the commit writer --------------------------------------------------- */

int
api_commit_signed(git_repository *repo, const api_identity *signer,
    int64_t when, const char *msg, const git_tree *tree,
    const git_commit **parents, size_t np, git_oid *out)
{
	git_buf payload = GIT_BUF_INIT;
	git_signature *who = NULL;
	api_buf sig = { 0 };
	char email[API_HANDLE_MAX + 8];
	int rc;

	snprintf(email, sizeof email, "%s@api", signer->handle);
	if (git_signature_new(&who, signer->handle, email, (git_time_t)when,
	    0) < 0)
		return api_git_fail(API_EINVAL, "author");
	if (git_commit_create_buffer(&payload, repo, who, who, NULL, msg, tree,
	    np, parents) < 0) {
		rc = api_git_fail(API_EIO, "cannot build the commit");
		goto out;
	}
	if ((rc = api_sshsig_sign(&sig, signer->sign_sk, "git", payload.ptr,
	    payload.size)) < 0)
		goto out;
	/* git wants the armored signature without its final newline */
	while (sig.len > 0 && sig.ptr[sig.len - 1] == '\n')
		sig.ptr[--sig.len] = '\0';
	if (git_commit_create_with_signature(out, repo, payload.ptr,
	    (const char *)sig.ptr, "gpgsig") < 0)
		rc = api_git_fail(API_EIO, "cannot write the commit");
out:
	git_buf_dispose(&payload);
	api_buf_free(&sig);
	git_signature_free(who);
	return rc;
}

/* Builds, signs and writes the commit for tx on parent; id in out. */
static int
make_commit(api_tx *tx, const api_identity *signer, git_commit *parent,
    git_oid *out)
{
	git_repository *repo = tx->s->repo;
	git_tree_update *up = NULL;
	git_tree *tree = NULL;
	api_buf msg = { 0 };
	char line[400];
	git_oid tid;
	int rc = API_OK;

	if (tx->subject[0] == '\0' || tx->action[0] == '\0')
		return api_error_set(API_EINVAL, "commit without subject or action");
	if ((up = calloc(tx->n ? tx->n : 1, sizeof *up)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	for (size_t i = 0; i < tx->n; i++) {
		up[i].action = tx->c[i].remove ? GIT_TREE_UPDATE_REMOVE :
		    GIT_TREE_UPDATE_UPSERT;
		up[i].id = tx->c[i].id;
		up[i].filemode = GIT_FILEMODE_BLOB;
		up[i].path = tx->c[i].path;
	}
	/* a directory of a path that is a file, link or gitlink on the base
	 * is named (libgit2 says only "D/F conflict") */
	for (size_t i = 0; i < tx->n && tx->base && rc == 0; i++) {
		char dir[256];
		for (char *sl = strchr(tx->c[i].path, '/'); sl && rc == 0;
		    sl = strchr(sl + 1, '/')) {
			git_tree_entry *e = NULL;
			snprintf(dir, sizeof dir, "%.*s", (int)(sl - tx->c[i].path),
			    tx->c[i].path);
			if (git_tree_entry_bypath(&e, tx->base, dir) == 0 &&
			    git_tree_entry_type(e) != GIT_OBJECT_TREE)
				rc = api_error_set(API_EINVAL, "cannot write %s: %s is "
				    "not a directory", tx->c[i].path, dir);
			git_tree_entry_free(e);
		}
	}
	if (rc < 0)
		goto out;
	if (git_tree_create_updated(&tid, repo, tx->base, tx->n, up) < 0 || git_tree_lookup(&tree, repo, &tid) < 0) {
		rc = api_git_fail(API_EIO, "cannot build the tree");
		goto out;
	}
	snprintf(line, sizeof line, "%s\n\nApi-Action: %s\n", tx->subject,
	    tx->action);
	if ((rc = api_buf_append(&msg, line, strlen(line))) < 0)
		goto out;
	if (tx->case_id[0]) {
		snprintf(line, sizeof line, "Api-Case: %s\n", tx->case_id);
		if ((rc = api_buf_append(&msg, line, strlen(line))) < 0)
			goto out;
	}
	if (tx->object[0]) {
		snprintf(line, sizeof line, "Api-Object: %s\n", tx->object);
		if ((rc = api_buf_append(&msg, line, strlen(line))) < 0)
			goto out;
	}
	if ((rc = api_buf_append(&msg, tx->trailers, tx->tlen)) < 0)
		goto out;
	const git_commit *parents[1] = { parent };
	rc = api_commit_signed(repo, signer, tx->now, (const char *)msg.ptr, tree,
	    parents, parent ? 1 : 0, out);
out:
	api_buf_free(&msg);
	git_tree_free(tree);
	free(up);
	return rc;
}

/*
 * A writer killed while it holds a ref's lock file (SIGKILL, a power
 * cut) leaves REF.lock behind, and libgit2 then refuses every later
 * update of the ref.  So a ref is moved holding flock(2) on
 * GITDIR/api-flock, which the kernel lets go when its holder dies; the
 * holder writes "REF TIME" in that file before it takes REF.lock, and
 * empties it once the ref is moved.  The next holder that finds the file
 * not empty knows its writer died between the two: a REF.lock made within
 * LOCK_WINDOW seconds of TIME is that writer's, and is removed.  Any other
 * lock file (stock git's, which holds one for milliseconds and takes no
 * flock) is left to its owner.  Every move of a ref by the toolkit goes
 * through api_ref_move, so that none takes a lock file without the flock.
 *
 * api-flock is made 0600: a store is one person's (design, section 3:
 * each member works in a copy of their own and a team meets on a server
 * through api-sync), and nothing but that person's writers has any
 * business with its locks.  The exception is a git directory that is
 * group-writable (git init --shared=group, a server on a path that a team
 * writes to): there it is 0660 whatever the umask, as git makes the files
 * of a shared repository, or the members who did not make the file could
 * not take the lock.  Its owner sets the mode each time (a file made 0644
 * by an older version is narrowed).
 */
int
api_lock_open(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;
	mode_t mode = 0600;
	size_t dl = strlen(dir);
	int fd;

	if (stat(dir, &st) == 0 && (st.st_mode & S_IWGRP))
		mode = 0660;
	/* (a git directory's path comes with its slash) */
	if (snprintf(path, sizeof path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ?
	    "" : "/", name) >= (int)sizeof path ||
	    (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode)) < 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & 0777) != mode)
		(void)fchmod(fd, mode);
	return fd;
}

static int
ref_flock(git_repository *repo)
{
	const char *gd = git_repository_path(repo);
	char path[4096], rec[512], ref[400];
	struct stat st;
	long long t;
	ssize_t n;
	int fd;

	if ((fd = api_lock_open(gd, "api-flock")) < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	if ((n = pread(fd, rec, sizeof rec - 1, 0)) > 0) {
		rec[n] = '\0';
		if (sscanf(rec, "%399s %lld", ref, &t) == 2 &&
		    strncmp(ref, "refs/", 5) == 0 && strstr(ref, "..") == NULL &&
		    snprintf(path, sizeof path, "%s%s.lock", gd, ref) <
		    (int)sizeof path && stat(path, &st) == 0 &&
		    (long long)st.st_mtime >= t - 1 &&
		    (long long)st.st_mtime <= t + LOCK_WINDOW)
			(void)unlink(path);
	}
	return fd;
}

int
api_ref_move(git_repository *repo, const char *ref, const git_oid *id,
    const git_oid *cur, const char *msg)
{
	git_reference *r = NULL;
	int fd = ref_flock(repo), rc;
	char rec[512];
	int n = snprintf(rec, sizeof rec, "%s %lld\n", ref, (long long)time(NULL));

	if (fd >= 0 && (n >= (int)sizeof rec || pwrite(fd, rec, (size_t)n, 0) != n ||
	    ftruncate(fd, n) < 0))
		(void)ftruncate(fd, 0);
	if (id == NULL) {
		/* libgit2 deletes only if the ref still holds what was read */
		if ((rc = git_reference_lookup(&r, repo, ref)) == 0) {
			if (cur != NULL && (git_reference_type(r) != GIT_REFERENCE_DIRECT ||
			    !git_oid_equal(git_reference_target(r), cur))) {
				git_error_set_str(GIT_ERROR_REFERENCE, "the reference "
				    "changed meanwhile");
				rc = GIT_EMODIFIED;
			} else
				rc = git_reference_delete(r);
		}
	} else if (cur != NULL)
		rc = git_reference_create_matching(&r, repo, ref, id, 1, cur, msg);
	else
		rc = git_reference_create(&r, repo, ref, id, 0, msg);
	git_reference_free(r);
	if (fd >= 0) {
		(void)ftruncate(fd, 0);
		close(fd);
	}
	return rc;
}

static int
ref_update(api_store *s, const char *ref, const git_oid *id, git_commit *tip,
    const char *msg)
{
	return api_ref_move(s->repo, ref, id, tip ? git_commit_id(tip) : NULL,
	    msg);
}

int
api_store_write(api_store *s, const api_identity *signer, api_build_fn build,
    void *ctx, char *out)
{
	return api_store_write_ref(s, signer, MAIN_REF, 0, build, ctx, out);
}

int
api_store_read_ref(api_store *s, const char *ref, const char *path,
    api_buf *out)
{
	git_tree *tree = NULL;
	int rc;

	if ((rc = ref_tree(s->repo, ref, NULL, &tree)) < 0)
		return rc;
	rc = tree_read(s->repo, tree, path, out, s->path);
	git_tree_free(tree);
	return rc;
}

int
api_store_write_ref(api_store *s, const api_identity *signer, const char *ref,
    int flags, api_build_fn build, void *ctx, char *out)
{
	git_commit *parent = NULL, *tip = NULL;
	git_oid id;
	api_tx tx;
	int rc, tries;

	memset(&tx, 0, sizeof tx);
	if (!git_repository_is_bare(s->repo))
		return api_error_set(API_EINVAL, "store %s has a working tree; api "
		    "writes only to bare stores (make one with git clone --bare)",
		    s->path);
	for (tries = 0; tries < MAX_TRIES; tries++) {
		tx_clear(&tx);
		tx.s = s;
		tx.ref = ref;
		tx.now = (int64_t)time(NULL);
		rc = ref_tree(s->repo, ref, &tip, &tx.base);
		if (rc < 0 && rc != API_ENOTFOUND)
			break;
		api_error_clear();
		/* API_WRITE_ROOT: each commit stands alone, so that what it
		 * replaces can be dropped from the repository for good */
		parent = (flags & API_WRITE_ROOT) ? NULL : tip;
		if (flags & API_WRITE_EMPTY) {
			git_tree_free(tx.base);
			tx.base = NULL;
		}
		if ((rc = build(ctx, &tx)) < 0)
			break;
		if ((rc = make_commit(&tx, signer, parent, &id)) < 0)
			break;
		rc = ref_update(s, ref, &id, tip, tx.subject);
		git_commit_free(tip);
		tip = parent = NULL;
		if (rc == 0)
			break;
		if (rc != GIT_EMODIFIED && rc != GIT_ELOCKED && rc != GIT_EEXISTS) {
			rc = api_git_fail(API_EIO, ref);
			break;
		}
		/* another writer got there first: build again on its tip */
		usleep(1000 + randombytes_uniform(20000));
		rc = rc == GIT_ELOCKED ? api_error_set(API_EIO, "%s stayed locked "
		    "(by another writer, or a stale lock file %s.lock); gave up "
		    "after %d tries", ref, ref, MAX_TRIES) :
		    api_error_set(API_EIO, "%s kept changing; gave up after %d "
		    "tries", ref, MAX_TRIES);
	}
	git_commit_free(tip);
	tx_clear(&tx);
	if (rc == 0 && out != NULL)
		git_oid_tostr(out, GIT_OID_HEXSZ + 1, &id);
	return rc;
}

/* ---- work on every core ------------------------------------------------ */

static void *
fanout_thread(void *arg)
{
	api_fanout *f = arg;
	api_store *own = NULL;

	if (api_store_open(&own, api_store_path(f->s)) == 0)
		f->fn(f->ctx, own);
	api_store_free(own);
	return NULL;
}

void
api_fanout_start(api_fanout *f, api_store *s, int few,
    void (*fn)(void *ctx, api_store *s), void *ctx)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = few || ncpu < 2 ? 0 : (size_t)(ncpu > 8 ? 8 : ncpu) - 1;

	memset(f, 0, sizeof *f);
	f->s = s;
	f->fn = fn;
	f->ctx = ctx;
	for (f->n = 0; f->n < want; f->n++)
		if (pthread_create(&f->th[f->n], NULL, fanout_thread, f) != 0)
			break;
}

void
api_fanout_join(api_fanout *f)
{
	for (size_t k = 0; k < f->n; k++)
		pthread_join(f->th[k], NULL);
	f->n = 0;
}

/* ---- a cold page cache ------------------------------------------------- */

/* Whether e names a pack or its index, a regular file; its size in *size. */
static int
pack_file(int dfd, const struct dirent *e, off_t *size)
{
	size_t n = strlen(e->d_name);
	struct stat st;

	if (n < 5 || (strcmp(e->d_name + n - 5, ".pack") != 0 &&
	    strcmp(e->d_name + n - 4, ".idx") != 0) ||
	    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	*size = st.st_size;
	return 1;
}

void
api_store_prefetch(api_store *s)
{
	char dir[4096];
	struct dirent *e;
	off_t size;
	DIR *d;
	int dfd, fd;

	if (snprintf(dir, sizeof dir, "%sobjects/pack",
	    git_repository_path(s->repo)) >= (int)sizeof dir ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	/* not when the packs would crowd out half the free memory: the
	 * reads would only push each other out again */
	long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	double room = pages > 0 && psz > 0 ? (double)pages * (double)psz / 2 : 0;
	double total = 0;
	while ((e = readdir(d)) != NULL)
		if (pack_file(dfd, e, &size))
			total += (double)size;
	rewinddir(d);
	while (total <= room && (e = readdir(d)) != NULL)
		if (pack_file(dfd, e, &size) && (fd = openat(dfd, e->d_name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
			close(fd);
		}
	closedir(d);
}
