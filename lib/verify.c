/*
 * verify.c - replays the history of refs/heads/main and checks the store's
 * policy on every commit (design.md section 6).
 *
 * Commits are visited parents first.  Each commit's tree is compared with
 * its parent's by walking both trees and descending only into subtrees
 * whose ids differ, so a commit costs in proportion to what it changed,
 * not to the size of the store.  The parsed staff list is cached by the
 * id of the staff/ subtree, which changes rarely.
 *
 * Signatures are verified by worker threads ahead of the policy walk (see
 * "signatures" below); the policy itself runs in one thread, in order.
 *
 * The first violation wins: the first commit (in topological order) that
 * breaks a rule; within one commit, the rule with the highest priority
 * (signature, signer, staff-admin, case-write, append-only, merge,
 * layout, allowed-signers, age-format).
 */
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "api.h"

#define MAIN_REF "refs/heads/main"
#define MAX_DEPTH 6              /* cases/S/H/<id>/notes/<file> */
#define ID_MAX 64                /* shard, case, note and event ids */

enum rule {
	R_SIGNATURE, R_SIGNER, R_STAFF_ADMIN, R_CASE_WRITE, R_APPEND_ONLY,
	R_MERGE, R_LAYOUT, R_ALLOWED_SIGNERS, R_AGE_FORMAT, R_NONE
};

static const char *const rule_name[] = {
	"signature", "signer", "staff-admin", "case-write", "append-only",
	"merge", "layout", "allowed-signers", "age-format",
};

/* What a path is, by position in the layout. */
enum kind {
	K_BAD, K_CONF, K_SIGNERS, K_STAFFDIR, K_STAFF, K_CASES, K_SHARD,
	K_CASE, K_TEAM, K_RECIPIENT, K_PURGED, K_EVENTS, K_NOTES, K_EVENT, K_NOTE
};

struct staff_ent {
	git_oid id;                  /* of staff/; zero when there is none */
	int bad;                     /* the staff files do not parse */
	char err[256];
	api_staff_list l;
	api_buf signers;             /* allowed_signers derived from l */
};

/* Trees verify keeps itself: see tree_get(). */
#define TCACHE 1024

struct ctx {
	git_repository *repo;
	struct staff_ent **sc;       /* the staff cache */
	size_t nsc, capsc;
	struct {
		git_oid id;
		git_tree *t;
	} tc[TCACHE];                /* the tree cache, by id */
	struct {
		git_oid c, t;
	} done[256];                 /* commits verified last, and their trees */
	size_t ndone;

	/* the commit under check */
	const git_oid *cid;
	git_tree *tree;              /* its tree */
	git_tree *ptree;             /* the tree it is compared with */
	api_staff signer;            /* the signer, as in the parent's staff */
	int is_root;
	int check_perm;              /* staff-admin, case-write */
	int check_new;               /* layout, age-format on new entries */
	char lastcase[512];          /* case-write: the case last decided */
	char reenc[API_CASE_ID_LEN + 1]; /* Api-Case of a revoke-reencrypt */
	int is_purge;                /* Api-Action: purge */
	char pcase[API_CASE_ID_LEN + 1]; /* its Api-Case */
	int purged_here;             /* purge records in this commit */
	int tmg;                     /* parent's access.teamMayGrant; -1: unread */
	size_t purges;               /* purge records seen */
	int lastcase_ok;

	/* the path being visited, and where each component starts */
	char path[1024];
	size_t off[MAX_DEPTH + 2];

	/* the first violation in this commit */
	int vrule;
	char vpath[512];
	char vmsg[256];
};

/*
 * The tree id, from the trees verify read last.  The walk goes oldest
 * first, so the side a commit is compared with is, path for path, the
 * side of the commit before it: a few trees a commit, each read twice.
 * libgit2's own cache evicts at random once full, and a cache that holds
 * a whole history's trees grows past 100 MiB; this one holds TCACHE
 * trees, direct-mapped by id.  The caller frees *out as usual.
 */
static int
tree_get(struct ctx *x, const git_oid *id, git_tree **out)
{
	size_t h = ((size_t)id->id[0] << 8 | id->id[1]) & (TCACHE - 1);

	if (x->tc[h].t != NULL && git_oid_equal(&x->tc[h].id, id))
		return git_object_dup((git_object **)out, (git_object *)x->tc[h].t);
	if (git_tree_lookup(out, x->repo, id) < 0)
		return -1;
	git_tree_free(x->tc[h].t);
	git_oid_cpy(&x->tc[h].id, id);
	return git_object_dup((git_object **)&x->tc[h].t, (git_object *)*out);
}

/* The id of the entry at path (a/b/c) under root, through tree_get;
 * 0, or -1 when there is none. */
static int
entry_bypath(struct ctx *x, git_tree *root, const char *path, git_oid *id,
    git_object_t *type)
{
	git_tree *t = root, *next = NULL;
	int rc = -1;

	for (;;) {
		const char *slash = strchr(path, '/');
		char name[256];
		const git_tree_entry *e;
		size_t n = slash ? (size_t)(slash - path) : strlen(path);
		if (n == 0 || n >= sizeof name)
			break;
		memcpy(name, path, n);
		name[n] = '\0';
		if ((e = git_tree_entry_byname(t, name)) == NULL)
			break;
		if (slash == NULL) {
			git_oid_cpy(id, git_tree_entry_id(e));
			*type = git_tree_entry_type(e);
			rc = 0;
			break;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE ||
		    tree_get(x, git_tree_entry_id(e), &next) < 0)
			break;
		if (t != root)
			git_tree_free(t);
		t = next;
		path = slash + 1;
	}
	if (t != root)
		git_tree_free(t);
	return rc;
}

static void __attribute__((format(printf, 4, 5)))
violation(struct ctx *x, int rule, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (rule >= x->vrule)
		return;
	x->vrule = rule;
	snprintf(x->vpath, sizeof x->vpath, "%s", path && *path ? path : "-");
	va_start(ap, fmt);
	vsnprintf(x->vmsg, sizeof x->vmsg, fmt, ap);
	va_end(ap);
}

/* ---- layout ----------------------------------------------------------- */

/* [A-Za-z0-9_-], 1 to ID_MAX bytes, exactly n of s */
static int
id_ok(const char *s, size_t n)
{
	if (n == 0 || n > ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* name is a note or event ID followed by suffix */
static int
suffix_id_ok(const char *name, const char *suffix)
{
	size_t n = strlen(name), sl = strlen(suffix);
	char id[API_OBJ_ID_LEN + 1];

	if (n != API_OBJ_ID_LEN + sl || strcmp(name + n - sl, suffix) != 0)
		return 0;
	memcpy(id, name, API_OBJ_ID_LEN);
	id[API_OBJ_ID_LEN] = '\0';
	return api_obj_id_valid(id);
}

/* The kind of the path in x->path, depth components deep. */
static enum kind
classify(const struct ctx *x, int depth)
{
	const char *c[MAX_DEPTH] = { 0 };

	if (depth > MAX_DEPTH)
		return K_BAD;
	for (int i = 0; i < depth; i++)
		c[i] = x->path + x->off[i];
	/* components end at '/' (or NUL for the last): compare prefixes */
#define IS(i, lit) (strncmp(c[i], lit "/", sizeof lit) == 0 || \
	(i == depth - 1 && strcmp(c[i], lit) == 0))
	if (depth == 1)
		return IS(0, "api.conf") ? K_CONF : IS(0, "allowed_signers") ?
		    K_SIGNERS : IS(0, "staff") ? K_STAFFDIR : IS(0, "cases") ?
		    K_CASES : K_BAD;
	if (IS(0, "staff"))
		return depth == 2 && api_handle_valid(c[1]) ? K_STAFF : K_BAD;
	if (!IS(0, "cases"))
		return K_BAD;
	/* cases/S/H/ID: ID a case ID, S and H its first two characters */
	for (int i = 1; i < depth && i < 3; i++)
		if (strcspn(c[i], "/") != 1 || !id_ok(c[i], 1))
			return K_BAD;
	if (depth >= 4) {
		char id[API_CASE_ID_LEN + 1];
		size_t n = strcspn(c[3], "/");
		if (n != API_CASE_ID_LEN || c[3][0] != c[1][0] || c[3][1] != c[2][0])
			return K_BAD;
		memcpy(id, c[3], n);
		id[n] = '\0';
		if (!api_case_id_valid(id))
			return K_BAD;
	}
	if (depth == 2 || depth == 3)
		return K_SHARD;
	if (depth == 4)
		return K_CASE;
	if (depth == 5) {
		if (strcmp(c[4], "team") == 0)
			return K_TEAM;
		if (strcmp(c[4], "events") == 0)
			return K_EVENTS;
		if (strcmp(c[4], "notes") == 0)
			return K_NOTES;
		if (strcmp(c[4], "recipient") == 0)
			return K_RECIPIENT;
		if (strcmp(c[4], "purged") == 0)
			return K_PURGED;
		return K_BAD;
	}
	if (IS(4, "events"))
		return suffix_id_ok(c[5], ".age") ? K_EVENT : K_BAD;
	if (IS(4, "notes"))
		return suffix_id_ok(c[5], ".md.age") ? K_NOTE : K_BAD;
#undef IS
	return K_BAD;
}

static void case_path(const struct ctx *x, int depth, char *out, size_t cap);

static int tree_has(struct ctx *x, git_tree *tree, const char *path);

static int
kind_is_tree(enum kind k)
{
	return k == K_STAFFDIR || k == K_CASES || k == K_SHARD || k == K_CASE ||
	    k == K_EVENTS || k == K_NOTES;
}

/* ---- the staff cache --------------------------------------------------- */

static void
staff_ent_free(struct staff_ent *e)
{
	if (e == NULL)
		return;
	api_staff_list_free(&e->l);
	api_buf_free(&e->signers);
	free(e);
}

/* The staff of tree (parsed once per staff/ id); never NULL unless rc < 0. */
static int
staff_get(struct ctx *x, git_tree *tree, struct staff_ent **out)
{
	const git_tree_entry *te = git_tree_entry_byname(tree, "staff");
	struct staff_ent *e;
	git_oid id;

	if (te)
		git_oid_cpy(&id, git_tree_entry_id(te));
	else
		memset(&id, 0, sizeof id);
	/* newest first: the staff of the last commits is the likely one */
	for (size_t i = x->nsc; i > 0; i--)
		if (git_oid_equal(&x->sc[i - 1]->id, &id)) {
			*out = x->sc[i - 1];
			return API_OK;
		}
	if (x->nsc == x->capsc) {
		size_t cap = x->capsc ? 2 * x->capsc : 16;
		struct staff_ent **v = realloc(x->sc, cap * sizeof *v);
		if (v == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		x->sc = v;
		x->capsc = cap;
	}
	if ((e = calloc(1, sizeof *e)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	e->id = id;
	if (api_staff_from_tree(x->repo, tree, &e->l) < 0 ||
	    api_allowed_signers(&e->l, &e->signers) < 0) {
		e->bad = 1;
		snprintf(e->err, sizeof e->err, "%s", api_error_last());
	}
	x->sc[x->nsc++] = e;
	*out = e;
	return API_OK;
}

static int
has_role(const api_staff *m, const char *r1, const char *r2)
{
	return strcmp(m->role, r1) == 0 || (r2 && strcmp(m->role, r2) == 0);
}

/* ---- per-entry rules ---------------------------------------------------- */

/* 1 if handle is a line of the team file at case/team of tree. */
static int
team_has(struct ctx *x, git_tree *tree, const char *casepath,
    const char *handle)
{
	char p[600];
	git_blob *b = NULL;
	git_oid id;
	git_object_t type;
	int found = 0;

	snprintf(p, sizeof p, "%s/team", casepath);
	if (entry_bypath(x, tree, p, &id, &type) < 0)
		return 0;
	if (type == GIT_OBJECT_BLOB && git_blob_lookup(&b, x->repo, &id) == 0) {
		const char *s = git_blob_rawcontent(b);
		size_t len = (size_t)git_blob_rawsize(b), hl = strlen(handle);
		for (size_t i = 0; i < len && !found; ) {
			const char *nl = memchr(s + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (s + i)) : len - i;
			found = n == hl && memcmp(s + i, handle, hl) == 0;
			i += n + 1;
		}
	}
	git_blob_free(b);
	return found;
}

static int
tree_has(struct ctx *x, git_tree *tree, const char *path)
{
	git_oid id;
	git_object_t type;

	return tree != NULL && entry_bypath(x, tree, path, &id, &type) == 0;
}

static void
check_case_write(struct ctx *x, int depth)
{
	char casepath[512];
	size_t n;

	if (depth < 4)
		return;
	n = depth > 4 ? x->off[4] - 1 : strlen(x->path);
	if (n >= sizeof casepath)
		n = sizeof casepath - 1;
	memcpy(casepath, x->path, n);
	casepath[n] = '\0';
	if (strcmp(casepath, x->lastcase) != 0) {
		snprintf(x->lastcase, sizeof x->lastcase, "%s", casepath);
		if (has_role(&x->signer, "lead", "admin"))
			x->lastcase_ok = 1;
		else if (x->ptree && tree_has(x, x->ptree, casepath))
			x->lastcase_ok = team_has(x, x->ptree, casepath,
			    x->signer.handle);
		else
			x->lastcase_ok = team_has(x, x->tree, casepath,
			    x->signer.handle);
	}
	if (!x->lastcase_ok)
		violation(x, R_CASE_WRITE, x->path, "%s (%s) wrote to a case whose "
		    "team does not list them", x->signer.handle, x->signer.role);
}

/* The case directory of x->path (depth >= 4) into out. */
static void
case_path(const struct ctx *x, int depth, char *out, size_t cap)
{
	size_t n = depth > 4 ? x->off[4] - 1 : strlen(x->path);

	if (n >= cap)
		n = cap - 1;
	memcpy(out, x->path, n);
	out[n] = '\0';
}

/* 1 if the signer may change the team of the case at x->path: a lead or
 * admin, or a member of its team when the parent's api.conf has
 * access.teamMayGrant = true. */
static int
may_change_team(struct ctx *x, int depth)
{
	char casepath[512];
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	api_conf *conf = NULL;
	int ok = 0;

	if (has_role(&x->signer, "lead", "admin"))
		return 1;
	if (x->ptree == NULL || depth < 4)
		return 0;
	case_path(x, depth, casepath, sizeof casepath);
	if (!team_has(x, x->ptree, casepath, x->signer.handle))
		return 0;
	if (x->tmg >= 0)             /* the parent's setting, read once */
		return x->tmg;
	if (git_tree_entry_bypath(&e, x->ptree, "api.conf") == 0 &&
	    git_blob_lookup(&b, x->repo, git_tree_entry_id(e)) == 0 &&
	    api_conf_parse(&conf, git_blob_rawcontent(b),
	    (size_t)git_blob_rawsize(b), "api.conf") == 0 &&
	    api_conf_bool(conf, "access.teamMayGrant", &ok) < 0)
		ok = 0;
	api_conf_free(conf);
	git_blob_free(b);
	git_tree_entry_free(e);
	x->tmg = ok;
	return ok;
}

/* 1 if the case at x->path has new keys (recipient) in this commit. */
static int
rekeyed(struct ctx *x, int depth)
{
	char p[600];
	git_oid a, b;
	git_object_t ta, tb;

	case_path(x, depth, p, sizeof p - 12);
	strcat(p, "/recipient");
	return entry_bypath(x, x->ptree, p, &a, &ta) == 0 &&
	    entry_bypath(x, x->tree, p, &b, &tb) == 0 && !git_oid_equal(&a, &b);
}

/* One entry that differs between the old and new tree (either may be NULL). */
static int
visit(struct ctx *x, int depth, const git_tree_entry *old,
    const git_tree_entry *new)
{
	enum kind k = classify(x, depth);
	const char *path = x->path;
	git_blob *b = NULL;

	/* staff, allowed_signers, api.conf: admins only */
	if (x->check_perm && (strncmp(path, "staff/", 6) == 0 ||
	    strcmp(path, "allowed_signers") == 0 ||
	    strcmp(path, "api.conf") == 0) && !has_role(&x->signer, "admin", NULL))
		violation(x, R_STAFF_ADMIN, path, "%s (%s) changed %s; only an "
		    "admin may", x->signer.handle, x->signer.role, path);
	if (x->check_perm && strncmp(path, "cases/", 6) == 0)
		check_case_write(x, depth);
	/* a purged case is closed for good; a purge is an admin's, recorded
	 * with its action (the keys it destroyed were on refs/api/keys) */
	if (depth >= 4 && x->ptree && (k != K_CASE || old == NULL)) {
		char pp[600];
		case_path(x, depth, pp, sizeof pp - 8);
		strcat(pp, "/purged");
		if (tree_has(x, x->ptree, pp))
			violation(x, R_CASE_WRITE, path, "a write to a purged case");
	}
	if (k == K_PURGED && new && !old) {
		if (!has_role(&x->signer, "admin", NULL) || !x->is_purge)
			violation(x, R_CASE_WRITE, path, "a purge record not written "
			    "by an admin's purge (Api-Action: purge)");
		else if (strncmp(x->path + x->off[3], x->pcase,
		    API_CASE_ID_LEN) != 0 || x->purged_here++)
			violation(x, R_CASE_WRITE, path, "a purge commit records the "
			    "purge of its own case (Api-Case) and nothing else");
		else
			x->purges++;
	}
	/* a purge commit writes its purge record, nothing else of a case */
	if (x->is_purge && new && (k == K_TEAM || k == K_RECIPIENT ||
	    k == K_NOTE || k == K_EVENT))
		violation(x, R_CASE_WRITE, path, "a purge commit writes only its "
		    "purge record");
	/* the team and key of a case, once made: leads and admins (and its
	 * team, where api.conf says access.teamMayGrant) */
	if (x->check_perm && old && new && (k == K_TEAM || k == K_RECIPIENT) &&
	    !may_change_team(x, depth))
		violation(x, R_CASE_WRITE, path, "%s (%s) changed the %s of a case; "
		    "only a lead or admin may", x->signer.handle, x->signer.role,
		    k == K_TEAM ? "team" : "key");
	if (old && !new && (k == K_TEAM || k == K_RECIPIENT || k == K_CASE ||
	    k == K_PURGED))
		violation(x, R_APPEND_ONLY, path, "a case's %s was removed",
		    k == K_CASE ? "directory" : k == K_TEAM ? "team" :
		    k == K_PURGED ? "purge record" : "key");
	if (old && new && k == K_PURGED)
		violation(x, R_APPEND_ONLY, path, "a purge record was rewritten");
	/* notes and events are never rewritten or removed; but a revoke with
	 * re-encryption rewrites the files of its case (Api-Action:
	 * revoke-reencrypt, Api-Case), by someone who may change its team */
	if (old && new && (k == K_NOTE || k == K_EVENT) && x->reenc[0] &&
	    x->check_perm && strncmp(x->path + x->off[3], x->reenc,
	    API_CASE_ID_LEN) == 0 && may_change_team(x, depth) &&
	    rekeyed(x, depth))
		;
	else if (old && (k == K_NOTE || k == K_EVENT))
		violation(x, R_APPEND_ONLY, path, new ? "a %s was rewritten" :
		    "a %s was removed", k == K_NOTE ? "note" : "event");
	if (depth == 1 && new == NULL && k != K_BAD && k != K_CASES)
		violation(x, R_LAYOUT, path, "%s was removed", path);
	if (new == NULL || !x->check_new)
		return 0;

	git_filemode_t mode = git_tree_entry_filemode(new);
	if (k == K_BAD) {
		violation(x, R_LAYOUT, path, "unexpected entry in the store");
		return 1;            /* do not descend */
	}
	if (kind_is_tree(k) ? mode != GIT_FILEMODE_TREE :
	    mode != GIT_FILEMODE_BLOB) {
		violation(x, R_LAYOUT, path, "%s has mode %06o; want %s", path,
		    (unsigned)mode, kind_is_tree(k) ? "a directory" :
		    "a plain file (100644)");
		return 1;
	}
	if (k == K_CASE) {
		/* a case has a team and its keys from its first commit on */
		git_tree *t = NULL;
		if (tree_get(x, git_tree_entry_id(new), &t) < 0)
			return api_git_fail(API_EIO, path);
		if (git_tree_entry_byname(t, "team") == NULL)
			violation(x, R_LAYOUT, path, "a case without a team file");
		else if (git_tree_entry_byname(t, "recipient") == NULL)
			violation(x, R_LAYOUT, path, "a case without a recipient file");
		git_tree_free(t);
	}
	if (k == K_TEAM) {
		/* one handle a line: anything else could smuggle data in */
		if (git_blob_lookup(&b, x->repo, git_tree_entry_id(new)) < 0)
			return api_git_fail(API_EIO, path);
		const char *t = git_blob_rawcontent(b);
		size_t len = (size_t)git_blob_rawsize(b), i = 0;
		char h[API_HANDLE_MAX + 1];
		if (len == 0)
			violation(x, R_LAYOUT, path, "team: empty");
		while (i < len) {
			const char *nl = memchr(t + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (t + i)) : len - i;
			if (nl == NULL || n > API_HANDLE_MAX) {
				violation(x, R_LAYOUT, path, "team: not one handle a line");
				break;
			}
			memcpy(h, t + i, n);
			h[n] = '\0';
			if (!api_handle_valid(h)) {
				violation(x, R_LAYOUT, path, "team: invalid handle");
				break;
			}
			/* each handle once */
			for (size_t j = 0; j < i; ) {
				const char *nj = memchr(t + j, '\n', i - j);
				size_t m = (size_t)(nj - (t + j));
				if (m == n && memcmp(t + j, h, n) == 0) {
					violation(x, R_LAYOUT, path, "team: %s listed twice", h);
					break;
				}
				j += m + 1;
			}
			i += n + 1;
		}
		git_blob_free(b);
	}
	if (k == K_CONF) {
		api_conf *conf = NULL;
		if (git_blob_lookup(&b, x->repo, git_tree_entry_id(new)) < 0)
			return api_git_fail(API_EIO, path);
		if (api_conf_parse(&conf, git_blob_rawcontent(b),
		    (size_t)git_blob_rawsize(b), "api.conf") < 0)
			violation(x, R_LAYOUT, path, "%s", api_error_last());
		api_conf_free(conf);
		git_blob_free(b);
		b = NULL;
	}
	if (k == K_PURGED) {
		/* "purged: DATE", "by: HANDLE" (the signer), "reason: TEXT" */
		char want[80];
		long day;
		if (git_blob_lookup(&b, x->repo, git_tree_entry_id(new)) < 0)
			return api_git_fail(API_EIO, path);
		const char *t = git_blob_rawcontent(b);
		size_t len = (size_t)git_blob_rawsize(b), hl;
		char date[11] = "";
		snprintf(want, sizeof want, "\nby: %s\nreason: ", x->signer.handle);
		hl = strlen(want);
		if (len >= 19)
			memcpy(date, t + 8, 10);
		/* exactly three lines; the reason one line of printable text */
		int bad = len < 18 + hl + 2 || len > 1024 ||
		    strncmp(t, "purged: ", 8) != 0 ||
		    api_date_parse(date, &day) < 0 ||
		    memcmp(t + 18, want, hl) != 0 || t[len - 1] != '\n';
		for (size_t i = 18 + hl; !bad && i < len - 1; i++)
			bad = (unsigned char)t[i] < 0x20 || t[i] == 0x7f;
		if (!bad)
			bad = api_text_check(t, len, "purged") < 0;
		if (bad)
			violation(x, R_LAYOUT, path, "purged: not 'purged: DATE', "
			    "'by: %s', 'reason: TEXT'", x->signer.handle);
		git_blob_free(b);
		b = NULL;
	}
	if (k == K_RECIPIENT) {
		unsigned char pk[2][32];
		if (git_blob_lookup(&b, x->repo, git_tree_entry_id(new)) < 0)
			return api_git_fail(API_EIO, path);
		if (api_recipient_parse(git_blob_rawcontent(b),
		    (size_t)git_blob_rawsize(b), pk[0], pk[1]) < 0)
			violation(x, R_LAYOUT, path, "%s", api_error_last());
		git_blob_free(b);
		b = NULL;
	}
	if (k == K_NOTE || k == K_EVENT) {
		if (git_blob_lookup(&b, x->repo, git_tree_entry_id(new)) < 0)
			return api_git_fail(API_EIO, path);
		if (api_age_header_check(git_blob_rawcontent(b),
		    (size_t)git_blob_rawsize(b)) < 0)
			violation(x, R_AGE_FORMAT, path, "%s", api_error_last());
		git_blob_free(b);
	}
	return 0;
}

/* ---- tree comparison ---------------------------------------------------- */

/* git's order: names compared as if directories ended in '/' */
static int
entry_cmp(const git_tree_entry *a, const git_tree_entry *b)
{
	const char *an = git_tree_entry_name(a), *bn = git_tree_entry_name(b);
	size_t al = strlen(an), bl = strlen(bn), n = al < bl ? al : bl;
	int c = memcmp(an, bn, n);
	unsigned char ac, bc;

	if (c)
		return c;
	ac = al > n ? (unsigned char)an[n] :
	    git_tree_entry_type(a) == GIT_OBJECT_TREE ? '/' : 0;
	bc = bl > n ? (unsigned char)bn[n] :
	    git_tree_entry_type(b) == GIT_OBJECT_TREE ? '/' : 0;
	return (int)ac - (int)bc;
}

static int diff_trees(struct ctx *x, git_tree *a, git_tree *b, size_t plen,
	int depth);

static int
changed(struct ctx *x, const git_tree_entry *old, const git_tree_entry *new,
    size_t plen, int depth)
{
	const git_tree_entry *e = new ? new : old;
	const char *name = git_tree_entry_name(e);
	size_t nl = strlen(name);
	git_tree *ta = NULL, *tb = NULL;
	int rc;

	if (plen + nl + 2 > sizeof x->path) {
		violation(x, R_LAYOUT, x->path, "path too long");
		return 0;
	}
	if (plen)
		x->path[plen++] = '/';
	memcpy(x->path + plen, name, nl + 1);
	x->off[depth] = plen;
	if ((rc = visit(x, depth + 1, old, new)) != 0)
		return rc < 0 ? rc : 0;
	if (depth + 1 >= MAX_DEPTH)
		return 0;
	if ((old && git_tree_entry_type(old) == GIT_OBJECT_TREE &&
	    tree_get(x, git_tree_entry_id(old), &ta) < 0) ||
	    (new && git_tree_entry_type(new) == GIT_OBJECT_TREE &&
	    tree_get(x, git_tree_entry_id(new), &tb) < 0))
		rc = api_git_fail(API_EIO, x->path);
	else if (ta || tb)
		rc = diff_trees(x, ta, tb, plen + nl, depth + 1);
	git_tree_free(ta);
	git_tree_free(tb);
	return rc;
}

/* Calls visit() on every entry that differs between a and b (either NULL). */
static int
diff_trees(struct ctx *x, git_tree *a, git_tree *b, size_t plen, int depth)
{
	size_t na = a ? git_tree_entrycount(a) : 0;
	size_t nb = b ? git_tree_entrycount(b) : 0, i = 0, j = 0;
	const git_tree_entry *prev = NULL;
	int rc = 0;

	while (rc >= 0 && (i < na || j < nb)) {
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = ea == NULL ? 1 : eb == NULL ? -1 : entry_cmp(ea, eb);

		if (eb && c >= 0) {
			/* an unsorted tree would hide changes from this walk */
			if (prev && entry_cmp(prev, eb) >= 0) {
				x->path[plen] = '\0';
				violation(x, R_LAYOUT, plen ? x->path : "-", "tree "
				    "entries unsorted or duplicated");
			}
			prev = eb;
		}
		if (c == 0) {
			i++, j++;
			if (git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb))
			    && git_tree_entry_filemode(ea) ==
			    git_tree_entry_filemode(eb))
				continue;
			rc = changed(x, ea, eb, plen, depth);
		} else if (c < 0) {
			i++;
			rc = changed(x, ea, NULL, plen, depth);
		} else {
			j++;
			rc = changed(x, NULL, eb, plen, depth);
		}
	}
	x->path[plen] = '\0';
	return rc;
}

/* ---- merges ------------------------------------------------------------- */

/*
 * Every entry of a merge's tree t comes unchanged from one of the parents'
 * trees p[] (the same path in each; NULL where absent), and nothing that
 * two parents both have is missing.
 */
static int
merge_check(struct ctx *x, git_tree *t, git_tree **p, size_t np, size_t plen)
{
	size_t n = git_tree_entrycount(t);
	git_tree **sub = calloc(np, sizeof *sub);
	int rc = 0;

	if (sub == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const char *name = git_tree_entry_name(e);
		int same = 0, any_tree = 0;
		for (size_t k = 0; k < np && !same; k++) {
			const git_tree_entry *pe = p[k] ?
			    git_tree_entry_byname(p[k], name) : NULL;
			same = pe && git_oid_equal(git_tree_entry_id(pe),
			    git_tree_entry_id(e)) && git_tree_entry_filemode(pe) ==
			    git_tree_entry_filemode(e);
			any_tree |= pe && git_tree_entry_type(pe) == GIT_OBJECT_TREE;
		}
		if (same)
			continue;
		snprintf(x->path + plen, sizeof x->path - plen, "%s%s",
		    plen ? "/" : "", name);
		if (plen == 0 && strcmp(name, "allowed_signers") == 0)
			continue;    /* regenerated; checked against staff/ */
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE || !any_tree) {
			violation(x, R_MERGE, x->path, "the merge introduces content "
			    "from none of its parents");
			continue;
		}
		git_tree *te = NULL;
		if (tree_get(x, git_tree_entry_id(e), &te) < 0) {
			rc = api_git_fail(API_EIO, x->path);
			break;
		}
		for (size_t k = 0; k < np && rc == 0; k++) {
			const git_tree_entry *pe = p[k] ?
			    git_tree_entry_byname(p[k], name) : NULL;
			sub[k] = NULL;
			if (pe && git_tree_entry_type(pe) == GIT_OBJECT_TREE &&
			    tree_get(x, git_tree_entry_id(pe), &sub[k]) < 0)
				rc = api_git_fail(API_EIO, x->path);
		}
		if (rc == 0)
			rc = merge_check(x, te, sub, np, strlen(x->path));
		for (size_t k = 0; k < np; k++) {
			git_tree_free(sub[k]);
			sub[k] = NULL;
		}
		git_tree_free(te);
	}
	/* what two parents share must survive the merge */
	for (size_t k = 0; k < np && rc == 0; k++) {
		size_t pn = p[k] ? git_tree_entrycount(p[k]) : 0;
		for (size_t i = 0; i < pn; i++) {
			const char *name = git_tree_entry_name(
			    git_tree_entry_byindex(p[k], i));
			if (git_tree_entry_byname(t, name) != NULL)
				continue;
			for (size_t m = k + 1; m < np; m++)
				if (p[m] && git_tree_entry_byname(p[m], name)) {
					snprintf(x->path + plen, sizeof x->path - plen,
					    "%s%s", plen ? "/" : "", name);
					violation(x, R_MERGE, x->path, "the merge drops "
					    "an entry both parents have");
				}
		}
	}
	x->path[plen] = '\0';
	free(sub);
	return rc;
}

/* ---- one commit --------------------------------------------------------- */

static int
has_trailer(const char *msg, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = msg; (p = strstr(p, line)) != NULL; p += n)
		if ((p == msg || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}

/*
 * Signatures are checked apart from the policy, in parallel: they are
 * independent of each other and Ed25519 verification is most of the cost
 * of a commit.  The walk goes in windows of WINDOW commits; worker threads
 * (each with its own repository handle, as libgit2 wants) claim chunks of
 * a window while the main thread applies the policy in order, and the main
 * thread verifies chunks itself whenever the next result is not ready.
 */
#define WINDOW 4096
#define CHUNK 32
#define MAX_WORKERS 16

enum { SIG_PENDING, SIG_OK, SIG_BAD, SIG_ERROR };

struct sigres {
	git_oid id;
	atomic_int state;
	unsigned char pk[32];
	char msg[200];               /* SIG_BAD, SIG_ERROR */
};

struct pool {
	const char *gitdir;
	struct sigres *v;
	size_t n;
	atomic_size_t next;          /* the first unclaimed index */
};

/*
 * Splits a raw commit into the armored signature of its gpgsig header
 * (continuation lines unfolded) and the signed data: the object without
 * that header.  Only the header is searched: a "gpgsig" line in the
 * message body is message (libgit2 1.5's extractor would take it).
 * Returns 0, or 1 with msg set when the commit is not signed properly.
 */
static int
split_signed(const char *obj, size_t len, api_buf *sig, api_buf *data,
    char *msg, size_t msglen)
{
	const char *p = obj, *end = obj + len, *eol;
	int found = 0, in_sig = 0;

	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		size_t n = (size_t)(eol - p) + (eol < end);
		if (n == 1 && *p == '\n') {
			/* end of the header: the rest is message, signed as is */
			if (api_buf_append(data, p, (size_t)(end - p)) < 0)
				return -1;
			break;
		}
		if (in_sig && *p == ' ') {
			if (api_buf_append(sig, "\n", 1) < 0 ||
			    api_buf_append(sig, p + 1, (size_t)(eol - p) - 1) < 0)
				return -1;
		} else if (n > 7 && memcmp(p, "gpgsig ", 7) == 0) {
			if (found++) {
				snprintf(msg, msglen, "more than one signature header");
				return 1;
			}
			in_sig = 1;
			if (api_buf_append(sig, p + 7, (size_t)(eol - p) - 7) < 0)
				return -1;
		} else {
			in_sig = 0;
			if (api_buf_append(data, p, n) < 0)
				return -1;
		}
		p += n;
	}
	if (!found) {
		snprintf(msg, msglen, "the commit is not signed");
		return 1;
	}
	return 0;
}

/* Checks one commit's signature into r (thread-safe: its own odb). */
static void
sig_one(git_odb *odb, struct sigres *r)
{
	git_odb_object *o = NULL;
	api_buf sig = { 0 }, data = { 0 };
	int st = SIG_OK, rc;

	if (git_odb_read(&o, odb, &r->id) < 0 ||
	    git_odb_object_type(o) != GIT_OBJECT_COMMIT) {
		snprintf(r->msg, sizeof r->msg, "cannot read commit");
		st = SIG_ERROR;
	} else if ((rc = split_signed(git_odb_object_data(o),
	    git_odb_object_size(o), &sig, &data, r->msg, sizeof r->msg)) != 0) {
		if (rc < 0)
			snprintf(r->msg, sizeof r->msg, "out of memory");
		st = rc < 0 ? SIG_ERROR : SIG_BAD;
	} else if (api_sshsig_verify(r->pk, (const char *)sig.ptr, sig.len, "git",
	    data.ptr, data.len) < 0) {
		snprintf(r->msg, sizeof r->msg, "%s", api_error_last());
		st = SIG_BAD;
	}
	git_odb_object_free(o);
	api_buf_free(&sig);
	api_buf_free(&data);
	atomic_store(&r->state, st);
}

/* Verifies one unclaimed chunk; 0 when none was left. */
static int
sig_chunk(struct pool *pl, git_odb *odb)
{
	size_t k = atomic_fetch_add(&pl->next, CHUNK);

	if (k >= pl->n)
		return 0;
	for (size_t i = k; i < k + CHUNK && i < pl->n; i++)
		sig_one(odb, &pl->v[i]);
	return 1;
}

static void *
sig_worker(void *arg)
{
	struct pool *pl = arg;
	git_repository *repo = NULL;
	git_odb *odb = NULL;

	/* without a handle of its own, the thread leaves the work to main */
	if (git_repository_open_ext(&repo, pl->gitdir,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0 &&
	    api_repo_guard(repo) == 0 &&
	    git_repository_odb(&odb, repo) == 0)
		while (sig_chunk(pl, odb))
			;
	git_odb_free(odb);
	git_repository_free(repo);
	return NULL;
}

/* The result for commit i, verifying chunks meanwhile. */
static struct sigres *
sig_wait(struct pool *pl, git_odb *odb, size_t i)
{
	while (atomic_load(&pl->v[i].state) == SIG_PENDING)
		if (!sig_chunk(pl, odb))
			sched_yield();
	return &pl->v[i];
}

static int
check_names(struct ctx *x, git_commit *c)
{
	const git_signature *a = git_commit_author(c), *m = git_commit_committer(c);

	if (strcmp(a->name, x->signer.handle) != 0 ||
	    strcmp(m->name, x->signer.handle) != 0) {
		violation(x, R_SIGNER, "-", "signed by %s but author %s, committer "
		    "%s", x->signer.handle, a->name, m->name);
		return -1;
	}
	return 0;
}

/* Tree-wide rules on a changed staff/, allowed_signers, api.conf. */
static int
check_config(struct ctx *x)
{
	const git_tree_entry *ns = git_tree_entry_byname(x->tree, "staff");
	const git_tree_entry *na = git_tree_entry_byname(x->tree, "allowed_signers");
	const git_tree_entry *nc = git_tree_entry_byname(x->tree, "api.conf");
	const git_tree_entry *os = NULL, *oa = NULL, *oc = NULL;
	struct staff_ent *st;
	git_blob *b = NULL;
	int rc = 0;

	if (x->ptree) {
		os = git_tree_entry_byname(x->ptree, "staff");
		oa = git_tree_entry_byname(x->ptree, "allowed_signers");
		oc = git_tree_entry_byname(x->ptree, "api.conf");
	}
	if (nc == NULL)
		violation(x, R_LAYOUT, "api.conf", "no api.conf");
	if (ns == NULL)
		violation(x, R_LAYOUT, "staff", "no staff/");
	if (na == NULL) {
		violation(x, R_ALLOWED_SIGNERS, "allowed_signers", "no allowed_signers");
		return 0;
	}
	if (nc && git_tree_entry_type(nc) == GIT_OBJECT_BLOB && (oc == NULL ||
	    !git_oid_equal(git_tree_entry_id(oc), git_tree_entry_id(nc)))) {
		api_conf *conf = NULL;
		if (git_blob_lookup(&b, x->repo, git_tree_entry_id(nc)) < 0)
			return api_git_fail(API_EIO, "api.conf");
		if (api_conf_parse(&conf, git_blob_rawcontent(b),
		    (size_t)git_blob_rawsize(b), "api.conf") < 0)
			violation(x, R_ALLOWED_SIGNERS, "api.conf", "%s",
			    api_error_last());
		api_conf_free(conf);
		git_blob_free(b);
		b = NULL;
	}
	if (ns && os && na && oa && git_oid_equal(git_tree_entry_id(ns),
	    git_tree_entry_id(os)) && git_oid_equal(git_tree_entry_id(na),
	    git_tree_entry_id(oa)))
		return 0;
	if ((rc = staff_get(x, x->tree, &st)) < 0)
		return rc;
	if (st->bad) {
		violation(x, R_LAYOUT, "staff", "%s", st->err);
		return 0;
	}
	if (git_tree_entry_type(na) != GIT_OBJECT_BLOB ||
	    git_blob_lookup(&b, x->repo, git_tree_entry_id(na)) < 0) {
		violation(x, R_ALLOWED_SIGNERS, "allowed_signers", "not a file");
		return 0;
	}
	if ((size_t)git_blob_rawsize(b) != st->signers.len || (st->signers.len &&
	    memcmp(git_blob_rawcontent(b), st->signers.ptr, st->signers.len) != 0))
		violation(x, R_ALLOWED_SIGNERS, "allowed_signers", "does not match "
		    "staff/");
	git_blob_free(b);
	return 0;
}

static int
verify_commit(struct ctx *x, git_commit *c, const struct sigres *sr)
{
	size_t np = git_commit_parentcount(c);
	git_tree **pt = NULL;
	git_commit *p = NULL;
	struct staff_ent *st;
	unsigned char pk[32];
	long i = -1;
	int rc = 0;

	x->vrule = R_NONE;
	x->cid = git_commit_id(c);
	x->is_root = np == 0;
	x->lastcase[0] = '\0';
	x->path[0] = '\0';
	if (tree_get(x, git_commit_tree_id(c), &x->tree) < 0)
		return api_git_fail(API_EIO, "cannot read a commit's tree");
	if ((pt = calloc(np ? np : 1, sizeof *pt)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < np; k++) {
		/* the parent's tree id: most often that of a commit just
		 * verified, without reading the parent again */
		const git_oid *pid = git_commit_parent_id(c, (unsigned)k), *tid = NULL;
		for (size_t j = 0; pid && j < x->ndone && j < 256; j++)
			if (git_oid_equal(&x->done[j].c, pid))
				tid = &x->done[j].t;
		if ((tid == NULL && (git_commit_parent(&p, c, (unsigned)k) < 0 ||
		    (tid = git_commit_tree_id(p)) == NULL)) ||
		    tree_get(x, tid, &pt[k]) < 0) {
			rc = api_git_fail(API_EIO, "cannot read a parent commit");
			goto out;
		}
		git_commit_free(p);
		p = NULL;
	}
	git_oid_cpy(&x->done[x->ndone % 256].c, x->cid);
	git_oid_cpy(&x->done[x->ndone % 256].t, git_commit_tree_id(c));
	x->ndone++;
	if (sr->state == SIG_ERROR) {
		rc = api_error_set(API_EIO, "%s: %s", git_oid_tostr_s(x->cid),
		    sr->msg);
		goto out;
	}
	if (sr->state != SIG_OK) {
		violation(x, R_SIGNATURE, "-", "%s", sr->msg);
		goto out;
	}
	memcpy(pk, sr->pk, sizeof pk);

	/* the signer: staff of the parent (the root registers itself) */
	if (np == 0) {
		if ((rc = staff_get(x, x->tree, &st)) < 0)
			goto out;
		if (!st->bad && (i = api_staff_find_key(&st->l, pk)) >= 0)
			x->signer = st->l.v[i];
	} else {
		for (size_t k = 0; k < np && i < 0; k++) {
			if ((rc = staff_get(x, pt[k], &st)) < 0)
				goto out;
			if (!st->bad && (i = api_staff_find_key(&st->l, pk)) >= 0)
				x->signer = st->l.v[i];
		}
	}
	if (i < 0) {
		violation(x, R_SIGNER, "-", "signed by a key that belongs to no "
		    "member of staff");
		goto out;
	}
	if (x->signer.valid_until[0]) {
		violation(x, R_SIGNER, "-", "signed by %s, retired on %s",
		    x->signer.handle, x->signer.valid_until);
		goto out;
	}
	if (check_names(x, c) < 0)
		goto out;
	if (np == 0 && (strcmp(x->signer.role, "admin") != 0 ||
	    !has_trailer(git_commit_message(c), "Api-Action: init"))) {
		violation(x, R_SIGNER, "-", "the first commit must be an init by "
		    "an admin");
		goto out;
	}

	x->tmg = -1;
	x->is_purge = has_trailer(git_commit_message(c), "Api-Action: purge");
	x->pcase[0] = '\0';
	x->purged_here = 0;
	if (x->is_purge) {
		const char *m = strstr(git_commit_message(c), "\nApi-Case: ");
		if (m && strlen(m + 11) >= API_CASE_ID_LEN) {
			memcpy(x->pcase, m + 11, API_CASE_ID_LEN);
			x->pcase[API_CASE_ID_LEN] = '\0';
		}
	}
	/* a revoke that re-encrypts names its case */
	x->reenc[0] = '\0';
	if (has_trailer(git_commit_message(c), "Api-Action: revoke-reencrypt")) {
		const char *m = strstr(git_commit_message(c), "\nApi-Case: ");
		if (m && strlen(m + 11) >= API_CASE_ID_LEN) {
			memcpy(x->reenc, m + 11, API_CASE_ID_LEN);
			x->reenc[API_CASE_ID_LEN] = '\0';
		}
	}
	/* what changed: against the (first) parent */
	x->ptree = np ? pt[0] : NULL;
	x->check_perm = np <= 1;
	x->check_new = 1;
	if ((rc = diff_trees(x, x->ptree, x->tree, 0, 0)) < 0)
		goto out;
	if ((rc = check_config(x)) < 0)
		goto out;
	if (np > 1) {
		/* notes and events of every parent survive; content from one */
		x->check_perm = x->check_new = 0;
		for (size_t k = 1; k < np && rc == 0; k++) {
			x->ptree = pt[k];
			rc = diff_trees(x, pt[k], x->tree, 0, 0);
		}
		if (rc == 0)
			rc = merge_check(x, x->tree, pt, np, 0);
	}
out:
	for (size_t k = 0; pt && k < np; k++)
		git_tree_free(pt[k]);
	free(pt);
	git_tree_free(x->tree);
	x->tree = x->ptree = NULL;
	return rc;
}

/* ---- the walk ----------------------------------------------------------- */

static int
walk(struct ctx *x, git_revwalk *w, api_verify_report *r,
    api_verify_progress_fn progress, void *pctx)
{
	pthread_t th[MAX_WORKERS];
	struct pool pl;
	git_odb *odb = NULL;
	git_commit *c = NULL;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nth = 0, want;
	int rc = API_OK, err = 0;

	memset(&pl, 0, sizeof pl);
	pl.gitdir = git_repository_path(x->repo);
	if (git_repository_odb(&odb, x->repo) < 0)
		return api_git_fail(API_EIO, "cannot open the object database");
	if ((pl.v = calloc(WINDOW, sizeof *pl.v)) == NULL) {
		git_odb_free(odb);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	want = ncpu > 1 ? (size_t)ncpu - 1 : 0;
	if (want > MAX_WORKERS)
		want = MAX_WORKERS;
	while (err == 0 && rc == 0) {
		/* the next window, in order */
		for (pl.n = 0; pl.n < WINDOW &&
		    (err = git_revwalk_next(&pl.v[pl.n].id, w)) == 0; pl.n++)
			atomic_init(&pl.v[pl.n].state, SIG_PENDING);
		if (err != 0 && err != GIT_ITEROVER) {
			rc = api_git_fail(API_EIO, "cannot walk " MAIN_REF);
			break;
		}
		atomic_init(&pl.next, 0);
		for (nth = 0; pl.n > 4 * CHUNK && nth < want; nth++)
			if (pthread_create(&th[nth], NULL, sig_worker, &pl) != 0)
				break;
		for (size_t i = 0; i < pl.n && rc == 0; i++) {
			struct sigres *sr = sig_wait(&pl, odb, i);
			if (git_commit_lookup(&c, x->repo, &sr->id) < 0) {
				rc = api_git_fail(API_EIO, "cannot read a commit");
				break;
			}
			rc = verify_commit(x, c, sr);
			git_commit_free(c);
			c = NULL;
			if (rc < 0)
				break;
			if (x->vrule != R_NONE) {
				r->ok = 0;
				git_oid_tostr(r->commit, sizeof r->commit, &sr->id);
				snprintf(r->rule, sizeof r->rule, "%s",
				    rule_name[x->vrule]);
				snprintf(r->path, sizeof r->path, "%s", x->vpath);
				snprintf(r->message, sizeof r->message, "%s", x->vmsg);
				rc = 1;
				break;
			}
			r->commits++;
			r->purges = x->purges;
			if (progress && r->commits % 1000 == 0)
				progress(pctx, r->commits);
		}
		/* stop the workers: nothing left to claim */
		atomic_store(&pl.next, pl.n);
		for (size_t k = 0; k < nth; k++)
			pthread_join(th[k], NULL);
	}
	free(pl.v);
	git_odb_free(odb);
	return rc < 0 ? rc : 0;
}

int
api_verify_range(struct git_repository *repo, const git_oid *tip,
    const git_oid *hide, api_verify_report *r, api_verify_progress_fn progress,
    void *pctx)
{
	struct ctx x;
	git_revwalk *w = NULL;
	int rc = API_OK;

	memset(r, 0, sizeof *r);
	memset(&x, 0, sizeof x);
	r->ok = 1;
	x.repo = repo;
	if (git_revwalk_new(&w, repo) < 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(w, tip) < 0 ||
	    (hide != NULL && git_revwalk_hide(w, hide) < 0))
		rc = api_git_fail(API_EIO, "cannot walk the history");
	else
		rc = walk(&x, w, r, progress, pctx);
	git_revwalk_free(w);
	for (size_t k = 0; k < x.nsc; k++)
		staff_ent_free(x.sc[k]);
	free(x.sc);
	for (size_t k = 0; k < TCACHE; k++)
		git_tree_free(x.tc[k].t);
	return rc;
}

int
api_verify_history(struct git_repository *repo, const char *since,
    api_verify_report *r, api_verify_progress_fn progress, void *pctx)
{
	git_commit *c = NULL;
	git_object *o = NULL;
	git_oid tip, sid;
	int rc;

	memset(r, 0, sizeof *r);
	r->ok = 1;
	if (git_reference_name_to_id(&tip, repo, MAIN_REF) < 0)
		return api_git_fail(API_ENOTFOUND, "cannot read " MAIN_REF);
	if (since == NULL)
		return api_verify_range(repo, &tip, NULL, r, progress, pctx);
	if (git_revparse_single(&o, repo, since) < 0 ||
	    git_object_peel((git_object **)&c, o, GIT_OBJECT_COMMIT) < 0) {
		rc = api_error_set(API_ENOTFOUND, "%s: no such commit", since);
		goto out;
	}
	git_oid_cpy(&sid, git_commit_id(c));
	if (!git_oid_equal(&sid, &tip) &&
	    git_graph_descendant_of(repo, &tip, &sid) != 1) {
		rc = api_error_set(API_EINVAL, "%s is not on " MAIN_REF, since);
		goto out;
	}
	rc = api_verify_range(repo, &tip, &sid, r, progress, pctx);
out:
	git_commit_free(c);
	git_object_free(o);
	return rc;
}

/* ---- one commit's signature, for the other refs ------------------------ */

int
api_verify_commit_sig(struct git_repository *repo, const struct git_oid *id,
    unsigned char pk[32])
{
	struct sigres r;
	git_odb *odb = NULL;

	memset(&r, 0, sizeof r);
	git_oid_cpy(&r.id, id);
	atomic_init(&r.state, SIG_PENDING);
	if (git_repository_odb(&odb, repo) < 0)
		return api_git_fail(API_EIO, "cannot open the object database");
	sig_one(odb, &r);
	git_odb_free(odb);
	switch (atomic_load(&r.state)) {
	case SIG_OK:
		memcpy(pk, r.pk, 32);
		return API_OK;
	case SIG_BAD:
		return api_error_set(API_ESIG, "%s", r.msg);
	default:
		return api_error_set(API_EIO, "%s: %s", git_oid_tostr_s(id), r.msg);
	}
}
