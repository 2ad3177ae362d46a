/*
 * api-search - search the notes of the cases one can read, in memory.
 *
 * Every note is decrypted into locked memory, matched line by line with a
 * POSIX extended regular expression, and forgotten; nothing is written
 * but the read log's record of which cases were searched (logged before
 * the first note is decrypted).  Exit status as grep's: 0 when a line
 * matched, 1 when none did, 2 on an error.
 */
#include <getopt.h>
#include <regex.h>
#include <sched.h>
#include <stdatomic.h>

#include "cli.h"

struct search {
	api_store *s;
	const api_identity *me;
	regex_t re;
	const char *type;            /* -t: only notes of this Type */
	long since;                  /* --since: only notes dated from; -1 */
	int list, tsv, nul, tty;
	char **ids;                  /* the cases to search */
	size_t n, cap;
	size_t found;
	const char *pattern;
	int cflags;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: api-search [-C DIR] [--identity FILE] "
	    "[--passphrase-fd N] [-i] [-l] [-z]\n"
	    "                  [--tsv] [-t TYPE] [--since DATE] "
	    "[--purpose TEXT] PATTERN [CASE...]\n");
}

/* One case's output, made by a worker and printed in case order. */
struct job {
	char *id;
	api_buf out;                 /* secret: lines of notes */
	int any;                     /* a line matched */
	char err[512];               /* a failure's message, else "" */
	_Atomic int done;
};

static void
out_bytes(struct job *j, const void *p, size_t n)
{
	if (api_buf_append(&j->out, p, n) < 0)
		snprintf(j->err, sizeof j->err, "out of memory");
}

/* Text for the output: on a terminal, or in a TSV field, a control
 * character (a tab too; C1 controls, U+0080 to U+009F, as well) becomes
 * a space, so that a note can neither drive the terminal nor add a
 * field. */
static void
put(const struct search *x, struct job *j, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if ((x->tty || x->tsv) && (ch < 0x20 || ch == 0x7f))
			out_bytes(j, " ", 1);
		else if ((x->tty || x->tsv) && ch == 0xc2 && i + 1 < n &&
		    (unsigned char)p[i + 1] >= 0x80 &&
		    (unsigned char)p[i + 1] <= 0x9f) {
			out_bytes(j, " ", 1);
			i++;
		} else
			out_bytes(j, &ch, 1);
	}
}

static void
end(const struct search *x, struct job *j)
{
	out_bytes(j, x->nul ? "" : "\n", 1);
}

/* One line of a note, NUL-terminated in the record's own (locked)
 * buffer: kept for the output when it matches. */
static int
line_matches(const struct search *x, const regex_t *re, struct job *j,
    const char *note, const char *date, const char *line, size_t len)
{
	regmatch_t m;
	int hit = regexec(re, line, 1, &m, 0) == 0;
	char sep = x->tsv ? '\t' : ' ';

	if (hit && !x->list) {
		/* the date is the note's own header: neutralised as its text */
		out_bytes(j, j->id, strlen(j->id));
		out_bytes(j, &sep, 1);
		out_bytes(j, note, strlen(note));
		out_bytes(j, &sep, 1);
		put(x, j, date, strlen(date));
		out_bytes(j, x->tsv ? "\t" : ": ", x->tsv ? 1 : 2);
		put(x, j, line, len);
		end(x, j);
	}
	return hit;
}

/* The notes of case j->id, into j; a failure in j->err. */
static void
search_case(const struct search *x, api_store *s, const regex_t *re,
    struct job *j)
{
	char **names = NULL;
	size_t n = 0;
	api_case *cs = NULL;
	api_record r = { 0 };            /* one record's buffers, reused */

	j->out.secret = 1;
	if (api_case_load(s, j->id, &cs) < 0 || api_case_unlock(cs, x->me) < 0 ||
	    api_case_files(cs, "notes", &names, &n) < 0) {
		snprintf(j->err, sizeof j->err, "%s", api_error_last());
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		const char *date, *type, *note, *p;
		char *e;
		long d;
		if (!(x->list && j->any) && !j->err[0]) {
			if (api_case_read(cs, x->me, "notes", names[i], &r) < 0) {
				snprintf(j->err, sizeof j->err, "%s", api_error_last());
				free(names[i]);
				continue;
			}
			date = api_record_get(&r, "Date");
			type = api_record_get(&r, "Type");
			note = api_record_get(&r, "Note");
			if ((x->type == NULL || (type && strcmp(type, x->type) == 0)) &&
			    (x->since < 0 || (date && api_date_parse(date, &d) == 0 &&
			    d >= x->since)))
				for (p = r.body; p < r.body + r.bodylen; p = e + 1) {
					/* each line ends in place for regexec (the
					 * body is this run's own copy) */
					e = memchr(p, '\n', (size_t)(r.body + r.bodylen - p));
					if (e == NULL)
						e = (char *)r.body + r.bodylen;
					char end_ch = *e;
					*e = '\0';
					if (line_matches(x, re, j, note ? note : names[i],
					    date ? date : "-", p, (size_t)(e - p)))
						j->any = 1;
					*e = end_ch;
					if (j->any && x->list)
						break;
				}
		}
		free(names[i]);
	}
	api_record_free(&r);
	free(names);
	api_case_free(cs);
	if (j->any && x->list) {
		out_bytes(j, j->id, strlen(j->id));
		end(x, j);
	}
}

/* The cases, shared out over every core: each decryption is an X25519
 * operation.  Each worker has its own regular expression (glibc's
 * regexec takes a lock on a shared one). */
struct pool {
	const struct search *x;
	struct job *v;
	size_t n;
	_Atomic size_t next;
};

static int
claim(struct pool *p, api_store *s, const regex_t *re)
{
	size_t i = atomic_fetch_add(&p->next, 1);

	if (i >= p->n)
		return 0;
	search_case(p->x, s, re, &p->v[i]);
	atomic_store(&p->v[i].done, 1);
	return 1;
}

static void
work(void *ctx, api_store *s)
{
	struct pool *p = ctx;
	regex_t re;

	if (regcomp(&re, p->x->pattern, p->x->cflags) != 0)
		return;                  /* the main thread does the work */
	while (claim(p, s, &re))
		;
	regfree(&re);
}

static int
add_id(struct search *x, const char *id)
{
	if (x->n == x->cap) {
		void *v = realloc(x->ids, (x->cap = x->cap ? 2 * x->cap : 64) *
		    sizeof *x->ids);
		if (v == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		x->ids = v;
	}
	if ((x->ids[x->n] = strdup(id)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	x->n++;
	return 0;
}

/*
 * Without CASE arguments: every case whose keys this identity opens.
 * The envelope is opened here and again by the worker that searches the
 * case: the read log names the cases before any note is decrypted, so
 * which cases open must be known first, and keeping every case's keys
 * until then would hold them all in locked memory at once (the workers
 * also read through stores of their own, not this one's cases).  The
 * second opening is one X25519 a case against one a note: about 1% of
 * a search of 100 cases of 100 notes.
 */
static int
readable(void *ctx, const char *id)
{
	struct search *x = ctx;
	api_case *cs;
	int rc;

	if (api_case_load(x->s, id, &cs) < 0)
		return -1;
	rc = api_case_purged(cs) ? API_EPERM : api_case_unlock(cs, x->me);
	api_case_free(cs);
	if (rc == API_EPERM)
		return 0;
	return rc < 0 ? rc : add_id(x, id);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'I' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "ignore-case", no_argument, NULL, 'i' },
		{ "files-with-matches", no_argument, NULL, 'l' },
		{ "null-data", no_argument, NULL, 'z' },
		{ "tsv", no_argument, NULL, 'T' },
		{ "type", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 's' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *purpose = "search";
	int c, pass_fd = -1, icase = 0, rc;
	struct search x;
	api_reads reads = { 0 };
	api_identity *me;

	memset(&x, 0, sizeof x);
	x.since = -1;
	cli_start("api-search");
	cli_fail_status = 2;
	while ((c = getopt_long(argc, argv, "hC:ilzt:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'I': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'i': icase = 1; break;
		case 'l': x.list = 1; break;
		case 'z': x.nul = 1; break;
		case 'T': x.tsv = 1; break;
		case 't': x.type = optarg; break;
		case 's':
			if (api_date_parse(optarg, &x.since) < 0) {
				fprintf(stderr, "api-search: --since: '%s' is not a date "
				    "(YYYY-MM-DD)\n", optarg);
				return 2;
			}
			break;
		case 'p': purpose = cli_purpose(optarg); break;
		case 'h':
			printf("api-search - search the notes of the cases one can "
			    "read, in memory\n");
			usage(stdout);
			return cli_flush() ? 2 : 0;
		case 'V':
			printf("api-search %s\n", API_VERSION);
			return cli_flush() ? 2 : 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	x.pattern = argv[optind];
	x.cflags = REG_EXTENDED | (icase ? REG_ICASE : 0);
	if ((rc = regcomp(&x.re, x.pattern, x.cflags)) != 0) {
		char msg[200];
		regerror(rc, &x.re, msg, sizeof msg);
		fprintf(stderr, "api-search: %s: %s\n", argv[optind], msg);
		return 2;
	}
	x.tty = isatty(1);
	x.s = cli_store(dir);
	me = cli_identity(ident, pass_fd);
	x.me = me;
	cli_require_staff(x.s, me);
	/* the cases: those named (each must open), else every readable one */
	if (optind + 1 < argc) {
		for (int i = optind + 1; i < argc; i++) {
			api_case *cs;
			if (api_case_load(x.s, argv[i], &cs) < 0)
				cli_die_lib();
			if (api_case_purged(cs))
				cli_die("case %s was purged: nothing of it can be read",
				    api_case_id(cs));
			if ((rc = api_case_unlock(cs, me)) == API_EPERM)
				cli_die("%s is not on the team of case %s", me->handle,
				    api_case_id(cs));
			if (rc < 0)
				cli_die_lib();
			/* a case named twice (or by two prefixes) is searched once */
			size_t j = 0;
			while (j < x.n && strcmp(x.ids[j], api_case_id(cs)) != 0)
				j++;
			if (j == x.n && add_id(&x, api_case_id(cs)) < 0)
				cli_die_lib();
			api_case_free(cs);
		}
	} else if (api_cases_each(x.s, readable, &x) < 0)
		cli_die_lib();
	/* logged before anything is decrypted */
	for (size_t i = 0; i < x.n; i++)
		if (api_reads_add(&reads, x.ids[i]) < 0)
			cli_die_lib();
	cli_readlog(x.s, me, "api-search", purpose, &reads);
	struct pool p = { &x, NULL, x.n, 0 };
	api_fanout f;
	if ((p.v = calloc(x.n + 1, sizeof *p.v)) == NULL)
		cli_die("out of memory");
	for (size_t i = 0; i < x.n; i++) {
		p.v[i].id = x.ids[i];
		atomic_init(&p.v[i].done, 0);
	}
	atomic_init(&p.next, 0);
	if (x.n > 1)
		api_store_prefetch(x.s);
	api_fanout_start(&f, x.s, x.n <= 1, work, &p);
	/* in case order, each case as soon as it is done */
	for (size_t i = 0; i < x.n; i++) {
		while (!atomic_load(&p.v[i].done))
			if (!claim(&p, x.s, &x.re))
				sched_yield();
		if (p.v[i].err[0])
			cli_die("%s", p.v[i].err);
		if (p.v[i].out.len &&
		    fwrite(p.v[i].out.ptr, 1, p.v[i].out.len, stdout) !=
		    p.v[i].out.len)
			cli_die("standard output: write error");
		x.found += (size_t)p.v[i].any;
		api_buf_free(&p.v[i].out);
	}
	api_fanout_join(&f);
	for (size_t i = 0; i < x.n; i++)
		free(x.ids[i]);
	free(p.v);
	free(x.ids);
	api_reads_free(&reads);
	regfree(&x.re);
	api_identity_free(me);
	api_store_free(x.s);
	if (cli_flush())
		return 2;
	return x.found ? 0 : 1;
}
