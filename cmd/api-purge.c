/*
 * api-purge - crypto-shred a case whose retention has ended.
 *
 * The case's notes and events stay in the history, which must stay
 * verifiable; what goes is every copy of its secret keys the repository
 * holds: its envelopes on refs/api/keys, a ref without history, so that
 * once git gc has pruned the commits it replaced, no identity can decrypt
 * any file of the case at any commit.  main records the purge: a file
 * cases/S/H/ID/purged, written by an admin in a commit whose action is
 * purge, after which api-verify refuses any write to the case.
 */
#include <getopt.h>

#include "cli.h"

struct op {
	const api_identity *me;
	const char *id, *reason;
	char today[11];
	size_t nevents;              /* the events its state was read from */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: api-purge [-C DIR] [-i FILE] [--passphrase-fd N] "
	    "[--force] --reason TEXT\n                 CASE\n");
}

static int
build_keys(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	int rc, found;

	/* whatever is left: a purge that stopped half-way must not keep the
	 * events key because key.age is gone */
	rc = api_tx_remove_envelopes(tx, op->id, &found);
	if (rc == 0 && found == 0)
		rc = api_error_set(API_ENOTFOUND, "case %s has no keys on %s",
		    op->id, API_KEYS_REF);
	if (rc == 0)
		rc = api_tx_message(tx, "keys: case keys destroyed", "purge",
		    op->id, NULL);
	return rc;
}

static int
build_main(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	char dir[32], path[48];
	api_buf b = { 0 };
	int rc;

	if ((rc = api_tx_require_role(tx, op->me, "admin")) < 0)
		return rc;
	api_case_dir(dir, op->id);
	/* the case must be as it was checked: a phase change (a reopen) or
	 * a retention decision written meanwhile is a new event */
	{
		char **names = NULL;
		size_t n = 0;
		snprintf(path, sizeof path, "%s/events", dir);
		rc = api_tx_list(tx, path, &names, &n);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (rc < 0)
			return rc;
		if (n != op->nevents)
			return api_error_set(API_EINVAL, "case %s changed meanwhile; "
			    "run api-purge again", op->id);
	}
	snprintf(path, sizeof path, "%s/purged", dir);
	if ((rc = api_tx_read(tx, path, &b)) == 0)
		rc = api_error_set(API_EEXIST, "case %s was purged already", op->id);
	else if (rc == API_ENOTFOUND) {
		b.len = 0;
		if ((rc = api_record_field(&b, "purged", op->today)) == 0 &&
		    (rc = api_record_field(&b, "by", op->me->handle)) == 0 &&
		    (rc = api_record_field(&b, "reason", op->reason)) == 0 &&
		    (rc = api_tx_put(tx, path, b.ptr, b.len)) == 0)
			rc = api_tx_message(tx, "purge: case keys destroyed", "purge",
			    op->id, "purged");
	}
	api_buf_free(&b);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "reason", required_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL;
	int c, pass_fd = -1, force = 0;
	api_case_state st;
	api_staff_list l;
	api_conf *conf = NULL;
	api_case *cs = NULL;
	api_due *due = NULL;
	size_t ndue = 0;
	struct op op;
	api_store *s;

	memset(&op, 0, sizeof op);
	cli_start("api-purge");
	while ((c = getopt_long(argc, argv, "hC:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'r': op.reason = optarg; break;
		case 'f': force = 1; break;
		case 'h':
			printf("api-purge - crypto-shred a case whose retention has "
			    "ended\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-purge %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (op.reason == NULL) {
		fprintf(stderr, "api-purge: --reason TEXT is required: why the case "
		    "is purged\n");
		return 2;
	}
	{
		api_buf chk = { 0 };
		size_t chars = 0;
		int c1 = 0;
		/* characters, not bytes: a UTF-8 continuation byte adds none;
		 * and no C1 control (U+0080 to U+009F) either, which the
		 * record check lets through */
		for (const unsigned char *p = (const unsigned char *)op.reason; *p;
		    p++) {
			chars += (*p & 0xc0) != 0x80;
			c1 |= p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
		}
		int bad = api_record_field(&chk, "reason", op.reason) < 0 ||
		    c1 || chars > 200 || op.reason[strspn(op.reason, " ")] == 0;
		api_buf_free(&chk);
		if (bad) {
			fprintf(stderr, "api-purge: --reason: one line of at most 200 "
			    "characters, no control characters\n");
			return 2;
		}
	}
	s = cli_store_conf(dir, &conf);
	if (api_store_staff(s, &l) < 0 ||
	    api_case_load(s, argv[optind], &cs) < 0)
		cli_die_lib();
	op.id = api_case_id(cs);
	op.me = cli_identity(ident, pass_fd);
	if (api_staff_require(&l, op.me, "admin") < 0)
		cli_die_lib();
	if (api_case_purged(cs)) {
		/* recorded, but its keys may remain: finish the job */
		int rc = api_store_write_ref(s, op.me, API_KEYS_REF,
		    API_WRITE_ROOT, build_keys, &op, NULL);
		if (rc == API_ENOTFOUND)
			cli_die("case %s was purged already", op.id);
		if (rc < 0)
			cli_die_lib();
		goto done;
	}
	/* closed, and its retention ended: read from its events */
	if (api_case_state_load(cs, op.me, &st) < 0)
		cli_die_lib();
	{
		char **names = NULL;
		if (api_case_files(cs, "events", &names, &op.nevents) < 0)
			cli_die_lib();
		for (size_t i = 0; i < op.nevents; i++)
			free(names[i]);
		free(names);
	}
	long today = api_date_today();
	api_date_format(op.today, today);
	if (!api_phase_is_closed(conf, st.phase))
		cli_die("case %s is %s, not closed; only a closed case can be "
		    "purged", op.id, st.phase);
	if (api_due_compute(&st, conf, today, 0, &due, &ndue) < 0)
		cli_die_lib();
	if (ndue == 0 && !force) {
		api_due_compute(&st, conf, today, 1L << 30, &due, &ndue);
		char d[11] = "?";
		if (ndue)
			api_date_format(d, due[0].date);
		cli_die("case %s is still in retention (until %s); --force with "
		    "--reason purges it anyway", op.id, d);
	}
	free(due);
	/* main first: a purge recorded whose keys remain is repaired by
	 * running it again; keys destroyed without a record would not be */
	if (api_store_write(s, op.me, build_main, &op, NULL) < 0)
		cli_die_lib();
	if (api_store_write_ref(s, op.me, API_KEYS_REF, API_WRITE_ROOT,
	    build_keys, &op, NULL) < 0)
		cli_die("case %s: the purge is recorded, but its keys could not "
		    "be removed: %s; run api-purge again", op.id, api_error_last());
done:
	printf("%s\n", op.id);
	/* what is left to do: the replaced envelopes are still objects of
	 * the repository (and of every copy) until reflogs and gc drop them */
	fprintf(stderr, "api-purge: the keys of case %s are removed from %s; "
	    "in %s run 'git reflog expire --expire=now --all' and 'git gc "
	    "--prune=now' to drop the objects that still hold them, and the "
	    "same in every clone and backup after it has fetched\n", op.id,
	    API_KEYS_REF, api_store_path(s));
	api_case_free(cs);
	api_staff_list_free(&l);
	api_conf_free(conf);
	api_identity_free((api_identity *)op.me);
	api_store_free(s);
	return cli_flush();
}
