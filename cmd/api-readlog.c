/* api-readlog - list the read log; drop a year's log after its retention. */
#include <getopt.h>
#include <time.h>

#include "cli.h"

struct drop {
	const api_identity *me;
	const char *ref;
	char tip[GIT_OID_HEXSZ + 1];
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: api-readlog [-C DIR] list [YEAR] [--json]\n"
	    "       api-readlog [-C DIR] [-i FILE] [--passphrase-fd N] drop YEAR\n");
}

/* A field for TSV or a terminal: control bytes and tabs neutralised. */
static void
put_field(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

struct listing {
	int json;
	size_t n;
};

static int
print_entry(void *ctx, const api_read_entry *e)
{
	struct listing *l = ctx;

	if (!l->json) {
		put_field(e->time);
		putchar('\t');
		put_field(e->handle);
		putchar('\t');
		put_field(e->program);
		putchar('\t');
		put_field(e->case_id);
		putchar('\t');
		put_field(e->purpose);
		putchar('\n');
	} else {
		printf("%s\n{\"time\":", l->n ? "," : "");
		cli_json_str(e->time);
		printf(",\"handle\":");
		cli_json_str(e->handle);
		printf(",\"program\":");
		cli_json_str(e->program);
		printf(",\"case\":");
		cli_json_str(e->case_id);
		printf(",\"purpose\":");
		cli_json_str(e->purpose);
		printf(",\"commit\":\"%s\"}", e->commit);
	}
	l->n++;
	return ferror(stdout) ? 1 : 0;
}

/* "YYYY" into ref (refs/api/reads/YYYY), else a usage error. */
static int
year_ref(const char *year, char *ref, size_t cap)
{
	snprintf(ref, cap, "%s%.8s", API_READS_REF, year);
	if (strlen(year) != 4 || api_readlog_year(ref) < 0) {
		fprintf(stderr, "api-readlog: '%s' is not a year (YYYY)\n", year);
		exit(2);
	}
	return api_readlog_year(ref);
}

static int
list(const char *dir, const char *year, int json)
{
	api_store *s;
	struct listing l = { json, 0 };
	char **refs = NULL, one[64];
	size_t n = 0;
	int rc = 0;

	if (year)
		year_ref(year, one, sizeof one);
	s = cli_store(dir);
	cli_readlog_refs(s, year, &refs, &n);
	if (json)
		printf("[");
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* other names are api-verify --reads's to report */
		if (api_readlog_year(refs[i]) < 0)
			continue;
		rc = api_readlog_each(s, refs[i], print_entry, &l);
		if (rc == API_ENOTFOUND && year)
			cli_die("no read log for %s (%s): none was written, or it "
			    "was dropped", year, refs[i]);
		if (rc < 0)
			cli_die_lib();
	}
	if (json)
		printf("%s]\n", l.n ? "\n" : "");
	for (size_t i = 0; i < n; i++)
		free(refs[i]);
	free(refs);
	api_store_free(s);
	return cli_flush();
}

/* The drop, recorded on main by the admin before the ref goes. */
static int
build_drop(void *ctx, api_tx *tx)
{
	struct drop *d = ctx;
	int rc;

	if ((rc = api_tx_require_role(tx, d->me, "admin")) < 0 ||
	    (rc = api_tx_message(tx, "readlog: a year's read log dropped",
	    "readlog-drop", NULL, d->ref)) < 0 ||
	    (rc = api_tx_trailer(tx, "Api-Tip", d->tip)) < 0)
		return rc;
	return API_OK;
}

static int
drop(const char *dir, const char *ident, int pass_fd, const char *year)
{
	git_reference *r = NULL;
	api_staff_list l;
	api_store *s;
	struct drop d;
	char ref[64], end[24], commit[GIT_OID_HEXSZ + 1];
	time_t now = time(NULL);
	struct tm tm;
	long retention, until;
	int y = year_ref(year, ref, sizeof ref);

	memset(&d, 0, sizeof d);
	s = cli_store(dir);
	d.me = cli_identity(ident, pass_fd);
	d.ref = ref;
	if (api_store_staff(s, &l) < 0 || api_staff_require(&l, d.me, "admin") < 0)
		cli_die_lib();
	api_staff_list_free(&l);
	if (api_readlog_settings(s, NULL, NULL, &retention) < 0)
		cli_die_lib();
	gmtime_r(&now, &tm);
	if (y >= tm.tm_year + 1900)
		cli_die("refusing to drop the read log of %d: a year's log is kept "
		    "at least until the year has ended", y);
	/* the log of YEAR may go readlog.retention after 1 January YEAR+1 */
	snprintf(end, sizeof end, "%04d-01-01", y + 1);
	if (api_date_parse(end, &until) < 0)
		cli_die_lib();
	until += retention;
	if (api_date_today() < until) {
		api_date_format(end, until);
		cli_die("refusing to drop the read log of %d before %s, when its "
		    "retention ends (readlog.retention in api.conf)", y, end);
	}
	if (git_reference_lookup(&r, api_store_repo(s), ref) < 0)
		cli_die("no read log for %d (%s)", y, ref);
	if (git_reference_type(r) != GIT_REFERENCE_DIRECT)
		cli_die("%s is not a plain ref", ref);
	git_oid_tostr(d.tip, sizeof d.tip, git_reference_target(r));
	if (api_store_write(s, d.me, build_drop, &d, commit) < 0)
		cli_die_lib();
	/* fails if the ref moved meanwhile: then the record names a tip
	 * that was not dropped, and a second drop records the new one */
	if (git_reference_delete(r) < 0)
		cli_die("recorded the drop in commit %.12s but could not delete "
		    "%s: %s", commit, ref, git_error_last() ?
		    git_error_last()->message : "git error");
	git_reference_free(r);
	fprintf(stderr, "api-readlog: dropped the read log of %d (%s, tip "
	    "%.12s), recorded in commit %.12s; its objects stay in the "
	    "repository until: git -C %s gc --prune=now\n", y, ref, d.tip, commit,
	    api_store_path(s));
	api_identity_free((api_identity *)d.me);
	api_store_free(s);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *cmd;
	int c, pass_fd = -1, json = 0;

	cli_start("api-readlog");
	while ((c = getopt_long(argc, argv, "+hC:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'j': json = 1; break;
		case 'h':
			printf("api-readlog - list the read log; drop a year's log "
			    "after its retention\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-readlog %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	/* the options after the command, in any order ("list 2026 --json"):
	 * a fresh scan, as the first one stopped at the command */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt_long(argc, argv, "C:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'j': json = 1; break;
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "list") == 0 && argc <= 1)
		return list(dir, argc ? argv[0] : NULL, json);
	if (strcmp(cmd, "drop") == 0 && argc == 1 && !json)
		return drop(dir, ident, pass_fd, argv[0]);
	if (strcmp(cmd, "list") != 0 && strcmp(cmd, "drop") != 0)
		fprintf(stderr, "api-readlog: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
