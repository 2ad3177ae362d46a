/*
 * bench-store - how the costs of the store grow with its size and its
 * history (the second, third and fourth parts of "make bench"):
 *
 *   bench-store [--quick] write DIR
 *   bench-store [--quick] verify DIR API-VERIFY
 *   bench-store [--quick] casework DIR BINDIR
 *   bench-store [--quick] figures DIR BINDIR
 *
 * write: the latency of one signed write (one new file: a note into an
 *     existing case, by a caseworker on its team, built as api-log builds
 *     its note) into a store of 100,000 files over the same into a store
 *     of 1,000; median and 90th percentile of 41 writes into each, the
 *     stores taking turns.  Each write opens the store afresh, as each run
 *     of a program does.  Measured on the stores in DIR, and on copies in
 *     memory (a tmpfs), because on disk the cost of creating the files of
 *     new objects depends on the file system's state more than on the
 *     store.  Target: the larger store within 1.5 times the smaller.
 * verify: API-VERIFY (the program) over a history of 10,002 signed
 *     commits (a case opened as api-new opens one, then notes and events
 *     logged as api-log logs them), in commits per second, over stock
 *     "git log --show-signature" with the store's allowed_signers on the
 *     same history.  git runs ssh-keygen once per commit, so when the
 *     whole history would take it more than a minute it is timed on the
 *     newest 1,000 commits, and the table says so.  Targets: 50 times git,
 *     and 10,000 commits/s (issue 8).
 * casework: the programs in BINDIR as users run them.  api-log (one note
 *     and its contact event) into a store of 100 notes and one of 200,000
 *     (2,000 cases of 100 notes and about 10 events), 21 runs each, the stores taking turns, on disk
 *     and on tmpfs copies: median and 90th percentile, targets 10 ms and
 *     the larger store within 1.5 times the smaller; against a naive
 *     pipeline of stock tools doing the same (age, git hash-object,
 *     read-tree, update-index, write-tree, commit-tree -S, update-ref), 7
 *     runs on each store on disk, target 30 times slower than api-log.
 *     Then api-status --due over the 2,000 cases, as the service identity
 *     and as a lead, first with the store's files dropped from the page
 *     cache, then again, and the listing: events read per second over
 *     what X25519 alone allows (measured in the same run); no target yet.
 *     main is rewound and the runs' loose objects removed afterwards.
 * figures: the rest of issue 8's figures, one table, by the programs in
 *     BINDIR on stores kept in DIR (the casework ones, and cases-20x50,
 *     1/100 of the large one; cases-1x1000, one case of 1,000 notes;
 *     cases-100x100, 100 cases).  api-status --due over every case of the
 *     large store and of 1/100, as the service identity and as a lead:
 *     cold (an empty state cache, $XDG_CACHE_HOME a directory of the run,
 *     and the store's files dropped from the page cache), targets 1 s and
 *     2 times X25519 alone on one core for what it must open (measured in
 *     the same run); then warm, the median of further runs, target 50 ms,
 *     against api-status --help (process start and libgit2 init).
 *     api-show of the case of 1,000 notes and of one of 10, median,
 *     target 100 ms.  api-log into a case at random of the status stores
 *     (full size and 1/100), 21 runs each, and the naive pipeline of part
 *     4 on the same stores, 7 runs: targets 10 ms, 30 times the naive,
 *     and full size within 1.5 times 1/100.  api-search --identity LEAD -l over the 100 cases
 *     and over one, a pattern in no note, against a naive pipeline (per
 *     note git cat-file, age -d with the case keys from key.age, grep -q)
 *     timed on 4 cases and scaled, and against X25519 alone for what it
 *     must open (target: that limit over ours >= 0.5).  api-export --stats
 *     as the service identity over every case of the large store, median
 *     of 3, against X25519 alone as status (target >= 0.5).
 *     The peak resident memory (ru_maxrss)
 *     of every program run here, api-clone and api-sync (one note pushed
 *     to a copy of the large store) too, target 64 MiB; programs are
 *     forked by a helper forked at start, so that the tool's own pages do
 *     not count.  git gc on copies of the large store and of 1/100: all
 *     their files over the blobs of notes/ and events/ on main, target
 *     1.3.  api-verify over the history of "verify", target 10,000
 *     commits/s.  The stores are rewound and pruned afterwards; scratch
 *     (copies, clone, cache, the naive search's keys) in DIR/figures.tmp,
 *     removed.
 *
 * Stores are made through the library (api_store_create, an init commit
 * as api-init makes it, a caseworker added as api-staff adds one), in the
 * layout of cases/S/H/<case>/ (team, recipient, notes/ and events/ of
 * real age files; for write and verify the case keys are not kept, since
 * nothing there reads a note; the casework stores also have a lead and
 * service staff, and their key envelopes on refs/api/keys).  Their objects are written as one pack, as git clone or git gc
 * leave a store.  They are kept in DIR with the identities that signed
 * them: a store is used again when its marker DIR/NAME.ready names a
 * commit whose staff are those identities and api_verify_history accepts
 * it (the layout rules may have changed since; casework stores must also
 * be readable by this build), and main is reset to that commit first, so
 * that every run measures the same store.  --quick uses smaller stores, a
 * shorter history and fewer runs (for trying the tool, not for figures).
 *
 * A benchmark, not a test: a missed target is reported in the table, not
 * by the exit status.  Exit 0 when measured, 1 if anything fails (also
 * when git or API-VERIFY do not accept the history, or a program in
 * BINDIR fails on a casework store), 2 on usage.
 * Not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <sodium.h>

#include "api.h"

#define WRITE_TARGET 1.5
#define VERIFY_TARGET 50.0
#define VERIFY_RATE 10000.0      /* commits/s, issue 8 */
#define FILES_PER_CASE 10        /* team, recipient, 4 notes, 4 events */
#define FILL_CASES 1000          /* cases per commit while filling */
#define NEW_CASE_EVERY 10        /* history: every 10th write opens a case */
#define GIT_MAX_SECONDS 60.0     /* longer: git gets a prefix */
#define GIT_CALIBRATE 200        /* commits git is first timed on */
#define TMPFS_MAGIC 0x01021994
#define CW_SMALL_CASES 10        /* casework: the small store, 100 notes */
#define CW_SMALL_NOTES 10
#define CW_NOTES 100             /* notes a case in the large store */
#define CW_EVENTS 10             /* and about this many events (issue 8's
                                  * default store: 2,000 x 100 x 10) */
#define CW_WARMUP 2              /* api-log runs a store before timing */
#define CW_TARGET_MS 10.0        /* api-log median */
#define CW_NAIVE_TARGET 30.0     /* naive pipeline over api-log */

struct config {
	size_t small, large;     /* files under cases/, write */
	int samples, warmup;     /* writes per store, write */
	size_t writes;           /* commits after init and staff, verify */
	size_t git_prefix;       /* commits git gets when the whole is too long */
	int reps;                /* API-VERIFY runs, best of */
	size_t cw_cases;         /* cases of CW_NOTES notes, casework */
	int cw_runs, cw_naive;   /* api-log runs, naive runs a store, casework */
	int fg_runs;             /* timed runs of a warm figure, figures */
};

static const struct config full = { 1000, 100000, 41, 3, 10000, 1000, 3,
	2000, 21, 7, 7 };
static const struct config quick = { 1000, 10000, 21, 2, 1000, 200, 3,
	200, 11, 3, 3 };

/* the admin and the caseworker; in the casework stores also a lead and
 * service staff (the cron identity of api-remind) */
static const api_identity *adm, *cw, *lead, *svc;
static char memdir[64];                 /* on a tmpfs, removed at exit; or "" */

static void
usage(void)
{
	fprintf(stderr, "usage: bench-store [--quick] write DIR\n"
	    "       bench-store [--quick] verify DIR API-VERIFY\n"
	    "       bench-store [--quick] casework DIR BINDIR\n"
	    "       bench-store [--quick] figures DIR BINDIR\n");
	exit(2);
}

static void
fail(const char *what)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, api_error_last());
	exit(1);
}

static void
failx(const char *what)
{
	fprintf(stderr, "bench-store: %s\n", what);
	exit(1);
}

static void
gitfail(const char *what)
{
	const git_error *e = git_error_last();

	fprintf(stderr, "bench-store: %s: %s\n", what, e && e->message ?
	    e->message : "git error");
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "bench-store: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n with thousands separators, for the tables: "100,000". */
static const char *
grp(char out[32], size_t n)
{
	char d[32];
	size_t len, i, o = 0;

	len = (size_t)snprintf(d, sizeof d, "%zu", n);
	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = d[i];
	}
	out[o] = '\0';
	return out;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
memdir_remove(void)
{
	if (memdir[0])
		nftw(memdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A private directory on /dev/shm when that is a tmpfs; else none. */
static void
memdir_make(void)
{
	struct statfs fs;

	if (statfs("/dev/shm", &fs) != 0 ||
	    (unsigned long)fs.f_type != TMPFS_MAGIC)
		return;
	snprintf(memdir, sizeof memdir, "/dev/shm/bench-store.XXXXXX");
	if (mkdtemp(memdir) == NULL) {
		memdir[0] = '\0';
		return;
	}
	atexit(memdir_remove);
}

static const char *copy_from, *copy_to;

static int
copy_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char to[PATH_MAX];
	api_buf b = { 0 };
	int rc;

	(void)ftw;
	snprintf(to, sizeof to, "%s%s", copy_to, path + strlen(copy_from));
	if (flag == FTW_D)
		return mkdir(to, st->st_mode & 0777) != 0;
	if (flag != FTW_F)
		return 1;
	rc = api_file_read(path, &b, (size_t)1 << 30) < 0 ||
	    api_file_write(to, b.ptr, b.len, st->st_mode & 0777, 1) < 0;
	api_buf_free(&b);
	return rc;
}

/* Copies the directory tree from (a store) to the absent to. */
static void
copy_tree(const char *from, const char *to)
{
	copy_from = from;
	copy_to = to;
	if (nftw(from, copy_entry, 16, FTW_PHYS) != 0) {
		fprintf(stderr, "bench-store: cannot copy %s to %s: %s\n", from, to,
		    api_error_last());
		exit(1);
	}
}

/* ---- identities and stores kept in DIR ------------------------------- */

static const api_identity *
identity(const char *dir, const char *handle)
{
	api_identity *id;
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s.identity", dir, handle);
	if (access(path, F_OK) == 0) {
		if (api_identity_load(&id, path, NULL, NULL) < 0)
			fail(path);
		return id;
	}
	if (api_identity_generate(&id, handle) < 0 ||
	    api_identity_save(id, path, NULL, NULL, 0) < 0)
		fail(path);
	return id;
}

/* A case being made: its ID, directory and key (the secret is dropped). */
struct newcase {
	char id[API_CASE_ID_LEN + 1];
	char dir[32];
	unsigned char pk[1][32];
};

static void
case_make(struct newcase *c)
{
	unsigned char sk[32];

	api_case_id_new(c->id);
	api_case_dir(c->dir, c->id);
	if (api_age_keypair(c->pk[0], sk) < 0)
		fail("api_age_keypair");
	sodium_memzero(sk, sizeof sk);
}

/* A record's text, as the casework programs write them. */
static void
record(api_buf *out, const char *id, const char *field, const char *obj,
    const char *type, int64_t t, int body)
{
	static const char text[] = "Contact as agreed; next steps discussed "
	    "and written down for the team.  Follow-up in two weeks, by phone "
	    "first, then in person at the office.\n";
	char date[11];

	api_date_format(date, (long)(t / 86400));
	out->len = 0;
	if (api_record_field(out, "Case", id) < 0 ||
	    api_record_field(out, field, obj) < 0 ||
	    api_record_field(out, "Author", "cw") < 0 ||
	    api_record_field(out, "Date", date) < 0 ||
	    api_record_field(out, "Type", type) < 0 ||
	    (body && (api_buf_append(out, "\n", 1) < 0 ||
	    api_buf_append(out, text, sizeof text - 1) < 0)))
		fail("record");
}

/* notes/<obj>.md.age or events/<obj>.age of dir: a record to pk. */
static int
put_obj(api_tx *tx, const char *id, const char *dir, int event,
    const unsigned char (*pk)[32], int64_t t, char obj[API_OBJ_ID_LEN + 1])
{
	api_buf b = { 0 };
	char path[128];
	int rc;

	b.secret = 1;
	if ((rc = api_obj_id_new(obj)) < 0)
		return rc;
	record(&b, id, event ? "Event" : "Note", obj, event ? "contact" :
	    "psychosocial", t, !event);
	snprintf(path, sizeof path, event ? "%s/events/%s.age" :
	    "%s/notes/%s.md.age", dir, obj);
	rc = api_tx_put_record(tx, path, &b, pk, 1);
	api_buf_free(&b);
	return rc;
}

/* A new case's team and recipient files. */
static int
put_case(api_tx *tx, const struct newcase *c)
{
	char path[64];
	api_buf b = { 0 };
	int rc;

	snprintf(path, sizeof path, "%s/team", c->dir);
	if ((rc = api_tx_put(tx, path, "cw\n", 3)) < 0)
		return rc;
	/* one key for notes and events: nothing here reads them */
	snprintf(path, sizeof path, "%s/recipient", c->dir);
	if ((rc = api_recipient_format(&b, c->pk[0], c->pk[0])) == 0)
		rc = api_tx_put(tx, path, b.ptr, b.len);
	api_buf_free(&b);
	return rc;
}

static int
init_commit(void *ctx, api_tx *tx)
{
	const char *conf = api_conf_default_text();
	api_staff_list l;
	api_staff m;
	int rc;

	(void)ctx;
	memset(&m, 0, sizeof m);
	memcpy(m.handle, adm->handle, sizeof m.handle);
	memcpy(m.added_by, adm->handle, sizeof m.added_by);
	memcpy(m.role, "admin", 6);
	api_identity_pubid(&m.pub, adm);
	if ((rc = api_time_format(m.valid_from, api_tx_now(tx))) < 0)
		return rc;
	l.v = &m;
	l.n = 1;
	if ((rc = api_tx_put(tx, "api.conf", conf, strlen(conf))) < 0 ||
	    (rc = api_tx_put_staff(tx, &m, &l)) < 0)
		return rc;
	return api_tx_message(tx, "init: store created", "init", NULL, "api.conf");
}

/* A member of staff to add: who, in which role. */
struct member {
	const api_identity *id;
	const char *role;
};

static int
add_member(void *ctx, api_tx *tx)
{
	const struct member *a = ctx;
	api_staff_list l;
	api_staff *v, *m;
	char path[API_HANDLE_MAX + 8];
	int rc;

	if ((rc = api_tx_staff(tx, &l)) < 0)
		return rc;
	if ((v = realloc(l.v, (l.n + 1) * sizeof *v)) == NULL) {
		api_staff_list_free(&l);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	l.v = v;
	m = &l.v[l.n++];
	memset(m, 0, sizeof *m);
	memcpy(m->handle, a->id->handle, sizeof m->handle);
	snprintf(m->role, sizeof m->role, "%s", a->role);
	api_identity_pubid(&m->pub, a->id);
	memcpy(m->added_by, adm->handle, sizeof m->added_by);
	snprintf(path, sizeof path, "staff/%s", m->handle);
	if ((rc = api_time_format(m->valid_from, api_tx_now(tx))) == 0 &&
	    (rc = api_tx_put_staff(tx, m, &l)) == 0)
		rc = api_tx_message(tx, "staff: member added", "staff-add", NULL,
		    path);
	api_staff_list_free(&l);
	return rc;
}

/*
 * Filling: ncases new cases of FILES_PER_CASE files (team, recipient,
 * notes and events in pairs, as api-log writes them) in one commit.
 */
struct fill {
	size_t ncases, done;
};

static int
fill_commit(void *ctx, api_tx *tx)
{
	struct fill *f = ctx;
	struct newcase c;
	char obj[API_OBJ_ID_LEN + 1];
	int rc = API_OK;

	for (size_t i = 0; i < f->ncases && rc == 0; i++) {
		/* records of the last three years */
		int64_t t = api_tx_now(tx) - (int64_t)randombytes_uniform(94608000);
		case_make(&c);
		if ((rc = put_case(tx, &c)) < 0)
			break;
		for (int k = 2; k < FILES_PER_CASE && rc == 0; k++)
			rc = put_obj(tx, c.id, c.dir, k & 1,
			    (const unsigned char (*)[32])c.pk, t + k * 86400, obj);
	}
	if (rc == 0)
		rc = api_tx_message(tx, "import: cases added", "import", NULL, NULL);
	return rc;
}

/*
 * A write into an existing case, as api-log makes it: the case's team and
 * recipient and the signer's role checked on the tip it extends (by
 * api_tx_case), then a note encrypted to the case key, and with event
 * set also its event (to the case key and the leads and service staff).
 */
struct logw {
	const char *id;
	int event;
};

static int
log_commit(void *ctx, api_tx *tx)
{
	struct logw *a = ctx;
	char note[API_OBJ_ID_LEN + 1], ev[API_OBJ_ID_LEN + 1];
	api_case_w w;
	int rc;

	if ((rc = api_tx_case(tx, a->id, cw, &w)) < 0)
		return rc;
	if ((rc = put_obj(tx, a->id, w.dir, 0,
	    (const unsigned char (*)[32])w.note_pk, api_tx_now(tx), note)) == 0 &&
	    (!a->event || (rc = put_obj(tx, a->id, w.dir, 1,
	    (const unsigned char (*)[32])w.event_pk, api_tx_now(tx), ev)) == 0))
		rc = api_tx_message(tx, "log: note added", "log", a->id, note);
	api_case_w_free(&w);
	return rc;
}

/* A new case, as api-new makes it: team, recipient, a note, an event. */
static int
new_commit(void *ctx, api_tx *tx)
{
	struct newcase *c = ctx;
	char note[API_OBJ_ID_LEN + 1], ev[API_OBJ_ID_LEN + 1];
	const unsigned char (*pk)[32] = (const unsigned char (*)[32])c->pk;
	int rc;

	if ((rc = api_tx_require_role(tx, cw, "caseworker lead admin")) < 0 ||
	    (rc = put_case(tx, c)) < 0 ||
	    (rc = put_obj(tx, c->id, c->dir, 0, pk, api_tx_now(tx), note)) < 0 ||
	    (rc = put_obj(tx, c->id, c->dir, 1, pk, api_tx_now(tx), ev)) < 0)
		return rc;
	return api_tx_message(tx, "new: case opened", "new", c->id, note);
}

/* Moves main to id (hex), as it was when the store was made. */
static void
reset_main(api_store *s, const char *hex)
{
	git_reference *ref = NULL;
	git_commit *c = NULL;
	git_oid id;

	if (git_oid_fromstr(&id, hex) < 0 ||
	    git_commit_lookup(&c, api_store_repo(s), &id) < 0 ||
	    git_reference_create(&ref, api_store_repo(s), "refs/heads/main", &id,
	    1, "bench: reset") < 0)
		gitfail(api_store_path(s));
	git_reference_free(ref);
	git_commit_free(c);
}

/* Deletes the read logs of earlier runs (api-show and api-status log
 * their reads): their commits are loose objects, which store_prune
 * removes, so that a log kept would point at nothing. */
static void
drop_reads(api_store *s)
{
	char **refs;
	size_t n;

	if (api_readlog_refs(s, &refs, &n) < 0)
		fail(api_store_path(s));
	for (size_t i = 0; i < n; i++) {
		if (git_reference_remove(api_store_repo(s), refs[i]) < 0)
			gitfail(refs[i]);
		free(refs[i]);
	}
	free(refs);
}

/*
 * 1 when api_verify_history accepts the store at path, so that a store kept
 * from an earlier run still follows the layout and rules of this build;
 * else 0, with why in r.
 */
static int
store_valid(api_store *s, api_verify_report *r)
{
	if (api_verify_history(api_store_repo(s), NULL, r, NULL, NULL) < 0)
		fail(api_store_path(s));
	return r->ok;
}

static int store_readable(api_store *s);

/* 1 when the staff of s hold the identities a store of this kind needs
 * (casework: also the lead and service ones, and the case keys ref). */
static int
store_staffed(api_store *s, int casework)
{
	api_staff_list l = { 0 };
	git_oid keys;
	int ok;

	ok = api_store_staff(s, &l) == 0 &&
	    api_staff_find_key(&l, adm->sign_pk) >= 0 &&
	    api_staff_find_key(&l, cw->sign_pk) >= 0 &&
	    (!casework || (api_staff_find_key(&l, lead->sign_pk) >= 0 &&
	    api_staff_find_key(&l, svc->sign_pk) >= 0 &&
	    git_reference_name_to_id(&keys, api_store_repo(s),
	    API_KEYS_REF) == 0));
	api_staff_list_free(&l);
	return ok;
}

/*
 * The store DIR/NAME kept from an earlier run, with main reset to its
 * marker: 1, or 0 (nothing left of it) when it is absent, not the one
 * these identities made (casework: a store of store_new's casework
 * staff), or no longer valid.
 */
static int
store_reuse(const char *path, int casework)
{
	char marker[PATH_MAX + 8], hex[GIT_OID_HEXSZ + 1];
	api_buf b = { 0 };
	api_store *s = NULL;
	api_verify_report r;
	int ok = 0;

	snprintf(marker, sizeof marker, "%s.ready", path);
	if (api_file_read(marker, &b, 64) == 0 && b.len == GIT_OID_HEXSZ + 1 &&
	    b.ptr[GIT_OID_HEXSZ] == '\n' && api_store_open(&s, path) == 0) {
		git_commit *c = NULL;
		git_oid id;
		memcpy(hex, b.ptr, GIT_OID_HEXSZ);
		hex[GIT_OID_HEXSZ] = '\0';
		if (git_oid_fromstr(&id, hex) == 0 &&
		    git_commit_lookup(&c, api_store_repo(s), &id) == 0) {
			reset_main(s, hex);
			drop_reads(s);
			ok = store_staffed(s, casework) &&
			    (!casework || store_readable(s)) && store_valid(s, &r);
		}
		git_commit_free(c);
	}
	api_store_free(s);
	api_buf_free(&b);
	if (!ok) {
		remove(marker);
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	return ok;
}

/*
 * A new store at path: init by adm, cw added as caseworker (casework:
 * then lead as a lead, svc as service staff, as api-staff adds them).
 * Its objects stay in memory (the repository's odb owns them) until
 * store_pack writes them as one pack: a store as git clone or git gc
 * leave it, made without a file per object.
 */
static api_store *
store_new(const char *path, int casework)
{
	struct member m[3] = { { NULL, "caseworker" }, { NULL, "lead" },
	    { NULL, "service" } };
	git_odb_backend *mem;
	api_store *s;
	git_odb *odb;

	if (api_store_create(&s, path) < 0)
		fail(path);
	if (git_repository_odb(&odb, api_store_repo(s)) < 0 ||
	    git_mempack_new(&mem) < 0 || git_odb_add_backend(odb, mem, 999) < 0)
		gitfail(path);
	git_odb_free(odb);
	m[0].id = cw;
	m[1].id = lead;
	m[2].id = svc;
	if (api_store_write(s, adm, init_commit, NULL, NULL) < 0)
		fail(path);
	for (int i = 0; i < (casework ? 3 : 1); i++)
		if (api_store_write(s, adm, add_member, &m[i], NULL) < 0)
			fail(path);
	return s;
}

/*
 * Writes the objects of the store s at path as one pack (what main and
 * the case keys ref reach: not the envelopes that later root commits of
 * that ref replaced); frees s.
 */
static void
store_pack(api_store *s, const char *path)
{
	git_repository *repo = api_store_repo(s);
	git_packbuilder *pb = NULL;
	git_revwalk *w = NULL;
	char dir[PATH_MAX + 16];
	git_oid keys;
	int has_keys = git_reference_name_to_id(&keys, repo, API_KEYS_REF) == 0;

	snprintf(dir, sizeof dir, "%s/objects/pack", path);
	if (git_packbuilder_new(&pb, repo) < 0)
		gitfail(path);
	/* deltas of the many versions of cases/ are most of the work */
	git_packbuilder_set_threads(pb, 0);
	if (git_revwalk_new(&w, repo) < 0 ||
	    git_revwalk_push_ref(w, "refs/heads/main") < 0 ||
	    (has_keys && git_revwalk_push(w, &keys) < 0) ||
	    git_packbuilder_insert_walk(pb, w) < 0 ||
	    git_packbuilder_write(pb, dir, 0, NULL, NULL) < 0)
		gitfail(path);
	git_revwalk_free(w);
	git_packbuilder_free(pb);
	api_store_free(s);
}

/*
 * Where a store for path is made: in memory when there is a tmpfs, since
 * every write replaces the file of refs/heads/main and some file systems
 * (ext4 without a journal) make each new file slower while many were
 * removed in the last half minute; store_done then copies it to path.
 */
static const char *
store_build_path(char out[PATH_MAX], const char *path)
{
	const char *name = strrchr(path, '/');

	if (memdir[0] == '\0')
		return path;
	snprintf(out, PATH_MAX, "%s/%s.new", memdir, name ? name + 1 : path);
	return out;
}

/*
 * Copies the store made at built to path (unless the same), checks it
 * there, and marks it complete: main's tip is what later runs use.
 */
static void
store_done(const char *built, const char *path)
{
	char marker[PATH_MAX + 8], hex[GIT_OID_HEXSZ + 2];
	api_verify_report r;
	api_store *s;
	git_oid id;

	if (strcmp(built, path) != 0) {
		copy_tree(built, path);
		nftw(built, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	if (api_store_open(&s, path) < 0)
		fail(path);
	if (!store_valid(s, &r)) {
		fprintf(stderr, "bench-store: %s does not verify: %s %s %s: %s\n",
		    path, r.commit, r.rule, r.path, r.message);
		exit(1);
	}
	if (git_reference_name_to_id(&id, api_store_repo(s), "refs/heads/main") < 0)
		gitfail(path);
	git_oid_tostr(hex, sizeof hex, &id);
	hex[GIT_OID_HEXSZ] = '\n';
	snprintf(marker, sizeof marker, "%s.ready", path);
	if (api_file_write(marker, hex, GIT_OID_HEXSZ + 1, 0644, 0) < 0)
		fail(marker);
	api_store_free(s);
}

/* ---- write: latency of one signed write ------------------------------ */

struct idlist {
	char **v;
	size_t n, cap;
};

static int
add_id(void *ctx, const char *id)
{
	struct idlist *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		if ((l->v = realloc(l->v, l->cap * sizeof *l->v)) == NULL)
			failx("out of memory");
	}
	l->v[l->n] = xmalloc(API_CASE_ID_LEN + 1);
	snprintf(l->v[l->n++], API_CASE_ID_LEN + 1, "%s", id);
	return 0;
}

/* Every case ID of main, for choosing where notes go. */
static char **
list_cases(const char *path, size_t *n)
{
	struct idlist l = { 0 };
	api_store *s;

	if (api_store_open(&s, path) < 0 || api_cases_each(s, add_id, &l) < 0)
		fail(path);
	api_store_free(s);
	*n = l.n;
	return l.v;
}

/* The store DIR/files-N of N files under cases/, made once. */
static void
files_store(char path[PATH_MAX], const char *dir, size_t nfiles)
{
	struct fill f = { 0, 0 };
	api_store *s;
	size_t ncases = nfiles / FILES_PER_CASE;
	char g[32], tmp[PATH_MAX];
	const char *built;
	double t0;

	snprintf(path, PATH_MAX, "%s/files-%zu", dir, nfiles);
	if (store_reuse(path, 0))
		return;
	fprintf(stderr, "bench-store: making a store of %s files in %s "
	    "(once) ...\n", grp(g, nfiles), path);
	t0 = now();
	built = store_build_path(tmp, path);
	s = store_new(built, 0);
	/* a few large commits: the history is not what is measured here */
	for (f.done = 0; f.done < ncases; f.done += f.ncases) {
		f.ncases = ncases - f.done < FILL_CASES ? ncases - f.done :
		    FILL_CASES;
		if (api_store_write(s, cw, fill_commit, &f, NULL) < 0)
			fail(built);
	}
	store_pack(s, built);
	store_done(built, path);
	fprintf(stderr, "bench-store: made in %.0f s\n", now() - t0);
}

/* One sample: open, one note (encrypted in the write), close. */
static double
write_once(const char *path, const char *id)
{
	struct logw a = { id, 0 };
	api_store *s;
	double t0, t;

	t0 = now();
	if (api_store_open(&s, path) < 0 ||
	    api_store_write(s, cw, log_commit, &a, NULL) < 0)
		fail(path);
	api_store_free(s);
	t = now() - t0;
	return t;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The value at quantile q of v (sorted here), by nearest rank. */
static double
quantile(double *v, size_t n, double q)
{
	size_t r = (size_t)(q * (double)n + 0.999999);

	qsort(v, n, sizeof *v, cmp_double);
	return v[r ? r - 1 : 0];
}

static void
row_ms(const char *figure, double ours, double limit, int target)
{
	char a[32], b[32];
	double ratio = ours / limit;

	snprintf(a, sizeof a, "%.2f ms", ours * 1e3);
	snprintf(b, sizeof b, "%.2f ms", limit * 1e3);
	if (target)
		printf("%-24s %-18s %-20s %6.2f  <= %.2f  %s\n", figure, a, b,
		    ratio, WRITE_TARGET, ratio <= WRITE_TARGET ? "met" : "NOT met");
	else
		printf("%-24s %-18s %-20s %6.2f  %-7s  %s\n", figure, a, b, ratio,
		    "-", "-");
}

/* A store written to: where, its cases, the latency of each write. */
struct wstore {
	char path[PATH_MAX];
	char **cases;
	size_t ncases;
	double *t;
};

static int
bench_write(const struct config *cf, const char *dir)
{
	struct wstore w[4];
	char g1[32], g2[32];
	size_t nw = 2, k;
	int i, n = cf->samples;

	memset(w, 0, sizeof w);
	/* on disk: w[0] small, w[1] large; in memory: w[2], w[3] */
	files_store(w[0].path, dir, cf->small);
	files_store(w[1].path, dir, cf->large);
	if (memdir[0]) {
		for (k = 0; k < 2; k++) {
			const char *name = strrchr(w[k].path, '/');
			snprintf(w[k + 2].path, sizeof w[k + 2].path, "%s%s", memdir,
			    name ? name : "/store");
			copy_tree(w[k].path, w[k + 2].path);
		}
		nw = 4;
	}
	for (k = 0; k < nw; k++) {
		w[k].cases = list_cases(w[k].path, &w[k].ncases);
		if (w[k].ncases == 0)
			failx("a store without cases");
		w[k].t = xmalloc((size_t)n * sizeof *w[k].t);
	}
	/* the stores take turns, each first as often, so that a change of
	 * clock speed or a busy moment hits them all alike */
	for (i = -cf->warmup; i < n; i++)
		for (size_t j = 0; j < nw; j++) {
			struct wstore *x = &w[((size_t)(i + cf->warmup) + j) % nw];
			double t = write_once(x->path,
			    x->cases[randombytes_uniform((uint32_t)x->ncases)]);
			if (i >= 0)
				x->t[i] = t;
		}

	{
		int maj, min, rev;
		static const char *const fig[2][2] = {
			{ "write on disk, median", "write on disk, p90" },
			{ "write in memory, median", "write in memory, p90" },
		};
		git_libgit2_version(&maj, &min, &rev);
		printf("store write (libgit2 %d.%d.%d): one new note per signed "
		    "write, %d writes into each store\n", maj, min, rev, n);
		printf("%-24s %-18s %-20s %6s  %-7s  %s\n", "figure", "ours",
		    "limit", "ratio", "target", "result");
		for (k = 0; k < nw; k += 2) {
			double ms = quantile(w[k].t, (size_t)n, 0.5);
			double ml = quantile(w[k + 1].t, (size_t)n, 0.5);
			double ps = quantile(w[k].t, (size_t)n, 0.9);
			double pl = quantile(w[k + 1].t, (size_t)n, 0.9);
			row_ms(fig[k / 2][0], ml, ms, 1);
			row_ms(fig[k / 2][1], pl, ps, 0);
		}
		printf("ours: store of %s files; limit: store of %s files (%d a "
		    "case, packed);\neach write opens the store afresh, as a "
		    "program run does; on disk: %s,\n%s\n", grp(g1, cf->large),
		    grp(g2, cf->small), FILES_PER_CASE, dir, nw == 4 ?
		    "in memory: copies on a tmpfs (/dev/shm)" :
		    "in memory: not measured (/dev/shm is not a tmpfs)");
	}

	for (k = 0; k < nw; k++) {
		for (size_t j = 0; j < w[k].ncases; j++)
			free(w[k].cases[j]);
		free(w[k].cases);
		free(w[k].t);
	}
	return 0;
}

/* ---- verify: API-VERIFY over git log --show-signature ------------------ */

/*
 * The store DIR/history-N: N signed writes after init and staff, as the
 * casework programs make them: every NEW_CASE_EVERY-th opens a case, the
 * others log a note and its event into a case opened before.
 */
static void
history_store(char path[PATH_MAX], const char *dir, size_t writes)
{
	api_store *s;
	struct newcase c;
	struct logw a = { NULL, 1 };
	char (*ids)[API_CASE_ID_LEN + 1], g[32], tmp[PATH_MAX];
	const char *built;
	size_t nids = 0;
	double t0;

	snprintf(path, PATH_MAX, "%s/history-%zu", dir, writes);
	if (store_reuse(path, 0))
		return;
	fprintf(stderr, "bench-store: making a history of %s signed commits in "
	    "%s (once) ...\n", grp(g, writes + 2), path);
	t0 = now();
	built = store_build_path(tmp, path);
	s = store_new(built, 0);
	ids = xmalloc((writes / NEW_CASE_EVERY + 1) * sizeof *ids);
	for (size_t i = 0; i < writes; i++) {
		if (i % NEW_CASE_EVERY == 0) {
			case_make(&c);
			memcpy(ids[nids++], c.id, sizeof c.id);
			if (api_store_write(s, cw, new_commit, &c, NULL) < 0)
				fail(built);
		} else {
			a.id = ids[randombytes_uniform((uint32_t)nids)];
			if (api_store_write(s, cw, log_commit, &a, NULL) < 0)
				fail(built);
		}
	}
	store_pack(s, built);
	store_done(built, path);
	free(ids);
	fprintf(stderr, "bench-store: made in %.0f s\n", now() - t0);
}

/* ---- running programs ---------------------------------------------------- */

/* The peak resident memory of the last program run() ran, in KiB. */
static long last_rss_kb;

/* In a new child: its output to fd, stock git settings, then argv. */
static void __attribute__((noreturn))
child_exec(char *const argv[], int fd)
{
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	/* stock git as an auditor has it: no system or user settings */
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("LC_ALL", "C", 1);
	execvp(argv[0], argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * The spawner.  A program's peak resident memory (ru_maxrss) counts the
 * pages of the process it was forked from, up to its exec: a fork of this
 * tool, grown by the stores it has walked, lends every program its own
 * 30 MiB or so.  So the programs are forked by a helper that main forks
 * first, while the tool is small: run() sends it argv, the environment
 * and the write end of the output pipe; it forks, execs and waits, and
 * answers with the exit status and the program's ru_maxrss.
 */
extern char **environ;
static int spawn_fd = -1;

struct spawn_req {
	uint32_t nargv, nenv, len;   /* strings, then their bytes (NUL-ended) */
};

struct spawn_rep {
	int32_t status;              /* exit status, -1 killed or not run */
	int64_t maxrss;              /* KiB */
};

static int
xwrite(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
xread(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t k = read(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The helper: serves requests on sock until the tool is gone. */
static void __attribute__((noreturn))
spawner(int sock)
{
	for (;;) {
		struct spawn_req q;
		struct spawn_rep r;
		struct rusage ru;
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &q, sizeof q };
		struct msghdr m = { 0 };
		struct cmsghdr *cm;
		char *buf, **v;
		int fd = -1, st;
		ssize_t k;
		pid_t pid;

		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = ctl;
		m.msg_controllen = sizeof ctl;
		do
			k = recvmsg(sock, &m, 0);
		while (k < 0 && errno == EINTR);
		if (k != (ssize_t)sizeof q)
			_exit(0);
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(cm), sizeof fd);
		if (fd < 0 || (buf = malloc(q.len + 1)) == NULL ||
		    (v = calloc(q.nargv + q.nenv + 2, sizeof *v)) == NULL ||
		    xread(sock, buf, q.len) < 0)
			_exit(1);
		buf[q.len] = '\0';
		for (uint32_t i = 0, o = 0; i < q.nargv + q.nenv; i++) {
			/* argv, NULL, the environment, NULL */
			v[i < q.nargv ? i : i + 1] = buf + o;
			o += (uint32_t)strlen(buf + o) + 1;
		}
		if ((pid = fork()) == 0) {
			close(sock);
			environ = v + q.nargv + 1;
			child_exec(v, fd);
		}
		close(fd);
		r.status = -1;
		r.maxrss = 0;
		if (pid > 0 && wait4(pid, &st, 0, &ru) == pid) {
			r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			r.maxrss = ru.ru_maxrss;
		}
		free(v);
		free(buf);
		if (xwrite(sock, &r, sizeof r) < 0)
			_exit(0);
	}
}

/* Forks the helper; without one, run() forks itself. */
static void
spawner_start(void)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	if ((pid = fork()) == 0) {
		close(sv[0]);
		spawner(sv[1]);
	}
	close(sv[1]);
	if (pid < 0)
		close(sv[0]);
	else
		spawn_fd = sv[0];
}

/* Has the helper start argv with its output to fd (which stays ours). */
static void
spawn_send(char *const argv[], int fd)
{
	struct spawn_req q = { 0, 0, 0 };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &q, sizeof q };
	struct msghdr m = { 0 };
	struct cmsghdr *cm;
	api_buf b = { 0 };

	for (; argv[q.nargv]; q.nargv++)
		if (api_buf_append(&b, argv[q.nargv], strlen(argv[q.nargv]) + 1) < 0)
			fail("spawn");
	for (; environ[q.nenv]; q.nenv++)
		if (api_buf_append(&b, environ[q.nenv], strlen(environ[q.nenv]) +
		    1) < 0)
			fail("spawn");
	q.len = (uint32_t)b.len;
	memset(ctl, 0, sizeof ctl);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl;
	m.msg_controllen = sizeof ctl;
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	if (sendmsg(spawn_fd, &m, 0) != (ssize_t)sizeof q ||
	    xwrite(spawn_fd, b.ptr, b.len) < 0)
		failx("the spawner is gone");
	api_buf_free(&b);
}

/*
 * Runs argv with stdout and stderr into a pipe, and counts the lines that
 * start with want; the whole output is kept in out (for messages).
 * Returns the exit status (-1: killed or not run); its peak resident
 * memory goes to last_rss_kb.
 */
static int
run(char *const argv[], const char *want, size_t *count, api_buf *out)
{
	struct spawn_rep r;
	struct rusage ru;
	int fd[2], st;
	pid_t pid = -1;
	FILE *f;
	char *line = NULL;
	size_t cap = 0, wl = strlen(want);
	ssize_t len;

	*count = 0;
	out->len = 0;
	if (pipe(fd) != 0)
		failx("pipe failed");
	fflush(NULL);
	if (spawn_fd >= 0)
		spawn_send(argv, fd[1]);
	else if ((pid = fork()) < 0)
		failx("fork failed");
	else if (pid == 0) {
		close(fd[0]);
		child_exec(argv, fd[1]);
	}
	close(fd[1]);
	if ((f = fdopen(fd[0], "r")) == NULL)
		failx("fdopen failed");
	while ((len = getline(&line, &cap, f)) > 0) {
		if ((size_t)len >= wl && memcmp(line, want, wl) == 0)
			(*count)++;
		if (out->len < 4096 && api_buf_append(out, line, (size_t)len) < 0)
			fail("output");
	}
	free(line);
	fclose(f);
	if (spawn_fd >= 0) {
		if (xread(spawn_fd, &r, sizeof r) < 0)
			failx("the spawner is gone");
		st = r.status;
		last_rss_kb = (long)r.maxrss;
	} else {
		if (wait4(pid, &st, 0, &ru) < 0)
			failx("wait4 failed");
		last_rss_kb = ru.ru_maxrss;
		st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	if (api_buf_append(out, "", 1) < 0)
		fail("output");
	return st;
}

/* Seconds git log --show-signature takes over the newest n commits. */
static double
git_log(const char *path, const char *signers, size_t n, size_t total)
{
	char opt[PATH_MAX + 64], num[32];
	char *argv[] = { "git", "-C", (char *)path, "-c", opt, "log",
	    "--show-signature", "-n", num, "main", NULL };
	api_buf out = { 0 };
	size_t good;
	double t0, t;
	int st;

	snprintf(opt, sizeof opt, "gpg.ssh.allowedSignersFile=%s", signers);
	snprintf(num, sizeof num, "%zu", n < total ? n : total);
	t0 = now();
	st = run(argv, "Good \"git\" signature for ", &good, &out);
	t = now() - t0;
	if (st != 0 || good != (n < total ? n : total)) {
		fprintf(stderr, "bench-store: git log --show-signature: exit %d, "
		    "%zu good signatures of %s; output begins:\n%.1000s\n", st,
		    good, num, (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
	return t;
}

/* Seconds API-VERIFY takes over the whole history, which it must accept. */
static double
api_verify(const char *prog, const char *path, size_t total)
{
	char want[64];
	char *argv[] = { (char *)prog, "-C", (char *)path, NULL };
	api_buf out = { 0 };
	size_t good;
	double t0, t;
	int st;

	snprintf(want, sizeof want, "ok: %zu commits verified\n", total);
	t0 = now();
	st = run(argv, want, &good, &out);
	t = now() - t0;
	if (st != 0 || good != 1) {
		fprintf(stderr, "bench-store: %s: exit %d; output begins:\n%.1000s\n",
		    prog, st, (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
	return t;
}

static int
bench_verify(const struct config *cf, const char *dir, const char *prog)
{
	char path[PATH_MAX], signers[PATH_MAX + 32], abs[PATH_MAX];
	char g1[32], g2[32];
	api_store *s;
	api_buf b = { 0 };
	size_t total = cf->writes + 2, ngit;
	double tours = 0, tgit, tcal;

	history_store(path, dir, cf->writes);
	/* git wants the allowed signers file by an absolute path */
	if (api_store_open(&s, path) < 0 ||
	    api_store_read(s, "allowed_signers", &b) < 0)
		fail(path);
	api_store_free(s);
	snprintf(signers, sizeof signers, "%s.allowed_signers", path);
	if (api_file_write(signers, b.ptr, b.len, 0644, 0) < 0)
		fail(signers);
	api_buf_free(&b);
	if (realpath(signers, abs) == NULL)
		failx("realpath failed");

	for (int r = 0; r < cf->reps; r++) {
		double t = api_verify(prog, path, total);
		if (tours == 0 || t < tours)
			tours = t;
	}
	/* git spends a process per commit: time a few first, then decide */
	tcal = git_log(path, abs, GIT_CALIBRATE, total);
	ngit = total;
	if (tcal / (double)(GIT_CALIBRATE < total ? GIT_CALIBRATE : total) *
	    (double)total > GIT_MAX_SECONDS)
		ngit = cf->git_prefix < total ? cf->git_prefix : total;
	tgit = git_log(path, abs, ngit, total);

	{
		int maj, min, rev;
		double ours = (double)total / tours, limit = (double)ngit / tgit;
		double ratio = ours / limit;
		char a[32], l[32];
		git_libgit2_version(&maj, &min, &rev);
		printf("api-verify (libgit2 %d.%d.%d, %ld CPUs): a history of %s "
		    "signed commits, ours best of %d\n", maj, min, rev,
		    sysconf(_SC_NPROCESSORS_ONLN), grp(g1, total), cf->reps);
		printf("%-24s %-18s %-20s %6s  %-7s  %s\n", "figure", "ours",
		    "limit", "ratio", "target", "result");
		snprintf(a, sizeof a, "%.0f commits/s", ours);
		snprintf(l, sizeof l, "%.0f commits/s", limit);
		printf("%-24s %-18s %-20s %6.1f  >= %.0f    %s\n", "verify history",
		    a, l, ratio, VERIFY_TARGET, ratio >= VERIFY_TARGET ? "met" :
		    "NOT met");
		printf("%-24s %-18s %-20s %6s  %-7s  %s\n", "verify, commits/s", a,
		    "-", "-", ">=10000", ours >= VERIFY_RATE ? "met" : "NOT met");
		printf("ours: %s, whole history; limit: git log --show-signature "
		    "with allowed_signers,\n", prog);
		if (ngit < total)
			printf("on the newest %s commits only (the whole history "
			    "would take it ~%.0f s)\n", grp(g2, ngit),
			    tgit / (double)ngit * (double)total);
		else
			printf("whole history, once\n");
	}
	return 0;
}

/* ---- casework: api-log and api-status on stores of real cases ---------- */

/*
 * The stores DIR/cases-N (N notes): cases as api-new opens them (the
 * envelopes of the case's notes and events keys on API_KEYS_REF; team,
 * recipient, an intake note, the opened event and the intake contact on
 * main), then
 * notes and their contact events as api-log writes them, the move to
 * active as api-status --set writes it, and every tenth case closed.  The
 * records are dated over the last three years, and so are their IDs (an
 * ID begins with the time it was written), so that api-status finds
 * contacts, appointments and reviews due as in a store in use.  The
 * cases come in commits of CW_BATCH, the envelopes of each batch first,
 * as api-new writes them.
 */
#define CW_BATCH 50              /* cases per commit while filling */
#define CW_CLOSED_EVERY 10       /* every 10th case is closed */
#define CW_YEARS 3               /* cases opened within the last 3 years */
#define CW_TEXT "Met at the office as agreed.  Talked about the week, " \
	"the job centre appointment and the conflict with the landlord; " \
	"agreed to call the housing office together next time."

static const char cw_body[] =
    "## Situation\n\nMet at the office as agreed.  Housing is settled for "
    "now; the job centre appointment went well and a training place is in "
    "view.  Contact with the family is better than in the spring.\n\n"
    "## Work\n\n- talked through the conflict at the workplace and how it "
    "was handled\n- went over the plan for the next month\n- no new "
    "contact with the old group, as far as we know\n\n## Next\n\nCall in "
    "two weeks, then a meeting at the office.\n";

/* A batch of new cases: their IDs, directories and keys. */
struct gcase {
	char id[API_CASE_ID_LEN + 1];
	char dir[32];
	unsigned char pk[2][32];     /* notes key, events key */
};

struct batch {
	struct gcase *c;
	unsigned char *sk;           /* n x (notes, events) secret keys, secret memory */
	size_t first, n;             /* case numbers first .. first + n - 1 */
	size_t notes;                /* notes a case */
	size_t events;               /* events a case, about; 0: a contact
	                              * event for every note */
	const api_staff_list *staff; /* of main */
	api_team team;
	long today;
	size_t nnotes, nevents;      /* written so far */
};

/* A note or event ID written at second t (of the epoch), as api_obj_id_new
 * would have made it then. */
static void
obj_id_at(char out[API_OBJ_ID_LEN + 1], int64_t t, unsigned ms)
{
	static const char lower[] = "0123456789abcdefghjkmnpqrstvwxyz";
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y%m%dT%H%M%S", &tm);
	snprintf(out + 15, 8, ".%03uZ-", ms % 1000);
	for (int i = 21; i < API_OBJ_ID_LEN; i++)
		out[i] = lower[randombytes_uniform(32)];
	out[API_OBJ_ID_LEN] = '\0';
}

/*
 * One record, as the programs write them: the header of key, value pairs
 * (NULL-terminated; an absent value writes nothing, as api_record_field
 * does), an empty line and the body if any, encrypted to pk at path.
 */
static int
put_rec(api_tx *tx, const char *path, const char *const *kv,
    const char *body, const unsigned char (*pk)[32])
{
	api_buf b = { 0 };
	int rc = API_OK;

	b.secret = 1;
	for (size_t i = 0; kv[i] && rc == 0; i += 2)
		rc = api_record_field(&b, kv[i], kv[i + 1]);
	if (rc == 0 && body && (rc = api_buf_append(&b, "\n", 1)) == 0)
		rc = api_buf_append(&b, body, strlen(body));
	if (rc == 0)
		rc = api_tx_put_record(tx, path, &b, pk, 1);
	api_buf_free(&b);
	return rc;
}

/* The envelopes of a batch, on the keys ref (a root commit, as api-new's). */
static int
keys_commit(void *ctx, api_tx *tx)
{
	struct batch *b = ctx;
	int rc = API_OK;

	for (size_t i = 0; i < b->n && rc == 0; i++)
		rc = api_tx_put_envelopes(tx, b->c[i].id, b->sk + 64 * i, 1,
		    b->sk + 64 * i + 32, 1, &b->team, NULL, b->staff);
	if (rc == 0)
		rc = api_tx_message(tx, "keys: case keys written", "case-key", NULL,
		    NULL);
	return rc;
}

/* A note type, about as often as caseworkers use each. */
static const char *
note_type(void)
{
	static const char *const t[20] = { "psychosocial", "psychosocial",
	    "psychosocial", "psychosocial", "psychosocial", "psychosocial",
	    "psychosocial", "psychosocial", "psychosocial", "psychosocial",
	    "ideological", "ideological", "ideological", "network", "network",
	    "network", "assessment", "assessment", "admin", "crisis" };

	return t[randombytes_uniform(20)];
}

/* The records of case number k of the batch, i its index there. */
static int
case_records(struct batch *b, api_tx *tx, size_t i, size_t k)
{
	const struct gcase *c = &b->c[i];
	/* notes to the notes key, events to the events key */
	const unsigned char (*nk)[32] = (const unsigned char (*)[32])c->pk[0];
	const unsigned char (*ek)[32] = (const unsigned char (*)[32])c->pk[1];
	char note[API_OBJ_ID_LEN + 1], ev[API_OBJ_ID_LEN + 1], path[128];
	char date[11], next[11], dur[8];
	long opened, last, span, day;
	int closed = k % CW_CLOSED_EVERY == CW_CLOSED_EVERY - 1;
	/* with b->events: besides opened, the intake contact and the move
	 * to active, a contact event for every few notes and the last */
	size_t every = 1;
	int rc;

	if (b->events > 3 && b->notes > 1)
		every = (b->notes - 1 + b->events - 4) / (b->events - 3);

	/* opened 60 days to CW_YEARS years ago; the last note within the
	 * last 45 days (closed: half-way), so some contacts are overdue */
	opened = b->today - 60 - (long)randombytes_uniform(CW_YEARS * 365 - 60);
	/* a long case (api-show's 1,000 notes): a day for each note at least */
	if (b->notes > 60 && opened > b->today - 60 - (long)b->notes)
		opened = b->today - 60 - (long)b->notes;
	span = b->today - opened;
	last = closed ? opened + span / 2 :
	    b->today - (long)randombytes_uniform(46);
	if (last < opened + (long)b->notes)
		last = opened + (long)b->notes;
	for (size_t j = 0; j < b->notes; j++) {
		/* j at 09:00 plus j minutes on its day (modulo 8 hours, for a
		 * long case, whose notes are on days of their own): IDs sort as
		 * written */
		day = opened + (long)((double)(last - opened) * (double)j /
		    (double)(b->notes > 1 ? b->notes - 1 : 1));
		int64_t t = (int64_t)day * 86400 + 9 * 3600 +
		    (int64_t)(j % 480) * 60;
		const char *type = j == 0 ? "intake" : note_type();
		const char *nx = NULL;
		api_date_format(date, day);
		if (j == b->notes - 1 && !closed) {
			api_date_format(next, last + 7 + (long)randombytes_uniform(21));
			nx = next;
		}
		snprintf(dur, sizeof dur, "%u", 30 + 15 * randombytes_uniform(6));
		obj_id_at(note, t, randombytes_uniform(1000));
		snprintf(path, sizeof path, "%s/notes/%s.md.age", c->dir, note);
		if (j == 0) {
			/* api-new: the intake note, opened, the intake contact */
			const char *kv[] = { "Case", c->id, "Note", note, "Author",
			    cw->handle, "Date", date, "Type", "intake", NULL };
			if ((rc = put_rec(tx, path, kv, cw_body, nk)) < 0)
				return rc;
			obj_id_at(ev, t, 1);
			const char *op[] = { "Case", c->id, "Event", ev, "Author",
			    cw->handle, "Date", date, "Type", "opened", "Phase",
			    "intake", NULL };
			snprintf(path, sizeof path, "%s/events/%s.age", c->dir, ev);
			if ((rc = put_rec(tx, path, op, NULL, ek)) < 0)
				return rc;
			obj_id_at(ev, t, 2);
			const char *ct[] = { "Case", c->id, "Event", ev, "Author",
			    cw->handle, "Date", date, "Type", "contact", "Note", note,
			    "Kind", "intake", NULL };
			snprintf(path, sizeof path, "%s/events/%s.age", c->dir, ev);
			if ((rc = put_rec(tx, path, ct, NULL, ek)) < 0)
				return rc;
			b->nnotes++;
			b->nevents += 2;
			continue;
		}
		if (j == 1) {
			/* api-status --set active, before the second note */
			obj_id_at(ev, t - 60, 0);
			const char *ph[] = { "Case", c->id, "Event", ev, "Author",
			    cw->handle, "Date", date, "Type", "phase", "Phase",
			    "active", "From", "intake", NULL };
			snprintf(path, sizeof path, "%s/events/%s.age", c->dir, ev);
			if ((rc = put_rec(tx, path, ph, NULL, ek)) < 0)
				return rc;
			b->nevents++;
		}
		/* api-log: the note to the notes key, its contact event */
		snprintf(path, sizeof path, "%s/notes/%s.md.age", c->dir, note);
		const char *kv[] = { "Case", c->id, "Note", note, "Author",
		    cw->handle, "Date", date, "Type", type, "Duration", dur,
		    "Next", nx, NULL };
		if ((rc = put_rec(tx, path, kv, cw_body, nk)) < 0)
			return rc;
		b->nnotes++;
		if (j % every != 0 && j != b->notes - 1)
			continue;
		obj_id_at(ev, t, 999);
		const char *ct[] = { "Case", c->id, "Event", ev, "Author",
		    cw->handle, "Date", date, "Type", "contact", "Note", note,
		    "Kind", type, "Next", nx, NULL };
		snprintf(path, sizeof path, "%s/events/%s.age", c->dir, ev);
		if ((rc = put_rec(tx, path, ct, NULL, ek)) < 0)
			return rc;
		b->nevents++;
		if (j == b->notes - 1 && closed) {
			/* api-status --set closed --reason completed */
			obj_id_at(ev, t + 60, 0);
			const char *cl[] = { "Case", c->id, "Event", ev, "Author",
			    cw->handle, "Date", date, "Type", "phase", "Phase",
			    "closed", "From", "active", "Reason", "completed", NULL };
			snprintf(path, sizeof path, "%s/events/%s.age", c->dir, ev);
			if ((rc = put_rec(tx, path, cl, NULL, ek)) < 0)
				return rc;
			b->nevents++;
		}
	}
	return API_OK;
}

/* A batch of cases on main: team, recipient, records. */
static int
cases_commit(void *ctx, api_tx *tx)
{
	struct batch *b = ctx;
	api_buf r = { 0 };
	char path[64];
	int rc = API_OK;

	for (size_t i = 0; i < b->n && rc == 0; i++) {
		snprintf(path, sizeof path, "%s/team", b->c[i].dir);
		if ((rc = api_tx_put(tx, path, "cw\n", 3)) < 0)
			break;
		r.len = 0;
		snprintf(path, sizeof path, "%s/recipient", b->c[i].dir);
		if ((rc = api_recipient_format(&r, b->c[i].pk[0],
		    b->c[i].pk[1])) < 0 ||
		    (rc = api_tx_put(tx, path, r.ptr, r.len)) < 0)
			break;
		rc = case_records(b, tx, i, b->first + i);
	}
	api_buf_free(&r);
	if (rc == 0)
		rc = api_tx_message(tx, "import: cases added", "import", NULL, NULL);
	return rc;
}

static int
first_case(void *ctx, const char *id)
{
	snprintf(ctx, API_CASE_ID_LEN + 1, "%s", id);
	return 1;                    /* stop */
}

/* 1 when reader can read the first note (notes) or event of case c. */
static int
readable(api_case *c, const api_identity *reader, const char *kind)
{
	api_record r = { 0 };
	char **v = NULL;
	size_t n = 0;
	int ok;

	ok = api_case_files(c, kind, &v, &n) == 0 && n > 0 &&
	    api_case_read(c, reader, kind, v[0], &r) == 0;
	if (ok)
		api_record_free(&r);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return ok;
}

/*
 * 1 when this build reads a casework store kept from an earlier run: a
 * note with cw's keys, an event with the service identity's (the layout
 * of the keys may have changed since).
 */
static int
store_readable(api_store *s)
{
	char id[API_CASE_ID_LEN + 1] = "";
	api_case *c = NULL, *d = NULL;
	int ok;

	ok = api_cases_each(s, first_case, id) >= 0 && id[0] &&
	    api_case_load(s, id, &c) == 0 && api_case_load(s, id, &d) == 0 &&
	    readable(c, cw, "notes") && readable(d, svc, "events");
	api_case_free(c);
	api_case_free(d);
	return ok;
}

/* The store DIR/cases-N of ncases cases of notes notes each (N their
 * product; shaped: DIR/cases-CASESxNOTES; with events, about that many
 * events a case: DIR/cases-CASESxNOTESxEVENTS), made once: 1 when made
 * now, 0 when kept from an earlier run. */
static int
cases_store(char path[PATH_MAX], const char *dir, size_t ncases,
    size_t notes, size_t events, int shaped)
{
	api_staff_list l;
	struct batch b;
	api_store *s;
	char g[32], g2[32], tmp[PATH_MAX];
	const char *built;
	double t0;

	if (events)
		snprintf(path, PATH_MAX, "%s/cases-%zux%zux%zu", dir, ncases, notes,
		    events);
	else if (shaped)
		snprintf(path, PATH_MAX, "%s/cases-%zux%zu", dir, ncases, notes);
	else
		snprintf(path, PATH_MAX, "%s/cases-%zu", dir, ncases * notes);
	if (store_reuse(path, 1))
		return 0;
	fprintf(stderr, "bench-store: making a store of %zu cases of %zu notes "
	    "in %s (once) ...\n", ncases, notes, path);
	t0 = now();
	built = store_build_path(tmp, path);
	s = store_new(built, 1);
	memset(&b, 0, sizeof b);
	if (api_store_staff(s, &l) < 0 || api_team_add(&b.team, cw->handle) < 0)
		fail(built);
	b.staff = &l;
	b.notes = notes;
	b.events = events;
	b.today = api_date_today();
	b.c = xmalloc(CW_BATCH * sizeof *b.c);
	if ((b.sk = sodium_malloc(CW_BATCH * 64)) == NULL)
		failx("out of secure memory");
	for (b.first = 0; b.first < ncases; b.first += b.n) {
		b.n = ncases - b.first < CW_BATCH ? ncases - b.first : CW_BATCH;
		for (size_t i = 0; i < b.n; i++) {
			api_case_id_new(b.c[i].id);
			api_case_dir(b.c[i].dir, b.c[i].id);
			if (api_age_keypair(b.c[i].pk[0], b.sk + 64 * i) < 0 ||
			    api_age_keypair(b.c[i].pk[1], b.sk + 64 * i + 32) < 0)
				fail("api_age_keypair");
		}
		/* the keys first: a case on main without its key is unreadable */
		if (api_store_write_ref(s, cw, API_KEYS_REF, API_WRITE_ROOT,
		    keys_commit, &b, NULL) < 0 ||
		    api_store_write(s, cw, cases_commit, &b, NULL) < 0)
			fail(built);
	}
	sodium_free(b.sk);
	free(b.c);
	api_team_free(&b.team);
	api_staff_list_free(&l);
	fprintf(stderr, "bench-store: %s notes, %s events encrypted in %.0f s; "
	    "packing ...\n", grp(g, b.nnotes), grp(g2, b.nevents), now() - t0);
	store_pack(s, built);
	store_done(built, path);
	fprintf(stderr, "bench-store: made in %.0f s\n", now() - t0);
	return 1;
}

/* Appends an SSH wire uint32 (big-endian). */
static void
ssh_u32(api_buf *b, uint32_t v)
{
	unsigned char l[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
	    (unsigned char)(v >> 8), (unsigned char)v };

	if (api_buf_append(b, l, 4) < 0)
		fail("ssh key");
}

/* Appends an SSH wire string: its length, the bytes. */
static void
ssh_str(api_buf *b, const void *p, size_t n)
{
	ssh_u32(b, (uint32_t)n);
	if (api_buf_append(b, p, n) < 0)
		fail("ssh key");
}

/*
 * path: id's signing key as an unencrypted OpenSSH private key file
 * (PROTOCOL.key), so that stock git signs as that member of staff
 * (gpg.format ssh: ssh-keygen -Y sign -f path).
 */
static void
ssh_key_write(const char *path, const api_identity *id)
{
	static const char magic[] = "openssh-key-v1";
	api_buf pub = { 0 }, priv = { 0 }, all = { 0 }, out = { 0 };
	uint32_t check = randombytes_random();
	unsigned char pad;
	char *b64;
	size_t n;

	priv.secret = all.secret = out.secret = 1;
	ssh_str(&pub, "ssh-ed25519", 11);
	ssh_str(&pub, id->sign_pk, 32);
	ssh_u32(&priv, check);
	ssh_u32(&priv, check);
	ssh_str(&priv, "ssh-ed25519", 11);
	ssh_str(&priv, id->sign_pk, 32);
	ssh_str(&priv, id->sign_sk, 64);
	ssh_str(&priv, id->handle, strlen(id->handle));
	for (pad = 1; priv.len % 8; pad++)
		if (api_buf_append(&priv, &pad, 1) < 0)
			fail("ssh key");
	if (api_buf_append(&all, magic, sizeof magic) < 0)
		fail("ssh key");
	ssh_str(&all, "none", 4);
	ssh_str(&all, "none", 4);
	ssh_str(&all, "", 0);
	ssh_u32(&all, 1);
	ssh_str(&all, pub.ptr, pub.len);
	ssh_str(&all, priv.ptr, priv.len);
	n = sodium_base64_ENCODED_LEN(all.len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = sodium_malloc(n)) == NULL)
		failx("out of secure memory");
	sodium_bin2base64(b64, n, all.ptr, all.len, sodium_base64_VARIANT_ORIGINAL);
	if (api_buf_append(&out, "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36) < 0)
		fail("ssh key");
	for (size_t i = 0, len = strlen(b64); i < len; i += 70)
		if (api_buf_append(&out, b64 + i, len - i < 70 ? len - i : 70) < 0 ||
		    api_buf_append(&out, "\n", 1) < 0)
			fail("ssh key");
	if (api_buf_append(&out, "-----END OPENSSH PRIVATE KEY-----\n", 34) < 0 ||
	    api_file_write(path, out.ptr, out.len, 0600, 0) < 0)
		fail(path);
	sodium_free(b64);
	api_buf_free(&pub);
	api_buf_free(&priv);
	api_buf_free(&all);
	api_buf_free(&out);
}

/*
 * The naive peer of api-log: the same note and contact event, written with
 * stock tools as a script would, one process each as a user's shell runs
 * them.  $1 store, $2 case ID, $3 the OpenSSH key of the caseworker, $4
 * the text, $5 a scratch index.  The note goes to the case's notes key,
 * the event to its events key (the two lines of its recipient file).  No
 * check of the team or the signer's role (api-log makes them): the least
 * a script must do to write what api-log writes, as durably (git's
 * core.fsync=committed: its objects and the ref synced, as api-log's).
 */
static const char naive_log[] =
    "set -e\n"
    "export GIT_DIR=\"$1\" GIT_INDEX_FILE=\"$5\"\n"
    "export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsync "
	"GIT_CONFIG_VALUE_0=committed\n"
    "id=$2; rest=${id#?}; s=${id%\"$rest\"}; h=${rest%\"${rest#?}\"}\n"
    "dir=cases/$s/$h/$id\n"
    "rcp=$(git cat-file blob \"main:$dir/recipient\")\n"
    "nl='\n'; nk=${rcp%%\"$nl\"*}; ek=${rcp#*\"$nl\"}\n"
    "day=$(date -u +%Y-%m-%d)\n"
    "oid() { printf '%s-%s' \"$(date -u +%Y%m%dT%H%M%S.%3NZ)\" "
	"\"$(LC_ALL=C tr -dc 0-9a-hjkmnp-tv-z </dev/urandom | head -c 6)\"; }\n"
    "note=$(oid); ev=$(oid)\n"
    "nb=$(printf 'Case: %s\\nNote: %s\\nAuthor: cw\\nDate: %s\\n"
	"Type: psychosocial\\n\\n%s' \"$id\" \"$note\" \"$day\" \"$4\" |\n"
    "    age -r \"$nk\" | git hash-object -w --stdin)\n"
    "eb=$(printf 'Case: %s\\nEvent: %s\\nAuthor: cw\\nDate: %s\\n"
	"Type: contact\\nNote: %s\\nKind: psychosocial\\n' \"$id\" \"$ev\" "
	"\"$day\" \"$note\" |\n"
    "    age -r \"$ek\" | git hash-object -w --stdin)\n"
    "git read-tree main\n"
    "git update-index --add --cacheinfo \"100644,$nb,$dir/notes/$note.md.age\" "
	"--cacheinfo \"100644,$eb,$dir/events/$ev.age\"\n"
    "tree=$(git write-tree)\n"
    "parent=$(git rev-parse main)\n"
    "commit=$(printf 'log: note added\\n\\nApi-Action: log\\nApi-Case: %s\\n"
	"Api-Object: %s\\n' \"$id\" \"$note\" |\n"
    "    git -c gpg.format=ssh -c user.signingkey=\"$3\" -c user.name=cw "
	"-c user.email=cw@api commit-tree -S \"$tree\" -p \"$parent\")\n"
    "git update-ref refs/heads/main \"$commit\" \"$parent\"\n"
    "rm -f \"$GIT_INDEX_FILE\"\n"
    "echo \"$note\"\n";

/* Runs argv, which must print one new note ID and exit 0; its seconds. */
static double
note_run(char *const argv[], const char *what)
{
	api_buf out = { 0 };
	size_t lines;
	double t0, t;
	int st;

	t0 = now();
	st = run(argv, "", &lines, &out);
	t = now() - t0;
	if (st != 0 || lines != 1 || strlen((char *)out.ptr) != API_OBJ_ID_LEN + 1 ||
	    (out.ptr[API_OBJ_ID_LEN] = '\0', !api_obj_id_valid((char *)out.ptr))) {
		fprintf(stderr, "bench-store: %s: exit %d; output begins:\n%.1000s\n",
		    what, st, (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
	return t;
}

/* What a casework run needs of a store and the programs. */
struct cstore {
	char path[PATH_MAX];
	char **cases;
	size_t ncases, nnotes, nevents;
	double *t, *tn;              /* api-log, naive: seconds a run */
};

struct cwenv {
	const char *bin;             /* directory of the programs */
	char log[PATH_MAX], status[PATH_MAX], show[PATH_MAX], verify[PATH_MAX];
	char cwid[PATH_MAX], leadid[PATH_MAX], svcid[PATH_MAX];
	char sshkey[PATH_MAX], index[PATH_MAX];
};

static double
api_log_once(const struct cwenv *e, const struct cstore *x)
{
	char *argv[] = { (char *)e->log, "-C", (char *)x->path, "-i",
	    (char *)e->cwid, x->cases[randombytes_uniform((uint32_t)x->ncases)],
	    "-t", "psychosocial", "-m", CW_TEXT, NULL };

	return note_run(argv, e->log);
}

static double
naive_once(const struct cwenv *e, const struct cstore *x)
{
	char *argv[] = { "sh", "-c", (char *)naive_log, "naive-log",
	    (char *)x->path, x->cases[randombytes_uniform((uint32_t)x->ncases)],
	    (char *)e->sshkey, CW_TEXT, (char *)e->index, NULL };

	return note_run(argv, "the naive pipeline");
}

/* The cases of a store, and how many notes and events they hold. */
struct census {
	api_store *s;
	struct idlist ids;
	size_t notes, events;
};

static int
census_case(void *ctx, const char *id)
{
	static const char *const kind[2] = { "notes", "events" };
	struct census *c = ctx;
	api_case *cs = NULL;
	char **v;
	size_t n;
	int rc;

	if ((rc = add_id(&c->ids, id)) < 0 ||
	    (rc = api_case_load(c->s, id, &cs)) < 0)
		return rc;
	for (int k = 0; k < 2 && rc == 0; k++) {
		if ((rc = api_case_files(cs, kind[k], &v, &n)) < 0)
			break;
		*(k ? &c->events : &c->notes) += n;
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
	}
	api_case_free(cs);
	return rc;
}

static void
cstore_census(struct cstore *x)
{
	struct census c;

	memset(&c, 0, sizeof c);
	if (api_store_open(&c.s, x->path) < 0 ||
	    api_cases_each(c.s, census_case, &c) < 0)
		fail(x->path);
	api_store_free(c.s);
	x->cases = c.ids.v;
	x->ncases = c.ids.n;
	x->nnotes = c.notes;
	x->nevents = c.events;
	if (x->ncases == 0)
		failx("a store without cases");
}

/* ---- casework: api-status --due ---------------------------------------- */

static int
evict_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	int fd;

	(void)st;
	(void)ftw;
	if (flag != FTW_F || (fd = open(path, O_RDONLY)) < 0)
		return 0;
	/* only clean pages can go: write back what a fresh store has dirty */
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return 0;
}

/* Drops the files of the store at path from the page cache (a cold run). */
static void
evict(const char *path)
{
	nftw(path, evict_entry, 16, FTW_PHYS);
}

/* crypto_scalarmult operations a second, best of 3 (as bench-age). */
static double
x25519_rate(void)
{
	enum { N = 2000 };
	static unsigned char pts[N][32];
	unsigned char sk[32], q[32];
	double best = 0;

	randombytes_buf(sk, sizeof sk);
	for (size_t i = 0; i < N; i++) {
		unsigned char e[32];
		randombytes_buf(e, sizeof e);
		crypto_scalarmult_base(pts[i], e);
	}
	for (int r = 0; r < 3; r++) {
		double t0 = now(), t;
		for (size_t i = 0; i < N; i++)
			if (crypto_scalarmult(q, sk, pts[i]) != 0)
				failx("crypto_scalarmult failed");
		t = now() - t0;
		if (best == 0 || t < best)
			best = t;
	}
	sodium_memzero(sk, sizeof sk);
	return N / best;
}

/* Seconds an api-status run takes; its output lines in *lines. */
static double
status_once(const struct cwenv *e, const char *path, const char *ident,
    int due, size_t *lines)
{
	char *argv[] = { (char *)e->status, "-C", (char *)path, "-i",
	    (char *)ident, due ? "--due" : NULL, NULL };
	api_buf out = { 0 };
	double t0, t;
	int st;

	t0 = now();
	st = run(argv, "", lines, &out);
	t = now() - t0;
	if (st != 0) {
		fprintf(stderr, "bench-store: %s: exit %d; output begins:\n%.1000s\n",
		    e->status, st, (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
	return t;
}

/* The position of pk among the n keys of pks, from 1; 0 if absent. */
static size_t
key_pos(const unsigned char (*pks)[32], size_t n, const unsigned char pk[32])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(pks[i], pk, 32) == 0)
			return i + 1;
	return 0;
}

/*
 * The X25519 operations it costs reader, at the least, to open the events
 * of a case of the team of cw: age must try the stanzas of a file in
 * order, one X25519 each, until one is the reader's.  The envelope the
 * reader is in (key.age, else events.age) costs the position of its
 * stanza there; an event, encrypted to the events key alone, one.  (What
 * the programs do is counted against this: a reader that tries an
 * envelope it is not in pays for it.)
 */
static size_t
unlock_cost(const char *path, const api_identity *reader, size_t *per_event)
{
	unsigned char (*key_pks)[32] = NULL, (*ev_pks)[32] = NULL;
	size_t nk, ne, pos;
	api_staff_list l;
	api_team team = { 0 };
	api_store *s;

	if (api_store_open(&s, path) < 0 || api_store_staff(s, &l) < 0 ||
	    api_team_add(&team, cw->handle) < 0 ||
	    api_envelope_recipients(&team, &l, 0, &key_pks, &nk) < 0 ||
	    api_envelope_recipients(&team, &l, 1, &ev_pks, &ne) < 0)
		fail(path);
	*per_event = 1;
	if ((pos = key_pos((const unsigned char (*)[32])key_pks, nk,
	    reader->age_pk)) == 0 &&
	    (pos = key_pos((const unsigned char (*)[32])ev_pks, ne,
	    reader->age_pk)) == 0)
		failx("a reader the events are not encrypted to");
	free(key_pks);
	free(ev_pks);
	api_team_free(&team);
	api_staff_list_free(&l);
	api_store_free(s);
	return pos;
}

/* ---- casework: the part ------------------------------------------------- */

/* main of the store at path back to its marker: the store as made. */
static void
store_rewind(const char *path)
{
	char marker[PATH_MAX + 8], hex[GIT_OID_HEXSZ + 1];
	api_buf b = { 0 };
	api_store *s;

	snprintf(marker, sizeof marker, "%s.ready", path);
	if (api_file_read(marker, &b, 64) < 0 || b.len != GIT_OID_HEXSZ + 1 ||
	    api_store_open(&s, path) < 0)
		fail(marker);
	memcpy(hex, b.ptr, GIT_OID_HEXSZ);
	hex[GIT_OID_HEXSZ] = '\0';
	reset_main(s, hex);
	drop_reads(s);
	api_store_free(s);
	api_buf_free(&b);
}

/* 1 for objects/XX, a directory of loose objects. */
static int
loose_dir(const char *path)
{
	const char *p = strstr(path, "/objects/");

	return p && strlen(p + 9) == 2 && strspn(p + 9, "0123456789abcdef") == 2;
}

static int
prune_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	char parent[PATH_MAX];

	(void)st;
	(void)ftw;
	snprintf(parent, sizeof parent, "%s", path);
	if (flag == FTW_F && strrchr(parent, '/')) {
		*strrchr(parent, '/') = '\0';
		if (loose_dir(parent))
			remove(path);
	} else if (flag == FTW_DP && loose_dir(path))
		remove(path);
	return 0;
}

/*
 * Removes the loose objects of the store at path, rewound to its marker:
 * what the runs wrote, none of which main or the keys ref reach now (the
 * store was made as one pack), so that every run measures the same store.
 */
static void
store_prune(const char *path)
{
	char objects[PATH_MAX + 16];

	if ((size_t)snprintf(objects, sizeof objects, "%s/objects", path) >=
	    sizeof objects)
		failx("path too long");
	nftw(objects, prune_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The programs' checks on a store: api-verify accepts it (when new),
 * api-show shows a case with all its notes. */
static void
cstore_check(const struct cwenv *e, const struct cstore *x, int made)
{
	char *show[] = { (char *)e->show, "-C", (char *)x->path, "-i",
	    (char *)e->cwid, "--no-pager", x->cases[0], NULL };
	char *verify[] = { (char *)e->verify, "-C", (char *)x->path, NULL };
	api_buf out = { 0 };
	size_t n;
	int st;

	if (made && ((st = run(verify, "ok: ", &n, &out)) != 0 || n != 1)) {
		fprintf(stderr, "bench-store: %s does not accept %s: exit %d; "
		    "output begins:\n%.1000s\n", e->verify, x->path, st,
		    (const char *)out.ptr);
		exit(1);
	}
	if ((st = run(show, "ID: ", &n, &out)) != 0 ||
	    n != x->nnotes / x->ncases) {
		fprintf(stderr, "bench-store: %s: exit %d, %zu notes of %zu; "
		    "output begins:\n%.1000s\n", e->show, st, n,
		    x->nnotes / x->ncases, (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
}

/* A row of the api-log table; ratio < 0: none; met < 0: no target. */
static void
cw_row(const char *figure, double ours, double limit, double ratio,
    const char *target, int met)
{
	char a[32], l[32] = "-", r[16] = "-";

	snprintf(a, sizeof a, "%.2f ms", ours * 1e3);
	if (limit > 0)
		snprintf(l, sizeof l, "%.2f ms", limit * 1e3);
	if (ratio >= 0)
		snprintf(r, sizeof r, ratio < 10 ? "%.2f" : "%.1f", ratio);
	printf("%-24s %-18s %-20s %6s  %-7s  %s\n", figure, a, l, r, target,
	    met < 0 ? "-" : met ? "met" : "NOT met");
}

static int
bench_casework(const struct config *cf, const char *dir, const char *bin)
{
	struct cstore w[4];
	struct cwenv e;
	char g1[32], g2[32], g3[32], g4[32], abs[PATH_MAX], fig[64];
	size_t due_svc, due_lead, rows, nw = 2;
	int made[2], n = cf->cw_runs, nn = cf->cw_naive;
	double x1, x2, xr, tsvc[2], tlead[2], tlist;

	memset(w, 0, sizeof w);
	memset(&e, 0, sizeof e);
	e.bin = bin;
	snprintf(e.log, sizeof e.log, "%s/api-log", bin);
	snprintf(e.status, sizeof e.status, "%s/api-status", bin);
	snprintf(e.show, sizeof e.show, "%s/api-show", bin);
	snprintf(e.verify, sizeof e.verify, "%s/api-verify", bin);
	snprintf(e.cwid, sizeof e.cwid, "%s/cw.identity", dir);
	snprintf(e.leadid, sizeof e.leadid, "%s/lead.identity", dir);
	snprintf(e.svcid, sizeof e.svcid, "%s/svc.identity", dir);
	/* git runs ssh-keygen, and wants its index, by absolute paths */
	if (realpath(dir, abs) == NULL)
		failx("realpath failed");
	if ((size_t)snprintf(e.sshkey, sizeof e.sshkey, "%s/cw.ssh", abs) >=
	    sizeof e.sshkey ||
	    (size_t)snprintf(e.index, sizeof e.index, "%s/naive.index", abs) >=
	    sizeof e.index)
		failx("path too long");
	ssh_key_write(e.sshkey, cw);

	made[0] = cases_store(w[0].path, dir, CW_SMALL_CASES, CW_SMALL_NOTES, 0,
	    0);
	made[1] = cases_store(w[1].path, dir, cf->cw_cases, CW_NOTES, CW_EVENTS,
	    0);
	for (int k = 0; k < 2; k++) {
		cstore_census(&w[k]);
		cstore_check(&e, &w[k], made[k]);
	}
	/* in memory: copies on a tmpfs, as part 2 (the file system of DIR
	 * may make new files slow after recent removals, and every write
	 * removes the temporary files of its objects) */
	if (memdir[0]) {
		for (size_t k = 0; k < 2; k++) {
			w[k + 2] = w[k];
			snprintf(w[k + 2].path, sizeof w[k + 2].path, "%s%s", memdir,
			    strrchr(w[k].path, '/'));
			copy_tree(w[k].path, w[k + 2].path);
		}
		nw = 4;
	}
	for (size_t k = 0; k < nw; k++) {
		w[k].t = xmalloc((size_t)n * sizeof *w[k].t);
		w[k].tn = xmalloc((size_t)nn * sizeof *w[k].tn);
	}

	/* the stores take turns, so that a busy moment hits all alike */
	for (int i = -CW_WARMUP; i < n; i++)
		for (size_t k = 0; k < nw; k++) {
			struct cstore *x = &w[((size_t)(i + CW_WARMUP) + k) % nw];
			double t = api_log_once(&e, x);
			if (i >= 0)
				x->t[i] = t;
		}
	/* the naive pipeline on disk, where users have their stores */
	for (int i = -1; i < nn; i++)
		for (int k = 0; k < 2; k++) {
			double t = naive_once(&e, &w[(i + 1 + k) % 2]);
			if (i >= 0)
				w[(i + 1 + k) % 2].tn[i] = t;
		}
	for (int k = 0; k < 2; k++)
		store_rewind(w[k].path);

	/* api-status over the large store, as made: each reader first with
	 * the store out of the page cache, then again */
	x1 = x25519_rate();
	evict(w[1].path);
	tsvc[0] = status_once(&e, w[1].path, e.svcid, 1, &due_svc);
	tsvc[1] = status_once(&e, w[1].path, e.svcid, 1, &due_svc);
	evict(w[1].path);
	tlead[0] = status_once(&e, w[1].path, e.leadid, 1, &due_lead);
	tlead[1] = status_once(&e, w[1].path, e.leadid, 1, &due_lead);
	tlist = status_once(&e, w[1].path, e.leadid, 0, &rows);
	x2 = x25519_rate();
	xr = x1 > x2 ? x1 : x2;
	if (due_svc != due_lead || rows != w[1].ncases) {
		fprintf(stderr, "bench-store: api-status: %zu due for the service, "
		    "%zu for the lead; %zu rows for %zu cases\n", due_svc, due_lead,
		    rows, w[1].ncases);
		return 1;
	}

	{
		int maj, min, rev;
		double m[4], p[4], mn[2];
		static const char *const where[2] = { "disk", "tmpfs" };
		git_libgit2_version(&maj, &min, &rev);
		for (size_t k = 0; k < nw; k++) {
			m[k] = quantile(w[k].t, (size_t)n, 0.5);
			p[k] = quantile(w[k].t, (size_t)n, 0.9);
			if (k < 2)
				mn[k] = quantile(w[k].tn, (size_t)nn, 0.5);
		}
		printf("api-log (libgit2 %d.%d.%d, %ld CPUs): one note and its "
		    "contact event a run, %d runs\ninto each store (process start "
		    "included), the naive pipeline %d\n", maj, min, rev,
		    sysconf(_SC_NPROCESSORS_ONLN), n, nn);
		printf("%-24s %-18s %-20s %6s  %-7s  %s\n", "figure", "ours",
		    "limit", "ratio", "target", "result");
		for (size_t k = 0; k < nw; k += 2) {
			for (size_t j = k; j < k + 2; j++) {
				snprintf(fig, sizeof fig, "%s, %s, median", where[k / 2],
				    grp(g1, w[j].nnotes));
				cw_row(fig, m[j], 0, -1, "<= 10ms",
				    m[j] <= CW_TARGET_MS / 1e3);
				snprintf(fig, sizeof fig, "%s, %s, p90", where[k / 2],
				    grp(g1, w[j].nnotes));
				cw_row(fig, p[j], 0, -1, "-", -1);
			}
			snprintf(fig, sizeof fig, "%s, %s over %s", where[k / 2],
			    grp(g1, w[k + 1].nnotes), grp(g2, w[k].nnotes));
			cw_row(fig, m[k + 1], m[k], m[k + 1] / m[k], "<= 1.50",
			    m[k + 1] / m[k] <= WRITE_TARGET);
		}
		for (int k = 0; k < 2; k++) {
			snprintf(fig, sizeof fig, "naive/ours, %s",
			    grp(g1, w[k].nnotes));
			cw_row(fig, m[k], mn[k], mn[k] / m[k], ">= 30",
			    mn[k] / m[k] >= CW_NAIVE_TARGET);
		}
		printf("ours: %s -C STORE -i cw.identity CASE -t psychosocial -m "
		    "TEXT, a case at random;\nstores of %s cases x %zu notes and "
		    "%s x %zu (%s and %s events; packed); disk: %s,\n%s\n", e.log,
		    grp(g1, w[0].ncases), w[0].nnotes / w[0].ncases,
		    grp(g2, w[1].ncases), w[1].nnotes / w[1].ncases,
		    grp(g3, w[0].nevents), grp(g4, w[1].nevents), dir, nw == 4 ?
		    "tmpfs: copies in /dev/shm" :
		    "tmpfs: not measured (/dev/shm is not a tmpfs)");
		printf("limit: the naive pipeline on disk, median: sh running stock "
		    "age -r, git hash-object -w,\nread-tree, update-index, "
		    "write-tree (a fresh index), commit-tree -S (ssh), update-ref;\n"
		    "ratio: naive over ours on disk (larger is better)\n\n");

		/* X25519 a run: for each event, and unlocking each case */
		double ev = (double)w[1].nevents, nc = (double)w[1].ncases;
		size_t es, el;
		size_t ks = unlock_cost(w[1].path, svc, &es);
		size_t kl = unlock_cost(w[1].path, lead, &el);
		struct { const char *fig; double t; size_t k, e; } r[] = {
			{ "--due, service, cold", tsvc[0], ks, es },
			{ "--due, service, again", tsvc[1], ks, es },
			{ "--due, lead, cold", tlead[0], kl, el },
			{ "--due, lead, again", tlead[1], kl, el },
			{ "listing, lead, again", tlist, kl, el },
		};
		printf("api-status over %s cases (%s events), X25519 %s/s in "
		    "this run\n", grp(g1, w[1].ncases), grp(g2, w[1].nevents),
		    grp(g3, (size_t)xr));
		printf("%-24s %-10s %-16s %-16s %6s\n", "figure", "wall", "ours",
		    "limit", "ratio");
		for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
			char a[32], l[32], wall[16];
			double ours = ev / r[i].t;
			double limit = xr * ev / (ev * (double)r[i].e +
			    nc * (double)r[i].k);
			snprintf(wall, sizeof wall, "%.2f s", r[i].t);
			snprintf(a, sizeof a, "%s files/s", grp(g3, (size_t)ours));
			snprintf(l, sizeof l, "%s files/s", grp(g3, (size_t)limit));
			printf("%-24s %-10s %-16s %-16s %6.2f\n", r[i].fig, wall, a, l,
			    ours / limit);
		}
		printf("ours: %s -C STORE -i IDENTITY --due (listing: without "
		    "--due);\n%zu due, %zu rows; cold: the store's files dropped "
		    "from the page cache first;\nfiles: events read; limit: X25519 "
		    "alone, for the stanzas age must try up to the reader's:\n"
		    "service %zu a case (events.age) and %zu an event, lead %zu a "
		    "case (key.age)\nand %zu an event\n", e.status, due_svc, rows, ks,
		    es, kl, el);
	}

	for (size_t k = 0; k < nw; k++) {
		if (k < 2) {
			store_rewind(w[k].path);
			store_prune(w[k].path);
			for (size_t j = 0; j < w[k].ncases; j++)
				free(w[k].cases[j]);
			free(w[k].cases);
		}
		free(w[k].t);
		free(w[k].tn);
	}
	return 0;
}

/* ---- figures: the rest of issue 8's table ------------------------------- */

#define FG_SHOW_NOTES 1000       /* api-show: a case of 1,000 notes */
#define FG_SEARCH_CASES 100      /* api-search: a store of 100 cases */
#define FG_SEARCH_NOTES 100      /* ... of 100 notes each */
#define FG_X25519_SHARE 0.5      /* search, stats: X25519 limit / ours */
#define FG_NAIVE_CASES 4         /* the naive search: timed on 4, scaled */
#define FG_LOG_RUNS 21           /* api-log runs into each status store */
#define FG_NAIVE_RUNS 7          /* ... and of the naive pipeline */
#define FG_LOG_MAX 0.010         /* api-log: seconds */
#define FG_LOG_NAIVE 30.0        /* ... and 30 times the naive pipeline */
#define FG_LOG_FLAT 1.5          /* ... full size over 1/100 */
#define FG_COLD_SMALL 3          /* cold runs on the 1/100 store */
#define FG_COLD_MAX 1.0          /* api-status --due cold: seconds */
#define FG_COLD_X25519 2.0       /* ... and within 2x of X25519 alone */
#define FG_WARM_MAX 0.050        /* api-status --due warm: seconds */
#define FG_SHOW_MAX 0.100        /* api-show, 1,000 notes: seconds */
#define FG_RSS_MAX_KIB 65536L    /* 64 MiB */
#define FG_GC_MAX 1.3            /* store after git gc over its ciphertext */
#define FG_MISS "Kowalczyk"      /* in no note: every note is read */
#define FG_HIT "training place"  /* in the body of every note */

/*
 * The naive peer of api-search -l: the lead's age key opens each case's
 * key.age on the keys ref (an age identity file: the case keys), then
 * each note goes through git cat-file, age -d and grep -q, one process
 * each, as a script around stock tools would do it.  $1 store, $2 the
 * lead's age identity file, $3 the pattern, $4 a scratch file for the
 * case keys, then the case IDs; prints the IDs of the cases that match.
 */
static const char naive_search[] =
    "set -e\n"
    "export GIT_DIR=\"$1\"\n"
    "key=$2; pat=$3; k=$4; shift 4\n"
    "for id; do\n"
    "  rest=${id#?}; s=${id%\"$rest\"}; h=${rest%\"${rest#?}\"}\n"
    "  dir=cases/$s/$h/$id\n"
    "  git cat-file blob \"refs/api/keys:$dir/key.age\" |\n"
    "      age -d -i \"$key\" >\"$k\"\n"
    "  for n in $(git ls-tree --name-only \"main:$dir/notes/\"); do\n"
    "    if git cat-file blob \"main:$dir/notes/$n\" | age -d -i \"$k\" |\n"
    "        grep -q -E -e \"$pat\"; then echo \"$id\"; break; fi\n"
    "  done\n"
    "done\n"
    "rm -f \"$k\"\n";

/* The programs measured, for their peak resident memory. */
enum { R_LOG, R_COLD, R_WARM, R_SHOW, R_SEARCH, R_STATS, R_VERIFY, R_CLONE,
	R_SYNC, R_N };
static const char *const rss_name[R_N] = { "api-log", "api-status cold",
	"api-status warm", "api-show", "api-search", "api-export --stats",
	"api-verify", "api-clone", "api-sync" };
static long rss_kb[R_N];
static char rss_where[R_N][40];

/* Keeps the last run's memory when the most of program k so far. */
static void
rss_note(int k, const char *path)
{
	const char *name = strrchr(path, '/');

	if (last_rss_kb > rss_kb[k]) {
		rss_kb[k] = last_rss_kb;
		snprintf(rss_where[k], sizeof rss_where[k], "%.39s",
		    name ? name + 1 : path);
	}
}

struct fgenv {
	char log[PATH_MAX], status[PATH_MAX], show[PATH_MAX], search[PATH_MAX];
	char verify[PATH_MAX], clone[PATH_MAX], sync[PATH_MAX];
	char export[PATH_MAX];
	char cwid[PATH_MAX], leadid[PATH_MAX], svcid[PATH_MAX];
	char tmp[PATH_MAX], cache[PATH_MAX + 16], leadkey[PATH_MAX + 16];
	char scratch[PATH_MAX + 16];
};

/*
 * Runs a program: its seconds.  Its exit status must be 0 (or 1 with
 * ok1: api-search, grep, finding nothing); its lines in *lines, the first
 * 4 KiB of its output in out.
 */
static double
prog_run(char *const argv[], int ok1, size_t *lines, api_buf *out)
{
	double t0, t;
	int st;

	t0 = now();
	st = run(argv, "", lines, out);
	t = now() - t0;
	if (!(st == 0 || (ok1 && st == 1))) {
		fprintf(stderr, "bench-store: %s: exit %d; output begins:\n%.1000s\n",
		    argv[0], st, (const char *)out->ptr);
		exit(1);
	}
	return t;
}

/* An empty state cache: $XDG_CACHE_HOME of the runs, removed and made. */
static void
cache_reset(const struct fgenv *e)
{
	nftw(e->cache, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(e->cache, 0700) != 0)
		failx("cannot make the cache directory");
}

/* One api-status --due run; cold: an empty cache and the store's files
 * out of the page cache first.  Its output must be the first run's. */
static double
fg_status(const struct fgenv *e, const char *path, const char *ident,
    int cold, api_buf *first, size_t *lines)
{
	char *argv[] = { (char *)e->status, "-C", (char *)path, "-i",
	    (char *)ident, "--due", NULL };
	api_buf out = { 0 };
	size_t n;
	double t;

	if (cold) {
		cache_reset(e);
		evict(path);
	}
	t = prog_run(argv, 0, &n, &out);
	rss_note(cold ? R_COLD : R_WARM, path);
	if (first->len == 0) {
		if (api_buf_append(first, out.ptr, out.len) < 0)
			fail("output");
		*lines = n;
	} else if (n != *lines || first->len != out.len ||
	    memcmp(first->ptr, out.ptr, out.len) != 0) {
		fprintf(stderr, "bench-store: %s --due (%s, %s): %zu lines, the "
		    "first run %zu; output begins:\n%.1000s\n", e->status,
		    cold ? "cold" : "warm", path, n, *lines,
		    (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
	return t;
}

/* api-show of case id: its seconds; it must show notes notes. */
static double
fg_show(const struct fgenv *e, const char *path, const char *id,
    size_t notes)
{
	char *argv[] = { (char *)e->show, "-C", (char *)path, "-i",
	    (char *)e->cwid, "--no-pager", (char *)id, NULL };
	api_buf out = { 0 };
	size_t n;
	double t;
	int st;

	t = now();
	st = run(argv, "ID: ", &n, &out);
	t = now() - t;
	if (st != 0 || n != notes) {
		fprintf(stderr, "bench-store: %s: exit %d, %zu notes of %zu; "
		    "output begins:\n%.1000s\n", e->show, st, n, notes,
		    (const char *)out.ptr);
		exit(1);
	}
	rss_note(R_SHOW, path);
	api_buf_free(&out);
	return t;
}

/* api-search --identity LEAD -l pat over the cases named (n 0: every
 * case): its seconds; it must list want cases. */
static double
fg_search(const struct fgenv *e, const char *path, const char *pat,
    char **ids, size_t n, size_t want)
{
	char *argv[8 + FG_NAIVE_CASES] = { (char *)e->search, "-C", (char *)path,
	    "--identity", (char *)e->leadid, "-l", (char *)pat };
	api_buf out = { 0 };
	size_t lines;
	double t;

	if (n > FG_NAIVE_CASES)
		failx("too many cases to name");
	for (size_t i = 0; i < n; i++)
		argv[7 + i] = ids[i];
	t = prog_run(argv, want == 0, &lines, &out);
	rss_note(R_SEARCH, path);
	if (lines != want) {
		fprintf(stderr, "bench-store: %s -l '%s': %zu cases listed, not "
		    "%zu; output begins:\n%.1000s\n", e->search, pat, lines, want,
		    (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
	return t;
}

/* api-export --stats as the service identity over every case: its
 * seconds; the output must be the same table as in the first run but
 * for the random codes of the per-case rows (their count is compared). */
static double
fg_stats(const struct fgenv *e, const char *path, size_t *lines)
{
	char *argv[] = { (char *)e->export, "-C", (char *)path, "-i",
	    (char *)e->svcid, "--stats", NULL };
	api_buf out = { 0 };
	size_t n;
	double t;

	evict(path);
	t = prog_run(argv, 0, &n, &out);
	rss_note(R_STATS, path);
	if (n < 10 || (*lines && n != *lines)) {
		fprintf(stderr, "bench-store: %s --stats: %zu lines (first run "
		    "%zu); output begins:\n%.1000s\n", e->export, n, *lines,
		    (const char *)out.ptr);
		exit(1);
	}
	*lines = n;
	api_buf_free(&out);
	return t;
}

/* The naive search over the n cases of ids: its seconds; it must list
 * want cases. */
static double
fg_naive_search(const struct fgenv *e, const char *path, const char *pat,
    char **ids, size_t n, size_t want)
{
	char *argv[9 + FG_NAIVE_CASES] = { "sh", "-c", (char *)naive_search,
	    "naive-search", (char *)path, (char *)e->leadkey, (char *)pat,
	    (char *)e->scratch };
	api_buf out = { 0 };
	size_t lines;
	double t;

	if (n > FG_NAIVE_CASES)
		failx("too many cases to name");
	for (size_t i = 0; i < n; i++)
		argv[8 + i] = ids[i];
	t = prog_run(argv, 0, &lines, &out);
	if (lines != want) {
		fprintf(stderr, "bench-store: the naive search for '%s': %zu cases "
		    "listed, not %zu; output begins:\n%.1000s\n", pat, lines, want,
		    (const char *)out.ptr);
		exit(1);
	}
	api_buf_free(&out);
	return t;
}

/* api-log of one note into a case at random of x. */
static void
fg_log(const struct fgenv *e, const char *path, const struct cstore *x)
{
	char *argv[] = { (char *)e->log, "-C", (char *)path, "-i",
	    (char *)e->cwid, x->cases[randombytes_uniform((uint32_t)x->ncases)],
	    "-t", "psychosocial", "-m", CW_TEXT, NULL };

	note_run(argv, e->log);
	rss_note(R_LOG, path);
}

/* The notes and events of case id of the store at path. */
static void
case_counts(const char *path, const char *id, size_t *notes, size_t *events)
{
	api_store *s;
	api_case *c;
	char **v;
	size_t n;

	if (api_store_open(&s, path) < 0 || api_case_load(s, id, &c) < 0)
		fail(path);
	for (int k = 0; k < 2; k++) {
		if (api_case_files(c, k ? "events" : "notes", &v, &n) < 0)
			fail(path);
		*(k ? events : notes) = n;
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
	}
	api_case_free(c);
	api_store_free(s);
}

/* Sums the sizes of the blobs of notes/ and events/ directories. */
struct ctsum {
	git_odb *odb;
	size_t bytes, files;
};

static int
ct_entry(const char *root, const git_tree_entry *te, void *payload)
{
	struct ctsum *c = payload;
	size_t len = strlen(root), size;
	git_object_t type;

	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB ||
	    !((len >= 7 && strcmp(root + len - 7, "/notes/") == 0) ||
	    (len >= 8 && strcmp(root + len - 8, "/events/") == 0)))
		return 0;
	if (git_odb_read_header(&size, &type, c->odb, git_tree_entry_id(te)) < 0)
		return -1;
	c->bytes += size;
	c->files++;
	return 0;
}

/* The ciphertext on main of the store at path: bytes, and files in *n. */
static size_t
ciphertext(const char *path, size_t *n)
{
	struct ctsum c = { NULL, 0, 0 };
	git_repository *repo;
	git_commit *cm;
	git_tree *tree;
	git_oid id;

	if (git_repository_open_bare(&repo, path) < 0 ||
	    git_repository_odb(&c.odb, repo) < 0 ||
	    git_reference_name_to_id(&id, repo, "refs/heads/main") < 0 ||
	    git_commit_lookup(&cm, repo, &id) < 0 ||
	    git_commit_tree(&tree, cm) < 0 ||
	    git_tree_walk(tree, GIT_TREEWALK_PRE, ct_entry, &c) < 0)
		gitfail(path);
	git_tree_free(tree);
	git_commit_free(cm);
	git_odb_free(c.odb);
	git_repository_free(repo);
	*n = c.files;
	return c.bytes;
}

static size_t du_bytes;

static int
du_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F)
		du_bytes += (size_t)st->st_size;
	return 0;
}

/* The bytes of the files under path (their sizes, not their blocks). */
static size_t
du(const char *path)
{
	du_bytes = 0;
	if (nftw(path, du_entry, 16, FTW_PHYS) != 0)
		failx("cannot walk a store copy");
	return du_bytes;
}

/* A copy of the store at path, as made, in dir/gc-NAME, after git gc:
 * the store's size over its ciphertext on main. */
struct gcfig {
	char copy[PATH_MAX + 48];
	size_t before, after, ct, files;
	double secs;
};

static void
fg_gc(const struct fgenv *e, const char *path, struct gcfig *g)
{
	char *argv[] = { "git", "-C", g->copy, "gc", "-q", NULL };
	api_buf out = { 0 };
	size_t lines;

	snprintf(g->copy, sizeof g->copy, "%s/gc-%s", e->tmp,
	    strrchr(path, '/') + 1);
	copy_tree(path, g->copy);
	g->before = du(g->copy);
	g->ct = ciphertext(g->copy, &g->files);
	g->secs = prog_run(argv, 0, &lines, &out);
	g->after = du(g->copy);
	api_buf_free(&out);
}

/* "12.3 ms" or "1.23 s" */
static const char *
fmt_t(char out[32], double s)
{
	if (s < 1.0)
		snprintf(out, 32, "%.1f ms", s * 1e3);
	else
		snprintf(out, 32, "%.2f s", s);
	return out;
}

/* A row of the figures table; ratio < 0: none; met < 0: no target. */
static void
fg_row(const char *figure, const char *ours, const char *peer, double ratio,
    const char *target, int met, const char *why)
{
	char r[16] = "-";

	if (ratio >= 0)
		snprintf(r, sizeof r, ratio < 10 ? "%.2f" : "%.1f", ratio);
	printf("%-30s %-12s %-22s %6s  %-11s %s%s\n", figure, ours, peer, r,
	    target, met < 0 ? "-" : met ? "met" : "NOT met", met == 0 && why ?
	    why : "");
}

static int
bench_figures(const struct config *cf, const char *dir, const char *bin)
{
	struct cstore st[2], sh, se, c100;
	struct fgenv e;
	struct gcfig gc[2];
	char abs[PATH_MAX], hist[PATH_MAX], name[64];
	char g1[32], g2[32], g3[32], a[32], b[32];
	api_buf out = { 0 }, first = { 0 };
	size_t lines, htotal = cf->writes + 2, due[2] = { 0, 0 };
	size_t shn = 0, she = 0, shk = 0, shpe = 0, sln = 0, sle = 0, slk = 0;
	double x1, x2, xr, floor_t, tverify = 0, tclone, tsync;
	double tcold[2][2], twarm[2][2], tshow[2], tsearch[2], tnaive[2];
	double tstats = 0, tlog[2], tlogn[2];
	size_t statlines = 0;
	int runs = cf->fg_runs, nlog = 0, nnaive = 0;

	memset(st, 0, sizeof st);
	memset(&sh, 0, sizeof sh);
	memset(&se, 0, sizeof se);
	memset(&c100, 0, sizeof c100);
	memset(&e, 0, sizeof e);
	snprintf(e.log, sizeof e.log, "%s/api-log", bin);
	snprintf(e.status, sizeof e.status, "%s/api-status", bin);
	snprintf(e.show, sizeof e.show, "%s/api-show", bin);
	snprintf(e.search, sizeof e.search, "%s/api-search", bin);
	snprintf(e.export, sizeof e.export, "%s/api-export", bin);
	snprintf(e.verify, sizeof e.verify, "%s/api-verify", bin);
	snprintf(e.clone, sizeof e.clone, "%s/api-clone", bin);
	snprintf(e.sync, sizeof e.sync, "%s/api-sync", bin);
	snprintf(e.cwid, sizeof e.cwid, "%s/cw.identity", dir);
	snprintf(e.leadid, sizeof e.leadid, "%s/lead.identity", dir);
	snprintf(e.svcid, sizeof e.svcid, "%s/svc.identity", dir);
	/* scratch: copies, clones, the state cache, the naive search's keys */
	if (realpath(dir, abs) == NULL)
		failx("realpath failed");
	if ((size_t)snprintf(e.tmp, sizeof e.tmp, "%s/figures.tmp", abs) >=
	    sizeof e.tmp)
		failx("path too long");
	nftw(e.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(e.tmp, 0700) != 0)
		failx("cannot make the scratch directory");
	snprintf(e.cache, sizeof e.cache, "%s/cache", e.tmp);
	snprintf(e.leadkey, sizeof e.leadkey, "%s/lead.key", e.tmp);
	snprintf(e.scratch, sizeof e.scratch, "%s/case.key", e.tmp);
	cache_reset(&e);
	/* every run's state cache here, none in the user's ~/.cache */
	setenv("XDG_CACHE_HOME", e.cache, 1);
	unsetenv("API_CACHE");
	{
		char key[API_AGE_IDENTITY_LEN + 2];
		if (api_age_identity_encode(key, lead->age_sk) < 0)
			fail("lead key");
		key[API_AGE_IDENTITY_LEN] = '\n';
		if (api_file_write(e.leadkey, key, API_AGE_IDENTITY_LEN + 1, 0600,
		    0) < 0)
			fail(e.leadkey);
		sodium_memzero(key, sizeof key);
	}

	/* the stores: status over all cases and 1/100 of them, api-show's
	 * long case, api-search's 100 cases, the 10-note cases of part 4 */
	cases_store(st[0].path, dir, cf->cw_cases, CW_NOTES, CW_EVENTS, 0);
	cases_store(st[1].path, dir, cf->cw_cases / 100, CW_NOTES, CW_EVENTS, 1);
	cases_store(sh.path, dir, 1, FG_SHOW_NOTES, 0, 1);
	cases_store(se.path, dir, FG_SEARCH_CASES, FG_SEARCH_NOTES, 0, 1);
	cases_store(c100.path, dir, CW_SMALL_CASES, CW_SMALL_NOTES, 0, 0);
	{
		struct cstore *all[] = { &st[0], &st[1], &sh, &se, &c100 };
		for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
			store_prune(all[k]->path);
			cstore_census(all[k]);
		}
	}
	history_store(hist, dir, cf->writes);
	x1 = x25519_rate();

	/* api-verify: the history of part 3, best of cf->reps; once over
	 * the large casework store, for its memory */
	for (int r = 0; r < cf->reps; r++) {
		double t = api_verify(e.verify, hist, htotal);
		rss_note(R_VERIFY, hist);
		if (tverify == 0 || t < tverify)
			tverify = t;
	}
	{
		char *argv[] = { e.verify, "-C", st[0].path, NULL };
		if (run(argv, "ok: ", &lines, &out) != 0 || lines != 1) {
			fprintf(stderr, "bench-store: %s -C %s: output begins:\n"
			    "%.1000s\n", e.verify, st[0].path, (const char *)out.ptr);
			return 1;
		}
		rss_note(R_VERIFY, st[0].path);
	}

	/* git gc on copies of the status stores, as made; the larger copy
	 * then serves api-clone and api-sync */
	for (int k = 0; k < 2; k++)
		fg_gc(&e, st[k].path, &gc[k]);
	{
		char url[PATH_MAX + 64], clone[PATH_MAX + 16];
		char *cl[] = { e.clone, "-q", url, clone, NULL };
		char *sy[] = { e.sync, "-q", "-C", clone, "-i", e.cwid, NULL };
		snprintf(url, sizeof url, "file://%s", gc[0].copy);
		snprintf(clone, sizeof clone, "%s/clone", e.tmp);
		tclone = prog_run(cl, 0, &lines, &out);
		rss_note(R_CLONE, st[0].path);
		fg_log(&e, clone, &st[0]);
		tsync = prog_run(sy, 0, &lines, &out);
		rss_note(R_SYNC, st[0].path);
		nftw(clone, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		for (int k = 0; k < 2; k++)
			nftw(gc[k].copy, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}

	/* api-status --due: the floor first (process start, libraries,
	 * libgit2 init: --help), then each store and reader cold, then warm */
	{
		char *argv[] = { e.status, "--help", NULL };
		double *t = xmalloc((size_t)runs * sizeof *t);
		for (int i = -1; i < runs; i++) {
			double s = prog_run(argv, 0, &lines, &out);
			if (i >= 0)
				t[i] = s;
		}
		floor_t = quantile(t, (size_t)runs, 0.5);
		free(t);
	}
	for (int k = 0; k < 2; k++)
		for (int r = 0; r < 2; r++) {
			const char *id = r ? e.leadid : e.svcid;
			int nc = k ? FG_COLD_SMALL : 1;
			double *t = xmalloc((size_t)(runs > nc ? runs : nc) * sizeof *t);
			first.len = 0;
			for (int i = 0; i < nc; i++)
				t[i] = fg_status(&e, st[k].path, id, 1, &first, &lines);
			tcold[k][r] = quantile(t, (size_t)nc, 0.5);
			for (int i = 0; i < runs; i++)
				t[i] = fg_status(&e, st[k].path, id, 0, &first, &lines);
			twarm[k][r] = quantile(t, (size_t)runs, 0.5);
			free(t);
			if (r && lines != due[k]) {
				fprintf(stderr, "bench-store: api-status --due: %zu due for "
				    "the service, %zu for the lead\n", due[k], lines);
				return 1;
			}
			due[k] = lines;
		}

	/* api-show: the case of 1,000 notes, and one of 10 */
	{
		double *t = xmalloc((size_t)runs * sizeof *t);
		const struct cstore *x[2] = { &sh, &c100 };
		for (int k = 0; k < 2; k++) {
			size_t nn, ne;
			case_counts(x[k]->path, x[k]->cases[0], &nn, &ne);
			for (int i = -2; i < runs; i++) {
				double s = fg_show(&e, x[k]->path, x[k]->cases[0], nn);
				if (i >= 0)
					t[i] = s;
			}
			tshow[k] = quantile(t, (size_t)runs, 0.5);
			if (k == 0) {
				shn = nn;
				she = ne;
			} else {
				sln = nn;
				sle = ne;
			}
		}
		free(t);
		/* X25519 for cw: the key.age stanzas up to cw's, then one a
		 * note and one an event */
		shk = unlock_cost(sh.path, cw, &shpe);
		slk = unlock_cost(c100.path, cw, &shpe);
	}

	/* api-search over the 100 cases and over one; the naive peer */
	{
		double *t = xmalloc((size_t)runs * sizeof *t);
		fg_search(&e, se.path, FG_HIT, NULL, 0, se.ncases);
		fg_naive_search(&e, se.path, FG_HIT, se.cases, 1, 1);
		for (int k = 0; k < 2; k++) {
			for (int i = 0; i < 3; i++)
				t[i] = fg_search(&e, se.path, FG_MISS, se.cases,
				    k ? 1 : 0, 0);
			tsearch[k] = quantile(t, 3, 0.5);
		}
		free(t);
		tnaive[1] = fg_naive_search(&e, se.path, FG_MISS, se.cases, 1, 0);
		tnaive[0] = fg_naive_search(&e, se.path, FG_MISS, se.cases,
		    FG_NAIVE_CASES, 0) * (double)se.ncases / FG_NAIVE_CASES;
	}

	/* api-export --stats over every case of the large store, median of 3 */
	{
		double t[3];
		for (int i = 0; i < 3; i++)
			t[i] = fg_stats(&e, st[0].path, &statlines);
		tstats = quantile(t, 3, 0.5);
	}

	/* api-log into the status stores, full size and 1/100, taking turns
	 * (after status, which reads the stores as made; rewound at the
	 * end), then the naive pipeline of part 4 on the same stores */
	{
		int nl = cf == &quick ? 5 : FG_LOG_RUNS;
		int nn = cf == &quick ? 2 : FG_NAIVE_RUNS;
		struct cwenv ce;
		memset(&ce, 0, sizeof ce);
		snprintf(ce.log, sizeof ce.log, "%s", e.log);
		snprintf(ce.cwid, sizeof ce.cwid, "%s", e.cwid);
		if ((size_t)snprintf(ce.sshkey, sizeof ce.sshkey, "%s/cw.ssh",
		    e.tmp) >= sizeof ce.sshkey || (size_t)snprintf(ce.index,
		    sizeof ce.index, "%s/naive.index", e.tmp) >= sizeof ce.index)
			failx("path too long");
		ssh_key_write(ce.sshkey, cw);
		for (int k = 0; k < 2; k++) {
			st[k].t = xmalloc((size_t)nl * sizeof *st[k].t);
			st[k].tn = xmalloc((size_t)nn * sizeof *st[k].tn);
		}
		for (int i = -2; i < nl; i++)
			for (int k = 0; k < 2; k++) {
				struct cstore *x = &st[(i + 2 + k) % 2];
				double s = api_log_once(&ce, x);
				rss_note(R_LOG, x->path);
				if (i >= 0)
					x->t[i] = s;
			}
		for (int i = -1; i < nn; i++)
			for (int k = 0; k < 2; k++) {
				struct cstore *x = &st[(i + 1 + k) % 2];
				double s = naive_once(&ce, x);
				if (i >= 0)
					x->tn[i] = s;
			}
		for (int k = 0; k < 2; k++) {
			tlog[k] = quantile(st[k].t, (size_t)nl, 0.5);
			tlogn[k] = quantile(st[k].tn, (size_t)nn, 0.5);
			free(st[k].t);
			free(st[k].tn);
			st[k].t = st[k].tn = NULL;
		}
		nlog = nl;
		nnaive = nn;
	}
	x2 = x25519_rate();
	xr = x1 > x2 ? x1 : x2;

	{
		int maj, min, rev;
		git_libgit2_version(&maj, &min, &rev);
		printf("issue 8 figures (libgit2 %d.%d.%d, %ld CPUs): X25519 %s/s on "
		    "one core in this run\n", maj, min, rev,
		    sysconf(_SC_NPROCESSORS_ONLN), grp(g1, (size_t)xr));
		printf("%-30s %-12s %-22s %6s  %-11s %s\n", "figure", "ours",
		    "peer or limit", "ratio", "target", "result");
	}
	for (int k = 0; k < 2; k++)
		for (int r = 0; r < 2; r++) {
			const api_identity *who = r ? lead : svc;
			size_t pe, pk = unlock_cost(st[k].path, who, &pe);
			double ev = (double)st[k].nevents, nc = (double)st[k].ncases;
			double lim = (ev * (double)pe + nc * (double)pk) / xr;
			double c = tcold[k][r], w = twarm[k][r];
			int m1 = c <= FG_COLD_MAX, m2 = c / lim <= FG_COLD_X25519;
			snprintf(name, sizeof name, "status %s cold, %s", r ? "lead" :
			    "svc", grp(g1, st[k].nnotes));
			snprintf(b, sizeof b, "X25519 %s", fmt_t(g2, lim));
			fg_row(name, fmt_t(a, c), b, c / lim, "<=1 s, <=2x", m1 && m2,
			    !m1 && !m2 ? " (both)" : !m1 ? " (1 s)" : " (2x)");
			snprintf(name, sizeof name, "status %s warm, %s", r ? "lead" :
			    "svc", grp(g1, st[k].nnotes));
			snprintf(b, sizeof b, "--help %s", fmt_t(g2, floor_t));
			fg_row(name, fmt_t(a, w), b, w / floor_t, "<= 50 ms",
			    w <= FG_WARM_MAX, NULL);
		}
	{
		double l0 = ((double)shn + (double)she * (double)shpe +
		    (double)shk) / xr;
		double l1 = ((double)sln + (double)sle * (double)shpe +
		    (double)slk) / xr;
		snprintf(name, sizeof name, "show, %s notes, median",
		    grp(g1, shn));
		snprintf(b, sizeof b, "X25519 %s", fmt_t(g2, l0));
		fg_row(name, fmt_t(a, tshow[0]), b, tshow[0] / l0, "<= 100 ms",
		    tshow[0] <= FG_SHOW_MAX, NULL);
		snprintf(name, sizeof name, "show, %zu notes, median", sln);
		snprintf(b, sizeof b, "X25519 %s", fmt_t(g2, l1));
		fg_row(name, fmt_t(a, tshow[1]), b, tshow[1] / l1, "-", -1, NULL);
	}
	for (int k = 0; k < 2; k++) {
		int m1 = tlog[k] <= FG_LOG_MAX, m2 = tlogn[k] / tlog[k] >= FG_LOG_NAIVE;
		snprintf(name, sizeof name, "log, %s, median", grp(g1, st[k].nnotes));
		snprintf(b, sizeof b, "naive %s", fmt_t(g2, tlogn[k]));
		fg_row(name, fmt_t(a, tlog[k]), b, tlogn[k] / tlog[k],
		    "<=10 ms, >=30x", m1 && m2, !m1 && !m2 ? " (both)" : !m1 ?
		    " (10 ms)" : " (30x)");
	}
	snprintf(name, sizeof name, "log, %s over %s", grp(g1, st[0].nnotes),
	    grp(g3, st[1].nnotes));
	fg_row(name, fmt_t(a, tlog[0]), fmt_t(b, tlog[1]), tlog[0] / tlog[1],
	    "<= 1.50", tlog[0] / tlog[1] <= FG_LOG_FLAT, NULL);
	for (int k = 0; k < 2; k++) {
		snprintf(name, sizeof name, "search -l, %s case%s", k ? "1" :
		    grp(g1, se.ncases), k ? "" : "s");
		snprintf(b, sizeof b, "naive %s%s", fmt_t(g2, tnaive[k]),
		    k ? "" : " (est.)");
		fg_row(name, fmt_t(a, tsearch[k]), b, tnaive[k] / tsearch[k], "-",
		    -1, NULL);
	}
	/* search and stats against the X25519 they cannot avoid: the
	 * reader's stanzas of each case's envelope, then one a note (the
	 * lead: its notes key first) or per event (svc, as for status) */
	{
		size_t pe, pk = unlock_cost(se.path, lead, &pe);
		double lim = ((double)se.ncases * (double)pk + (double)se.nnotes) /
		    xr;
		snprintf(name, sizeof name, "search, %s notes", grp(g1, se.nnotes));
		snprintf(b, sizeof b, "X25519 %s", fmt_t(g2, lim));
		fg_row(name, fmt_t(a, tsearch[0]), b, lim / tsearch[0], ">= 0.5",
		    lim / tsearch[0] >= FG_X25519_SHARE, NULL);
		pk = unlock_cost(st[0].path, svc, &pe);
		lim = ((double)st[0].nevents * (double)pe + (double)st[0].ncases *
		    (double)pk) / xr;
		snprintf(name, sizeof name, "stats, %s cases", grp(g1, st[0].ncases));
		snprintf(b, sizeof b, "X25519 %s", fmt_t(g2, lim));
		fg_row(name, fmt_t(a, tstats), b, lim / tstats, ">= 0.5",
		    lim / tstats >= FG_X25519_SHARE, NULL);
	}
	for (int k = 0; k < R_N; k++) {
		snprintf(name, sizeof name, "peak RSS, %s", rss_name[k]);
		snprintf(a, sizeof a, "%.1f MiB", (double)rss_kb[k] / 1024);
		fg_row(name, a, rss_where[k], -1, "<= 64 MiB",
		    rss_kb[k] <= FG_RSS_MAX_KIB, NULL);
	}
	for (int k = 0; k < 2; k++) {
		double ratio = (double)gc[k].after / (double)gc[k].ct;
		snprintf(name, sizeof name, "gc size / ciphertext, %s",
		    grp(g1, st[k].nnotes));
		snprintf(a, sizeof a, "%.1f MB", (double)gc[k].after / 1e6);
		snprintf(b, sizeof b, "ciphertext %.1f MB", (double)gc[k].ct / 1e6);
		fg_row(name, a, b, ratio, "<= 1.30", ratio <= FG_GC_MAX, NULL);
	}
	{
		double rate = (double)htotal / tverify;
		snprintf(name, sizeof name, "verify, %s commits",
		    grp(g1, htotal));
		snprintf(a, sizeof a, "%.0f/s", rate);
		fg_row(name, a, "- (git: part 3)", -1, ">= 10,000/s",
		    rate >= VERIFY_RATE, NULL);
	}

	printf("status: %s -C STORE -i svc|lead.identity --due over %s cases "
	    "(%s events) and\n%zu (1/100); %zu and %zu due.  cold: an empty "
	    "XDG_CACHE_HOME and the store's files\ndropped from the page cache, "
	    "%d run%s (1/100: median of %d); warm: median of %d\nfurther runs. "
	    " limit cold: X25519 alone on one core for the stanzas age must "
	    "try\n(up to the reader's in its envelope, one an event); with both "
	    "cores it halves.\nlimit warm: api-status --help (process start, "
	    "libraries, libgit2 init), median\nof %d: %.0f%% (svc) and %.0f%% "
	    "(lead) of the warm run over %s cases.\n", e.status,
	    grp(g1, st[0].ncases), grp(g2, st[0].nevents), st[1].ncases, due[0],
	    due[1], 1, "", FG_COLD_SMALL, runs, runs,
	    100 * floor_t / twarm[0][0], 100 * floor_t / twarm[0][1],
	    grp(g3, st[0].ncases));
	printf("log: %s -C STORE -i cw.identity CASE -t psychosocial -m TEXT, a "
	    "case at random\nof the status stores, median of %d after 2 (the "
	    "stores taking turns); naive: the\npipeline of part 4 (stock age and "
	    "git, syncing as api-log does), median of %d;\nratio: naive over "
	    "ours (larger is better); the flat row: full size over 1/100.\n",
	    e.log, nlog, nnaive);
	printf("show: %s -i cw.identity --no-pager CASE, median of %d after 2; "
	    "%zu notes and %zu\nevents (%zu notes, %zu events); limit: X25519 on "
	    "one core, a note 1, an event %zu.\n", e.show, runs, shn, she, sln,
	    sle, shpe);
	printf("search: %s --identity lead.identity -l '%s' (in no note: "
	    "every note is\nread), median of 3, over a store of %zu cases x %d "
	    "notes, and naming one case;\nnaive: per case git cat-file "
	    "key.age | age -d -i LEADKEY, then per note git\ncat-file | age -d | "
	    "grep -q, timed on %d cases and scaled to %zu (and on 1);\nratio: "
	    "naive over ours; against X25519: the lead's stanzas of each case's "
	    "key.age and one a\nnote, on one core, over ours (target >= 0.5).\n", e.search, FG_MISS, se.ncases, FG_SEARCH_NOTES,
	    FG_NAIVE_CASES, se.ncases);
	printf("stats: %s -C STORE -i svc.identity --stats over %s cases, the "
	    "store's files\ndropped from the page cache, median of 3; %zu lines; "
	    "limit: X25519 on one core\nfor the events (as status svc cold), "
	    "over ours (target >= 0.5).\n", e.export, grp(g1, st[0].ncases),
	    statlines);
	printf("peak RSS: ru_maxrss (wait4) of every run, the most of each "
	    "program, and where;\napi-clone: file:// of a gc'd copy of %s "
	    "(%.1f s), api-sync: one note pushed (%.2f s).\n",
	    strrchr(st[0].path, '/') + 1, tclone, tsync);
	printf("gc: git gc -q on copies of the stores as made (%.0f s and %.1f "
	    "s; packed before:\n%.1f MB and %.1f MB); size: every file of the "
	    "store; ciphertext: the blobs of\nnotes/ and events/ on main (%s "
	    "and %s files).\n", gc[0].secs, gc[1].secs, (double)gc[0].before /
	    1e6, (double)gc[1].before / 1e6, grp(g1, gc[0].files),
	    grp(g2, gc[1].files));
	printf("verify: %s over the history of part 3, best of %d.\n", e.verify,
	    cf->reps);

	{
		struct cstore *all[] = { &st[0], &st[1], &sh, &se, &c100 };
		for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
			store_rewind(all[k]->path);
			store_prune(all[k]->path);
			for (size_t j = 0; j < all[k]->ncases; j++)
				free(all[k]->cases[j]);
			free(all[k]->cases);
		}
	}
	nftw(e.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("XDG_CACHE_HOME");
	api_buf_free(&out);
	api_buf_free(&first);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct config *cf = &full;
	const char *dir;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
		cf = &quick;
		argc--;
		argv++;
	}
	if (argc < 3 || !((strcmp(argv[1], "write") == 0 && argc == 3) ||
	    (strcmp(argv[1], "verify") == 0 && argc == 4) ||
	    (strcmp(argv[1], "casework") == 0 && argc == 4) ||
	    (strcmp(argv[1], "figures") == 0 && argc == 4)))
		usage();
	dir = argv[2];
	/* before anything grows: the programs are forked from this helper */
	spawner_start();
	if (api_init() < 0)
		fail("api_init");
	if (git_libgit2_init() < 0)
		gitfail("git_libgit2_init");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "bench-store: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	memdir_make();
	adm = identity(dir, "adm");
	cw = identity(dir, "cw");
	if (strcmp(argv[1], "write") == 0)
		rc = bench_write(cf, dir);
	else if (strcmp(argv[1], "verify") == 0)
		rc = bench_verify(cf, dir, argv[3]);
	else {
		lead = identity(dir, "lead");
		svc = identity(dir, "svc");
		rc = strcmp(argv[1], "figures") == 0 ?
		    bench_figures(cf, dir, argv[3]) :
		    bench_casework(cf, dir, argv[3]);
	}
	api_identity_free((api_identity *)adm);
	api_identity_free((api_identity *)cw);
	api_identity_free((api_identity *)lead);
	api_identity_free((api_identity *)svc);
	git_libgit2_shutdown();
	return rc;
}
