/* api-keygen - create a staff identity; print its public line. */
#include <getopt.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: api-keygen [--handle NAME] [-o FILE] [--no-passphrase]\n"
	    "                  [--passphrase-fd N] [--work-factor N]\n"
	    "       api-keygen -y [--passphrase-fd N] [FILE]\n");
}

/* The login name as a handle, if it is a valid one. */
static const char *
login_handle(void)
{
	const char *u = getenv("LOGNAME");
	struct passwd *pw;

	if (u == NULL || *u == '\0')
		u = getenv("USER");
	if ((u == NULL || *u == '\0') && (pw = getpwuid(getuid())) != NULL)
		u = pw->pw_name;
	return u;
}

static int
show_public(const char *file, api_pass_src *src)
{
	api_identity *id;
	api_pubid p;
	char line[256], *path;

	if ((path = api_identity_path(file)) == NULL)
		cli_die_lib();
	if (api_identity_load(&id, path, api_pass_read, src) < 0)
		cli_die_lib();
	api_identity_pubid(&p, id);
	api_identity_free(id);
	free(path);
	if (api_pubid_format(line, sizeof line, &p) < 0)
		cli_die_lib();
	printf("%s\n", line);
	return cli_flush();
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "handle", required_argument, NULL, 'H' },
		{ "no-passphrase", no_argument, NULL, 'n' },
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "work-factor", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	api_pass_src src = { -1 };
	const char *handle = NULL, *out = NULL;
	int c, show = 0, protect = 1, wf = 0;
	api_identity *id;
	api_pubid p;
	char line[256], *path;
	struct stat st;

	cli_start("api-keygen");
	while ((c = getopt_long(argc, argv, "hyo:", opts, NULL)) != -1) {
		switch (c) {
		case 'H': handle = optarg; break;
		case 'n': protect = 0; break;
		case 'P': src.fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'w': wf = cli_int(optarg, "--work-factor", API_AGE_MAX_WORK_FACTOR); break;
		case 'o': out = optarg; break;
		case 'y': show = 1; break;
		case 'h':
			printf("api-keygen - create a staff identity; print its public line\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-keygen %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (show) {
		if (argc > 1 || handle || out || !protect || wf) {
			usage(stderr);
			return 2;
		}
		return show_public(argc ? argv[0] : NULL, &src);
	}
	if (argc != 0 || (wf != 0 && wf < 10)) {
		if (wf != 0 && wf < 10)
			fprintf(stderr, "api-keygen: a work factor below 10 is too weak\n");
		usage(stderr);
		return 2;
	}
	if (handle == NULL && (handle = login_handle()) == NULL)
		cli_die("cannot tell the login name; use --handle NAME");
	if (!api_handle_valid(handle))
		cli_die("invalid handle '%s': use 1-32 of a-z 0-9 . _ -, starting "
		    "with a letter or digit (--handle NAME)", handle);
	if ((path = api_identity_path(out)) == NULL)
		cli_die_lib();
	/* before asking for a passphrase: would it be written at all? */
	if (lstat(path, &st) == 0)
		cli_die("%s: an identity already exists; refusing to overwrite it",
		    path);
	if (api_identity_generate(&id, handle) < 0)
		cli_die_lib();
	if (api_identity_save(id, path, protect ? api_pass_read : NULL, &src,
	    wf) < 0) {
		api_identity_free(id);
		cli_die_lib();
	}
	api_identity_pubid(&p, id);
	api_identity_free(id);
	if (api_pubid_format(line, sizeof line, &p) < 0)
		cli_die_lib();
	printf("%s\n", line);
	fprintf(stderr, "api-keygen: %s identity written to %s\n",
	    protect ? "passphrase-protected" : "unprotected", path);
	free(path);
	return cli_flush();
}
