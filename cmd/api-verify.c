/* api-verify - audit the whole history of a store. */
#include <getopt.h>

#include "cli.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: api-verify [-C DIR] [--since COMMIT] [--json]\n"
	    "       api-verify [-C DIR] --reads [YEAR] [--json]\n"
	    "       api-verify --pre-receive < UPDATES\n");
}

static void
progress(void *ctx, size_t n)
{
	(void)ctx;
	if (n > 1000)
		fprintf(stderr, "\rverified %zu commits", n);
}

/* Control bytes in a line meant for a terminal. */
static void
plain_str(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* The first violation: "COMMIT RULE PATH: sentence", or as JSON. */
static void
violation(const api_verify_report *r, int json)
{
	if (json) {
		printf("{\"ok\":false,\"commit\":");
		cli_json_str(r->commit);
		printf(",\"rule\":");
		cli_json_str(r->rule);
		printf(",\"path\":");
		cli_json_str(r->path);
		printf(",\"message\":");
		cli_json_str(r->message);
		printf("}\n");
		return;
	}
	printf("%s %s ", r->commit, r->rule);
	plain_str(r->path);
	printf(": ");
	plain_str(r->message);
	putchar('\n');
}

/* --reads: the read logs on refs/api/reads/YEAR, one year or all */
static int
verify_reads(api_store *s, const char *year, int json)
{
	api_verify_report r;
	char **refs = NULL;
	size_t n = 0, i, *cases, *reads;
	int rc;

	memset(&r, 0, sizeof r);
	r.ok = 1;
	cli_readlog_refs(s, year, &refs, &n);
	if ((cases = calloc(n + 1, sizeof *cases)) == NULL ||
	    (reads = calloc(n + 1, sizeof *reads)) == NULL)
		cli_die("out of memory");
	for (i = 0; i < n && r.ok; i++) {
		if ((rc = api_readlog_verify(s, refs[i], &r, &cases[i])) ==
		    API_ENOTFOUND && year)
			cli_die("no read log for %s (%s): none was written, or it "
			    "was dropped", year, refs[i]);
		if (rc < 0)
			cli_die_lib();
		reads[i] = r.commits;
	}
	if (json && r.ok) {
		printf("{\"ok\":true,\"logs\":[");
		for (i = 0; i < n; i++)
			printf("%s{\"year\":%d,\"reads\":%zu,\"cases\":%zu}",
			    i ? "," : "", api_readlog_year(refs[i]), reads[i],
			    cases[i]);
		printf("]}\n");
	} else if (json) {
		violation(&r, 1);
	} else if (r.ok) {
		for (i = 0; i < n; i++)
			printf("ok: %zu read%s verified in %d (%zu case%s read)\n",
			    reads[i], reads[i] == 1 ? "" : "s",
			    api_readlog_year(refs[i]), cases[i],
			    cases[i] == 1 ? "" : "s");
		if (n == 0)
			printf("ok: no read logs\n");
	} else
		violation(&r, 0);
	for (i = 0; i < n; i++)
		free(refs[i]);
	free(refs);
	free(cases);
	free(reads);
	api_store_free(s);
	if (cli_flush())
		return 1;
	return r.ok ? 0 : 1;
}

/*
 * --pre-receive: a server's hook.  git gives it the pushed updates on
 * stdin and the pushed objects in a quarantine directory that only the
 * environment names (GIT_OBJECT_DIRECTORY and its alternates): the
 * repository is opened from the environment, as git hooks see it.
 */
static int
pre_receive(void)
{
	git_repository *repo = NULL;
	api_buf in = { 0 };
	char buf[4096];
	size_t n;

	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		if (api_buf_append(&in, buf, n) < 0)
			cli_die_lib();
	if (ferror(stdin))
		cli_die("cannot read the ref updates on stdin");
	if (api_buf_append(&in, "", 1) < 0)
		cli_die_lib();
	if (git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV,
	    NULL) < 0)
		cli_die("not run as a hook of a git repository: %s",
		    git_error_last() ? git_error_last()->message : "no GIT_DIR");
	if (api_receive_check(repo, (const char *)in.ptr) < 0)
		cli_die("push refused: %s", api_error_last());
	git_repository_free(repo);
	api_buf_free(&in);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "reads", no_argument, NULL, 'R' },
		{ "pre-receive", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *since = NULL;
	int c, json = 0, tty, reads = 0, hook = 0;
	api_verify_report r;
	api_store *s;

	cli_start("api-verify");
	while ((c = getopt_long(argc, argv, "hC:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 's': since = optarg; break;
		case 'j': json = 1; break;
		case 'R': reads = 1; break;
		case 'p': hook = 1; break;
		case 'h':
			printf("api-verify - audit the whole history\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-verify %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc && !(reads && optind + 1 == argc)) {
		usage(stderr);
		return 2;
	}
	if (hook) {
		if (optind != argc || reads || since || json || dir) {
			usage(stderr);
			return 2;
		}
		return pre_receive();
	}
	if (reads && since) {
		usage(stderr);
		return 2;
	}
	if (reads && optind < argc) {
		char ref[64];
		snprintf(ref, sizeof ref, "%s%.8s", API_READS_REF, argv[optind]);
		if (strlen(argv[optind]) != 4 || api_readlog_year(ref) < 0) {
			fprintf(stderr, "api-verify: --reads: '%s' is not a year "
			    "(YYYY)\n", argv[optind]);
			return 2;
		}
	}
	/* not cli_store: a corrupt api.conf is a finding, not a refusal */
	if (api_store_open(&s, dir) < 0)
		cli_die_lib();
	if (reads)
		return verify_reads(s, optind < argc ? argv[optind] : NULL, json);
	/* the library keeps the trees it needs itself, and reads each
	 * commit once for its signature and once for its tree */
	api_cache_walks();
	tty = isatty(2);
	if (api_verify_history(api_store_repo(s), since, &r,
	    tty ? progress : NULL, NULL) < 0) {
		if (tty && r.commits > 1000)
			fputc('\n', stderr);
		cli_die_lib();
	}
	if (tty && r.commits >= 2000)
		fprintf(stderr, "\r\033[K");
	if (json && r.ok) {
		printf("{\"ok\":true,\"commits\":%zu", r.commits);
		if (r.purges)
			printf(",\"purges\":%zu", r.purges);
		printf("}\n");
	} else if (json) {
		violation(&r, 1);
	} else if (r.ok) {
		printf("ok: %zu commits verified", r.commits);
		/* a purge is a permitted, recorded action: say it */
		if (r.purges)
			printf(", %zu recorded purge%s among them", r.purges,
			    r.purges == 1 ? "" : "s");
		putchar('\n');
	} else
		violation(&r, 0);
	api_store_free(s);
	if (cli_flush())
		return 1;
	return r.ok ? 0 : 1;
}
