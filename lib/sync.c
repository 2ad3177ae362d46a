/*
 * sync.c - a store and its copy on a git server: api-sync and api-clone.
 *
 * A sync fetches the server's refs into refs/api/sync/ (dropped again at
 * the end of every run), checks the commits the server brings with the
 * api-verify rules, and joins them with the local ones:
 *
 *   main        fast-forward, or a merge made in memory (git_merge_commits)
 *               and signed; both sides only add files, so a conflict means
 *               the same path with two contents, and is refused (only
 *               allowed_signers, derived from staff/, is made again);
 *   reads/YYYY  the same, a merge holding an empty tree;
 *   keys        root commits only (so that a purge can drop envelopes for
 *               good): per case, the envelopes whose key.for matches the
 *               team and recipient on the merged main; none is dropped
 *               unless main says the case was purged.
 *
 * Then it pushes main and the read logs (fast-forward only), and the keys
 * after them; a push the server rejects (someone pushed first) is met by
 * fetching and merging again, a bounded number of times.  The server's
 * main as last synced is kept in refs/api/remotes/NAME/main, to tell a
 * history rewritten on the server from one that has grown.
 */
#define _GNU_SOURCE                  /* syncfs(2) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <sodium.h>

#include "api.h"

#define MAIN_REF "refs/heads/main"
#define SYNC_NS "refs/api/sync/"
#define TRACK_NS "refs/api/remotes/"
#define DEFAULT_TRIES 20

struct sync {
	api_store *s;
	git_repository *repo;
	git_remote *remote;
	const api_identity *me;
	const api_sync_opts *o;
	api_sync_result *res;
	const char *label;           /* the remote as the user named it */
	char track[256];             /* TRACK_NS NAME "/main" */
	char rejected[512];          /* the first ref the server refused */
	char said[512];              /* the server's hook's refusal, if any */
	int auth_tries;
	int progress_shown;
	char *local;                 /* a server on a path: its directory */
};

/* ---- callbacks ------------------------------------------------------------ */

/* The server is being talked to (busy 1: and showed a sign of life). */
static void
net(struct sync *y, int busy)
{
	if (y->o && y->o->net)
		y->o->net(y->o->net_ctx, busy);
}

static int
cb_credentials(git_credential **out, const char *url, const char *user,
    unsigned int allowed, void *payload)
{
	struct sync *y = payload;
	const char *key = y->o && y->o->ssh_key ? y->o->ssh_key :
	    getenv("API_SSH_KEY");

	(void)url;
	if (user == NULL || *user == '\0')
		user = getenv("USER") ? getenv("USER") : "git";
	/* libgit2 asks again after each refusal: one try per method */
	if (y->auth_tries++ >= 2) {
		git_error_set_str(GIT_ERROR_SSH, "the server refused the key");
		return GIT_EAUTH;
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		if (key != NULL && *key && access(key, R_OK) != 0) {
			git_error_set(GIT_ERROR_SSH, "cannot read the ssh key %s: %s",
			    key, strerror(errno));
			return GIT_EAUTH;
		}
		if (key != NULL && *key)
			return git_credential_ssh_key_new(out, user, NULL, key, NULL);
		return git_credential_ssh_key_from_agent(out, user);
	}
	git_error_set_str(GIT_ERROR_NET, "the server wants a password; api "
	    "signs in with an ssh key or through git's https credentials");
	return GIT_PASSTHROUGH;
}

static int
cb_fetch_progress(const git_indexer_progress *p, void *payload)
{
	struct sync *y = payload;

	net(y, 1);
	if (y->o && y->o->progress && p->total_objects > 0) {
		fprintf(stderr, "\rapi-sync: received %u of %u objects",
		    p->received_objects, p->total_objects);
		y->progress_shown = 1;
	}
	return 0;
}

static int
cb_push_progress(unsigned int current, unsigned int total, size_t bytes,
    void *payload)
{
	struct sync *y = payload;

	(void)bytes;
	net(y, 1);
	if (y->o && y->o->progress && total > 0) {
		fprintf(stderr, "\rapi-sync: sent %u of %u objects", current,
		    total);
		y->progress_shown = 1;
	}
	return 0;
}

/* Every transport reports here what became of each pushed ref: a refusal
 * does not always make git_remote_push fail. */
static int
cb_push_ref(const char *ref, const char *status, void *payload)
{
	struct sync *y = payload;

	if (status != NULL && y->rejected[0] == '\0')
		snprintf(y->rejected, sizeof y->rejected, "%s: %s", ref, status);
	return 0;
}

/* What the server says on the side band: its hook's refusal among it. */
static int
cb_sideband(const char *str, int len, void *payload)
{
	struct sync *y = payload;
	const char *p = NULL;

	net(y, 1);
	for (int i = 0; p == NULL && i + 12 <= len; i++)
		if (memcmp(str + i, "push refused", 12) == 0)
			p = str + i;
	if (p != NULL && y->said[0] == '\0') {
		size_t n = (size_t)(str + len - p);
		n = strcspn(p, "\r\n") < n ? strcspn(p, "\r\n") : n;
		snprintf(y->said, sizeof y->said, "%.*s", (int)n, p);
	}
	return 0;
}

/*
 * A push the server's hook refused: worth another round only when the
 * hook says someone pushed first; any other refusal stands.
 */
static int
refused(struct sync *y, const char *why)
{
	if (strstr(why, "sync again") != NULL)
		return api_error_set(API_EAGAIN, "%s refused the push: %s",
		    y->label, why);
	return api_error_set(API_EVERIFY, "%s refused the push: %s", y->label,
	    why);
}

static void
progress_done(struct sync *y)
{
	if (y->progress_shown)
		fputc('\n', stderr);
	y->progress_shown = 0;
}

static void
callbacks(struct sync *y, git_remote_callbacks *cb)
{
	cb->credentials = cb_credentials;
	cb->transfer_progress = cb_fetch_progress;
	cb->push_transfer_progress = cb_push_progress;
	cb->push_update_reference = cb_push_ref;
	cb->sideband_progress = cb_sideband;
	cb->payload = y;
}

/* ---- refs ----------------------------------------------------------------- */

static int
ref_id(git_repository *repo, const char *ref, git_oid *out)
{
	int rc = git_reference_name_to_id(out, repo, ref);

	if (rc == GIT_ENOTFOUND)
		return API_ENOTFOUND;
	return rc < 0 ? api_git_fail(API_EIO, ref) : 0;
}

/* Moves ref from old (NULL: it must not exist) to id (NULL: deletes it).
 * Every ref api-sync moves, in the store and on a path server, moves
 * through api_ref_move: under the repository's api-flock, so that a sync
 * killed meanwhile leaves no lock that later writes cannot clear. */
static int
ref_move(git_repository *repo, const char *ref, const git_oid *id,
    const git_oid *old, const char *why)
{
	int rc = api_ref_move(repo, ref, id, old, why);

	if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS || rc == GIT_ELOCKED)
		return api_error_set(API_EAGAIN, "%s changed meanwhile", ref);
	return rc < 0 ? api_git_fail(API_EIO, ref) : 0;
}

/* Deletes every ref under prefix. */
static int
drop_refs(git_repository *repo, const char *prefix)
{
	git_reference_iterator *it = NULL;
	git_reference *r;
	size_t plen = strlen(prefix);
	int rc = 0;

	if (git_reference_iterator_new(&it, repo) < 0)
		return api_git_fail(API_EIO, "cannot list refs");
	while (git_reference_next(&r, it) == 0) {
		int e = 0;
		if (strncmp(git_reference_name(r), prefix, plen) == 0)
			e = api_ref_move(repo, git_reference_name(r), NULL, NULL,
			    "api-sync");
		if (e < 0 && e != GIT_ENOTFOUND && rc == 0)
			rc = api_git_fail(API_EIO, git_reference_name(r));
		git_reference_free(r);
	}
	git_reference_iterator_free(it);
	return rc;
}

/* ---- main and the read logs ----------------------------------------------- */

/* How l and r relate: 0 equal, 1 r is behind l, 2 r is ahead of l (a
 * fast-forward), 3 they diverged from a common commit; -1 no common
 * history. */
static int
relate(git_repository *repo, const git_oid *l, const git_oid *r)
{
	git_oid base;

	if (git_oid_equal(l, r))
		return 0;
	if (git_merge_base(&base, repo, l, r) < 0)
		return -1;
	if (git_oid_equal(&base, r))
		return 1;
	if (git_oid_equal(&base, l))
		return 2;
	return 3;
}

static int
report_fail(struct sync *y, const char *what, const api_verify_report *vr)
{
	return api_error_set(API_EVERIFY, "%s: %s fails api-verify at commit "
	    "%.12s: %s: %s: %s; nothing merged", y->label, what, vr->commit,
	    vr->rule, vr->path, vr->message);
}

/* The merge of main's l and r in memory: its tree in out; a path both
 * changed is refused, naming it and both commits. */
static int
merge_main_tree(struct sync *y, git_commit *l, git_commit *r, git_oid *out)
{
	git_index *idx = NULL;
	git_index_conflict_iterator *it = NULL;
	const git_index_entry *anc, *ours, *theirs;
	git_merge_options mo;
	git_tree *t = NULL;
	api_staff_list sl = { 0 };
	api_buf as = { 0 };
	int rc = 0, regen = 0;

	git_merge_options_init(&mo, GIT_MERGE_OPTIONS_VERSION);
	if (git_merge_commits(&idx, y->repo, l, r, &mo) < 0)
		return api_git_fail(API_EIO, "cannot merge");
	if (git_index_has_conflicts(idx)) {
		char first[512] = "";
		if (git_index_conflict_iterator_new(&it, idx) < 0) {
			rc = api_git_fail(API_EIO, "cannot merge");
			goto out;
		}
		while (git_index_conflict_next(&anc, &ours, &theirs, it) == 0) {
			const char *p = ours ? ours->path : theirs ? theirs->path :
			    anc->path;
			if (strcmp(p, "allowed_signers") == 0)
				regen = 1;
			else if (first[0] == '\0')
				snprintf(first, sizeof first, "%s", p);
		}
		git_index_conflict_iterator_free(it);
		if (first[0]) {
			char lc[13], rcid[13];
			git_oid_tostr(lc, sizeof lc, git_commit_id(l));
			git_oid_tostr(rcid, sizeof rcid, git_commit_id(r));
			rc = api_error_set(API_ECONFLICT, "%s: %s differs between this "
			    "store (commit %s) and %s (commit %s), changed on both "
			    "sides; nothing merged, nothing lost", y->label, first, lc,
			    y->label, rcid);
			goto out;
		}
		if (git_index_conflict_remove(idx, "allowed_signers") < 0) {
			rc = api_git_fail(API_EIO, "cannot merge");
			goto out;
		}
	}
	if (git_index_write_tree_to(out, idx, y->repo) < 0) {
		rc = api_git_fail(API_EIO, "cannot write the merged tree");
		goto out;
	}
	if (!regen)
		goto out;
	/* allowed_signers is derived from staff/: made again from the
	 * merged staff, as api-verify checks it */
	git_tree_update up = { 0 };
	if (git_tree_lookup(&t, y->repo, out) < 0) {
		rc = api_git_fail(API_EIO, "cannot read the merged tree");
		goto out;
	}
	if ((rc = api_staff_from_tree(y->repo, t, &sl)) < 0 ||
	    (rc = api_allowed_signers(&sl, &as)) < 0)
		goto out;
	up.action = GIT_TREE_UPDATE_UPSERT;
	up.filemode = GIT_FILEMODE_BLOB;
	up.path = "allowed_signers";
	if (git_blob_create_from_buffer(&up.id, y->repo, as.ptr, as.len) < 0 ||
	    git_tree_create_updated(out, y->repo, t, 1, &up) < 0)
		rc = api_git_fail(API_EIO, "cannot write the merged tree");
out:
	api_buf_free(&as);
	api_staff_list_free(&sl);
	git_tree_free(t);
	git_index_free(idx);
	return rc;
}

/* A signed merge of l and r with tree tid; its id in out. */
static int
merge_commit(struct sync *y, const git_oid *l, const git_oid *r,
    const git_oid *tid, const char *msg, int64_t when, git_oid *out)
{
	git_commit *p[2] = { NULL, NULL };
	git_tree *t = NULL;
	int rc;

	if (git_commit_lookup(&p[0], y->repo, l) < 0 ||
	    git_commit_lookup(&p[1], y->repo, r) < 0 ||
	    git_tree_lookup(&t, y->repo, tid) < 0)
		rc = api_git_fail(API_EIO, "cannot read the commits to merge");
	else
		rc = api_commit_signed(y->repo, y->me, when, msg, t,
		    (const git_commit **)p, 2, out);
	git_commit_free(p[0]);
	git_commit_free(p[1]);
	git_tree_free(t);
	if (rc == 0)
		y->res->merges++;
	return rc;
}

/*
 * Joins local ref (may be absent) with the fetched one; fetched: its
 * commits are checked already.  main: merges are made by merge_main_tree;
 * a read log's hold an empty tree.
 */
static int
join(struct sync *y, const char *ref, const git_oid *r, int is_main,
    int64_t when)
{
	git_commit *lc = NULL, *rc_ = NULL;
	git_oid l, tid, id;
	int rc, rel;

	if ((rc = ref_id(y->repo, ref, &l)) == API_ENOTFOUND)
		return ref_move(y->repo, ref, r, NULL, "api-sync: fetched");
	if (rc < 0)
		return rc;
	/* two copies start their own log of a year: joined all the same */
	if ((rel = relate(y->repo, &l, r)) < 0 && !is_main)
		rel = 3;
	if (rel < 0)
		return api_error_set(API_EINVAL, "%s: its %s has no history in "
		    "common with this store's: another store?", y->label, ref);
	if (rel == 0 || rel == 1)
		return 0;
	if (rel == 2)
		return ref_move(y->repo, ref, r, &l, "api-sync: fast-forward");
	if (is_main) {
		if (git_commit_lookup(&lc, y->repo, &l) < 0 ||
		    git_commit_lookup(&rc_, y->repo, r) < 0)
			rc = api_git_fail(API_EIO, "cannot read the commits to merge");
		else
			rc = merge_main_tree(y, lc, rc_, &tid);
		git_commit_free(lc);
		git_commit_free(rc_);
		if (rc == 0)
			rc = merge_commit(y, &l, r, &tid, "sync: histories merged\n\n"
			    "Api-Action: merge\n", (int64_t)time(NULL), &id);
	} else {
		git_treebuilder *tb = NULL;
		if (git_treebuilder_new(&tb, y->repo, NULL) < 0 ||
		    git_treebuilder_write(&tid, tb) < 0)
			rc = api_git_fail(API_EIO, "cannot write an empty tree");
		else
			rc = merge_commit(y, &l, r, &tid, "reads: logs of two copies "
			    "joined\n\nApi-Action: merge\n", when, &id);
		git_treebuilder_free(tb);
	}
	if (rc == 0)
		rc = ref_move(y->repo, ref, &id, &l, "api-sync: merged");
	return rc;
}

/* ---- the keys ------------------------------------------------------------- */

struct keyjoin {
	struct sync *y;
	git_tree *main;              /* merged main */
	git_tree_update *up;
	char **paths;
	size_t n, cap;
};

static int
key_update(struct keyjoin *k, const char *path, const git_oid *id)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		void *u = realloc(k->up, cap * sizeof *k->up);
		if (u == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		k->up = u;
		if ((u = realloc(k->paths, cap * sizeof *k->paths)) == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		k->paths = u;
		k->cap = cap;
	}
	if ((k->paths[k->n] = strdup(path)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	memset(&k->up[k->n], 0, sizeof k->up[k->n]);
	k->up[k->n].action = id ? GIT_TREE_UPDATE_UPSERT : GIT_TREE_UPDATE_REMOVE;
	if (id)
		k->up[k->n].id = *id;
	k->up[k->n].filemode = GIT_FILEMODE_BLOB;
	k->up[k->n].path = k->paths[k->n];
	k->n++;
	return 0;
}

static int
main_has(git_tree *t, const char *path)
{
	git_tree_entry *e = NULL;
	int has = git_tree_entry_bypath(&e, t, path) == 0;

	git_tree_entry_free(e);
	return has;
}

/* 1 when key.for in the case directory tree t is what main has for the
 * case dir (cases/S/H/ID). */
static int
keyfor_matches(struct keyjoin *k, git_tree *t, const char *dir)
{
	api_buf want = { 0 };
	const git_tree_entry *e;
	git_blob *b = NULL;
	int m = 0;

	if (t != NULL && (e = git_tree_entry_byname(t, "key.for")) != NULL &&
	    api_keyfor_of(k->main, dir, &want) == 0 &&
	    git_blob_lookup(&b, k->y->repo, git_tree_entry_id(e)) == 0)
		m = (size_t)git_blob_rawsize(b) == want.len &&
		    memcmp(git_blob_rawcontent(b), want.ptr, want.len) == 0;
	git_blob_free(b);
	api_buf_free(&want);
	api_error_clear();
	return m;
}

/* Sets dir's files (those of src, a case directory tree) in place of
 * those of have (NULL: none). */
static int
key_take(struct keyjoin *k, const char *dir, git_tree *src, git_tree *have)
{
	char path[96];
	int rc = 0;

	for (size_t i = 0; have && i < git_tree_entrycount(have) && rc == 0; i++) {
		const char *name = git_tree_entry_name(git_tree_entry_byindex(have,
		    i));
		if (src == NULL || git_tree_entry_byname(src, name) == NULL) {
			snprintf(path, sizeof path, "%s/%s", dir, name);
			rc = key_update(k, path, NULL);
		}
	}
	for (size_t i = 0; src && i < git_tree_entrycount(src) && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(src, i);
		snprintf(path, sizeof path, "%s/%s", dir, git_tree_entry_name(e));
		rc = key_update(k, path, git_tree_entry_id(e));
	}
	return rc;
}

/* One case directory: l and r its trees on each side (NULL: absent). */
static int
key_case(struct keyjoin *k, const char *dir, git_tree *l, git_tree *r)
{
	char path[64];

	snprintf(path, sizeof path, "%s/purged", dir);
	if (main_has(k->main, path))
		return l ? key_take(k, dir, NULL, l) : 0;
	if (r == NULL)
		return 0;
	if (l == NULL)
		return key_take(k, dir, r, NULL);
	/* both: the ones written for main's team and recipient; where both
	 * or neither are, this store's */
	if (!keyfor_matches(k, l, dir) && keyfor_matches(k, r, dir))
		return key_take(k, dir, r, l);
	return 0;
}

/* Walks cases/S/H/ID of both keys trees (depth 0: the root, 1: cases/,
 * 2: S, 3: H, 4: the case), skipping subtrees that are the same on both
 * sides. */
static int
key_walk(struct keyjoin *k, const char *dir, git_tree *l, git_tree *r,
    int depth)
{
	git_tree *sides[2] = { l, r };
	int rc = 0;

	if (depth == 4)
		return key_case(k, dir, l, r);
	for (int s = 0; s < 2 && rc == 0; s++) {
		git_tree *t = sides[s], *o = sides[!s];
		for (size_t i = 0; t && i < git_tree_entrycount(t) && rc == 0; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(t, i);
			const git_tree_entry *oe = o ? git_tree_entry_byname(o,
			    git_tree_entry_name(e)) : NULL;
			git_tree *st = NULL, *ot = NULL;
			char sub[64];
			/* each name once: from the left, or from the right
			 * where the left lacks it */
			if (s == 1 && oe != NULL)
				continue;
			if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
				continue;
			if (oe && git_oid_equal(git_tree_entry_id(e),
			    git_tree_entry_id(oe)) && depth > 0) {
				/* the same on both sides: only a purge on
				 * main could change it, and a purge removes
				 * the envelopes on the side that made it */
				continue;
			}
			snprintf(sub, sizeof sub, "%s%s%s", dir, *dir ? "/" : "",
			    git_tree_entry_name(e));
			if (git_tree_lookup(&st, k->y->repo, git_tree_entry_id(e)) < 0 ||
			    (oe && git_tree_entry_type(oe) == GIT_OBJECT_TREE &&
			    git_tree_lookup(&ot, k->y->repo, git_tree_entry_id(oe)) < 0))
				rc = api_git_fail(API_EIO, sub);
			else if (depth == 0 && strcmp(sub, "cases") != 0)
				rc = 0;
			else
				rc = key_walk(k, sub, s ? ot : st, s ? st : ot, depth + 1);
			git_tree_free(st);
			git_tree_free(ot);
		}
	}
	return rc;
}

/*
 * A keys commit as every one is made: a root commit, signed by a member
 * of the staff of main (an active one, where active says so: a push must
 * come from one; what a server holds may be older than a retirement).
 */
static int
keys_signed(git_repository *repo, const git_oid *id, git_tree *main,
    int active, const char *what)
{
	api_staff_list sl = { 0 };
	git_commit *c = NULL;
	unsigned char pk[32];
	long i;
	int rc;

	if ((rc = api_verify_commit_sig(repo, id, pk)) == API_ESIG)
		return api_error_set(API_EVERIFY, "%s: %s", what, api_error_last());
	if (rc < 0)
		return rc;
	if ((rc = api_staff_from_tree(repo, main, &sl)) < 0)
		return rc;
	if ((i = api_staff_find_key(&sl, pk)) < 0 ||
	    (active && sl.v[i].valid_until[0]))
		rc = api_error_set(API_EVERIFY, "%s: signed by a key of no %smember "
		    "of staff", what, active ? "active " : "");
	else if (git_commit_lookup(&c, repo, id) < 0)
		rc = api_git_fail(API_EIO, what);
	else if (git_commit_parentcount(c) != 0)
		rc = api_error_set(API_EVERIFY, "%s: not a root commit (the keys "
		    "keep no history, so that a purge can remove them)", what);
	git_commit_free(c);
	api_staff_list_free(&sl);
	return rc;
}

/* The fetched keys r, made as every keys commit is (keys_signed) by a
 * member of the staff of main at commit m: checked before anything of the
 * fetch is joined, so that a refusal leaves the store as it was. */
static int
keys_fetched_ok(struct sync *y, const git_oid *r, const git_oid *m)
{
	git_commit *mc = NULL;
	git_tree *mt = NULL;
	int rc;

	if (git_commit_lookup(&mc, y->repo, m) < 0 ||
	    git_commit_tree(&mt, mc) < 0)
		rc = api_git_fail(API_EIO, MAIN_REF);
	else
		rc = keys_signed(y->repo, r, mt, 0, y->label);
	git_tree_free(mt);
	git_commit_free(mc);
	return rc;
}

/* Joins the local keys with the fetched ones (r), for main as merged. */
static int
join_keys(struct sync *y, const git_oid *r)
{
	struct keyjoin k;
	git_commit *lc = NULL, *rc_ = NULL, *mc = NULL;
	git_tree *lt = NULL, *rt = NULL, *nt = NULL;
	git_oid l, m, tid, id;
	int rc;

	memset(&k, 0, sizeof k);
	k.y = y;
	if ((rc = ref_id(y->repo, API_KEYS_REF, &l)) == API_ENOTFOUND)
		return ref_move(y->repo, API_KEYS_REF, r, NULL, "api-sync: fetched");
	if (rc < 0)
		return rc;
	if (git_oid_equal(&l, r))
		return 0;
	if ((rc = ref_id(y->repo, MAIN_REF, &m)) < 0)
		return rc;
	if (git_commit_lookup(&lc, y->repo, &l) < 0 ||
	    git_commit_lookup(&rc_, y->repo, r) < 0 ||
	    git_commit_lookup(&mc, y->repo, &m) < 0 ||
	    git_commit_tree(&lt, lc) < 0 || git_commit_tree(&rt, rc_) < 0 ||
	    git_commit_tree(&k.main, mc) < 0) {
		rc = api_git_fail(API_EIO, "cannot read the case keys");
		goto out;
	}
	if ((rc = key_walk(&k, "", lt, rt, 0)) < 0)
		goto out;
	if (k.n == 0)
		git_oid_cpy(&tid, git_tree_id(lt));
	else if (git_tree_create_updated(&tid, y->repo, lt, k.n, k.up) < 0) {
		rc = api_git_fail(API_EIO, "cannot write the case keys");
		goto out;
	}
	/* the server's as they are: take its commit, so that two copies
	 * with the same keys agree on the commit too */
	if (git_oid_equal(&tid, git_tree_id(rt))) {
		rc = ref_move(y->repo, API_KEYS_REF, r, &l, "api-sync: fetched");
		goto out;
	}
	if (k.n == 0)
		goto out;
	if (git_tree_lookup(&nt, y->repo, &tid) < 0) {
		rc = api_git_fail(API_EIO, "cannot write the case keys");
		goto out;
	}
	/* a root commit, as every commit of the keys */
	if ((rc = api_commit_signed(y->repo, y->me, (int64_t)time(NULL),
	    "keys: case keys of two copies joined\n\nApi-Action: case-key-merge\n",
	    nt, NULL, 0, &id)) == 0)
		rc = ref_move(y->repo, API_KEYS_REF, &id, &l, "api-sync: merged");
out:
	for (size_t i = 0; i < k.n; i++)
		free(k.paths[i]);
	free(k.paths);
	free(k.up);
	git_tree_free(nt);
	git_tree_free(lt);
	git_tree_free(rt);
	git_tree_free(k.main);
	git_commit_free(lc);
	git_commit_free(rc_);
	git_commit_free(mc);
	return rc;
}

/* ---- one round: fetch, check, join, push ----------------------------------- */

static int
fetch(struct sync *y)
{
	static char *specs[] = {
		"+" MAIN_REF ":" SYNC_NS "main",
		"+" API_KEYS_REF ":" SYNC_NS "keys",
		"+" API_READS_REF "*:" SYNC_NS "reads/*",
	};
	git_strarray arr = { specs, 3 };
	git_fetch_options fo;
	int rc;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	if ((rc = drop_refs(y->repo, SYNC_NS)) < 0)
		return rc;
	callbacks(y, &fo.callbacks);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	y->auth_tries = 0;
	net(y, 1);
	rc = git_remote_fetch(y->remote, &arr, &fo, NULL);
	net(y, 0);
	progress_done(y);
	if (rc < 0)
		return api_git_fail(API_EIO, y->label);
	return 0;
}

/* The server's main: checked against what it had at the last sync and
 * with the api-verify rules over the commits this store lacks. */
static int
check_main(struct sync *y, const git_oid *r, int *has)
{
	const git_remote_head **heads;
	api_verify_report vr;
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_oid l, last;
	size_t nh = 0;
	int rc;

	*has = 0;
	if (ref_id(y->repo, SYNC_NS "main", (git_oid *)r) != 0) {
		if (git_remote_ls(&heads, &nh, y->remote) < 0)
			nh = 1;
		if (ref_id(y->repo, y->track, &last) == 0)
			return api_error_set(API_EINVAL, "%s: its main is gone (it "
			    "had commit %.12s at the last sync); nothing merged",
			    y->label, git_oid_tostr_s(&last));
		/* an empty repository takes the store; one with other refs
		 * is something else */
		if (nh > 0)
			return api_error_set(API_EINVAL, "%s is not an api store "
			    "(no %s)", y->label, MAIN_REF);
		return 0;
	}
	*has = 1;
	if (git_commit_lookup(&c, y->repo, r) < 0 || git_commit_tree(&t, c) < 0)
		rc = api_git_fail(API_EIO, y->label);
	else if (git_tree_entry_byname(t, "api.conf") == NULL)
		rc = api_error_set(API_EINVAL, "%s is not an api store (no api.conf "
		    "on its main)", y->label);
	else
		rc = 0;
	git_tree_free(t);
	git_commit_free(c);
	if (rc < 0)
		return rc;
	if (ref_id(y->repo, y->track, &last) == 0 && !git_oid_equal(&last, r) &&
	    git_graph_descendant_of(y->repo, r, &last) != 1)
		return api_error_set(API_EINVAL, "%s: its main was rewritten: it no "
		    "longer holds commit %.12s, which it had at the last sync; "
		    "nothing merged", y->label, git_oid_tostr_s(&last));
	rc = ref_id(y->repo, MAIN_REF, &l);
	if (rc < 0 && rc != API_ENOTFOUND)
		return rc;
	if (rc == 0 && relate(y->repo, &l, r) < 0)
		return api_error_set(API_EINVAL, "%s holds another store (no history "
		    "in common with this one); nothing merged", y->label);
	if ((rc = api_verify_range(y->repo, r, rc == 0 ? &l : NULL, &vr, NULL,
	    NULL)) < 0)
		return rc;
	if (!vr.ok)
		return report_fail(y, "main", &vr);
	y->res->fetched += vr.commits;
	return 0;
}

/* ---- dropped read logs ----------------------------------------------------- */

#define DROPPED_NS "refs/api/dropped/"

/* The value of trailer key (with its colon and space) in msg, into out. */
static int
trailer_of(const char *msg, const char *key, char *out, size_t cap)
{
	const char *p = msg;
	size_t kl = strlen(key);

	for (; (p = strstr(p, key)) != NULL; p += kl)
		if (p == msg || p[-1] == '\n') {
			snprintf(out, cap, "%.*s", (int)strcspn(p + kl, "\n"), p + kl);
			return 1;
		}
	return 0;
}

/*
 * An admin drops a year's read log after its retention (api-readlog
 * drop), recording it on main: the copies and the server must drop it
 * too, not bring it back.  The drops main records since hide (NULL: ever)
 * are kept as refs/api/dropped/YEAR, which never leave this store, and
 * the store's own log of each such year goes.
 */
static int
scan_drops(git_repository *repo, const git_oid *tip, const git_oid *hide)
{
	git_revwalk *w = NULL;
	git_oid id;
	int rc = 0, err;

	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push(w, tip) < 0 ||
	    (hide && git_revwalk_hide(w, hide) < 0)) {
		git_revwalk_free(w);
		return api_git_fail(API_EIO, "cannot walk " MAIN_REF);
	}
	while (rc == 0 && (err = git_revwalk_next(&id, w)) == 0) {
		git_commit *c = NULL;
		char obj[128], marker[160];
		if (git_commit_lookup(&c, repo, &id) < 0) {
			rc = api_git_fail(API_EIO, MAIN_REF);
			break;
		}
		if (strstr(git_commit_message(c), "\nApi-Action: readlog-drop\n") &&
		    trailer_of(git_commit_message(c), "Api-Object: ", obj,
		    sizeof obj) && api_readlog_year(obj) >= 0) {
			snprintf(marker, sizeof marker, DROPPED_NS "%s",
			    obj + strlen(API_READS_REF));
			int e = api_ref_move(repo, marker, &id, NULL,
			    "api-sync: a dropped read log");
			if (e < 0 && e != GIT_EEXISTS)
				rc = api_git_fail(API_EIO, marker);
		}
		git_commit_free(c);
	}
	git_revwalk_free(w);
	if (rc < 0)
		return rc;
	/* and the store's own logs of those years go */
	git_reference_iterator *it = NULL;
	git_reference *m;
	if (git_reference_iterator_glob_new(&it, repo, DROPPED_NS "*") < 0)
		return api_git_fail(API_EIO, "cannot list refs");
	while (git_reference_next(&m, it) == 0) {
		char local[128];
		snprintf(local, sizeof local, API_READS_REF "%s",
		    git_reference_name(m) + strlen(DROPPED_NS));
		(void)api_ref_move(repo, local, NULL, NULL, "api-sync: dropped");
		git_reference_free(m);
	}
	git_reference_iterator_free(it);
	return 0;
}

/* 1 when main recorded the drop of the read log ref (reads/YEAR). */
static int
dropped(git_repository *repo, const char *ref)
{
	char marker[160];
	git_oid id;

	snprintf(marker, sizeof marker, DROPPED_NS "%s",
	    ref + strlen(API_READS_REF));
	return ref_id(repo, marker, &id) == 0;
}

/*
 * The fetched read logs.  join 0: each checked with the api-verify rules
 * against the staff of main at commit staff_at, over the commits this
 * store lacks; run before anything of the fetch is joined, so that a
 * refusal leaves the store as it was.  join 1: each joined with the
 * store's own log of its year (none checked again).
 */
static int
reads_each(struct sync *y, int join_them, const git_oid *staff_at)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	api_staff_list sl = { 0 };
	const size_t plen = strlen(SYNC_NS "reads/");
	int rc = 0;

	if (!join_them) {
		git_commit *c = NULL;
		git_tree *t = NULL;
		if (git_commit_lookup(&c, y->repo, staff_at) < 0 ||
		    git_commit_tree(&t, c) < 0)
			rc = api_git_fail(API_EIO, MAIN_REF);
		else
			rc = api_staff_from_tree(y->repo, t, &sl);
		git_tree_free(t);
		git_commit_free(c);
		if (rc < 0)
			return rc;
	}
	if (git_reference_iterator_glob_new(&it, y->repo, SYNC_NS "reads/*") < 0) {
		api_staff_list_free(&sl);
		return api_git_fail(API_EIO, "cannot list refs");
	}
	while (rc == 0 && git_reference_next(&ref, it) == 0) {
		char local[128];
		const char *name = git_reference_name(ref);
		const git_oid *r = git_reference_target(ref);
		api_verify_report vr;
		git_commit *lc = NULL, *rc_ = NULL;
		git_oid l;
		int year, hide;
		snprintf(local, sizeof local, API_READS_REF "%s", name + plen);
		hide = ref_id(y->repo, local, &l) == 0;
		if (r == NULL || (year = api_readlog_year(local)) < 0)
			rc = api_error_set(API_EINVAL, "%s: %s is not a read log",
			    y->label, local);
		else if (!join_them) {
			if ((rc = api_readlog_verify_range(y->s, local, year, r,
			    hide ? &l : NULL, &sl, &vr, NULL)) == 0 && !vr.ok)
				rc = report_fail(y, local, &vr);
		} else if (!dropped(y->repo, local)) {
			/* a join carries the later of the two times: it must
			 * fall in the log's year */
			int64_t when = 0;
			if (git_commit_lookup(&rc_, y->repo, r) == 0)
				when = git_commit_time(rc_);
			if (hide && git_commit_lookup(&lc, y->repo, &l) == 0 &&
			    git_commit_time(lc) > when)
				when = git_commit_time(lc);
			rc = join(y, local, r, 0, when);
		}
		git_commit_free(lc);
		git_commit_free(rc_);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	api_staff_list_free(&sl);
	return rc;
}

/* The server's hooks/pre-receive, run as git runs it, with the updates
 * on its stdin; 0 when it lets them in (or there is none). */
static int
run_hook(struct sync *y, const char *updates)
{
	char hook[PATH_MAX + 32], msg[400] = "";
	int in[2], err[2], status;
	pid_t pid;
	ssize_t n;
	size_t len = 0;

	snprintf(hook, sizeof hook, "%s/hooks/pre-receive", y->local);
	if (access(hook, X_OK) != 0)
		return 0;
	if (pipe(in) < 0 || pipe(err) < 0)
		return api_error_set(API_EIO, "%s: cannot run its hook", y->label);
	if ((pid = fork()) < 0)
		return api_error_set(API_EIO, "%s: cannot run its hook", y->label);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(err[1], 2);
		dup2(err[1], 1);
		close(in[1]);
		close(err[0]);
		if (chdir(y->local) == 0 && setenv("GIT_DIR", ".", 1) == 0) {
			unsetenv("GIT_OBJECT_DIRECTORY");
			unsetenv("GIT_ALTERNATE_OBJECT_DIRECTORIES");
			execl(hook, hook, (char *)NULL);
		}
		_exit(127);
	}
	close(in[0]);
	close(err[1]);
	void (*was)(int) = signal(SIGPIPE, SIG_IGN);
	if (write(in[1], updates, strlen(updates)) < 0) {
		/* the hook may stop reading: its status says what it thinks */
	}
	close(in[1]);
	signal(SIGPIPE, was);
	while ((n = read(err[0], msg + len, sizeof msg - 1 - len)) > 0)
		len += (size_t)n;
	msg[len] = '\0';
	close(err[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	msg[strcspn(msg, "\n")] = '\0';
	return refused(y, msg[0] ? msg : "its pre-receive hook said no");
}

/* The fetched value of the server's ref dst (zero: it had none). */
static void
fetched_of(struct sync *y, const char *dst, git_oid *out)
{
	char name[256];

	if (strcmp(dst, MAIN_REF) == 0)
		snprintf(name, sizeof name, SYNC_NS "main");
	else if (strcmp(dst, API_KEYS_REF) == 0)
		snprintf(name, sizeof name, SYNC_NS "keys");
	else
		snprintf(name, sizeof name, SYNC_NS "reads/%s",
		    dst + strlen(API_READS_REF));
	if (ref_id(y->repo, name, out) != 0)
		memset(out, 0, sizeof *out);
}

/* Writes into the object store of the server srv, as one pack, the
 * objects of the n new tips that what it had at the fetch (the refs under
 * SYNC_NS) does not reach: what libgit2's own push to a path would send. */
static int
send_objects(struct sync *y, git_repository *srv, const git_oid *tips,
    size_t n)
{
	git_packbuilder *pb = NULL;
	git_revwalk *w = NULL;
	git_reference_iterator *it = NULL;
	git_reference *r;
	git_buf objs = { 0 };
	size_t plen = strlen(SYNC_NS);
	int e = 0;

	if (git_revwalk_new(&w, y->repo) < 0 ||
	    git_packbuilder_new(&pb, y->repo) < 0 ||
	    git_reference_iterator_new(&it, y->repo) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (!git_oid_is_zero(&tips[i]) && git_revwalk_push(w, &tips[i]) < 0)
			goto fail;
	while ((e = git_reference_next(&r, it)) == 0) {
		const git_oid *t = git_reference_target(r);
		if (t != NULL && strncmp(git_reference_name(r), SYNC_NS, plen) == 0)
			e = git_revwalk_hide(w, t);
		git_reference_free(r);
		if (e < 0)
			goto fail;
	}
	if (e != GIT_ITEROVER || git_packbuilder_insert_walk(pb, w) < 0)
		goto fail;
	if (git_packbuilder_object_count(pb) > 0) {
		char pack[PATH_MAX];
		if (git_repository_item_path(&objs, srv,
		    GIT_REPOSITORY_ITEM_OBJECTS) < 0)
			goto fail;
		/* (the objects folder comes with its slash) */
		if ((size_t)snprintf(pack, sizeof pack, "%spack", objs.ptr) >=
		    sizeof pack) {
			e = api_error_set(API_EINVAL, "%s: path too long", y->label);
			goto out;
		}
		if (git_packbuilder_write(pb, pack, 0, NULL, NULL) < 0)
			goto fail;
	}
	e = 0;
	goto out;
fail:
	e = api_git_fail(API_EIO, y->label);
out:
	git_buf_dispose(&objs);
	git_reference_iterator_free(it);
	git_packbuilder_free(pb);
	git_revwalk_free(w);
	return e;
}

/*
 * A server on a path.  libgit2's push there would write its refs by force
 * and run no hook; and it lists the server's refs again after the push,
 * failing (and leaking) when another copy moves one meanwhile.  So the
 * objects are written into the server's store here, the hook is run as
 * git would, and each ref is then moved from the value fetched to the
 * new one by compare-and-swap: a push that got there first is never
 * overwritten.
 */
static int
push_local(struct sync *y, char **specs, size_t n)
{
	git_repository *srv = NULL;
	char *updates = NULL;
	git_oid *newv = NULL, *oldv = NULL;
	size_t ulen = 0;
	int rc = 0;

	if ((newv = calloc(n, sizeof *newv)) == NULL ||
	    (oldv = calloc(n, sizeof *oldv)) == NULL ||
	    (updates = calloc(n, 400)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *src = specs[i] + (specs[i][0] == '+');
		const char *colon = strchr(src, ':');
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)(colon - src), src);
		fetched_of(y, colon + 1, &oldv[i]);
		/* no name: a deletion, and the new value stays zero */
		if (name[0] != '\0' && (rc = ref_id(y->repo, name, &newv[i])) < 0)
			break;
		ulen += (size_t)snprintf(updates + ulen, 400, "%s ",
		    git_oid_tostr_s(&oldv[i]));
		ulen += (size_t)snprintf(updates + ulen, 400, "%s %s\n",
		    git_oid_tostr_s(&newv[i]), colon + 1);
	}
	if (rc < 0)
		goto out;
	if (git_repository_open_ext(&srv, y->local, GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL) < 0) {
		rc = api_git_fail(API_EIO, y->label);
		goto out;
	}
	net(y, 1);
	rc = send_objects(y, srv, newv, n);
	net(y, 0);
	if (rc < 0 || (rc = run_hook(y, updates)) < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *dst = strchr(specs[i], ':') + 1;
		/* a deletion (of the value fetched only), a creation, a move */
		int e = api_ref_move(srv, dst, git_oid_is_zero(&newv[i]) ? NULL :
		    &newv[i], git_oid_is_zero(&oldv[i]) ? NULL : &oldv[i],
		    "api-sync");
		if (e == GIT_ENOTFOUND && git_oid_is_zero(&newv[i]))
			e = 0;
		if (e == GIT_EMODIFIED || e == GIT_EEXISTS || e == GIT_ELOCKED)
			rc = api_error_set(API_EAGAIN, "%s: %s changed meanwhile "
			    "(someone pushed first)", y->label, dst);
		else if (e < 0)
			rc = api_git_fail(API_EIO, y->label);
	}
out:
	git_repository_free(srv);
	free(newv);
	free(oldv);
	free(updates);
	if (rc == 0)
		y->res->pushes++;
	return rc;
}

/* Pushes refspecs; API_EAGAIN when the server refused one (someone
 * pushed first, or its hook said no: the message says which). */
static int
push(struct sync *y, char **specs, size_t n)
{
	git_push_options po;
	git_strarray arr = { specs, n };
	int rc;

	if (y->local)
		return push_local(y, specs, n);
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	callbacks(y, &po.callbacks);
	y->rejected[0] = y->said[0] = '\0';
	y->auth_tries = 0;
	net(y, 1);
	rc = git_remote_push(y->remote, &arr, &po);
	net(y, 0);
	progress_done(y);
	if ((rc < 0 || y->rejected[0]) && y->said[0])
		return refused(y, y->said);
	/* the server moved on since the fetch: a new round */
	if (rc == GIT_ENONFASTFORWARD)
		return api_error_set(API_EAGAIN, "%s: someone pushed first",
		    y->label);
	if (rc < 0) {
		const git_error *e = git_error_last();
		/* a refusal by the server's hook arrives as an error */
		if (e && e->message && strstr(e->message, "rejected"))
			return api_error_set(API_EAGAIN, "%s refused the push: %s",
			    y->label, e->message);
		return api_git_fail(API_EIO, y->label);
	}
	if (y->rejected[0])
		return api_error_set(API_EAGAIN, "%s refused %s", y->label,
		    y->rejected);
	y->res->pushes++;
	return 0;
}

/* Whether local ref differs from the fetched one (what push would send). */
static int
differs(struct sync *y, const char *local, const char *fetched)
{
	git_oid a, b;

	if (ref_id(y->repo, local, &a) != 0)
		return 0;
	return ref_id(y->repo, fetched, &b) != 0 || !git_oid_equal(&a, &b);
}

/* A refspec "SRC:DST" (SRC empty: delete DST) appended to a list. */
struct specs {
	char **v;
	size_t n;
};

static int
spec_add(struct specs *l, const char *src, const char *dst)
{
	void *v = realloc(l->v, (l->n + 1) * sizeof *l->v);
	char *s;

	if (v == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	l->v = v;
	if ((s = malloc(strlen(src) + strlen(dst) + 2)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	sprintf(s, "%s:%s", src, dst);
	l->v[l->n++] = s;
	return 0;
}

static int
push_all(struct sync *y)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	struct specs l = { NULL, 0 };
	int rc, send = differs(y, MAIN_REF, SYNC_NS "main");

	if ((rc = spec_add(&l, MAIN_REF, MAIN_REF)) < 0)
		goto out;
	/* the read logs: each pushed as it is here */
	if (git_reference_iterator_glob_new(&it, y->repo, API_READS_REF "*") < 0) {
		rc = api_git_fail(API_EIO, "cannot list refs");
		goto out;
	}
	while (rc == 0 && git_reference_next(&ref, it) == 0) {
		const char *name = git_reference_name(ref);
		char fetched[128];
		snprintf(fetched, sizeof fetched, SYNC_NS "reads/%s",
		    name + strlen(API_READS_REF));
		send |= differs(y, name, fetched);
		rc = spec_add(&l, name, name);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	/* the logs dropped here that the server still has: deleted there */
	if (rc == 0 && git_reference_iterator_glob_new(&it, y->repo,
	    SYNC_NS "reads/*") == 0) {
		while (rc == 0 && git_reference_next(&ref, it) == 0) {
			char local[128];
			snprintf(local, sizeof local, API_READS_REF "%s",
			    git_reference_name(ref) + strlen(SYNC_NS "reads/"));
			if (dropped(y->repo, local)) {
				rc = spec_add(&l, "", local);
				send = 1;
			}
			git_reference_free(ref);
		}
		git_reference_iterator_free(it);
	}
	if (rc == 0 && send)
		rc = push(y, l.v, l.n);
	/* the keys after main: a server's hook checks them against it */
	if (rc == 0 && differs(y, API_KEYS_REF, SYNC_NS "keys")) {
		char *k = "+" API_KEYS_REF ":" API_KEYS_REF;
		rc = push(y, &k, 1);
	}
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return rc;
}

static int
round_once(struct sync *y, int pushing)
{
	git_oid r, m, k, last, staff;
	int rc, has, keys, tracked = ref_id(y->repo, y->track, &last) == 0;

	if ((rc = fetch(y)) < 0 || (rc = check_main(y, &r, &has)) < 0)
		return rc;
	/* the server's keys and read logs, checked against the staff of
	 * its main (else ours) before anything is joined */
	keys = ref_id(y->repo, SYNC_NS "keys", &k) == 0;
	if (has)
		git_oid_cpy(&staff, &r);
	if ((has || ref_id(y->repo, MAIN_REF, &staff) == 0) &&
	    ((keys && (rc = keys_fetched_ok(y, &k, &staff)) < 0) ||
	    (rc = reads_each(y, 0, &staff)) < 0))
		return rc;
	if (has && (rc = join(y, MAIN_REF, &r, 1, 0)) < 0)
		return rc;
	/* the read logs main says were dropped since the last sync */
	if (ref_id(y->repo, MAIN_REF, &m) == 0 && (rc = scan_drops(y->repo, &m,
	    tracked ? &last : NULL)) < 0)
		return rc;
	if (keys && (rc = join_keys(y, &k)) < 0)
		return rc;
	if ((rc = reads_each(y, 1, NULL)) < 0)
		return rc;
	if (pushing && (rc = push_all(y)) < 0)
		return rc;
	/* what the server has now (or had, without a push) */
	if (ref_id(y->repo, pushing ? MAIN_REF : SYNC_NS "main", &m) == 0 &&
	    api_ref_move(y->repo, y->track, &m, tracked ? &last : NULL,
	    "api-sync") < 0)
		rc = api_git_fail(API_EIO, y->track);
	return rc;
}

/* A name for the tracking ref: the remote's, else one made from the URL. */
static void
track_name(struct sync *y, const char *name, int url)
{
	if (!url) {
		snprintf(y->track, sizeof y->track, TRACK_NS "%s/main", name);
		return;
	}
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * sizeof h + 1];
	crypto_hash_sha256(h, (const unsigned char *)name, strlen(name));
	sodium_bin2hex(hex, sizeof hex, h, 6);
	snprintf(y->track, sizeof y->track, TRACK_NS "url-%s/main", hex);
}

/*
 * Syncs take turns, with a flock on api-sync.lock in a git directory:
 *
 * - A server on a path is locked for a round, from the fetch to the
 *   push: copies that sync at once then take turns, where otherwise each
 *   would find that another pushed first, round after round (four copies
 *   syncing all the time can keep one losing for forty rounds).  The
 *   compare-and-swap of each ref stays the guarantee; the lock only makes
 *   it succeed.
 * - A copy is locked for the whole of a sync (cron and a person may
 *   start one at once).  The refs under SYNC_NS are written by libgit2's
 *   fetch, without api-flock; only a sync writes there, so a lock file
 *   found there by the holder of this lock is one a killed sync left,
 *   and is removed.
 *
 * Without the right to make the file, or after LOCK_WAIT seconds of
 * waiting, the sync goes on without it.  The file's mode is that of
 * api-flock: 0600, 0660 where the directory is group-writable.
 */
#define LOCK_WAIT 30

static int
sync_lock(const char *dir)
{
	int fd, waited = 0;

	if (dir == NULL || (fd = api_lock_open(dir, "api-sync.lock")) < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    waited++ >= LOCK_WAIT * 50) {
			close(fd);
			return -1;
		}
		usleep(20000);
	}
	return fd;
}

/* The directory of a server on a path (file:// or a path that exists),
 * in *out (NULL for any other URL). */
static int
local_path(const char *url, char **out)
{
	const char *path = strncmp(url, "file://", 7) == 0 ? url + 7 :
	    strstr(url, "://") == NULL && access(url, F_OK) == 0 ? url : NULL;

	*out = NULL;
	if (path != NULL && (*out = strdup(path)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	return 0;
}

static int
rm_stale_lock(const char *path, const struct stat *st, int flag,
    struct FTW *f)
{
	size_t n = strlen(path);

	(void)st;
	(void)f;
	if (flag == FTW_F && n > 5 && strcmp(path + n - 5, ".lock") == 0)
		(void)unlink(path);
	return 0;
}

static int
run(struct sync *y, int pushing)
{
	int tries = y->o && y->o->tries > 0 ? y->o->tries : DEFAULT_TRIES;
	int rc = 0;
	char last[512] = "";

	for (y->res->rounds = 0; y->res->rounds < tries; ) {
		y->res->rounds++;
		int lock = sync_lock(y->local);
		rc = round_once(y, pushing);
		if (lock >= 0)
			close(lock);
		if (rc != API_EAGAIN)
			break;
		snprintf(last, sizeof last, "%s", api_error_last());
		/* others push too: wait a while, longer each round, so that
		 * the copies do not keep meeting at the server */
		usleep(10000 + randombytes_uniform(50000 *
		    (uint32_t)(y->res->rounds < 20 ? y->res->rounds : 20)));
	}
	drop_refs(y->repo, SYNC_NS);
	if (rc == API_EAGAIN)
		return api_error_set(API_EIO, "%s (gave up after %d tries)", last,
		    tries);
	return rc;
}

int
api_sync(api_store *s, const char *remote, const api_identity *me,
    const api_sync_opts *o, api_sync_result *res)
{
	struct sync y;
	int rc;

	memset(&y, 0, sizeof y);
	memset(res, 0, sizeof *res);
	y.s = s;
	y.repo = api_store_repo(s);
	y.me = me;
	y.o = o;
	y.res = res;
	y.label = remote ? remote : "origin";
	if (!git_repository_is_bare(y.repo))
		return api_error_set(API_EINVAL, "store %s has a working tree; api "
		    "syncs only bare stores", api_store_path(s));
	if ((rc = api_tls_load()) < 0)
		return rc;
	rc = git_remote_lookup(&y.remote, y.repo, y.label);
	if (rc == 0) {
		/* the remote's URL, without its fetch refspecs: those would
		 * move refs/remotes/ too, and a refused sync must move none */
		char *url = git_remote_url(y.remote) ? strdup(git_remote_url(
		    y.remote)) : NULL;
		git_remote_free(y.remote);
		y.remote = NULL;
		if (url == NULL)
			return api_error_set(API_EINVAL, "%s: no URL", y.label);
		rc = git_remote_create_anonymous(&y.remote, y.repo, url);
		free(url);
		if (rc < 0)
			return api_git_fail(API_EINVAL, y.label);
		track_name(&y, y.label, 0);
	}
	else if (strchr(y.label, '/') || strchr(y.label, ':') ||
	    access(y.label, F_OK) == 0) {
		if (git_remote_create_anonymous(&y.remote, y.repo, y.label) < 0)
			return api_git_fail(API_EINVAL, y.label);
		track_name(&y, y.label, 1);
	} else
		return api_error_set(API_ENOTFOUND, "%s: no such remote in store %s "
		    "(add one with: git -C %s remote add %s URL)", y.label,
		    api_store_path(s), api_store_path(s), y.label);
	/* a server on a path, where libgit2 would write the refs itself */
	if ((rc = local_path(git_remote_url(y.remote), &y.local)) < 0) {
		git_remote_free(y.remote);
		return rc;
	}
	/* this copy's turn; then what a killed sync left under SYNC_NS */
	int lock = sync_lock(git_repository_path(y.repo));
	if (lock >= 0) {
		char dir[PATH_MAX];
		if (snprintf(dir, sizeof dir, "%s" SYNC_NS, git_repository_path(
		    y.repo)) < (int)sizeof dir)
			(void)nftw(dir, rm_stale_lock, 8, FTW_PHYS);
	}
	rc = run(&y, 1);
	if (lock >= 0)
		close(lock);
	free(y.local);
	git_remote_free(y.remote);
	return rc;
}

/* ---- api-clone -------------------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/*
 * A clone from a path: the source's object files are copied in before
 * the fetch, as git clone does for a repository on the same machine, so
 * that the fetch finds every tip present and transfers nothing.  Through
 * libgit2's transport the whole store would be packed in this process and
 * indexed again (123 MiB for 440,000 objects).  Nothing copied is
 * trusted more than what a fetch brings: seed_check reads every object
 * the clone's refs reach (libgit2 checks its hash, the odb guard its
 * size), and the clone's checks follow.  Only regular files named as a
 * pack, its index or a loose object are copied, no link followed, a
 * pack's index after the pack.  A fetch asks only for the tips, so the
 * copy must be whole, sound and no more than the refs reach: when an
 * object file is a link or cannot be read, an object is missing or does
 * not read back, the copy holds an object no ref reaches, or the source
 * borrows objects (alternates), the copy is removed and the fetch brings
 * what the refs name, as before.
 */
#define SEED_BUF (256 * 1024)

struct seed {
	int src, dst;                /* the objects directories */
	const char *dpath;
	unsigned char *buf;
	int skipped;                 /* object files not copied */
	unsigned long long room;     /* bytes the copy may still take */
};

/* Copies the file name of sdir into ddir (0444), or counts it skipped;
 * an error names the copy (nothing is left of it). */
static int
seed_file(struct seed *sd, int sdir, int ddir, const char *sub,
    const char *name)
{
	struct stat st;
	char path[PATH_MAX + 64];
	api_fd o = { -1, path };
	ssize_t n = 0;
	int in, rc = 0;

	/* (O_NONBLOCK: a FIFO named as an object must not hang the clone) */
	if ((in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) < 0 || fstat(in, &st) < 0 ||
	    !S_ISREG(st.st_mode) || (unsigned long long)st.st_size > sd->room) {
		if (in >= 0)
			close(in);
		sd->skipped++;
		return 0;
	}
	sd->room -= (unsigned long long)st.st_size;
	snprintf(path, sizeof path, "%s/%s/%s", sd->dpath, sub, name);
	if ((o.fd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0444)) < 0) {
		close(in);
		return api_error_set(API_EIO, "%s: %s", path, strerror(errno));
	}
	/* no more than the size it had: a file still growing is not one a
	 * ref names yet, and is left to the fetch */
	for (off_t left = st.st_size + 1; rc == 0 &&
	    (n = read(in, sd->buf, SEED_BUF)) != 0; ) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (left -= n) <= 0) {
			n = -1;
			sd->skipped++;
			break;
		}
		rc = api_fd_write(&o, sd->buf, (size_t)n);
	}
	close(in);
	if (close(o.fd) < 0 && rc == 0)
		rc = api_error_set(API_EIO, "%s: %s", path, strerror(errno));
	if (rc < 0 || n < 0)
		(void)unlinkat(ddir, name, 0);
	return rc;
}

/* The object files of directory sub (pack: the packs), copied; a pack's
 * index right after it.  A sub that is not there has nothing to copy. */
static int
seed_dir(struct seed *sd, const char *sub, int packs)
{
	int s, d, scan, rc = 0;
	struct dirent *e;
	DIR *dir;

	if ((s = openat(sd->src, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			sd->skipped++;
		return 0;
	}
	if ((mkdirat(sd->dst, sub, 0777) < 0 && errno != EEXIST) ||
	    (d = openat(sd->dst, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		close(s);
		return api_error_set(API_EIO, "%s/%s: %s", sd->dpath, sub,
		    strerror(errno));
	}
	if ((scan = dup(s)) < 0 || (dir = fdopendir(scan)) == NULL) {
		if (scan >= 0)
			close(scan);
		sd->skipped++;
	} else {
		while (rc == 0 && (e = readdir(dir)) != NULL) {
			char idx[64];
			if (!packs) {
				if (api_hex_valid(e->d_name, 38))
					rc = seed_file(sd, s, d, sub, e->d_name);
				continue;
			}
			/* pack-<40 hex>.pack and its .idx; a pack without its
			 * index is one being written, not yet named by a ref */
			if (strlen(e->d_name) != 50 ||
			    strncmp(e->d_name, "pack-", 5) != 0 ||
			    strcmp(e->d_name + 45, ".pack") != 0)
				continue;
			snprintf(idx, sizeof idx, "%.45s.idx", e->d_name);
			if (faccessat(s, idx, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			int before = sd->skipped;
			if ((rc = seed_file(sd, s, d, sub, e->d_name)) == 0 &&
			    sd->skipped == before)
				rc = seed_file(sd, s, d, sub, idx);
		}
		closedir(dir);
	}
	close(d);
	close(s);
	return rc;
}

static int
rm_seeded(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	if (f->level == 0)
		return 0;
	if (flag == FTW_DP)
		return f->level == 1 && (strcmp(path + f->base, "pack") == 0 ||
		    strcmp(path + f->base, "info") == 0) ? 0 : rmdir(path);
	return unlink(path);
}

/* The objects the clone's refs reach, each marked once (open addressing;
 * cap a power of two). */
struct reach {
	git_oid *slot;
	unsigned char *used;
	size_t cap, n;
	git_oid *stack;              /* to visit */
	size_t ns, caps;
};

/* 1 when id was marked before, 0 when marked now. */
static int
reach_mark(struct reach *r, const git_oid *id)
{
	size_t h = ((size_t)id->id[0] << 24 | (size_t)id->id[1] << 16 |
	    (size_t)id->id[2] << 8 | id->id[3]) & (r->cap - 1);

	while (r->used[h]) {
		if (git_oid_equal(&r->slot[h], id))
			return 1;
		h = (h + 1) & (r->cap - 1);
	}
	r->used[h] = 1;
	r->slot[h] = *id;
	r->n++;
	return 0;
}

static int
reach_push(struct reach *r, const git_oid *id)
{
	if (r->ns == r->caps) {
		size_t cap = r->caps ? 2 * r->caps : 1024;
		git_oid *v = realloc(r->stack, cap * sizeof *v);
		if (v == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		r->stack = v;
		r->caps = cap;
	}
	r->stack[r->ns++] = *id;
	return 0;
}

static int
count_one(const git_oid *id, void *payload)
{
	(void)id;
	(*(size_t *)payload)++;
	return 0;
}

/* The tips of the refs a clone takes (fetch()'s refspecs), pushed. */
struct tips {
	struct reach *r;
	git_repository *repo;
};

static int
push_tip(const char *name, void *payload)
{
	struct tips *t = payload;
	git_oid id;

	if (git_reference_name_to_id(&id, t->repo, name) < 0)
		return 0;            /* no commit: the fetch will say */
	return reach_push(t->r, &id);
}

/*
 * The copy is kept only if every object in it is one the clone's refs
 * reach, and every one reads back: libgit2 checks each hash (as a
 * fetch's indexer would), the odb guard its size.  Objects no ref names
 * stay behind: a purged case's old envelopes, say, which the server
 * keeps until its next gc, never reach a new clone.  Returns 1 to keep
 * the copy, 0 to drop it, or an error of our own (memory).
 */
static int
seed_check(git_repository *sr, const char *dst)
{
	static const char *const globs[] = {
		MAIN_REF, API_KEYS_REF, API_READS_REF "*"
	};
	git_repository *dr = NULL;
	git_odb *odb = NULL;
	struct reach r;
	size_t have = 0;
	int rc = 0, keep = 0;

	memset(&r, 0, sizeof r);
	if (git_repository_open_ext(&dr, dst, GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL) < 0 || api_repo_guard(dr) < 0 ||
	    git_repository_odb(&odb, dr) < 0 ||
	    git_odb_foreach(odb, count_one, &have) < 0 || have == 0)
		goto out;
	for (r.cap = 1024; r.cap < 2 * have; r.cap *= 2)
		;
	if ((r.slot = malloc(r.cap * sizeof *r.slot)) == NULL ||
	    (r.used = calloc(r.cap, 1)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	struct tips tp = { &r, sr };
	for (size_t g = 0; g < 3; g++) {
		int e = git_reference_foreach_glob(sr, globs[g], push_tip, &tp);
		if (e == API_ENOMEM)
			rc = e;
		if (e < 0)
			goto out;
	}
	keep = 1;
	while (r.ns > 0 && keep && rc == 0) {
		git_oid id = r.stack[--r.ns];
		git_object *o = NULL;
		if (reach_mark(&r, &id))
			continue;
		if (git_object_lookup(&o, dr, &id, GIT_OBJECT_ANY) < 0) {
			keep = 0;            /* missing, corrupt or too large */
			break;
		}
		if (git_object_type(o) == GIT_OBJECT_COMMIT) {
			const git_commit *c = (const git_commit *)o;
			rc = reach_push(&r, git_commit_tree_id(c));
			for (unsigned k = 0; rc == 0 && k < git_commit_parentcount(c);
			    k++)
				rc = reach_push(&r, git_commit_parent_id(c, k));
		} else if (git_object_type(o) == GIT_OBJECT_TREE) {
			const git_tree *t = (const git_tree *)o;
			for (size_t k = 0; rc == 0 && k < git_tree_entrycount(t); k++) {
				const git_tree_entry *e = git_tree_entry_byindex(t, k);
				if (git_tree_entry_type(e) != GIT_OBJECT_COMMIT)
					rc = reach_push(&r, git_tree_entry_id(e));
			}
		} else if (git_object_type(o) == GIT_OBJECT_TAG)
			rc = reach_push(&r, git_tag_target_id((const git_tag *)o));
		git_object_free(o);
	}
	/* (an object both loose and packed counts twice: dropped too) */
	if (r.n != have)
		keep = 0;
out:
	free(r.slot);
	free(r.used);
	free(r.stack);
	git_odb_free(odb);
	git_repository_free(dr);
	return rc < 0 ? rc : keep;
}

static int
seed_local(const char *path, git_repository *repo)
{
	git_repository *src = NULL;
	char sobj[PATH_MAX], dobj[PATH_MAX];
	struct seed sd = { -1, -1, dobj, NULL, 0, 0 };
	struct statvfs vfs;
	struct stat st;
	int rc = 0, keep = 0;

	/* not a repository, or not one we can read: the fetch will say */
	if (git_repository_open_ext(&src, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL) < 0)
		return 0;
	if (snprintf(sobj, sizeof sobj, "%sobjects", git_repository_path(src)) >=
	    (int)sizeof sobj || snprintf(dobj, sizeof dobj, "%sobjects",
	    git_repository_path(repo)) >= (int)sizeof dobj ||
	    (sd.src = open(sobj, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		git_repository_free(src);
		return 0;
	}
	if (fstatat(sd.src, "info/alternates", &st, 0) == 0 && st.st_size > 0) {
		close(sd.src);
		git_repository_free(src);
		return 0;
	}
	if ((sd.dst = open(dobj, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = api_error_set(API_EIO, "%s: %s", dobj, strerror(errno));
	else if ((sd.buf = malloc(SEED_BUF)) == NULL)
		rc = api_error_set(API_ENOMEM, "out of memory");
	else if (fstatvfs(sd.dst, &vfs) < 0)
		sd.skipped++;                /* no room known: nothing copied */
	else {
		/* at most half the room left on the clone's file system: a
		 * source whose object files are larger (junk, a sparse file)
		 * is left to the fetch, which brings only what the refs name
		 * (and no file system is large enough to wrap this) */
		unsigned long long avail = vfs.f_bavail, bs = vfs.f_frsize;
		sd.room = bs && avail > ULLONG_MAX / bs ? ULLONG_MAX / 2 :
		    avail * bs / 2;
	}
	/* loose objects first: a gc on the server writes the pack that
	 * holds them before it removes them */
	for (int h = 0; h < 256 && rc == 0 && sd.skipped == 0; h++) {
		char fan[3];
		snprintf(fan, sizeof fan, "%02x", h);
		rc = seed_dir(&sd, fan, 0);
	}
	if (rc == 0 && sd.skipped == 0)
		rc = seed_dir(&sd, "pack", 1);
	if (rc == 0 && sd.skipped == 0)
		rc = keep = seed_check(src, git_repository_path(repo));
	if (rc >= 0 && !keep && nftw(dobj, rm_seeded, 16, FTW_DEPTH | FTW_PHYS))
		rc = api_error_set(API_EIO, "%s: cannot remove what was copied: %s",
		    dobj, strerror(errno));
	/* on disk before any ref names them (the fetch's refs are synced) */
	if (rc > 0 && syncfs(sd.dst) < 0)
		rc = api_error_set(API_EIO, "%s: sync: %s", dobj, strerror(errno));
	free(sd.buf);
	close(sd.src);
	if (sd.dst >= 0)
		close(sd.dst);
	git_repository_free(src);
	return rc < 0 ? rc : 0;
}

int
api_clone(const char *url, const char *dir, const api_sync_opts *o,
    api_sync_result *res)
{
	struct sync y;
	git_repository *repo = NULL;
	api_store *s = NULL;
	git_oid m;
	int rc, made = 0;

	memset(&y, 0, sizeof y);
	memset(res, 0, sizeof *res);
	if (mkdir(dir, 0700) == 0)
		made = 1;
	else if (errno != EEXIST)
		return api_error_set(API_EIO, "%s: %s", dir, strerror(errno));
	else {
		/* an empty directory will do; anything else is not ours */
		int empty = 0;
		git_repository *tmp = NULL;
		if (git_repository_open_ext(&tmp, dir, GIT_REPOSITORY_OPEN_NO_SEARCH,
		    NULL) == 0) {
			git_repository_free(tmp);
			return api_error_set(API_EEXIST, "%s is a git repository "
			    "already", dir);
		}
		if (rmdir(dir) == 0 && mkdir(dir, 0700) == 0)
			empty = made = 1;
		if (!empty)
			return api_error_set(API_EEXIST, "%s exists and is not empty",
			    dir);
	}
	if (git_repository_init(&repo, dir, 1) < 0) {
		rc = api_git_fail(API_EIO, dir);
		goto out;
	}
	if ((rc = api_tls_load()) < 0)
		goto out;
	if (git_remote_create(&y.remote, repo, "origin", url) < 0) {
		rc = api_git_fail(API_EINVAL, url);
		goto out;
	}
	/* the store is opened only once it has a main: until then, the
	 * sync works on the bare repository */
	y.repo = repo;
	y.o = o;
	y.res = res;
	y.label = url;
	track_name(&y, "origin", 0);
	{
		char *path = NULL;
		if ((rc = local_path(url, &path)) == 0 && path != NULL)
			rc = seed_local(path, repo);
		free(path);
		if (rc < 0)
			goto out;
	}
	if ((rc = fetch(&y)) < 0)
		goto out;
	if (ref_id(repo, SYNC_NS "main", &m) != 0) {
		rc = api_error_set(API_EINVAL, "%s is not an api store (no %s)", url,
		    MAIN_REF);
		goto out;
	}
	{
		int has;
		if ((rc = check_main(&y, &m, &has)) < 0 ||
		    (rc = ref_move(repo, MAIN_REF, &m, NULL, "api-clone")) < 0)
			goto out;
	}
	if (git_repository_set_head(repo, MAIN_REF) < 0) {
		rc = api_git_fail(API_EIO, dir);
		goto out;
	}
	if ((rc = scan_drops(repo, &m, NULL)) < 0)
		goto out;
	if ((rc = api_store_open(&s, dir)) < 0)
		goto out;
	y.s = s;
	{
		git_oid k;
		if (ref_id(repo, SYNC_NS "keys", &k) == 0 &&
		    ((rc = keys_fetched_ok(&y, &k, &m)) < 0 ||
		    (rc = ref_move(repo, API_KEYS_REF, &k, NULL, "api-clone")) < 0))
			goto out;
	}
	if ((rc = reads_each(&y, 0, &m)) < 0 || (rc = reads_each(&y, 1, NULL)) < 0 ||
	    (rc = ref_move(repo, y.track, &m, NULL, "api-clone")) < 0)
		goto out;
	/* the fetch through origin also made refs/remotes/origin/: api-sync
	 * never moves them, so that they would only grow stale */
	if ((rc = drop_refs(repo, SYNC_NS)) == 0)
		rc = drop_refs(repo, "refs/remotes/");
out:
	if (y.remote)
		git_remote_free(y.remote);
	api_store_free(s);
	git_repository_free(repo);
	if (rc < 0 && made) {
		char err[1024];
		snprintf(err, sizeof err, "%s", api_error_last());
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		api_error_set(rc, "%s", err);
	}
	return rc;
}

/* ---- the server's check of a push ---------------------------------------- */

struct update {
	git_oid old, new;
	char ref[256];
};

/* Calls fn for each case directory cases/S/H/ID of a keys tree (depth 0:
 * the root, 4: the case). */
static int
each_case_dir(git_repository *repo, git_tree *t, const char *dir, int depth,
    int (*fn)(void *, const char *, git_tree *), void *ctx)
{
	int rc = 0;

	if (depth == 4)
		return fn(ctx, dir, t);
	for (size_t i = 0; i < git_tree_entrycount(t) && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		git_tree *sub = NULL;
		char path[64];
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			continue;
		if (depth == 0 && strcmp(git_tree_entry_name(e), "cases") != 0)
			continue;
		snprintf(path, sizeof path, "%s%s%s", dir, *dir ? "/" : "",
		    git_tree_entry_name(e));
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
			return api_git_fail(API_EIO, path);
		rc = each_case_dir(repo, sub, path, depth + 1, fn, ctx);
		git_tree_free(sub);
	}
	return rc;
}

struct keycheck {
	git_tree *oldkeys, *newkeys;
	struct keyjoin kj;           /* main and the repository, for key.for */
};

/* One case of the keys the server had: still there, or purged on main;
 * envelopes that matched main replaced only by ones that match it. */
static int
key_kept(void *ctx, const char *dir, git_tree *old)
{
	struct keycheck *c = ctx;
	const char *id = dir + strlen(dir) - API_CASE_ID_LEN;
	git_tree_entry *e = NULL;
	git_tree *nt = NULL;
	char path[64];
	int same, bad;

	snprintf(path, sizeof path, "%s/purged", dir);
	if (main_has(c->kj.main, path))
		return 0;
	if (git_tree_entry_bypath(&e, c->newkeys, dir) < 0)
		return api_error_set(API_EVERIFY, API_KEYS_REF ": the push drops "
		    "the keys of case %s, which main does not record as purged", id);
	same = git_oid_equal(git_tree_entry_id(e), git_tree_id(old));
	if (!same && git_tree_lookup(&nt, c->kj.y->repo,
	    git_tree_entry_id(e)) < 0) {
		git_tree_entry_free(e);
		return api_git_fail(API_EIO, dir);
	}
	git_tree_entry_free(e);
	bad = !same && keyfor_matches(&c->kj, old, dir) &&
	    !keyfor_matches(&c->kj, nt, dir);
	git_tree_free(nt);
	if (bad)
		return api_error_set(API_EVERIFY, API_KEYS_REF ": the push replaces "
		    "the keys of case %s, written for its team and recipient on "
		    "main, with keys that are not (sync again: someone pushed "
		    "first)", id);
	return 0;
}

static int
zero(const git_oid *id)
{
	return git_oid_is_zero(id);
}

/* The keys pushed: a signed root commit by an active member of staff
 * (of main as it will be), dropping or setting back no case's keys. */
static int
check_keys(git_repository *repo, const struct update *u, git_tree *main)
{
	struct sync y;
	struct keycheck c;
	git_commit *nc = NULL, *oc = NULL;
	int rc;

	memset(&y, 0, sizeof y);
	memset(&c, 0, sizeof c);
	y.repo = repo;
	c.kj.y = &y;
	c.kj.main = main;
	if (zero(&u->new))
		return api_error_set(API_EVERIFY, "%s: deleting it would destroy "
		    "the keys of every case", u->ref);
	if ((rc = keys_signed(repo, &u->new, main, 1, u->ref)) < 0)
		return rc;
	if (git_commit_lookup(&nc, repo, &u->new) < 0)
		return api_git_fail(API_EIO, u->ref);
	if (zero(&u->old))
		goto out;
	if (git_commit_lookup(&oc, repo, &u->old) < 0 ||
	    git_commit_tree(&c.oldkeys, oc) < 0 ||
	    git_commit_tree(&c.newkeys, nc) < 0) {
		rc = api_git_fail(API_EIO, u->ref);
		goto out;
	}
	rc = each_case_dir(repo, c.oldkeys, "", 0, key_kept, &c);
out:
	git_tree_free(c.oldkeys);
	git_tree_free(c.newkeys);
	git_commit_free(nc);
	git_commit_free(oc);
	return rc;
}

/* main or a read log: no deletion, no rewrite. */
static int
check_grows(git_repository *repo, const struct update *u)
{
	if (zero(&u->new))
		return api_error_set(API_EVERIFY, "%s: a push may not delete it",
		    u->ref);
	if (!zero(&u->old) && !git_oid_equal(&u->old, &u->new) &&
	    git_graph_descendant_of(repo, &u->new, &u->old) != 1)
		return api_error_set(API_EVERIFY, "%s: the push rewrites its "
		    "history (it no longer holds commit %.12s)", u->ref,
		    git_oid_tostr_s(&u->old));
	return 0;
}

static int
parse_updates(const char *text, struct update **out, size_t *n)
{
	struct update *v = NULL;
	size_t cap = 0;
	const char *p = text;

	*n = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[400];
		if (len > 0) {
			char o[GIT_OID_HEXSZ + 1], w[GIT_OID_HEXSZ + 1];
			if (*n == cap) {
				void *x = realloc(v, (cap = cap ? 2 * cap : 8) * sizeof *v);
				if (x == NULL) {
					free(v);
					return api_error_set(API_ENOMEM, "out of memory");
				}
				v = x;
			}
			if (len >= sizeof line || (memcpy(line, p, len), line[len] = 0,
			    sscanf(line, "%40s %40s %255s", o, w, v[*n].ref) != 3) ||
			    git_oid_fromstr(&v[*n].old, o) < 0 ||
			    git_oid_fromstr(&v[*n].new, w) < 0) {
				free(v);
				return api_error_set(API_EINVAL, "not a line of ref "
				    "updates: %.60s", p);
			}
			(*n)++;
		}
		p += len + (nl != NULL);
	}
	*out = v;
	return 0;
}

/* 0 when main (at tip) holds the record of the drop of read log ref. */
static int
records_drop(git_repository *repo, const git_oid *tip, const char *ref)
{
	git_revwalk *w = NULL;
	git_oid id;
	int found = 0;

	if (git_revwalk_new(&w, repo) < 0 || git_revwalk_push(w, tip) < 0) {
		git_revwalk_free(w);
		return api_git_fail(API_EIO, MAIN_REF);
	}
	while (!found && git_revwalk_next(&id, w) == 0) {
		git_commit *c = NULL;
		char obj[128];
		if (git_commit_lookup(&c, repo, &id) == 0 &&
		    strstr(git_commit_message(c), "\nApi-Action: readlog-drop\n") &&
		    trailer_of(git_commit_message(c), "Api-Object: ", obj,
		    sizeof obj) && strcmp(obj, ref) == 0)
			found = 1;
		git_commit_free(c);
	}
	git_revwalk_free(w);
	return found ? 0 : api_error_set(API_EVERIFY, "%s: a push may delete a "
	    "read log only once main records its drop (api-readlog drop)", ref);
}

int
api_receive_check(git_repository *repo, const char *updates)
{
	struct update *u = NULL, *mu = NULL;
	api_verify_report vr;
	api_staff_list sl = { 0 };
	api_store *s = NULL;
	git_commit *mc = NULL;
	git_tree *main = NULL;
	git_oid m;
	size_t n;
	int rc;

	if ((rc = parse_updates(updates, &u, &n)) < 0)
		return rc;
	/* main first: the other refs are checked against main as it will be */
	for (size_t i = 0; i < n; i++)
		if (strcmp(u[i].ref, MAIN_REF) == 0)
			mu = &u[i];
	if (mu != NULL) {
		if ((rc = check_grows(repo, mu)) < 0)
			goto out;
		if ((rc = api_verify_range(repo, &mu->new, zero(&mu->old) ? NULL :
		    &mu->old, &vr, NULL, NULL)) < 0)
			goto out;
		if (!vr.ok) {
			rc = api_error_set(API_EVERIFY, "%s: commit %.12s breaks the "
			    "rule '%s': %s: %s", MAIN_REF, vr.commit, vr.rule, vr.path,
			    vr.message);
			goto out;
		}
		git_oid_cpy(&m, &mu->new);
	} else if (git_reference_name_to_id(&m, repo, MAIN_REF) < 0) {
		rc = api_error_set(API_EVERIFY, "the server has no %s yet: push it "
		    "first, or with the rest", MAIN_REF);
		goto out;
	}
	if (git_commit_lookup(&mc, repo, &m) < 0 || git_commit_tree(&main, mc) < 0) {
		rc = api_git_fail(API_EIO, MAIN_REF);
		goto out;
	}
	if ((rc = api_staff_from_tree(repo, main, &sl)) < 0 ||
	    (rc = api_store_wrap(&s, repo)) < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		int year;
		if (&u[i] == mu)
			continue;
		if (strcmp(u[i].ref, API_KEYS_REF) == 0)
			rc = check_keys(repo, &u[i], main);
		else if ((year = api_readlog_year(u[i].ref)) >= 0 &&
		    zero(&u[i].new)) {
			/* gone only where main records its drop */
			rc = records_drop(repo, &m, u[i].ref);
		} else if (year >= 0) {
			if ((rc = check_grows(repo, &u[i])) < 0)
				break;
			rc = api_readlog_verify_range(s, u[i].ref, year, &u[i].new,
			    zero(&u[i].old) ? NULL : &u[i].old, &sl, &vr, NULL);
			if (rc == 0 && !vr.ok)
				rc = api_error_set(API_EVERIFY, "%s: commit %.12s breaks "
				    "the rule '%s': %s", u[i].ref, vr.commit, vr.rule,
				    vr.message);
		} else
			rc = api_error_set(API_EVERIFY, "%s: not a ref of an api store",
			    u[i].ref);
	}
out:
	api_store_free(s);
	api_staff_list_free(&sl);
	git_tree_free(main);
	git_commit_free(mc);
	free(u);
	return rc;
}
