/* api-init - create a store; register its creator as the first admin. */
#include <ftw.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

struct init {
	const api_identity *id;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: api-init [-i FILE] [--passphrase-fd N] [DIR]\n");
}

static int
first_commit(void *ctx, api_tx *tx)
{
	struct init *in = ctx;
	api_staff_list l;
	api_staff m;
	const char *conf = api_conf_default_text();
	int rc;

	if (!api_tx_is_root(tx))
		return api_error_set(API_EEXIST, "the store already has a history");
	memset(&m, 0, sizeof m);
	memcpy(m.handle, in->id->handle, sizeof m.handle);
	memcpy(m.added_by, in->id->handle, sizeof m.added_by);
	memcpy(m.role, "admin", 6);
	api_identity_pubid(&m.pub, in->id);
	if ((rc = api_time_format(m.valid_from, api_tx_now(tx))) < 0)
		return rc;
	l.v = &m;
	l.n = 1;
	if ((rc = api_tx_put(tx, "api.conf", conf, strlen(conf))) < 0 ||
	    (rc = api_tx_put_staff(tx, &m, &l)) < 0)
		return rc;
	return api_tx_message(tx, "init: store created", "init", NULL, "api.conf");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ident = NULL, *dir;
	int c, pass_fd = -1, existed;
	struct stat st;
	struct init in;
	api_store *s;
	char commit[GIT_OID_HEXSZ + 1];

	cli_start("api-init");
	while ((c = getopt_long(argc, argv, "hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'h':
			printf("api-init - create a store; register its creator as "
			    "the first admin\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-init %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	dir = optind < argc ? argv[optind] : getenv("API_DIR");
	if (dir == NULL || *dir == '\0')
		dir = ".";
	in.id = cli_identity(ident, pass_fd);
	existed = stat(dir, &st) == 0;
	if (api_store_create(&s, dir) < 0)
		cli_die_lib();
	if (api_store_write(s, in.id, first_commit, &in, commit) < 0) {
		char why[512];
		snprintf(why, sizeof why, "%s", api_error_last());
		api_store_free(s);
		/* leave nothing behind: the directory was absent or empty */
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (existed && mkdir(dir, 0700) == 0)
			chmod(dir, st.st_mode & 07777);
		cli_die("%s", why);
	}
	fprintf(stderr, "api-init: store created in %s by %s (admin), commit %.12s\n",
	    dir, in.id->handle, commit);
	api_store_free(s);
	api_identity_free((api_identity *)in.id);
	return 0;
}
