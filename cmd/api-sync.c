/* api-sync - fetch, merge and push a store with its copy on a git server. */
#include <getopt.h>

#include "cli.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: api-sync [-C DIR] [-i FILE] [--passphrase-fd N] "
	    "[-q] [--tries N]\n                [--ssh-key FILE] [--timeout SECONDS] "
	    "[--json] [REMOTE]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "tries", required_argument, NULL, 't' },
		{ "ssh-key", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *remote = "origin";
	int c, pass_fd = -1, quiet = 0, json = 0;
	unsigned timeout = 60;
	api_sync_opts o = { 0 };
	api_sync_result r;
	api_identity *me;
	api_store *s;

	cli_start("api-sync");
	api_cache_walks();           /* it verifies what it fetches */
	while ((c = getopt_long(argc, argv, "hqC:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'q': quiet = 1; break;
		case 't': o.tries = cli_int(optarg, "--tries", 1000); break;
		case 'k': o.ssh_key = optarg; break;
		case 'w': timeout = (unsigned)cli_int(optarg, "--timeout", 86400); break;
		case 'j': json = 1; break;
		case 'h':
			printf("api-sync - fetch, merge and push a store with its copy "
			    "on a git server\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-sync %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (optind < argc)
		remote = argv[optind];
	o.progress = !quiet && isatty(2);
	s = cli_store(dir);
	me = cli_identity(ident, pass_fd);
	cli_net_watch(&o, remote, timeout);
	if (api_sync(s, remote, me, &o, &r) < 0)
		cli_die_lib();
	if (json) {
		printf("{\"remote\":");
		cli_json_str(remote);
		printf(",\"fetched\":%zu,\"merges\":%zu,\"pushes\":%zu,"
		    "\"rounds\":%d}\n", r.fetched, r.merges, r.pushes, r.rounds);
	} else if (!quiet)
		fprintf(stderr, "api-sync: %s: %zu commit%s fetched, %zu merge%s, "
		    "%zu push%s\n", remote, r.fetched, r.fetched == 1 ? "" : "s",
		    r.merges, r.merges == 1 ? "" : "s", r.pushes,
		    r.pushes == 1 ? "" : "es");
	api_identity_free(me);
	api_store_free(s);
	return cli_flush();
}
