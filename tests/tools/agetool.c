/*
 * agetool - a small age(1) over lib/age.c, for the shell tests
 * (tests/age-*.t) and the benchmarks:
 *
 *   agetool -e [-a] -r AGE1... [-r AGE1...] [-o OUT] [IN]
 *   agetool -e [-a] -p [--passphrase-fd N] [-w WORKFACTOR] [-o OUT] [IN]
 *   agetool -d [-i IDENTITYFILE]... [-p [--passphrase-fd N]] [-o OUT] [IN]
 *   agetool keygen       identity on stdout, "public key: age1..." on stderr
 *   agetool pub IDFILE   the recipient of each identity in IDFILE
 *
 * Input and output are streamed (memory stays bounded whatever the
 * size).  With -o the output goes to a temporary file beside OUT, which
 * is renamed into place only on success, so that a failure leaves no
 * partial file behind.  Errors: one line "agetool: ..." on stderr, exit
 * 1; usage errors exit 2.  Not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

#define PASS_MAX 1024            /* longer passphrase lines are refused */
#define IDFILE_MAX (1024 * 1024)

/* What a signal handler must undo: a temporary file. */
static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_live;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: agetool -e [-a] -r RECIPIENT [-r RECIPIENT]... [-o OUT] [IN]\n"
	    "       agetool -e [-a] -p [--passphrase-fd N] [-w WORKFACTOR] [-o OUT] [IN]\n"
	    "       agetool -d [-i IDENTITYFILE]... [-p [--passphrase-fd N]] [-o OUT] [IN]\n"
	    "       agetool keygen\n"
	    "       agetool pub IDENTITYFILE\n");
	exit(2);
}

static void
on_signal(int sig)
{
	if (tmp_live)
		unlink(tmp_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
names(const char *msg, const char *file)
{
	size_t n = file ? strlen(file) : 0;

	return n > 0 && strncmp(msg, file, n) == 0 && msg[n] == ':';
}

/* "agetool: FILE: message", unless the message names FILE already. */
static int
fail(const char *file)
{
	const char *msg = api_error_last();

	if (file == NULL || names(msg, file))
		fprintf(stderr, "agetool: %s\n", msg);
	else
		fprintf(stderr, "agetool: %s: %s\n", file, msg);
	return 1;
}

/* ---- passphrases ------------------------------------------------------ */

/*
 * The passphrase into *pass (secret memory; the caller sodium_frees
 * it): one line from fd, else from the terminal, twice when confirm.
 */
static int
get_passphrase(int fd, int confirm, char **pass, size_t *len)
{
	api_pass_src src = { fd };
	int rc;

	if ((*pass = sodium_malloc(PASS_MAX + 1)) == NULL)
		return api_error_set(API_ENOMEM, "out of secure memory");
	if ((rc = api_pass_read(&src, "Enter passphrase: ", *pass, PASS_MAX + 1,
	    confirm)) < 0)
		return rc;
	if ((*len = strlen(*pass)) == 0)
		return api_error_set(API_EINVAL, "empty passphrase");
	return API_OK;
}

/* ---- output ------------------------------------------------------------ */

struct out {
	api_fd fd;
	const char *path;            /* NULL: stdout */
	int sanitize;                /* plaintext to a terminal */
};

static int
out_open(struct out *o, const char *path)
{
	o->path = path;
	if (path == NULL) {
		o->fd.fd = 1;
		o->fd.name = "stdout";
		return API_OK;
	}
	if ((size_t)snprintf(tmp_path, sizeof tmp_path, "%s.XXXXXX", path) >=
	    sizeof tmp_path)
		return api_error_set(API_EINVAL, "%s: path too long", path);
	/* mkstemp: O_EXCL, mode 0600 */
	if ((o->fd.fd = mkstemp(tmp_path)) < 0)
		return api_error_set(API_EIO, "%s: cannot create: %s", path,
		    strerror(errno));
	tmp_live = 1;
	o->fd.name = path;
	return API_OK;
}

/* Makes the output final, or with rc < 0 removes it; returns rc. */
static int
out_close(struct out *o, int rc)
{
	if (o->path == NULL || !tmp_live)
		return rc;
	if (rc == 0 && fsync(o->fd.fd) != 0)
		rc = api_error_set(API_EIO, "%s: fsync: %s", o->path, strerror(errno));
	if (close(o->fd.fd) != 0 && rc == 0)
		rc = api_error_set(API_EIO, "%s: close: %s", o->path, strerror(errno));
	if (rc == 0 && rename(tmp_path, o->path) != 0)
		rc = api_error_set(API_EIO, "%s: %s", o->path, strerror(errno));
	if (rc < 0)
		unlink(tmp_path);
	tmp_live = 0;
	return rc;
}

/* Decrypted text to a terminal: control characters become '?'. */
static int
out_write(void *ctx, const unsigned char *buf, size_t len)
{
	struct out *o = ctx;
	unsigned char safe[4096];
	int rc;

	if (!o->sanitize)
		return api_fd_write(&o->fd, buf, len);
	while (len > 0) {
		size_t n = len < sizeof safe ? len : sizeof safe;
		for (size_t i = 0; i < n; i++)
			safe[i] = (buf[i] < 32 && buf[i] != '\n' && buf[i] != '\t') ||
			    buf[i] == 127 ? '?' : buf[i];
		if ((rc = api_fd_write(&o->fd, safe, n)) < 0)
			return rc;
		buf += n;
		len -= n;
	}
	sodium_memzero(safe, sizeof safe);
	return API_OK;
}

/* A streaming error: the message names the input or output, else it
 * is about the input. */
static int
fail_io(const api_fd *in, const struct out *o)
{
	const char *msg = api_error_last();

	if (names(msg, in->name) || names(msg, o->fd.name))
		return fail(NULL);
	return fail(in->name);
}

/* ---- commands ----------------------------------------------------------- */

static int
keygen(void)
{
	unsigned char pk[32], *sk;
	char pub[API_AGE_RECIPIENT_LEN + 1], *id;
	int rc = 1;

	sk = sodium_malloc(32);
	id = sodium_malloc(API_AGE_IDENTITY_LEN + 1);
	if (sk == NULL || id == NULL) {
		fprintf(stderr, "agetool: out of secure memory\n");
		goto out;
	}
	if (api_age_keypair(pk, sk) < 0 || api_age_identity_encode(id, sk) < 0 ||
	    api_age_recipient_encode(pub, pk) < 0) {
		rc = fail(NULL);
		goto out;
	}
	printf("%s\n", id);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "agetool: stdout: write failed\n");
		goto out;
	}
	fprintf(stderr, "public key: %s\n", pub);
	rc = 0;
out:
	sodium_free(sk);
	sodium_free(id);
	return rc;
}

/* The recipient of every identity line of path, one per line. */
static int
pub(const char *path)
{
	api_buf text = { .secret = 1 };
	unsigned char pk[32], sk[32];
	char line[API_AGE_IDENTITY_LEN + 2], rcpt[API_AGE_RECIPIENT_LEN + 1];
	size_t i = 0, lineno = 0, found = 0;
	int rc = 1;

	if (api_file_read(path, &text, IDFILE_MAX) < 0) {
		fail(path);
		goto out;
	}
	while (i < text.len) {
		const char *s = (const char *)text.ptr + i;
		const char *nl = memchr(s, '\n', text.len - i);
		size_t n = nl ? (size_t)(nl - s) : text.len - i;
		i += n + 1;
		lineno++;
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n == 0 || s[0] == '#')
			continue;
		if (n >= sizeof line || memchr(s, '\0', n) != NULL) {
			fprintf(stderr, "agetool: %s: line %zu: not an AGE-SECRET-KEY-1 "
			    "key\n", path, lineno);
			goto out;
		}
		memcpy(line, s, n);
		line[n] = '\0';
		if (api_age_identity_parse(sk, line) < 0 ||
		    api_age_public(pk, sk) < 0 || api_age_recipient_encode(rcpt, pk) < 0) {
			fprintf(stderr, "agetool: %s: line %zu: %s\n", path, lineno,
			    api_error_last());
			goto out;
		}
		printf("%s\n", rcpt);
		found++;
	}
	if (found == 0) {
		fprintf(stderr, "agetool: %s: no AGE-SECRET-KEY-1 identity found\n",
		    path);
		goto out;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "agetool: stdout: write failed\n");
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(line, sizeof line);
	api_buf_free(&text);
	return rc;
}

struct opts {
	int encrypt, decrypt, armor, pass, pass_fd, wf;
	const char **rcpts, **ids;
	size_t nrcpts, nids;
	const char *out, *in;
};

static int
encrypt(const struct opts *op, api_fd *in, struct out *o)
{
	unsigned char (*pks)[32] = NULL, *buf = NULL;
	char *pass = NULL;
	size_t passlen = 0, got, i;
	api_age_enc *e = NULL;
	int flags = op->armor ? API_AGE_ARMOR : 0, rc;

	if (!op->armor && op->out == NULL && isatty(1)) {
		fprintf(stderr, "agetool: refusing to write binary ciphertext to a "
		    "terminal (use -a or -o)\n");
		return 1;
	}
	if (op->pass) {
		if (get_passphrase(op->pass_fd, 1, &pass, &passlen) < 0) {
			rc = fail(NULL);
			goto out;
		}
	} else {
		if ((pks = calloc(op->nrcpts, sizeof *pks)) == NULL) {
			fprintf(stderr, "agetool: out of memory\n");
			return 1;
		}
		for (i = 0; i < op->nrcpts; i++) {
			if (api_age_recipient_parse(pks[i], op->rcpts[i]) == 0)
				continue;
			/* a secret key is not repeated on stderr */
			if (strncasecmp(op->rcpts[i], "AGE-SECRET-KEY-", 15) == 0)
				fprintf(stderr, "agetool: -r: that is an identity (a secret "
				    "key), not a recipient; see agetool pub\n");
			else
				fail(op->rcpts[i]);
			rc = 1;
			goto out;
		}
	}
	if ((buf = sodium_malloc(API_AGE_CHUNK)) == NULL) {
		fprintf(stderr, "agetool: out of secure memory\n");
		rc = 1;
		goto out;
	}
	if ((rc = out_open(o, op->out)) < 0) {
		rc = fail(NULL);
		goto out;
	}
	if (op->pass)
		rc = api_age_enc_new_passphrase(&e, pass, passlen, op->wf,
		    api_fd_write, &o->fd, flags);
	else
		rc = api_age_enc_new(&e, (const unsigned char (*)[32])pks,
		    op->nrcpts, api_fd_write, &o->fd, flags);
	while (rc == 0) {
		if ((rc = api_fd_read(in, buf, API_AGE_CHUNK, &got)) < 0 || got == 0)
			break;
		rc = api_age_enc_write(e, buf, got);
	}
	if (rc == 0)
		rc = api_age_enc_close(e);
	if ((rc = out_close(o, rc)) < 0)
		rc = fail_io(in, o);
out:
	api_age_enc_free(e);
	sodium_free(buf);
	sodium_free(pass);
	free(pks);
	return rc;
}

static int
decrypt(const struct opts *op, api_fd *in, struct out *o)
{
	api_age_keys *k = NULL;
	api_buf text = { .secret = 1 };
	char *pass = NULL;
	size_t passlen, i;
	int rc;

	if (api_age_keys_new(&k) < 0)
		return fail(NULL);
	for (i = 0; i < op->nids; i++) {
		api_buf_free(&text);
		if (api_file_read(op->ids[i], &text, IDFILE_MAX) < 0 ||
		    api_age_keys_add_identities(k, (const char *)text.ptr,
		    text.len) < 0) {
			rc = fail(op->ids[i]);
			goto out;
		}
	}
	if (op->pass) {
		if (get_passphrase(op->pass_fd, 0, &pass, &passlen) < 0 ||
		    api_age_keys_add_passphrase(k, pass, passlen, 0) < 0) {
			rc = fail(NULL);
			goto out;
		}
	}
	o->sanitize = op->out == NULL && isatty(1);
	if ((rc = out_open(o, op->out)) < 0) {
		rc = fail(NULL);
		goto out;
	}
	rc = api_age_decrypt(k, api_fd_read, in, out_write, o, 0);
	if ((rc = out_close(o, rc)) < 0)
		rc = fail_io(in, o);
out:
	api_buf_free(&text);
	sodium_free(pass);
	api_age_keys_free(k);
	return rc;
}

static int
number(const char *s, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage();
	return (int)v;
}

static const char **
push(const char **v, size_t *n, const char *s)
{
	const char **nv = realloc(v, (*n + 1) * sizeof *v);

	if (nv == NULL) {
		fprintf(stderr, "agetool: out of memory\n");
		exit(1);
	}
	nv[(*n)++] = s;
	return nv;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts op = { .pass_fd = -1 };
	struct out o = { { -1, NULL }, NULL, 0 };
	api_fd in = { 0, "stdin" };
	int c, rc, passfd_set = 0, wf_set = 0;

	if (api_init() < 0 || api_no_core_dumps() < 0) {
		fprintf(stderr, "agetool: %s\n", api_error_last());
		return 1;
	}
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0) {
		if (argc != 2)
			usage();
		return keygen();
	}
	if (argc >= 2 && strcmp(argv[1], "pub") == 0) {
		if (argc != 3)
			usage();
		return pub(argv[2]);
	}
	while ((c = getopt_long(argc, argv, "edapr:i:o:w:", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': op.encrypt = 1; break;
		case 'd': op.decrypt = 1; break;
		case 'a': op.armor = 1; break;
		case 'p': op.pass = 1; break;
		case 'r': op.rcpts = push(op.rcpts, &op.nrcpts, optarg); break;
		case 'i': op.ids = push(op.ids, &op.nids, optarg); break;
		case 'o': op.out = optarg; break;
		case 'w':
			op.wf = number(optarg, 1, API_AGE_MAX_WORK_FACTOR);
			wf_set = 1;
			break;
		case 'P':
			op.pass_fd = number(optarg, 0, INT_MAX);
			passfd_set = 1;
			break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || op.encrypt == op.decrypt || (passfd_set && !op.pass) ||
	    (op.out && *op.out == '\0'))
		usage();
	if (op.encrypt && (op.nids || (op.pass == (op.nrcpts > 0)) ||
	    (wf_set && !op.pass)))
		usage();
	if (op.decrypt && (op.armor || op.nrcpts || wf_set ||
	    (op.nids == 0 && !op.pass)))
		usage();
	if (argc == 1 && strcmp(argv[0], "-") != 0) {
		op.in = argv[0];
		if ((in.fd = open(op.in, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "agetool: %s: %s\n", op.in, strerror(errno));
			rc = 1;
			goto out;
		}
		in.name = op.in;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	rc = op.encrypt ? encrypt(&op, &in, &o) : decrypt(&op, &in, &o);
	if (in.fd > 0)
		close(in.fd);
out:
	free(op.rcpts);
	free(op.ids);
	return rc;
}
