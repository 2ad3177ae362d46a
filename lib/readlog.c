/*
 * readlog.c - the read log: who decrypted which case, when, and why.
 *
 * A read is one signed commit on refs/api/reads/YYYY, the UTC year of
 * the commit, never on main: a year's log can then be deleted when its
 * retention ends, and main's history stays whole.  Within a year the
 * commits form a chain (each has the previous one as its parent), so
 * that a removed or reordered read breaks the chain's signatures.
 *
 * A commit costs the same however long the log is: its tree is one small
 * file, "cases" (the IDs read, one a line, sorted), replaced at every
 * read, and the facts are in the message, as trailers.  One run of a
 * program that reads many cases (api-status --due) is one commit whose
 * "cases" lists them all, not one commit per case.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <git2.h>

#include "api.h"

#define PROGRAM_MAX 32
#define DEFAULT_RETENTION (2 * 365)

/* ---- what goes into a read --------------------------------------------- */

int
api_purpose_check(const char *p)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t n = p ? strlen(p) : 0;
	int rc;

	if (n == 0 || strspn(p, " ") == n)
		return api_error_set(API_EINVAL, "the purpose is empty");
	if (n > API_PURPOSE_MAX)
		return api_error_set(API_EINVAL, "the purpose is longer than %d "
		    "bytes", API_PURPOSE_MAX);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && i + 1 < n &&
		    s[i + 1] >= 0x80 && s[i + 1] <= 0x9f))
			return api_error_set(API_EINVAL, "the purpose contains a "
			    "control character; it must be one line of text");
	if ((rc = api_text_check(p, n, "the purpose")) < 0)
		return rc;
	/* git interpret-trailers would trim them: the log and stock git
	 * must read the same purpose */
	if (p[0] == ' ' || p[n - 1] == ' ')
		return api_error_set(API_EINVAL, "the purpose begins or ends with "
		    "a space");
	return API_OK;
}

/* "api-" and lower-case letters and dashes: a program's name */
static int
program_ok(const char *p)
{
	size_t n = strlen(p);

	return n > 4 && n <= PROGRAM_MAX && strncmp(p, "api-", 4) == 0 &&
	    strspn(p + 4, "abcdefghijklmnopqrstuvwxyz-") == n - 4;
}

int
api_readlog_settings(api_store *s, int *enabled, int *mandatory,
    long *retention)
{
	api_conf *c = NULL;
	const char *v;
	long days = DEFAULT_RETENTION;
	int rc, e = 0, m = 0;

	if ((rc = api_store_conf(s, &c)) < 0)
		return rc;
	if ((rc = api_conf_bool(c, "readlog.enabled", &e)) == 0 &&
	    (rc = api_conf_bool(c, "readlog.mandatory", &m)) == 0 &&
	    (v = api_conf_get(c, "readlog.retention")) != NULL &&
	    (days = api_conf_days(v)) < 0)
		rc = api_error_set(API_EINVAL, "api.conf: readlog.retention = %s "
		    "is not a duration (30d, 6m, 2y)", v);
	api_conf_free(c);
	if (enabled)
		*enabled = e;
	if (mandatory)
		*mandatory = m;
	if (retention)
		*retention = days;
	return rc;
}

int
api_reads_add(api_reads *r, const char *id)
{
	if (!api_case_id_valid(id))
		return api_error_set(API_EINVAL, "'%s' is not a case ID", id);
	if (r->n == API_READS_MAX)
		return api_error_set(API_EINVAL, "more than %d cases in one read",
		    API_READS_MAX);
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *v = realloc(r->id, cap * sizeof *r->id);
		if (v == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		r->id = v;
		r->cap = cap;
	}
	snprintf(r->id[r->n++], sizeof *r->id, "%s", id);
	return API_OK;
}

void
api_reads_free(api_reads *r)
{
	if (r == NULL)
		return;
	free(r->id);
	memset(r, 0, sizeof *r);
}

/* ---- writing ------------------------------------------------------------ */

static int
year_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return -1;
	return tm.tm_year + 1900;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct rec {
	const char *program, *purpose;
	const char *one;             /* the case, when there is one */
	api_buf cases;               /* the file "cases" */
	size_t n;
	int year, new_year;
};

static int
build_read(void *ctx, api_tx *tx)
{
	struct rec *x = ctx;
	char subject[64], count[24];
	int rc;

	/* a read just after midnight on 1 January goes to the new year's log */
	if (year_of(api_tx_now(tx)) != x->year) {
		x->new_year = 1;
		return api_error_set(API_ECANCEL, "the year changed");
	}
	snprintf(subject, sizeof subject, "read: %zu case%s", x->n,
	    x->n == 1 ? "" : "s");
	snprintf(count, sizeof count, "%zu", x->n);
	if ((rc = api_tx_put(tx, "cases", x->cases.ptr, x->cases.len)) < 0 ||
	    (rc = api_tx_message(tx, subject, "read", x->one, NULL)) < 0 ||
	    (rc = api_tx_trailer(tx, "Api-Program", x->program)) < 0 ||
	    (rc = api_tx_trailer(tx, "Api-Purpose", x->purpose)) < 0 ||
	    (rc = api_tx_trailer(tx, "Api-Cases", count)) < 0)
		return rc;
	return API_OK;
}

int
api_readlog_record(api_store *s, const api_identity *me, const char *program,
    const char *purpose, const api_reads *r, char *out)
{
	struct rec x;
	char (*ids)[API_CASE_ID_LEN + 1] = NULL;
	char ref[64];
	int rc;

	memset(&x, 0, sizeof x);
	if (r->n == 0)
		return api_error_set(API_EINVAL, "a read of no case");
	if (!program_ok(program))
		return api_error_set(API_EINVAL, "'%s' is not a program name",
		    program);
	if ((rc = api_purpose_check(purpose)) < 0)
		return rc;
	if ((ids = malloc(r->n * sizeof *ids)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	memcpy(ids, r->id, r->n * sizeof *ids);
	qsort(ids, r->n, sizeof *ids, cmp_id);
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0)
			continue;
		if ((rc = api_buf_append(&x.cases, ids[i], strlen(ids[i]))) == 0)
			rc = api_buf_append(&x.cases, "\n", 1);
		x.n++;
	}
	if (rc < 0)
		goto out;
	x.program = program;
	x.purpose = purpose;
	x.one = x.n == 1 ? ids[0] : NULL;
	for (int tries = 0; tries < 3; tries++) {
		x.new_year = 0;
		x.year = year_of((int64_t)time(NULL));
		snprintf(ref, sizeof ref, API_READS_REF "%04d", x.year);
		rc = api_store_write_ref(s, me, ref, API_WRITE_EMPTY, build_read,
		    &x, out);
		if (!x.new_year)
			break;
	}
	if (rc < 0)
		rc = api_error_set(rc, "read log %s: %s", ref, api_error_last());
out:
	api_buf_free(&x.cases);
	free(ids);
	return rc;
}

/* ---- the refs ----------------------------------------------------------- */

int
api_readlog_year(const char *ref)
{
	size_t pl = strlen(API_READS_REF);
	const char *y = ref + pl;

	if (strncmp(ref, API_READS_REF, pl) != 0 || strlen(y) != 4 ||
	    strspn(y, "0123456789") != 4 || y[0] == '0')
		return -1;
	return atoi(y);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
api_readlog_refs(api_store *s, char ***refs, size_t *n)
{
	git_reference_iterator *it = NULL;
	const char *name;
	char **v = NULL;
	size_t cap = 0;
	int rc = API_OK, err;

	*refs = NULL;
	*n = 0;
	if (git_reference_iterator_new(&it, api_store_repo(s)) < 0)
		return api_git_fail(API_EIO, "cannot list the refs");
	while ((err = git_reference_next_name(&name, it)) == 0) {
		if (strncmp(name, API_READS_REF, strlen(API_READS_REF)) != 0)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			char **nv = realloc(v, cap * sizeof *nv);
			if (nv == NULL) {
				rc = api_error_set(API_ENOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		if ((v[*n] = strdup(name)) == NULL) {
			rc = api_error_set(API_ENOMEM, "out of memory");
			break;
		}
		(*n)++;
	}
	if (rc == 0 && err != GIT_ITEROVER)
		rc = api_git_fail(API_EIO, "cannot list the refs");
	git_reference_iterator_free(it);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			free(v[i]);
		free(v);
		*n = 0;
		return rc;
	}
	if (*n)
		qsort(v, *n, sizeof *v, cmp_str);
	*refs = v;
	return API_OK;
}

/* A walk of the commits of tip that hide (NULL: none) lacks, oldest
 * first; ref names them in errors. */
static int
walk_new(git_repository *repo, const char *ref, git_revwalk **w,
    const git_oid *tip, const git_oid *hide)
{
	*w = NULL;
	if (git_revwalk_new(w, repo) < 0 ||
	    git_revwalk_sorting(*w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push(*w, tip) < 0 ||
	    (hide && git_revwalk_hide(*w, hide) < 0)) {
		git_revwalk_free(*w);
		*w = NULL;
		return api_git_fail(API_EIO, ref);
	}
	return API_OK;
}

/* The "cases" file of c: 0 and its blob, or 1 and why it is not one. */
static int
cases_file(git_repository *repo, git_commit *c, git_blob **out, char *why,
    size_t cap)
{
	git_tree *t = NULL;
	const git_tree_entry *e;
	int rc = 1;

	*out = NULL;
	if (git_commit_tree(&t, c) < 0)
		return api_git_fail(API_EIO, "cannot read a commit's tree");
	if (git_tree_entrycount(t) != 1 ||
	    (e = git_tree_entry_byname(t, "cases")) == NULL)
		snprintf(why, cap, "the tree holds something else than one file "
		    "'cases'");
	else if (git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB)
		snprintf(why, cap, "'cases' has mode %06o; want a plain file "
		    "(100644)", (unsigned)git_tree_entry_filemode(e));
	else if (git_blob_lookup(out, repo, git_tree_entry_id(e)) < 0)
		rc = api_git_fail(API_EIO, "cannot read 'cases'");
	else
		rc = 0;
	git_tree_free(t);
	return rc;
}

/* Calls fn on each case ID of a "cases" file; the number of IDs, or -1
 * when the file is not sorted, unique, valid IDs one a line. */
static long
cases_each(const char *s, size_t len, int (*fn)(void *, const char *),
    void *ctx)
{
	char id[API_CASE_ID_LEN + 1], prev[API_CASE_ID_LEN + 1] = "";
	long n = 0;

	if (len == 0 || len % (API_CASE_ID_LEN + 1) != 0 ||
	    len / (API_CASE_ID_LEN + 1) > API_READS_MAX)
		return -1;
	for (size_t i = 0; i < len; i += API_CASE_ID_LEN + 1) {
		memcpy(id, s + i, API_CASE_ID_LEN);
		id[API_CASE_ID_LEN] = '\0';
		if (s[i + API_CASE_ID_LEN] != '\n' || !api_case_id_valid(id) ||
		    strcmp(prev, id) >= 0)
			return -1;
		if (fn && fn(ctx, id) != 0)
			return -2;
		memcpy(prev, id, sizeof prev);
		n++;
	}
	return n;
}

/* ---- verifying ------------------------------------------------------------ */

enum rule { R_SIGNATURE, R_SIGNER, R_MERGE, R_YEAR, R_LAYOUT, R_TRAILERS };

static const char *const rule_name[] = {
	"signature", "signer", "merge", "year", "layout", "trailers",
};

struct vctx {
	api_verify_report *r;
	const char *ref;
	int year;
	const api_staff_list *staff;
	size_t cases;
};

static int __attribute__((format(printf, 4, 5)))
violation(struct vctx *x, const git_oid *id, enum rule rule,
    const char *fmt, ...)
{
	va_list ap;

	x->r->ok = 0;
	if (id)
		git_oid_tostr(x->r->commit, sizeof x->r->commit, id);
	else
		snprintf(x->r->commit, sizeof x->r->commit, "-");
	snprintf(x->r->rule, sizeof x->r->rule, "%s", rule_name[rule]);
	va_start(ap, fmt);
	vsnprintf(x->r->message, sizeof x->r->message, fmt, ap);
	va_end(ap);
	return 1;
}

/*
 * The message of a read, exactly: "read: N case(s)", an empty line, and
 * the trailers Api-Action: read, Api-Case (N = 1 only), Api-Program,
 * Api-Purpose, Api-Cases, in that order, each once, nothing else.
 */
static int
check_message(struct vctx *x, const git_oid *id, const char *msg, long n,
    const char *one)
{
	static const char *const keys[] = { "Api-Action", "Api-Case",
	    "Api-Program", "Api-Purpose", "Api-Cases" };
	char want[64], val[API_PURPOSE_MAX + 2];
	const char *p = msg, *eol;
	size_t k = 0;

	snprintf(want, sizeof want, "read: %ld case%s\n\n", n, n == 1 ? "" : "s");
	if (strncmp(p, want, strlen(want)) != 0)
		return violation(x, id, R_TRAILERS, "the message does not begin "
		    "with 'read: %ld case%s' and an empty line", n,
		    n == 1 ? "" : "s");
	for (p += strlen(want); *p; p = eol + 1) {
		size_t kl;
		if ((eol = strchr(p, '\n')) == NULL)
			return violation(x, id, R_TRAILERS, "the message does not "
			    "end with a newline");
		/* the next expected key (Api-Case only for one case) */
		while (k < 5 && k == 1 && n != 1)
			k++;
		if (k == 5)
			return violation(x, id, R_TRAILERS, "unexpected line after "
			    "the trailers");
		kl = strlen(keys[k]);
		if (strncmp(p, keys[k], kl) != 0 || strncmp(p + kl, ": ", 2) != 0)
			return violation(x, id, R_TRAILERS, "want the trailer %s "
			    "here, in the order Api-Action, Api-Case (one case), "
			    "Api-Program, Api-Purpose, Api-Cases", keys[k]);
		size_t vl = (size_t)(eol - p) - kl - 2;
		if (vl >= sizeof val)
			return violation(x, id, R_TRAILERS, "%s: too long", keys[k]);
		memcpy(val, p + kl + 2, vl);
		val[vl] = '\0';
		if (k == 0 && strcmp(val, "read") != 0)
			return violation(x, id, R_TRAILERS, "Api-Action: want read");
		if (k == 1 && strcmp(val, one) != 0)
			return violation(x, id, R_TRAILERS, "Api-Case is not the case "
			    "in 'cases'");
		if (k == 2 && !program_ok(val))
			return violation(x, id, R_TRAILERS, "Api-Program: not a "
			    "program name");
		if (k == 3 && api_purpose_check(val) < 0)
			return violation(x, id, R_TRAILERS, "Api-Purpose: %s",
			    api_error_last());
		if (k == 4) {
			char c[24];
			snprintf(c, sizeof c, "%ld", n);
			if (strcmp(val, c) != 0)
				return violation(x, id, R_TRAILERS, "Api-Cases: %s, "
				    "but 'cases' lists %ld", val, n);
		}
		k++;
	}
	if (k < 5)
		return violation(x, id, R_TRAILERS, "the trailer %s is missing",
		    keys[k]);
	return 0;
}

static int
first_id(void *ctx, const char *id)
{
	memcpy(ctx, id, API_CASE_ID_LEN + 1);
	return 0;
}

/* One commit: 0 when it passes, 1 on a violation, < 0 on an error. */
static int
verify_read(struct vctx *x, git_repository *repo, git_commit *c)
{
	const git_oid *id = git_commit_id(c);
	const git_signature *a = git_commit_author(c), *m = git_commit_committer(c);
	const api_staff *st;
	unsigned char pk[32];
	char why[160], one[API_CASE_ID_LEN + 1] = "";
	git_blob *b = NULL;
	int64_t from, until;
	long i, n;
	int rc;

	if ((rc = api_verify_commit_sig(repo, id, pk)) == API_ESIG)
		return violation(x, id, R_SIGNATURE, "%s", api_error_last());
	if (rc < 0)
		return rc;
	if ((i = api_staff_find_key(x->staff, pk)) < 0)
		return violation(x, id, R_SIGNER, "signed by a key that belongs to "
		    "no member of staff");
	st = &x->staff->v[i];
	/* valid at the time of the read, as ssh-keygen checks it against the
	 * valid-after and valid-before of allowed_signers: both inclusive */
	if (api_time_parse(st->valid_from, &from) < 0 || m->when.time < from)
		return violation(x, id, R_SIGNER, "signed by %s before they were "
		    "staff (%s)", st->handle, st->valid_from);
	if (st->valid_until[0] && (api_time_parse(st->valid_until, &until) < 0 ||
	    m->when.time > until))
		return violation(x, id, R_SIGNER, "signed by %s, retired on %s",
		    st->handle, st->valid_until);
	if (strcmp(a->name, st->handle) != 0 || strcmp(m->name, st->handle) != 0)
		return violation(x, id, R_SIGNER, "signed by %s but author %s, "
		    "committer %s", st->handle, a->name, m->name);
	if (git_commit_parentcount(c) > 1) {
		/* two clones' logs of one year, joined by api-sync: a merge
		 * records no read, and holds nothing */
		git_tree *t = NULL;
		size_t n_ent = 1;
		if (git_commit_tree(&t, c) == 0)
			n_ent = git_tree_entrycount(t);
		git_tree_free(t);
		if (git_commit_parentcount(c) != 2 || n_ent != 0 ||
		    strstr(git_commit_message_raw(c), "\nApi-Action: merge\n") ==
		    NULL)
			return violation(x, id, R_MERGE, "a merge in a read log that "
			    "is not two logs joined (two parents, an empty tree, "
			    "Api-Action: merge)");
		return 0;
	}
	if (year_of(m->when.time) != x->year || year_of(a->when.time) != x->year) {
		char t[32];
		if (api_time_format(t, year_of(m->when.time) != x->year ?
		    m->when.time : a->when.time) < 0)
			snprintf(t, sizeof t, "out of range");
		return violation(x, id, R_YEAR, "dated %s, not in %d", t, x->year);
	}
	if ((rc = cases_file(repo, c, &b, why, sizeof why)) != 0)
		return rc < 0 ? rc : violation(x, id, R_LAYOUT, "%s", why);
	n = cases_each(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b),
	    first_id, one);
	git_blob_free(b);
	if (n < 0)
		return violation(x, id, R_LAYOUT, "'cases' is not case IDs one a "
		    "line, sorted, each once");
	if ((rc = check_message(x, id, git_commit_message_raw(c), n, one)) != 0)
		return rc;
	x->cases += (size_t)n;
	return 0;
}

int
api_readlog_verify_range(api_store *s, const char *ref, int year,
    const git_oid *tip, const git_oid *hide, const api_staff_list *staff,
    api_verify_report *r, size_t *cases)
{
	git_repository *repo = api_store_repo(s);
	git_revwalk *w = NULL;
	git_commit *c = NULL;
	struct vctx x;
	git_oid id;
	int rc, err;

	memset(r, 0, sizeof *r);
	memset(&x, 0, sizeof x);
	r->ok = 1;
	snprintf(r->path, sizeof r->path, "%s", ref);
	x.r = r;
	x.ref = ref;
	x.staff = staff;
	x.year = year;
	if (cases)
		*cases = 0;
	if ((rc = walk_new(repo, ref, &w, tip, hide)) < 0)
		return rc;
	while ((err = git_revwalk_next(&id, w)) == 0) {
		if (git_commit_lookup(&c, repo, &id) < 0) {
			rc = api_git_fail(API_EIO, "cannot read a commit");
			break;
		}
		rc = verify_read(&x, repo, c);
		/* a join of two logs is no read */
		if (rc == 0 && git_commit_parentcount(c) <= 1)
			r->commits++;
		git_commit_free(c);
		if (rc != 0)
			break;
	}
	if (rc == 0 && err != GIT_ITEROVER)
		rc = api_git_fail(API_EIO, ref);
	if (rc > 0)
		rc = 0;
	if (cases)
		*cases = x.cases;
	git_revwalk_free(w);
	return rc;
}

int
api_readlog_verify(api_store *s, const char *ref, api_verify_report *r,
    size_t *cases)
{
	api_staff_list l = { 0 };
	git_oid tip;
	int rc, year;

	memset(r, 0, sizeof *r);
	r->ok = 1;
	snprintf(r->path, sizeof r->path, "%s", ref);
	if (cases)
		*cases = 0;
	if ((rc = git_reference_name_to_id(&tip, api_store_repo(s), ref)) < 0)
		return rc == GIT_ENOTFOUND ? api_error_set(API_ENOTFOUND, "no %s",
		    ref) : api_git_fail(API_EIO, ref);
	if ((year = api_readlog_year(ref)) < 0) {
		struct vctx x = { .r = r, .ref = ref };
		violation(&x, &tip, R_LAYOUT, "not a read log: the name is not "
		    API_READS_REF "YYYY");
		return 0;
	}
	if ((rc = api_store_staff(s, &l)) == 0)
		rc = api_readlog_verify_range(s, ref, year, &tip, NULL, &l, r,
		    cases);
	api_staff_list_free(&l);
	return rc;
}

/* ---- listing ---------------------------------------------------------------- */

/* The value of trailer key in msg into out (cap bytes), else "-". */
static void
trailer(const char *msg, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	snprintf(out, cap, "-");
	for (const char *p = msg; *p; p += strcspn(p, "\n") + (p[strcspn(p,
	    "\n")] != '\0'))
		if (strncmp(p, key, kl) == 0 && p[kl] == ':' && p[kl + 1] == ' ') {
			size_t n = strcspn(p + kl + 2, "\n");
			if (n >= cap)
				n = cap - 1;
			memcpy(out, p + kl + 2, n);
			out[n] = '\0';
			return;
		}
}

struct each {
	api_read_entry e;
	int (*fn)(void *, const api_read_entry *);
	void *ctx;
	int rc;                      /* what fn returned */
};

static int
each_case(void *ctx, const char *id)
{
	struct each *x = ctx;

	snprintf(x->e.case_id, sizeof x->e.case_id, "%s", id);
	return x->rc = x->fn(x->ctx, &x->e);
}

int
api_readlog_each(api_store *s, const char *ref,
    int (*fn)(void *ctx, const api_read_entry *e), void *ctx)
{
	git_repository *repo = api_store_repo(s);
	git_revwalk *w = NULL;
	git_commit *c = NULL;
	git_blob *b = NULL;
	struct each x;
	char why[160];
	git_oid tip, id;
	int rc, err = 0;

	memset(&x, 0, sizeof x);
	x.fn = fn;
	x.ctx = ctx;
	if ((rc = git_reference_name_to_id(&tip, repo, ref)) < 0)
		return rc == GIT_ENOTFOUND ? api_error_set(API_ENOTFOUND, "no %s",
		    ref) : api_git_fail(API_EIO, ref);
	if ((rc = walk_new(repo, ref, &w, &tip, NULL)) < 0)
		return rc;
	while (rc == 0 && x.rc == 0 && (err = git_revwalk_next(&id, w)) == 0) {
		const char *msg;
		long n = -1;
		if (git_commit_lookup(&c, repo, &id) < 0) {
			rc = api_git_fail(API_EIO, "cannot read a commit");
			break;
		}
		if (git_commit_parentcount(c) > 1) {
			/* two logs joined by api-sync: no read */
			git_commit_free(c);
			c = NULL;
			continue;
		}
		msg = git_commit_message_raw(c);
		git_oid_tostr(x.e.commit, sizeof x.e.commit, &id);
		if (api_time_format(x.e.time, git_commit_time(c)) < 0)
			snprintf(x.e.time, sizeof x.e.time, "-");
		snprintf(x.e.handle, sizeof x.e.handle, "%s",
		    git_commit_author(c)->name);
		trailer(msg, "Api-Program", x.e.program, sizeof x.e.program);
		trailer(msg, "Api-Purpose", x.e.purpose, sizeof x.e.purpose);
		/* the cases of the tree; else what the message says */
		if ((rc = cases_file(repo, c, &b, why, sizeof why)) == 0)
			n = cases_each(git_blob_rawcontent(b),
			    (size_t)git_blob_rawsize(b), each_case, &x);
		if (rc > 0)
			rc = 0;
		if (rc == 0 && n == -1) {
			trailer(msg, "Api-Case", x.e.case_id, sizeof x.e.case_id);
			x.rc = fn(ctx, &x.e);
		}
		git_blob_free(b);
		b = NULL;
		git_commit_free(c);
	}
	if (rc == 0 && x.rc != 0)
		rc = x.rc;
	else if (rc == 0 && err != 0 && err != GIT_ITEROVER)
		rc = api_git_fail(API_EIO, ref);
	git_revwalk_free(w);
	return rc;
}
