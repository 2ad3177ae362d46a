/* api-status - cases and phases; change a phase; schedule; due reminders. */
#include <getopt.h>
#include <stdatomic.h>
#include <time.h>

#include "cli.h"

#define KINDS "appointment review custody release consent-given " \
	"consent-withdrawn retention"

struct row {
	api_case_state st;
	api_team team;
	int has_next;
	api_due next;
};

struct scan {
	api_store *s;
	const api_identity *me;
	const char *role;
	const char *only;                    /* --for HANDLE */
	const api_conf *conf;
	long as_of, within;
	int due;                             /* --due */
	api_state_cache *cache;              /* states of earlier runs */
	struct row *rows;
	size_t nrows;
	api_due *items;
	size_t nitems;
	int errors;
	api_reads reads;                     /* the cases whose events were read */
};

struct op {
	const api_identity *me;
	const char *id, *date, *phase, *from, *reason, *kind, *partner;
	const char *recipient;               /* consent: to share with */
	char event[API_OBJ_ID_LEN + 1];
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: api-status [-C DIR] [-i FILE] [--passphrase-fd N]\n"
	    "                  [--purpose TEXT] [--json] [CASE]\n"
	    "       api-status [options] CASE --set PHASE [--reason R] [--date D]\n"
	    "       api-status [options] CASE --schedule KIND DATE [--partner P]\n"
	    "                  [--recipient AGE1]\n"
	    "       api-status [options] --due [--as-of D] [--within DAYS]\n"
	    "                  [--for HANDLE] [--json]\n"
	    "KIND is one of: " KINDS "\n");
}

/* A field for a terminal or TSV: control bytes and tabs neutralised. */
static void
put_field(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static const char *
date_str(char buf[11], long d)
{
	if (d < 0)
		return "-";
	api_date_format(buf, d);
	return buf;
}

/* ---- reading every case ------------------------------------------------- */

/* One case as a worker read it. */
struct loaded {
	char id[API_CASE_ID_LEN + 1];
	int state;                   /* 0 not listed, 1 read, -1 failed */
	int purged;                  /* not listed: purged */
	int cached, keyed;           /* from the cache; key below valid */
	unsigned char key[32];
	api_case_state st;
	api_team team;
	char err[512];
};

/*
 * Reads one case's state: from the cache when its events and team are as
 * they were, else by decrypting its events.  Touches nothing shared but
 * the (read-only) cache, so that workers run it side by side.
 */
static void
load_case(struct scan *sc, api_store *s, struct loaded *r)
{
	api_case *c = NULL;
	/* leads, service staff and admins read every case's events */
	int lead_or_service = strcmp(sc->role, "lead") == 0 ||
	    strcmp(sc->role, "service") == 0 || strcmp(sc->role, "admin") == 0;
	int rc;

	r->state = 0;
	r->purged = 0;
	if ((rc = api_case_load(s, r->id, &c)) < 0)
		goto fail;
	r->purged = api_case_purged(c) != NULL;
	if (r->purged)
		goto out;            /* nothing of it can be read */
	const api_team *t = api_case_team(c);
	if (sc->only && !api_team_has(t, sc->only))
		goto out;
	if (!api_team_has(t, sc->me->handle) && !lead_or_service)
		goto out;            /* not readable: not listed */
	r->keyed = api_state_cache_key(c, r->key) == 0;
	/* a state worked out before, from these very events: no need to
	 * decrypt them again */
	r->cached = r->keyed && api_state_cache_get(sc->cache, r->id, r->key,
	    &r->st);
	if (!r->cached) {
		if (!lead_or_service && (rc = api_case_unlock(c, sc->me)) < 0)
			goto fail;
		/* service staff and admins hold only the events keys: go
		 * there straight, not through key.age */
		if ((strcmp(sc->role, "service") == 0 ||
		    strcmp(sc->role, "admin") == 0) &&
		    (rc = api_case_unlock_events(c, sc->me)) < 0)
			goto fail;
		if ((rc = api_case_state_load(c, sc->me, &r->st)) < 0)
			goto fail;
	}
	for (size_t i = 0; !sc->due && i < t->n; i++)
		if ((rc = api_team_add(&r->team, t->member[i])) < 0)
			goto fail;
	r->state = 1;
	goto out;
fail:
	snprintf(r->err, sizeof r->err, "%s", api_error_last());
	r->state = -1;
out:
	api_case_free(c);
}

/* What a case read adds to the run: the read log, the cache, the report
 * or the listing.  Run in case order, by one thread. */
static int
use_case(struct scan *sc, struct loaded *l)
{
	struct row r;
	int rc;

	if (l->state < 0) {
		/* one unreadable or tampered case does not hide the others */
		fprintf(stderr, "%s: %s\n", cli_name, l->err);
		sc->errors++;
		return 0;
	}
	/* nor kept: the cache is no copy that a purge cannot reach */
	if (l->purged)
		api_state_cache_drop(sc->cache, l->id);
	if (l->state == 0)
		return 0;
	if ((rc = api_reads_add(&sc->reads, l->id)) < 0 ||
	    (!l->cached && l->keyed &&
	    (rc = api_state_cache_put(sc->cache, l->key, &l->st)) < 0))
		return rc;
	memset(&r, 0, sizeof r);
	r.st = l->st;
	if (sc->only)
		snprintf(r.st.lead, sizeof r.st.lead, "%s", sc->only);
	if (sc->due)
		return api_due_compute(&r.st, sc->conf, sc->as_of, sc->within,
		    &sc->items, &sc->nitems);
	api_due *v = NULL;
	size_t n = 0;
	/* the next thing due, however far away */
	if ((rc = api_due_compute(&r.st, sc->conf, sc->as_of, 1L << 30, &v,
	    &n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!r.has_next || v[i].date < r.next.date) {
			r.next = v[i];
			r.has_next = 1;
		}
	free(v);
	struct row *nr = realloc(sc->rows, (sc->nrows + 1) * sizeof *nr);
	if (nr == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	r.team = l->team;            /* the row owns it now */
	memset(&l->team, 0, sizeof l->team);
	sc->rows = nr;
	sc->rows[sc->nrows++] = r;
	return 0;
}

static int
read_case(void *ctx, const char *id)
{
	struct scan *sc = ctx;
	struct loaded l;
	int rc;

	memset(&l, 0, sizeof l);
	snprintf(l.id, sizeof l.id, "%s", id);
	load_case(sc, sc->s, &l);
	rc = use_case(sc, &l);
	api_team_free(&l.team);
	return rc;
}

/* ---- every case, on every core ------------------------------------------- */

struct pool {
	struct scan *sc;
	struct loaded *v;
	size_t n, cap;
	_Atomic size_t next;
};

static int
collect_id(void *ctx, const char *id)
{
	struct pool *p = ctx;

	if (p->n == p->cap) {
		void *v = realloc(p->v, (p->cap = p->cap ? 2 * p->cap : 256) *
		    sizeof *p->v);
		if (v == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		p->v = v;
	}
	memset(&p->v[p->n], 0, sizeof p->v[p->n]);
	snprintf(p->v[p->n++].id, sizeof p->v[0].id, "%s", id);
	return 0;
}

static void
work(void *ctx, api_store *s)
{
	struct pool *p = ctx;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		load_case(p->sc, s, &p->v[i]);
}

/* Every case: read by as many threads as there are cores (decrypting
 * the events is the work), then used in case order. */
static int
read_all(struct scan *sc)
{
	struct pool p = { sc, NULL, 0, 0, 0 };
	int rc = 0;

	/* --due again on the same cases/ tree: every state from the cache,
	 * no case opened (the cron job that runs every morning) */
	char how[3 * API_HANDLE_MAX + 64];
	unsigned char rk[32];
	snprintf(how, sizeof how, "due\n%s\n%s\n%s", sc->role, sc->me->handle,
	    sc->only ? sc->only : "");
	int whole = sc->due && api_state_cache_run_key(sc->s, how, rk) == 0;
	api_case_state *sv;
	size_t sn;
	if (whole && api_state_cache_run_get(sc->cache, rk, &sv, &sn) == 1) {
		for (size_t i = 0; i < sn && rc == 0; i++) {
			struct loaded l;
			memset(&l, 0, sizeof l);
			memcpy(l.id, sv[i].id, sizeof l.id);
			l.state = l.cached = 1;
			l.st = sv[i];
			rc = use_case(sc, &l);
		}
		sodium_free(sv);
		return rc;
	}
	api_store_prefetch(sc->s);       /* every case's events, from disk */
	if (api_cases_each(sc->s, collect_id, &p) < 0)
		return -1;
	atomic_init(&p.next, 0);
	api_fanout f;
	api_fanout_start(&f, sc->s, p.n <= 8, work, &p);
	work(&p, sc->s);
	api_fanout_join(&f);
	size_t listed = 0, failed = 0;
	for (size_t i = 0; i < p.n; i++) {
		if (rc == 0)
			rc = use_case(sc, &p.v[i]);
		api_team_free(&p.v[i].team);
		failed += p.v[i].state < 0 || (p.v[i].state == 1 && !p.v[i].keyed);
		if (p.v[i].state == 1)
			memmove(p.v[listed++].id, p.v[i].id, sizeof p.v[i].id);
	}
	/* a whole run, every case read: the next one may skip them all */
	if (whole && rc == 0 && failed == 0) {
		char (*ids)[API_CASE_ID_LEN + 1] = malloc((listed + 1) * sizeof *ids);
		for (size_t i = 0; ids && i < listed; i++)
			memcpy(ids[i], p.v[i].id, sizeof ids[i]);
		if (ids)
			(void)api_state_cache_run_put(sc->cache, rk, ids, listed);
		free(ids);
	}
	free(p.v);
	return rc;
}

static void
print_rows(struct scan *sc, int json)
{
	int tty = isatty(1);
	char b1[11], b2[11], b3[11];

	if (json) {
		printf("[");
		for (size_t i = 0; i < sc->nrows; i++) {
			struct row *r = &sc->rows[i];
			printf("%s\n{\"case\":\"%s\",\"phase\":", i ? "," : "", r->st.id);
			cli_json_str(r->st.phase);
			printf(",\"since\":\"%s\",\"lead\":", date_str(b1, r->st.since));
			cli_json_str(r->st.lead);
			printf(",\"team\":[");
			for (size_t k = 0; k < r->team.n; k++) {
				printf("%s", k ? "," : "");
				cli_json_str(r->team.member[k]);
			}
			printf("],\"last_contact\":");
			if (r->st.last_contact < 0)
				printf("null");
			else
				printf("\"%s\"", date_str(b2, r->st.last_contact));
			printf(",\"next\":");
			if (r->has_next) {
				printf("{\"date\":\"%s\",\"rule\":",
				    date_str(b3, r->next.date));
				cli_json_str(r->next.rule);
				printf("}");
			} else
				printf("null");
			printf("}");
		}
		printf("%s]\n", sc->nrows ? "\n" : "");
		return;
	}
	if (tty && sc->nrows)
		printf("%-10s  %-10s  %-10s  %-12s  %-12s  %s\n", "CASE", "PHASE",
		    "SINCE", "LEAD", "LAST CONTACT", "NEXT DUE");
	for (size_t i = 0; i < sc->nrows; i++) {
		struct row *r = &sc->rows[i];
		const char *nd = r->has_next ? date_str(b3, r->next.date) : "-";
		const char *nr = r->has_next ? r->next.rule : "-";
		if (tty) {
			printf("%-10s  ", r->st.id);
			put_field(r->st.phase);
			printf("%*s  %-10s  ", (int)(10 > strlen(r->st.phase) ?
			    10 - strlen(r->st.phase) : 0), "",
			    date_str(b1, r->st.since));
			put_field(r->st.lead);
			printf("%*s  %-12s  %s %s\n", (int)(12 > strlen(r->st.lead) ?
			    12 - strlen(r->st.lead) : 0), "",
			    date_str(b2, r->st.last_contact), nd, nr);
		} else {
			printf("%s\t", r->st.id);
			put_field(r->st.phase);
			printf("\t%s\t", date_str(b1, r->st.since));
			put_field(r->st.lead);
			printf("\t%s\t%s\t%s\n", date_str(b2, r->st.last_contact), nd, nr);
		}
	}
}

/* the day the report is for, for due_cmp (qsort has no context) */
static long due_as_of;

static int
due_cmp(const void *a, const void *b)
{
	const api_due *x = a, *y = b;
	int c, ox = x->date < due_as_of, oy = y->date < due_as_of;

	if ((c = strcmp(x->lead, y->lead)) != 0)
		return c;
	if (ox != oy)
		return oy - ox;          /* overdue first */
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	if ((c = strcmp(x->id, y->id)) != 0)
		return c;
	return strcmp(x->rule, y->rule);
}

/* By lead, overdue first, then by date: a report of 2,000 cases holds
 * thousands of items, too many for an insertion sort. */
static void
sort_due(api_due *v, size_t n, long as_of)
{
	due_as_of = as_of;
	if (n > 1)                   /* v is NULL when nothing is due */
		qsort(v, n, sizeof *v, due_cmp);
}

static void
print_due(struct scan *sc, int json)
{
	int tty = isatty(1);
	char b[11];

	sort_due(sc->items, sc->nitems, sc->as_of);
	if (json) {
		printf("[");
		for (size_t i = 0; i < sc->nitems; i++) {
			api_due *d = &sc->items[i];
			printf("%s\n{\"caseworker\":", i ? "," : "");
			cli_json_str(d->lead);
			printf(",\"case\":\"%s\",\"date\":\"%s\",\"state\":\"%s\","
			    "\"rule\":\"%s\",\"detail\":", d->id, date_str(b, d->date),
			    d->date < sc->as_of ? "overdue" : "due", d->rule);
			cli_json_str(d->detail);
			printf("}");
		}
		printf("%s]\n", sc->nitems ? "\n" : "");
		return;
	}
	for (size_t i = 0; i < sc->nitems; i++) {
		api_due *d = &sc->items[i];
		const char *state = d->date < sc->as_of ? "overdue" : "due";
		if (tty) {
			if (i == 0 || strcmp(d->lead, sc->items[i - 1].lead) != 0) {
				printf("%s", i ? "\n" : "");
				put_field(d->lead);
				printf("\n");
			}
			printf("  %-7s  %s  %s  %-11s  ", state, date_str(b, d->date),
			    d->id, d->rule);
			put_field(d->detail);
			printf("\n");
		} else {
			put_field(d->lead);
			printf("\t%s\t%s\t%s\t%s\t", d->id, date_str(b, d->date), state,
			    d->rule);
			put_field(d->detail);
			printf("\n");
		}
	}
}

/* ---- writing an event ----------------------------------------------------- */

static int
build_event(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	api_buf ev = { 0 };
	char path[128];
	const char *type = op->phase ? "phase" : op->kind, *consent = NULL;
	api_case_w w;
	int rc;

	if (op->kind && strncmp(op->kind, "consent-", 8) == 0) {
		consent = op->kind + 8;
		type = "consent";
	}
	ev.secret = 1;
	if ((rc = api_tx_case(tx, op->id, op->me, &w)) < 0)
		return rc;
	if ((rc = api_record_field(&ev, "Case", op->id)) < 0 ||
	    (rc = api_record_field(&ev, "Event", op->event)) < 0 ||
	    (rc = api_record_field(&ev, "Author", op->me->handle)) < 0 ||
	    (rc = api_record_field(&ev, "Date", op->date)) < 0 ||
	    (rc = api_record_field(&ev, "Type", type)) < 0 ||
	    (rc = api_record_field(&ev, "Phase", op->phase)) < 0 ||
	    (rc = api_record_field(&ev, "From", op->from)) < 0 ||
	    (rc = api_record_field(&ev, "Reason", op->reason)) < 0 ||
	    (rc = api_record_field(&ev, "Consent", consent)) < 0 ||
	    (rc = api_record_field(&ev, "Recipient", op->recipient)) < 0 ||
	    (rc = api_record_field(&ev, "Partner", op->partner)) < 0 ||
	    (rc = api_record_field(&ev, "Decision", strcmp(type, "retention") == 0 ?
	    "keep" : NULL)) < 0)
		goto out;
	snprintf(path, sizeof path, "%s/events/%s.age", w.dir, op->event);
	if ((rc = api_tx_put_record(tx, path, &ev,
	    (const unsigned char (*)[32])w.event_pk, 1)) < 0)
		goto out;
	rc = op->phase ?
	    api_tx_message(tx, "status: phase changed", "phase", op->id, op->event) :
	    api_tx_message(tx, "status: event recorded", "schedule", op->id,
	    op->event);
out:
	api_buf_free(&ev);
	api_case_w_free(&w);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "set", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ "date", required_argument, NULL, 'd' },
		{ "schedule", required_argument, NULL, 'S' },
		{ "partner", required_argument, NULL, 'p' },
		{ "recipient", required_argument, NULL, 'R' },
		{ "due", no_argument, NULL, 'D' },
		{ "as-of", required_argument, NULL, 'a' },
		{ "within", required_argument, NULL, 'w' },
		{ "for", required_argument, NULL, 'f' },
		{ "purpose", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *set = NULL, *asof = NULL,
	    *within = NULL, *purpose = "status";
	int c, pass_fd = -1, json = 0, rc = 0;
	char today[11], phase[32];
	struct scan sc;
	struct op op;
	api_conf *conf = NULL;
	api_staff_list l;
	api_identity *me;
	long d;

	memset(&sc, 0, sizeof sc);
	memset(&op, 0, sizeof op);
	cli_start("api-status");
	while ((c = getopt_long(argc, argv, "hC:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'j': json = 1; break;
		case 's': set = optarg; break;
		case 'r': op.reason = optarg; break;
		case 'd': op.date = optarg; break;
		case 'S': op.kind = optarg; break;
		case 'p': op.partner = optarg; break;
		case 'R': op.recipient = optarg; break;
		case 'D': sc.due = 1; break;
		case 'a': asof = optarg; break;
		case 'w': within = optarg; break;
		case 'f': sc.only = optarg; break;
		case 'U': purpose = cli_purpose(optarg); break;
		case 'h':
			printf("api-status - cases, phases and what is due\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-status %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	/* the forms exclude each other */
	if ((set && op.kind) || ((set || op.kind) && (argc != 1 + (op.kind != NULL) ||
	    sc.due || json)) || (sc.due && argc != 0) || argc > 2 ||
	    (!set && !op.kind && argc > 1) || ((op.reason) && !set) ||
	    (op.partner && !op.kind) || (op.date && !set) ||
	    ((asof || within || sc.only) && !sc.due)) {
		usage(stderr);
		return 2;
	}
	if (op.recipient && (op.kind == NULL || strncmp(op.kind, "consent-", 8))) {
		fprintf(stderr, "api-status: --recipient goes with --schedule "
		    "consent-given or consent-withdrawn\n");
		return 2;
	}
	unsigned char rpk[32];
	if (op.recipient && api_age_recipient_parse(rpk, op.recipient) < 0) {
		fprintf(stderr, "api-status: --recipient %s: not an age1 recipient\n",
		    op.recipient);
		return 2;
	}
	if (op.kind && api_word_index(KINDS, op.kind) < 0) {
		fprintf(stderr, "api-status: unknown kind '%s' (one of: %s)\n",
		    op.kind, KINDS);
		return 2;
	}
	sc.s = cli_store_conf(dir, &conf);
	if (api_store_staff(sc.s, &l) < 0)
		cli_die_lib();
	sc.conf = conf;
	api_date_format(today, api_date_today());
	sc.as_of = api_date_today();
	if (asof && api_date_parse(asof, &sc.as_of) < 0)
		cli_die_lib();
	const char *w = within ? within : api_conf_get(conf, "remind.within");
	sc.within = w ? api_conf_days(w) : 7;
	if (sc.within < 0)
		cli_die("%s: '%s' is not a duration (30, 30d, 4w, 6m, 5y)",
		    within ? "--within" : "api.conf remind.within", w);
	me = cli_identity(ident, pass_fd);
	long mi = api_staff_find(&l, me->handle);
	if (api_staff_require(&l, me, API_ROLES) < 0)
		cli_die_lib();
	sc.me = me;
	sc.role = l.v[mi].role;

	if (set || op.kind) {
		api_case *cs = NULL;
		api_case_state st;
		if (api_case_load(sc.s, argv[0], &cs) < 0)
			cli_die_lib();
		op.me = me;
		op.id = api_case_id(cs);
		if (op.kind) {
			op.date = argv[1];
		} else {
			/* the events: with the case key, or as a lead */
			if (api_case_state_load(cs, me, &st) < 0 ||
			    api_phase_next(conf, &st, set, op.reason, phase,
			    sizeof phase) < 0)
				cli_die_lib();
			op.phase = phase;
			op.from = st.phase;
		}
		if (op.date == NULL)
			op.date = today;
		if (api_date_parse(op.date, &d) < 0)
			cli_die_lib();
		if (api_obj_id_new(op.event) < 0 ||
		    api_store_write(sc.s, me, build_event, &op, NULL) < 0)
			cli_die_lib();
		if (op.phase)
			printf("%s\t%s\n", op.id, op.phase);
		else
			printf("%s\n", op.event);
		api_case_free(cs);
	} else if (argc == 1) {
		api_case *cs = NULL;
		if (api_case_load(sc.s, argv[0], &cs) < 0)
			cli_die_lib();
		if (api_case_purged(cs))
			cli_die("case %s was purged", api_case_id(cs));
		if (!api_team_has(api_case_team(cs), me->handle) &&
		    strcmp(sc.role, "lead") != 0 && strcmp(sc.role, "service") != 0 &&
		    strcmp(sc.role, "admin") != 0)
			cli_die("%s is not on the team of case %s", me->handle,
			    api_case_id(cs));
		char id[API_CASE_ID_LEN + 1];
		snprintf(id, sizeof id, "%s", api_case_id(cs));
		api_case_free(cs);
		read_case(&sc, id);
		cli_readlog(sc.s, me, "api-status", purpose, &sc.reads);
		print_rows(&sc, json);
	} else {
		if (api_state_cache_open(sc.s, me, &sc.cache) < 0)
			cli_die_lib();
		if (read_all(&sc) < 0)
			cli_die_lib();
		api_state_cache_save(sc.cache);
		api_state_cache_free(sc.cache);
		/* one log entry for the run, however many cases it read */
		cli_readlog(sc.s, me, "api-status", purpose, &sc.reads);
		if (sc.due) {
			if (sc.nitems || json)
				print_due(&sc, json);
		} else
			print_rows(&sc, json);
	}
	if (sc.errors)
		rc = 1;
	for (size_t i = 0; i < sc.nrows; i++)
		api_team_free(&sc.rows[i].team);
	free(sc.rows);
	free(sc.items);
	api_reads_free(&sc.reads);
	api_staff_list_free(&l);
	api_conf_free(conf);
	api_identity_free(me);
	api_store_free(sc.s);
	return cli_flush() || rc;
}
