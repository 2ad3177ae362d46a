/* api-clone - a new member's store from the copy on a git server. */
#include <getopt.h>

#include "cli.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: api-clone [-q] [--ssh-key FILE] [--timeout SECONDS] URL "
	    "[DIR]\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "ssh-key", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir;
	int c, quiet = 0;
	unsigned timeout = 60;
	api_sync_opts o = { 0 };
	api_sync_result r;

	cli_start("api-clone");
	api_cache_walks();           /* it verifies what it fetches */
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = 1; break;
		case 'k': o.ssh_key = optarg; break;
		case 'w': timeout = (unsigned)cli_int(optarg, "--timeout", 86400); break;
		case 'h':
			printf("api-clone - a new member's store from the copy on a "
			    "git server\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-clone %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	dir = optind + 1 < argc ? argv[optind + 1] : getenv("API_DIR");
	if (dir == NULL || *dir == '\0')
		cli_die("no directory: give DIR, or set API_DIR");
	o.progress = !quiet && isatty(2);
	cli_net_watch(&o, argv[optind], timeout);
	cli_net_rmdir = dir;
	if (api_clone(argv[optind], dir, &o, &r) < 0)
		cli_die_lib();
	if (!quiet)
		fprintf(stderr, "api-clone: %s: %zu commits, verified\n", dir,
		    r.fetched);
	printf("%s\n", dir);
	return cli_flush();
}
