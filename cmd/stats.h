/*
 * stats.h - api-export --stats: evaluation statistics from the events of
 * every case, without note text, case IDs or handles.
 *
 * What is read.  Only events (opened, phase, contact), through each
 * case's events.age envelope: one X25519 for the envelope and one per
 * event file, on every core (the workers of api-status).  No note is
 * ever decrypted.  Every case of main is counted; a purged case only as
 * "purged", since nothing of it can be read.  If the identity cannot
 * open the events envelope of some case, the run stops and says how many
 * and which roles read every case: statistics over a subset would
 * mislead.  The envelopes are opened once to check that (nothing of a
 * case is read then, and no key kept), the read is logged, and only then
 * are the events decrypted, each envelope opened a second time: ~2% of
 * the work, since 2,000 unlocked cases would not fit in locked memory.
 *
 * Which cases: those active at any time in the window [--from, --to]
 * (open ends: the first event, today): opened on or before its end, and
 * not closed the whole of it (a case closed before --from counts when it
 * was reopened in the window).  Contacts count when dated in the window.
 *
 * What is counted, per case, from its phase events in date order (the
 * opened event first on its day), up to the end of the window:
 *   - phase: the phase at the end of the window;
 *   - referral: the opened event's Referral, "none" without one;
 *   - closure reason: the Reason of the phase event into the last
 *     configured phase, for a case closed at the end of the window;
 *   - time in each phase but the last: days, summed over its visits; a
 *     visit still going on at the end of the window counts up to it;
 *   - duration: opened to closed, for cases closed at the end;
 *   - contacts: contact events by month, note type (Kind) and partner
 *     (Partner, "none" without one; events written before api-log put
 *     it there have none).
 * Referral sources and partners are free text: a value held by fewer
 * than k cases (contacts) in the window is counted as "(other)", so that
 * a rare name, which may tell who the client is, is never printed.
 *
 * Small cells.  Every count below k (--min-cell, 5) is shown as "<k",
 * zeros included (so "<5" is 0 to 4).  Then complementary suppression,
 * in st_suppress: the cells are arranged in groups whose sum is another
 * cell, the parent (the phases of the cases in the window sum to the
 * number of cases; the closure reasons to the closed cases; a month's
 * contacts by type, and by partner, to that month's contacts; the
 * months' contacts to all contacts).  A group whose parent is published
 * is one equation: for each suppressed cell, the values it can take,
 * given the published cells, the others' ranges ("<k": 0 to k-1;
 * "x": at least k, as a reader knows) and the parent, must be two or
 * more.  While a cell is pinned, the smallest published cell of its
 * group is suppressed as well, shown as "x"; when none is left, the
 * parent is.  A group under a suppressed parent is left out whole, so
 * that every published group is one equation with an exact total (a
 * hidden group's ranges and its hidden parent's could pin each other;
 * tests/unit/stats-suppress.c searches all the sums at once for such
 * pins, by brute force, on random tables).  Totals per type or partner
 * over all months are not published: with the month totals they would
 * make each cell part of two equations.  When the number of cases itself
 * is suppressed, so is everything else.  k = 1 suppresses nothing.
 *
 * Per-case rows, under random codes made afresh by every run and sorted
 * by them (so that neither code nor order links two exports): opened
 * month, closed month, phase, referral, closure reason, contacts.  A
 * value whose cell is suppressed (the tables above; for months and
 * contact numbers, groups of their own under the same rule) is "x";
 * when the number of closed cases is suppressed, so are the closed month
 * and the reason of every row ("-" would tell the open ones).  Without a
 * published number of cases, no rows.  Combinations of values in the
 * rows are not checked: k-anonymity is not promised.
 *
 * Time in phase: n (shown only as ">=k", since the number of cases that
 * went through a phase is tied to other cells: those that began in
 * referral are those with a referral source), median, first and third
 * quartile (linear interpolation), when n >= k.  Duration: n is the
 * closed cell, shown as that cell is.
 *
 * --svg FILE: cases per phase at each month's end (the last point at the
 * end of the window, the phase table itself); each month's points form a
 * group under the number of cases opened by then (a reader may count it
 * from the rows), and a suppressed point is left out.
 */
#ifndef API_STATS_H
#define API_STATS_H

#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "cli.h"

enum stats_fmt { STATS_TSV, STATS_JSON, STATS_CSV };

struct stats_opts {
	long from, to;               /* days since 1970-01-01; -1: open */
	enum stats_fmt fmt;
	int k;                       /* --min-cell, >= 1 */
	const char *svg;             /* --svg FILE, or NULL */
	const char *purpose;         /* for the read log */
};

#define ST_STR 64                /* a category's name, cut at a character */
#define ST_INF (LONG_MAX / 4)

/* ---- reading the events ------------------------------------------------ */

struct st_phev {
	long date;
	size_t ord;                  /* file order: the order of writing */
	char phase[32], reason[ST_STR];
};

struct st_ctev {
	long date;
	char kind[ST_STR], partner[ST_STR];
};

struct st_case {
	char id[API_CASE_ID_LEN + 1];
	int state;                   /* 1 readable, 2 purged, 3 not, -1 error */
	char err[512];
	char referral[ST_STR];
	struct st_phev *ph;
	size_t nph;
	struct st_ctev *ct;
	size_t nct;
	/* as of the window */
	int in, phase;               /* counted; phase index */
	long opened, closed, ncontacts;
	char reason[ST_STR];
	char code[9];
};

struct st_run {
	api_store *s;
	const api_identity *me;
	struct st_case *v;
	size_t n, cap;
	int pass;                    /* 1 check the envelopes, 2 read */
	_Atomic size_t next;
	_Atomic int nomem;           /* a thread's keys could not be made */
};

/* src into dst, cut at a UTF-8 character boundary */
static void
st_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
st_date(const api_record *r, long *d)
{
	const char *v = api_record_get(r, "Date");

	return v != NULL && api_date_parse(v, d) == 0;
}

/* The events of one case: its phase changes and its contacts. */
static int
st_events(api_case *c, const api_identity *me, struct st_case *sc)
{
	char **names = NULL;
	size_t n = 0;
	api_record r = { 0 };
	int rc;

	if ((rc = api_case_files(c, "events", &names, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const char *type, *v;
		long d;
		if ((rc = api_case_read(c, me, "events", names[i], &r)) < 0)
			break;
		if ((type = api_record_get(&r, "Type")) == NULL || !st_date(&r, &d))
			continue;
		if (strcmp(type, "opened") == 0 || strcmp(type, "phase") == 0) {
			if ((v = api_record_get(&r, "Phase")) == NULL)
				continue;
			struct st_phev *p = realloc(sc->ph, (sc->nph + 1) * sizeof *p);
			if (p == NULL) {
				rc = api_error_set(API_ENOMEM, "out of memory");
				break;
			}
			sc->ph = p;
			p += sc->nph;
			memset(p, 0, sizeof *p);
			p->date = d;
			/* the opened event first on its day */
			p->ord = strcmp(type, "opened") == 0 ? 0 : i + 1;
			st_copy(p->phase, sizeof p->phase, v);
			if ((v = api_record_get(&r, "Reason")) != NULL)
				st_copy(p->reason, sizeof p->reason, v);
			if (p->ord == 0 && sc->referral[0] == '\0')
				st_copy(sc->referral, sizeof sc->referral,
				    (v = api_record_get(&r, "Referral")) && *v ? v : "none");
			sc->nph++;
		} else if (strcmp(type, "contact") == 0) {
			struct st_ctev *t = realloc(sc->ct, (sc->nct + 1) * sizeof *t);
			if (t == NULL) {
				rc = api_error_set(API_ENOMEM, "out of memory");
				break;
			}
			sc->ct = t;
			t += sc->nct++;
			t->date = d;
			v = api_record_get(&r, "Kind");
			st_copy(t->kind, sizeof t->kind, v && *v ? v : "none");
			v = api_record_get(&r, "Partner");
			st_copy(t->partner, sizeof t->partner, v && *v ? v : "none");
		}
	}
	api_record_free(&r);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0 && sc->referral[0] == '\0')
		rc = api_error_set(API_EINVAL, "case %s has no opening event",
		    sc->id);
	return rc;
}

/*
 * Pass 1: can me open the events envelope?  With the thread's own key
 * set and buffer (keys, plain), so that checking 2,000 envelopes makes
 * no secret allocation per case (each is several system calls, and
 * with threads, a TLB shootdown).  Pass 2: read the events.
 */
static void
st_one(struct st_run *r, api_store *s, struct st_case *sc, api_age_keys *keys,
    api_buf *plain)
{
	api_case *c = NULL;
	api_buf env = { 0 };
	char path[64];
	int rc;

	if (r->pass == 2 && sc->state != 1)
		return;
	if ((rc = api_case_load(s, sc->id, &c)) < 0)
		goto fail;
	if (api_case_purged(c)) {
		sc->state = 2;
		goto out;
	}
	if (r->pass == 1) {
		api_case_dir(path, sc->id);
		strcat(path, "/events.age");
		plain->len = 0;
		if ((rc = api_store_read_ref(s, API_KEYS_REF, path, &env)) < 0) {
			if (rc == API_ENOTFOUND)
				api_error_set(rc, "case %s has no key (events.age): its "
				    "records cannot be read by anyone", sc->id);
			goto fail;
		}
		rc = api_age_decrypt_mem(keys, env.ptr, env.len, plain, 65536,
		    API_AGE_BINARY);
		if (plain->ptr != NULL)
			sodium_memzero(plain->ptr, plain->len);
		if (rc == API_EAGE_NOMATCH) {
			sc->state = 3;
			goto out;
		}
		if (rc < 0) {
			api_error_set(rc, "case %s: key envelope events.age: %s",
			    sc->id, api_error_last());
			goto fail;
		}
	} else if ((rc = api_case_unlock_events(c, r->me)) < 0 ||
	    (rc = st_events(c, r->me, sc)) < 0)
		goto fail;
	sc->state = 1;
	goto out;
fail:
	snprintf(sc->err, sizeof sc->err, "%s", api_error_last());
	sc->state = -1;
out:
	api_buf_free(&env);
	api_case_free(c);
}

static void
st_work(void *ctx, api_store *s)
{
	struct st_run *r = ctx;
	api_age_keys *keys = NULL;
	api_buf plain = { 0 };
	size_t i;

	plain.secret = 1;
	if (r->pass == 1 && api_identity_keys(r->me, &keys) < 0) {
		atomic_store(&r->nomem, 1);
		return;
	}
	while ((i = atomic_fetch_add(&r->next, 1)) < r->n)
		st_one(r, s, &r->v[i], keys, &plain);
	api_buf_free(&plain);
	api_age_keys_free(keys);
}

/* Every case, on as many threads as there are cores (up to 8). */
static void
st_parallel(struct st_run *r, int pass)
{
	api_fanout f;

	r->pass = pass;
	atomic_store(&r->next, 0);
	atomic_store(&r->nomem, 0);
	api_fanout_start(&f, r->s, r->n <= 8, st_work, r);
	st_work(r, r->s);
	api_fanout_join(&f);
	if (atomic_load(&r->nomem))
		cli_die("out of memory");
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].state < 0)
			cli_die("%s", r->v[i].err);
}

static int
st_collect(void *ctx, const char *id)
{
	struct st_run *r = ctx;

	if (r->n == r->cap) {
		void *v = realloc(r->v, (r->cap = r->cap ? 2 * r->cap : 256) *
		    sizeof *r->v);
		if (v == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		r->v = v;
	}
	memset(&r->v[r->n], 0, sizeof r->v[r->n]);
	snprintf(r->v[r->n++].id, sizeof r->v[0].id, "%s", id);
	return 0;
}

/* ---- small cells ---------------------------------------------------------- */

enum { ST_SHOWN, ST_PRIMARY, ST_SECOND };

struct st_cell {
	const char *table;           /* NULL: not printed (rows, chart) */
	char row[ST_STR + 8], col[ST_STR];
	long v;
	int st;
	int fixed;                   /* known to every reader: never hidden */
	int omit;                    /* under a hidden total: not printed */
};

struct st_group {
	long parent;                 /* a cell, or -1: no equation */
	size_t *cell, n;
};

struct st_tab {
	struct st_cell *c;
	size_t n;
	struct st_group *g;
	size_t ng;
};

static size_t
st_cell_add(struct st_tab *t, const char *table, const char *row,
    const char *col, long v)
{
	struct st_cell *c = realloc(t->c, (t->n + 1) * sizeof *c);

	if (c == NULL)
		cli_die("out of memory");
	t->c = c;
	c += t->n;
	memset(c, 0, sizeof *c);
	c->table = table;
	st_copy(c->row, sizeof c->row, row);
	st_copy(c->col, sizeof c->col, col);
	c->v = v;
	return t->n++;
}

static size_t
st_group_new(struct st_tab *t, long parent)
{
	struct st_group *g = realloc(t->g, (t->ng + 1) * sizeof *g);

	if (g == NULL)
		cli_die("out of memory");
	t->g = g;
	memset(&g[t->ng], 0, sizeof *g);
	g[t->ng].parent = parent;
	return t->ng++;
}

static void
st_group_add(struct st_tab *t, size_t g, size_t cell)
{
	size_t *v = realloc(t->g[g].cell, (t->g[g].n + 1) * sizeof *v);

	if (v == NULL)
		cli_die("out of memory");
	t->g[g].cell = v;
	v[t->g[g].n++] = cell;
}

/* What a reader knows of a cell from how it is shown. */
static void
st_range(const struct st_cell *c, int k, long *lo, long *hi)
{
	if (c->st == ST_SHOWN) {
		*lo = *hi = c->v;
	} else if (c->st == ST_PRIMARY) {
		*lo = 0;
		*hi = k - 1;
	} else {
		*lo = k;
		*hi = ST_INF;
	}
}

/*
 * The index of a suppressed cell of group g that a reader can work out
 * from the parent and the rest of the group, or -1.
 */
static long
st_pinned(const struct st_tab *t, const struct st_group *g, int k)
{
	long plo, phi, slo = 0, shi = 0, lo, hi;
	size_t ninf = 0;

	if (g->parent < 0)
		return -1;
	st_range(&t->c[g->parent], k, &plo, &phi);
	for (size_t i = 0; i < g->n; i++) {
		st_range(&t->c[g->cell[i]], k, &lo, &hi);
		slo += lo;
		if (hi >= ST_INF)
			ninf++;
		else
			shi += hi;
	}
	for (size_t i = 0; i < g->n; i++) {
		if (t->c[g->cell[i]].st == ST_SHOWN)
			continue;
		st_range(&t->c[g->cell[i]], k, &lo, &hi);
		/* the others add up to [olo, ohi]: this cell is in
		 * [parent - ohi, parent - olo], and in [lo, hi] */
		long olo = slo - lo;
		int oinf = ninf > (hi >= ST_INF);
		long ohi = oinf ? ST_INF : shi - (hi >= ST_INF ? 0 : hi);
		long a = oinf ? lo : plo - ohi;
		long b = phi - olo;
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		if (b - a < 1)
			return (long)g->cell[i];
	}
	return -1;
}

/*
 * Small-cell suppression over every group of t (see the top of this
 * file): primary, "<k", for every count below k; then, until no group
 * pins a suppressed cell, complementary, "x": the smallest published
 * cell of a pinning group, else its parent.  A group whose parent is
 * hidden is left out of the output whole (omit): its cells' ranges
 * would bound the parent, and the parent's bound them, and such a pair
 * can pin both (a hidden "x" of at least k over two cells of "<k" with
 * k = 2 is 2, and so is each of them).  So every published group is one
 * equation on its own, with an exact total, and st_pinned's check of it
 * is exact.  Cells only ever go from shown to hidden, so it ends.
 */
static void
st_suppress(struct st_tab *t, int k)
{
	int changed = 1;

	if (k <= 1)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (!t->c[i].fixed && t->c[i].v < k)
			t->c[i].st = ST_PRIMARY;
	while (changed) {
		changed = 0;
		for (size_t gi = 0; gi < t->ng; gi++) {
			struct st_group *g = &t->g[gi];
			if (g->parent >= 0 && (t->c[g->parent].st != ST_SHOWN ||
			    t->c[g->parent].omit)) {
				for (size_t i = 0; i < g->n; i++) {
					struct st_cell *c = &t->c[g->cell[i]];
					if (c->st == ST_SHOWN)
						c->st = ST_SECOND;
					if (!c->omit)
						changed = c->omit = 1;
				}
				continue;
			}
			while (st_pinned(t, g, k) >= 0) {
				long best = -1;
				for (size_t i = 0; i < g->n; i++) {
					const struct st_cell *c = &t->c[g->cell[i]];
					if (c->st == ST_SHOWN && !c->fixed &&
					    (best < 0 || c->v < t->c[best].v))
						best = (long)g->cell[i];
				}
				if (best < 0) {
					struct st_cell *p = &t->c[g->parent];
					if (p->st == ST_SHOWN && !p->fixed) {
						p->st = ST_SECOND;
						changed = 1;
					}
					break;   /* nothing more to hide here */
				}
				t->c[best].st = ST_SECOND;
				changed = 1;
			}
		}
	}
}

static const char *
st_show(const struct st_cell *c, int k, char *buf, size_t cap)
{
	if (c->st == ST_PRIMARY)
		snprintf(buf, cap, "<%d", k);
	else if (c->st == ST_SECOND)
		snprintf(buf, cap, "x");
	else
		snprintf(buf, cap, "%ld", c->v);
	return buf;
}

/* ---- categories, months, figures ---------------------------------------- */

struct st_set {
	char (*v)[ST_STR];
	size_t n;
};

static size_t
st_set_add(struct st_set *s, const char *w)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], w) == 0)
			return i;
	void *v = realloc(s->v, (s->n + 1) * sizeof *s->v);
	if (v == NULL)
		cli_die("out of memory");
	s->v = v;
	st_copy(s->v[s->n], ST_STR, w);
	return s->n++;
}

static long
st_set_find(const struct st_set *s, const char *w)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], w) == 0)
			return (long)i;
	return -1;
}

/* the words of a list (api.conf) */
static void
st_set_words(struct st_set *s, const char *list)
{
	char w[ST_STR];

	for (const char *p = list; *(p += strspn(p, " \t")); ) {
		size_t n = strcspn(p, " \t");
		snprintf(w, sizeof w, "%.*s", (int)(n < ST_STR ? n : ST_STR - 1), p);
		st_set_add(s, w);
		p += n;
	}
}

static int
st_strcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* months as year * 12 + month - 1 */
static long
st_month(long day)
{
	char b[11];

	api_date_format(b, day);
	return atol(b) * 12 + atol(b + 5) - 1;
}

static void
st_month_str(long m, char out[16])
{
	snprintf(out, 16, "%04ld-%02ld", (m / 12) % 10000, m % 12 + 1);
}

/* A table of contacts per month and category: under each month's cell
 * (c_month0 + m) a group of one cell per category; its first cell. */
static size_t
st_month_groups(struct st_tab *t, const char *table, size_t c_month0,
    size_t nm, long mfirst, const struct st_set *cats)
{
	size_t first = t->n;
	char mb[16];

	for (size_t m = 0; m < nm; m++) {
		size_t g = st_group_new(t, (long)(c_month0 + m));
		st_month_str(mfirst + (long)m, mb);
		for (size_t j = 0; j < cats->n; j++)
			st_group_add(t, g, st_cell_add(t, table, mb, cats->v[j], 0));
	}
	return first;
}

static long
st_month_last_day(long m)
{
	char b[32];
	long d = 0;

	snprintf(b, sizeof b, "%04ld-%02ld-01", ((m + 1) / 12) % 10000,
	    (m + 1) % 12 + 1);
	api_date_parse(b, &d);
	return d - 1;
}

static int
st_longcmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* the p-quantile of sorted v (linear interpolation between ranks) */
static double
st_quantile(const long *v, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t i = (size_t)h;

	if (i + 1 >= n)
		return (double)v[n - 1];
	return (double)v[i] + (h - (double)i) * (double)(v[i + 1] - v[i]);
}

static void
st_num(char *buf, size_t cap, double x)
{
	snprintf(buf, cap, "%.2f", x);
	char *e = buf + strlen(buf);
	while (e[-1] == '0')
		*--e = '\0';
	if (e[-1] == '.')
		e[-1] = '\0';
}

static int
st_phcmp(const void *a, const void *b)
{
	const struct st_phev *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* The phase (index in phases) after the changes dated on or before day:
 * -1 before the case was opened. */
static long
st_phase_at(const struct st_case *c, const struct st_set *phases, long day)
{
	long p = -1;

	for (size_t i = 0; i < c->nph && c->ph[i].date <= day; i++)
		p = st_set_find(phases, c->ph[i].phase);
	return p;
}

/* ---- output ------------------------------------------------------------- */

struct st_line {
	const char *table;
	char row[ST_STR + 8], col[ST_STR], val[ST_STR];
};

struct st_out {
	struct st_line *v;
	size_t n;
};

static void
st_put(struct st_out *o, const char *table, const char *row, const char *col,
    const char *val)
{
	struct st_line *l = realloc(o->v, (o->n + 1) * sizeof *l);

	if (l == NULL)
		cli_die("out of memory");
	o->v = l;
	l += o->n++;
	l->table = table;
	st_copy(l->row, sizeof l->row, row);
	st_copy(l->col, sizeof l->col, col);
	st_copy(l->val, sizeof l->val, val);
}

static void
st_tsv_field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break */
static void
st_csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
st_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* a value as JSON: a number, null for "-", else a string */
static void
st_json_val(FILE *f, const char *s)
{
	size_t n = strspn(s, "0123456789"), d;
	int num = n > 0 && (s[0] != '0' || n == 1);

	if (num && s[n] == '.') {
		d = strspn(s + n + 1, "0123456789");
		num = d > 0;
		n += 1 + d;
	}
	if (strcmp(s, "-") == 0)
		fputs("null", f);
	else if (num && s[n] == '\0')
		fputs(s, f);
	else
		st_json_str(f, s);
}

static void
st_print(FILE *f, const struct st_out *o, enum stats_fmt fmt)
{
	if (fmt == STATS_JSON) {
		fputs("{", f);
		for (size_t i = 0; i < o->n; i++) {
			const struct st_line *l = &o->v[i], *p = i ? &o->v[i - 1] : NULL;
			int newt = !p || strcmp(p->table, l->table) != 0;
			int newr = newt || strcmp(p->row, l->row) != 0;
			if (newt) {
				fputs(p ? "}},\n" : "\n", f);
				st_json_str(f, l->table);
				fputs(": {", f);
			} else if (newr)
				fputs("},", f);
			if (newr) {
				fputs("\n  ", f);
				st_json_str(f, l->row);
				fputs(": {", f);
			} else
				fputs(", ", f);
			st_json_str(f, l->col);
			fputs(": ", f);
			st_json_val(f, l->val);
		}
		fputs(o->n ? "}}\n}\n" : "}\n", f);
		return;
	}
	fputs(fmt == STATS_CSV ? "table,row,column,value\r\n" :
	    "table\trow\tcolumn\tvalue\n", f);
	for (size_t i = 0; i < o->n; i++) {
		const struct st_line *l = &o->v[i];
		const char *v[4] = { l->table, l->row, l->col, l->val };
		for (int j = 0; j < 4; j++) {
			if (fmt == STATS_CSV) {
				if (j)
					fputc(',', f);
				st_csv_field(f, v[j]);
			} else {
				if (j)
					fputc('\t', f);
				st_tsv_field(f, v[j]);
			}
		}
		fputs(fmt == STATS_CSV ? "\r\n" : "\n", f);
	}
}

/* A file made for the user in a folder that others may list: they see
 * its name, and the file itself if anything loosens its mode later. */
static void
warn_public(const char *path)
{
	char parent[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - path +
	    (slash == path)) : 1, slash ? path : ".");
	if (stat(parent, &st) == 0 && (st.st_mode & S_IROTH))
		fprintf(stderr, "api-export: warning: %s is in %s, which everyone "
		    "on this machine can read\n", path, parent);
}

/* --svg FILE while it is not complete: removed when the program dies */
static const char *st_svg_partial;

static void
st_svg_cleanup(void)
{
	if (st_svg_partial != NULL)
		unlink(st_svg_partial);
}

static void
st_xml(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
		}
}

/*
 * The chart: x the months m0..m0+nm-1, one line per phase, pt[m * np + p]
 * the count at the end of month m, or -1 where it is suppressed (a gap).
 */
static void
st_svg_write(FILE *f, const struct st_set *phases, long m0, size_t nm,
    const long *pt, int k)
{
	static const char *const color[] = { "#1f77b4", "#ff7f0e", "#2ca02c",
	    "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
	    "#17becf" };
	const double W = 760, H = 360, L = 60, T = 40, R = 160, B = 60;
	size_t np = phases->n;
	long max = 1;
	char mb[16];

	for (size_t i = 0; i < nm * np; i++)
		if (pt[i] > max)
			max = pt[i];
	double pw = W - L - R, ph = H - T - B;
#define X(m) (L + (nm > 1 ? pw * (double)(m) / (double)(nm - 1) : pw / 2))
#define Y(v) (T + ph - ph * (double)(v) / (double)max)
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" "
	    "font-size=\"11\">\n<title>Cases per phase at the end of each month "
	    "(counts below %d left out)</title>\n"
	    "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
	    "<text x=\"%.0f\" y=\"20\" font-size=\"13\">Cases per phase at the "
	    "end of each month (counts below %d left out)</text>\n",
	    W, H, W, H, k, L, k);
	/* axes, the y ticks at 0, max/2, max */
	fprintf(f, "<path d=\"M%.1f %.1fV%.1fH%.1f\" stroke=\"black\" "
	    "fill=\"none\"/>\n", L, T, T + ph, L + pw);
	for (int i = 0; i <= 2; i++) {
		long v = max * i / 2;
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%ld"
		    "</text>\n", L - 6, Y(v) + 4, v);
	}
	size_t every = nm > 12 ? (nm + 11) / 12 : 1;
	for (size_t m = 0; m < nm; m += every) {
		st_month_str(m0 + (long)m, mb);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
		    "transform=\"rotate(-45 %.1f %.1f)\">%s</text>\n", X(m),
		    T + ph + 14, X(m), T + ph + 14, mb);
	}
	for (size_t p = 0; p < np; p++) {
		const char *col = color[p % 10];
		for (size_t m = 0; m < nm; ) {
			if (pt[m * np + p] < 0) {
				m++;
				continue;
			}
			size_t e = m;
			while (e + 1 < nm && pt[(e + 1) * np + p] >= 0)
				e++;
			if (e == m)
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
				    "fill=\"%s\"/>\n", X(m), Y(pt[m * np + p]), col);
			else {
				fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
				    "stroke-width=\"2\" points=\"", col);
				for (size_t i = m; i <= e; i++)
					fprintf(f, "%s%.1f,%.1f", i > m ? " " : "", X(i),
					    Y(pt[i * np + p]));
				fputs("\"/>\n", f);
			}
			m = e + 1;
		}
		fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
		    "fill=\"%s\"/>\n<text x=\"%.1f\" y=\"%.1f\">", W - R + 20,
		    T + 16 * (double)p, col, W - R + 36, T + 16 * (double)p + 9);
		st_xml(f, phases->v[p]);
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
#undef X
#undef Y
}

/* ---- the run -------------------------------------------------------------- */

#define ST_OTHER "(other)"

/*
 * Referral sources and partners are free text: a value held by fewer
 * than k cases (or contacts) becomes ST_OTHER, so that its name, which
 * may say who the client is, is never printed.  "none" stays.
 */
static void
st_rare(struct st_run *r, struct st_set *refs, struct st_set *partners,
    long from, long end, int k)
{
	long *nr = calloc(refs->n + 1, sizeof *nr), *np = calloc(partners->n + 1,
	    sizeof *np);

	if (nr == NULL || np == NULL)
		cli_die("out of memory");
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < r->n; i++) {
			struct st_case *c = &r->v[i];
			long j;
			if (c->state != 1 || !c->in)
				continue;
			j = st_set_find(refs, c->referral);
			if (pass == 0)
				nr[j]++;
			else if (nr[j] < k && strcmp(c->referral, "none") != 0)
				snprintf(c->referral, sizeof c->referral, ST_OTHER);
			for (size_t e = 0; e < c->nct; e++) {
				struct st_ctev *t = &c->ct[e];
				if (t->date > end || (from >= 0 && t->date < from))
					continue;
				j = st_set_find(partners, t->partner);
				if (pass == 0)
					np[j]++;
				else if (np[j] < k && strcmp(t->partner, "none") != 0)
					snprintf(t->partner, sizeof t->partner, ST_OTHER);
			}
		}
	/* the sets again, with what is left */
	size_t n = 0;
	for (size_t i = 0; i < refs->n; i++)
		if (nr[i] >= k || strcmp(refs->v[i], "none") == 0)
			memmove(refs->v[n++], refs->v[i], ST_STR);
	if (n < refs->n) {
		refs->n = n;
		st_set_add(refs, ST_OTHER);
	}
	n = 0;
	for (size_t i = 0; i < partners->n; i++)
		if (np[i] >= k || strcmp(partners->v[i], "none") == 0)
			memmove(partners->v[n++], partners->v[i], ST_STR);
	if (n < partners->n) {
		partners->n = n;
		st_set_add(partners, ST_OTHER);
	}
	free(nr);
	free(np);
}

static int
st_codecmp(const void *a, const void *b)
{
	const struct st_case *const *x = a, *const *y = b;

	return strcmp((*x)->code, (*y)->code);
}

/* Prints the statistics of every case of s to out; dies on error. */
static void
stats_run(api_store *s, const api_identity *me, const api_conf *conf,
    const struct stats_opts *o, FILE *out)
{
	struct st_run r;
	api_staff_list staff;
	api_reads reads = { 0 };
	size_t ncant = 0, npurged = 0;
	int k = o->k, svgfd = -1;
	long end = o->to >= 0 ? o->to : api_date_today(), from = o->from;

	memset(&r, 0, sizeof r);
	r.s = s;
	r.me = me;
	api_store_prefetch(s);           /* every case's events, from disk */
	if (api_cases_each(s, st_collect, &r) < 0)
		cli_die_lib();

	/* every envelope first: statistics of some cases would mislead */
	st_parallel(&r, 1);
	for (size_t i = 0; i < r.n; i++) {
		ncant += r.v[i].state == 3;
		npurged += r.v[i].state == 2;
	}
	if (ncant > 0) {
		char role[16] = "?";
		long mi;
		if (api_store_staff(s, &staff) == 0) {
			if ((mi = api_staff_find(&staff, me->handle)) >= 0)
				snprintf(role, sizeof role, "%s", staff.v[mi].role);
			api_staff_list_free(&staff);
		}
		cli_die("--stats: %s (%s) cannot read the events of %zu of %zu "
		    "cases; the statistics need an identity that reads every "
		    "case's events: an auditor, service identity, lead or admin "
		    "active when its envelopes were written", me->handle, role,
		    ncant, r.n - npurged);
	}
	if (o->svg != NULL) {
		/* a new file, 0600, never over another, before anything is read */
		if ((svgfd = open(o->svg, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600)) < 0)
			cli_die("--svg %s: %s", o->svg, strerror(errno));
		st_svg_partial = o->svg;
		atexit(st_svg_cleanup);
		warn_public(o->svg);
	}
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].state == 1 && api_reads_add(&reads, r.v[i].id) < 0)
			cli_die_lib();
	cli_readlog(s, me, "api-export", o->purpose, &reads);
	api_reads_free(&reads);
	st_parallel(&r, 2);

	/* ---- each case in the window ---- */
	struct st_set phases = { 0 }, refs = { 0 }, reasons = { 0 }, kinds = { 0 },
	    partners = { 0 };
	const char *v;
	st_set_words(&phases, api_phases(conf));
	size_t nconf = phases.n;
	long closed = (long)nconf - 1;
	v = api_conf_get(conf, "phases.closeReasons");
	st_set_words(&reasons, v ? v : "completed ended-by-client declined "
	    "referred transferred security other");
	v = api_conf_get(conf, "notes.types");
	st_set_words(&kinds, v ? v : "psychosocial ideological network crisis "
	    "assessment admin");
	st_set_add(&kinds, "intake");
	long mfirst = from >= 0 ? st_month(from) : LONG_MAX, mlast = st_month(end);
	for (size_t i = 0; i < r.n; i++) {
		struct st_case *c = &r.v[i];
		if (c->state != 1)
			continue;
		qsort(c->ph, c->nph, sizeof *c->ph, st_phcmp);
		for (size_t j = 0; j < c->nph; j++)
			st_set_add(&phases, c->ph[j].phase);
		c->opened = c->ph[0].date;
		long p = st_phase_at(c, &phases, end);
		int moved = 0;
		for (size_t j = 0; j < c->nph; j++)
			moved |= c->ph[j].date >= from && c->ph[j].date <= end;
		long pf = from >= 0 ? st_phase_at(c, &phases, from - 1) : -1;
		c->in = p >= 0 && (from < 0 || pf != closed || moved);
		if (!c->in)
			continue;
		c->phase = (int)p;
		c->closed = -1;
		if (p == closed)
			for (size_t j = c->nph; j-- > 0; )
				if (c->ph[j].date <= end) {
					c->closed = c->ph[j].date;
					st_copy(c->reason, sizeof c->reason,
					    c->ph[j].reason[0] ? c->ph[j].reason : "none");
					st_set_add(&reasons, c->reason);
					break;
				}
		st_set_add(&refs, c->referral);
		if (from < 0 && st_month(c->opened) < mfirst)
			mfirst = st_month(c->opened);
		for (size_t j = 0; j < c->nct; j++)
			if (c->ct[j].date <= end && (from < 0 || c->ct[j].date >= from)) {
				c->ncontacts++;
				st_set_add(&kinds, c->ct[j].kind);
				st_set_add(&partners, c->ct[j].partner);
				if (from < 0 && st_month(c->ct[j].date) < mfirst)
					mfirst = st_month(c->ct[j].date);
			}
	}
	if (mfirst > mlast)
		mfirst = mlast;
	size_t nm = (size_t)(mlast - mfirst + 1);
	/* the rows' months: from the first opened, which may be before the
	 * window */
	long om0 = mfirst;
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].state == 1 && r.v[i].in && st_month(r.v[i].opened) < om0)
			om0 = st_month(r.v[i].opened);
	size_t nom = (size_t)(mlast - om0 + 1);
	st_rare(&r, &refs, &partners, from, end, k);
	/* (qsort of an empty set: a NULL array, which UBSan refuses) */
	if (refs.n > 1)
		qsort(refs.v, refs.n, sizeof *refs.v, st_strcmp);
	if (partners.n > 1)
		qsort(partners.v, partners.n, sizeof *partners.v, st_strcmp);

	/* ---- the cells ---- */
	struct st_tab t = { 0 };
	size_t ncase = 0;
	for (size_t i = 0; i < r.n; i++)
		ncase += r.v[i].state == 1 && r.v[i].in;
	size_t c_total = st_cell_add(&t, "cases", "total", "cases", (long)ncase);
	size_t g_phase = st_group_new(&t, (long)c_total);
	size_t c_phase0 = t.n;
	for (size_t p = 0; p < phases.n; p++)
		st_group_add(&t, g_phase, st_cell_add(&t, "phase", phases.v[p],
		    "cases", 0));
	size_t g_ref = st_group_new(&t, (long)c_total);
	size_t c_ref0 = t.n;
	for (size_t j = 0; j < refs.n; j++)
		st_group_add(&t, g_ref, st_cell_add(&t, "referral", refs.v[j],
		    "cases", 0));
	size_t c_closed = c_phase0 + (size_t)closed;
	size_t g_reason = st_group_new(&t, (long)c_closed);
	size_t c_reason0 = t.n;
	for (size_t j = 0; j < reasons.n; j++)
		st_group_add(&t, g_reason, st_cell_add(&t, "closure", reasons.v[j],
		    "cases", 0));
	st_cell_add(&t, "purged", "purged", "cases", (long)npurged);
	/* the rows' months and contact numbers, as a reader counts them */
	size_t g_om = st_group_new(&t, (long)c_total);
	size_t g_cm = st_group_new(&t, (long)c_closed);
	size_t g_nc = st_group_new(&t, (long)c_total);
	size_t c_om0 = t.n;
	for (size_t m = 0; m < nom; m++)
		st_group_add(&t, g_om, st_cell_add(&t, NULL, "opened", "", 0));
	size_t c_cm0 = t.n;
	for (size_t m = 0; m < nom; m++)
		st_group_add(&t, g_cm, st_cell_add(&t, NULL, "closed", "", 0));
	long maxc = 0;
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].state == 1 && r.v[i].in && r.v[i].ncontacts > maxc)
			maxc = r.v[i].ncontacts;
	long *ncof = calloc((size_t)maxc + 1, sizeof *ncof);
	if (ncof == NULL)
		cli_die("out of memory");
	/* contacts */
	long G = 0;
	size_t c_G = st_cell_add(&t, "contacts", "total", "contacts", 0);
	size_t g_month = st_group_new(&t, (long)c_G);
	size_t c_month0 = t.n;
	char mb[16];
	for (size_t m = 0; m < nm; m++) {
		st_month_str(mfirst + (long)m, mb);
		st_group_add(&t, g_month, st_cell_add(&t, "contacts_month", mb,
		    "contacts", 0));
	}
	size_t c_kind0 = st_month_groups(&t, "contacts_type", c_month0, nm,
	    mfirst, &kinds);
	size_t c_part0 = st_month_groups(&t, "contacts_partner", c_month0, nm,
	    mfirst, &partners);
	/* the chart: cases per phase at each month's end, under the cases
	 * opened by then; the last month is the phase table itself */
	size_t c_chart0 = 0;
	if (o->svg != NULL) {
		c_chart0 = t.n;
		for (size_t m = 0; m + 1 < nm; m++) {
			size_t fixed = st_cell_add(&t, NULL, "opened-by", "", 0);
			t.c[fixed].fixed = 1;
			size_t g = st_group_new(&t, (long)fixed);
			for (size_t p = 0; p < phases.n; p++)
				st_group_add(&t, g, st_cell_add(&t, NULL, "chart", "", 0));
		}
	}
	/* the counts */
	for (size_t i = 0; i < r.n; i++) {
		struct st_case *c = &r.v[i];
		if (c->state != 1 || !c->in)
			continue;
		t.c[c_phase0 + (size_t)c->phase].v++;
		t.c[c_ref0 + (size_t)st_set_find(&refs, c->referral)].v++;
		if (c->closed >= 0) {
			t.c[c_reason0 + (size_t)st_set_find(&reasons, c->reason)].v++;
			if (st_month(c->closed) >= om0)
				t.c[c_cm0 + (size_t)(st_month(c->closed) - om0)].v++;
		}
		t.c[c_om0 + (size_t)(st_month(c->opened) - om0)].v++;
		ncof[c->ncontacts]++;
		for (size_t j = 0; j < c->nct; j++) {
			const struct st_ctev *e = &c->ct[j];
			if (e->date > end || (from >= 0 && e->date < from))
				continue;
			size_t m = (size_t)(st_month(e->date) - mfirst);
			G++;
			t.c[c_month0 + m].v++;
			t.c[c_kind0 + m * kinds.n + (size_t)st_set_find(&kinds,
			    e->kind)].v++;
			t.c[c_part0 + m * partners.n + (size_t)st_set_find(&partners,
			    e->partner)].v++;
		}
		for (size_t m = 0; o->svg != NULL && m + 1 < nm; m++) {
			long day = st_month_last_day(mfirst + (long)m);
			long p = st_phase_at(c, &phases, day);
			size_t base = c_chart0 + m * (phases.n + 1);
			if (p < 0)
				continue;
			t.c[base].v++;
			t.c[base + 1 + (size_t)p].v++;
		}
	}
	t.c[c_G].v = G;
	/* closed before the first opened (dates written out of order) */
	long before = 0;
	for (size_t m = 0; m < nom; m++)
		before += t.c[c_cm0 + m].v;
	if ((before = t.c[c_closed].v - before) > 0)
		st_group_add(&t, g_cm, st_cell_add(&t, NULL, "closed", "", before));
	for (long n = 0; n <= maxc; n++)
		if (ncof[n] > 0)
			st_group_add(&t, g_nc, st_cell_add(&t, NULL, "contacts", "",
			    ncof[n]));

	st_suppress(&t, k);
	/* no number of cases: no other number, and no table but the totals */
	if (t.c[c_total].st != ST_SHOWN) {
		for (size_t i = 0; i < t.n; i++)
			if (t.c[i].st == ST_SHOWN && !t.c[i].fixed)
				t.c[i].st = ST_SECOND;
		for (size_t g = 0; g < t.ng; g++)
			for (size_t i = 0; i < t.g[g].n; i++)
				t.c[t.g[g].cell[i]].omit = 1;
	}

	/* ---- what is printed ---- */
	struct st_out lines = { 0 };
	char b[ST_STR];
	if (from >= 0)
		api_date_format(b, from);
	st_put(&lines, "export", "from", "date", from >= 0 ? b : "-");
	api_date_format(b, end);
	st_put(&lines, "export", "to", "date", b);
	snprintf(b, sizeof b, "%d", k);
	st_put(&lines, "export", "min_cell", "count", b);
	for (size_t i = 0; i < c_kind0; i++)
		if (t.c[i].table != NULL && !t.c[i].omit)
			st_put(&lines, t.c[i].table, t.c[i].row, t.c[i].col,
			    st_show(&t.c[i], k, b, sizeof b));
	/* time in each phase, and from opened to closed */
	long *days = malloc((ncase ? ncase : 1) * sizeof *days);
	if (days == NULL)
		cli_die("out of memory");
	for (size_t p = 0; p <= phases.n; p++) {
		size_t n = 0;
		const char *name = p < phases.n ? phases.v[p] : "opened-to-closed";
		const char *tab = p < phases.n ? "time_in_phase" : "duration";
		if (p == (size_t)closed)
			continue;
		for (size_t i = 0; i < r.n; i++) {
			struct st_case *c = &r.v[i];
			if (c->state != 1 || !c->in)
				continue;
			if (p == phases.n) {
				if (c->closed >= 0)
					days[n++] = c->closed - c->opened;
				continue;
			}
			long sum = 0;
			int visited = 0;
			for (size_t j = 0; j < c->nph && c->ph[j].date <= end; j++) {
				long next = j + 1 < c->nph && c->ph[j + 1].date <= end ?
				    c->ph[j + 1].date : end;
				if (st_set_find(&phases, c->ph[j].phase) == (long)p) {
					visited = 1;
					sum += next - c->ph[j].date;
				}
			}
			if (visited)
				days[n++] = sum;
		}
		int show = (long)n >= k && t.c[c_total].st == ST_SHOWN;
		if (p == phases.n) {
			show = show && t.c[c_closed].st != ST_PRIMARY;
			st_show(&t.c[c_closed], k, b, sizeof b);
		} else if (k <= 1)
			snprintf(b, sizeof b, "%zu", n);
		else
			snprintf(b, sizeof b, "%s%d", show ? ">=" : "<", k);
		st_put(&lines, tab, name, "n", b);
		if (show && n > 0)
			qsort(days, n, sizeof *days, st_longcmp);
		static const char *const qn[] = { "median", "q1", "q3" };
		static const double qp[] = { 0.5, 0.25, 0.75 };
		for (int q = 0; q < 3; q++) {
			if (show && n > 0)
				st_num(b, sizeof b, st_quantile(days, n, qp[q]));
			else
				snprintf(b, sizeof b, "x");
			st_put(&lines, tab, name, qn[q], b);
		}
	}
	free(days);
	for (size_t i = c_kind0; i < t.n && (c_chart0 == 0 || i < c_chart0); i++)
		if (t.c[i].table != NULL && !t.c[i].omit)
			st_put(&lines, t.c[i].table, t.c[i].row, t.c[i].col,
			    st_show(&t.c[i], k, b, sizeof b));

	/* per-case rows, under random codes, in the order of the codes */
	struct st_case **rows = calloc(ncase ? ncase : 1, sizeof *rows);
	size_t nrows = 0;
	if (rows == NULL)
		cli_die("out of memory");
	for (size_t i = 0; t.c[c_total].st == ST_SHOWN && i < r.n; i++) {
		struct st_case *c = &r.v[i];
		if (c->state != 1 || !c->in)
			continue;
		for (;;) {
			static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
			unsigned char rb[8];
			int dup = 0;
			randombytes_buf(rb, sizeof rb);
			for (int j = 0; j < 8; j++)
				c->code[j] = b32[rb[j] & 31];
			c->code[8] = '\0';
			for (size_t j = 0; j < nrows && !dup; j++)
				dup = strcmp(rows[j]->code, c->code) == 0;
			if (!dup)
				break;
		}
		rows[nrows++] = c;
	}
	qsort(rows, nrows, sizeof *rows, st_codecmp);
	int closed_shown = t.c[c_closed].st == ST_SHOWN;
	for (size_t i = 0; i < nrows; i++) {
		struct st_case *c = rows[i];
		long om = st_month(c->opened) - om0;
		const struct st_cell *cell = &t.c[c_om0 + (size_t)om];
		st_month_str(st_month(c->opened), b);
		st_put(&lines, "case", c->code, "opened", cell->st == ST_SHOWN ?
		    b : "x");
		if (!closed_shown)
			snprintf(b, sizeof b, "x");
		else if (c->closed < 0)
			snprintf(b, sizeof b, "-");
		else {
			long cm = st_month(c->closed) - om0;
			cell = cm >= 0 ? &t.c[c_cm0 + (size_t)cm] :
			    &t.c[t.g[g_cm].cell[t.g[g_cm].n - 1]];
			if (cell->st != ST_SHOWN)
				snprintf(b, sizeof b, "x");
			else if (cm < 0)
				snprintf(b, sizeof b, "before");
			else
				st_month_str(st_month(c->closed), b);
		}
		st_put(&lines, "case", c->code, "closed", b);
		cell = &t.c[c_phase0 + (size_t)c->phase];
		st_put(&lines, "case", c->code, "phase", cell->st == ST_SHOWN ?
		    phases.v[c->phase] : "x");
		cell = &t.c[c_ref0 + (size_t)st_set_find(&refs, c->referral)];
		st_put(&lines, "case", c->code, "referral", cell->st == ST_SHOWN ?
		    c->referral : "x");
		if (!closed_shown)
			snprintf(b, sizeof b, "x");
		else if (c->closed < 0)
			snprintf(b, sizeof b, "-");
		else {
			cell = &t.c[c_reason0 + (size_t)st_set_find(&reasons,
			    c->reason)];
			st_copy(b, sizeof b, cell->st == ST_SHOWN ? c->reason : "x");
		}
		st_put(&lines, "case", c->code, "reason", b);
		/* the group of this case's number of contacts */
		size_t gi = 0;
		for (long n = 0; n < c->ncontacts; n++)
			gi += ncof[n] > 0;
		cell = &t.c[t.g[g_nc].cell[gi]];
		snprintf(b, sizeof b, "%ld", c->ncontacts);
		st_put(&lines, "case", c->code, "contacts", cell->st == ST_SHOWN ?
		    b : "x");
	}

	/* the chart, then the tables */
	if (svgfd >= 0) {
		long *pt = malloc(nm * phases.n * sizeof *pt);
		FILE *f = fdopen(svgfd, "w");
		if (pt == NULL || f == NULL)
			cli_die("--svg %s: %s", o->svg, strerror(errno));
		for (size_t m = 0; m < nm; m++)
			for (size_t p = 0; p < phases.n; p++) {
				const struct st_cell *cell = m + 1 < nm ?
				    &t.c[c_chart0 + m * (phases.n + 1) + 1 + p] :
				    &t.c[c_phase0 + p];
				pt[m * phases.n + p] = cell->st == ST_SHOWN ? cell->v : -1;
			}
		st_svg_write(f, &phases, mfirst, nm, pt, k);
		if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0 ||
		    fclose(f) != 0)
			cli_die("--svg %s: write error", o->svg);
		free(pt);
	}
	st_print(out, &lines, o->fmt);
	st_svg_partial = NULL;

	free(lines.v);
	free(rows);
	free(ncof);
	for (size_t i = 0; i < t.ng; i++)
		free(t.g[i].cell);
	free(t.g);
	free(t.c);
	free(phases.v);
	free(refs.v);
	free(reasons.v);
	free(kinds.v);
	free(partners.v);
	for (size_t i = 0; i < r.n; i++) {
		free(r.v[i].ph);
		free(r.v[i].ct);
	}
	free(r.v);
}
#endif
