/*
 * cli.h - what every api program does the same way: start-up (crypto,
 * no core dumps), one-line errors naming the program, exit codes
 * (0 success, 1 failure, 2 usage).  The library never prints; this does.
 */
#ifndef API_CLI_H
#define API_CLI_H

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <sodium.h>
#include <strings.h>

#include "api.h"

static const char *cli_name = "api";
/* The exit status of cli_die: 1, but 2 for api-search, whose 1 says
 * "nothing found", as grep's does. */
static int cli_fail_status = 1;

/* Prints "NAME: message" on stderr and exits 1. */
static inline void __attribute__((noreturn, format(printf, 1, 2)))
cli_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(cli_fail_status);
}

/* Dies with the library's last message. */
static inline void __attribute__((noreturn))
cli_die_lib(void)
{
	cli_die("%s", api_error_last());
}

/* Start-up of every program: core dumps off before any secret exists. */
static inline void
cli_start(const char *name)
{
	cli_name = name;
	if (api_no_core_dumps() < 0 || api_init() < 0)
		cli_die_lib();
}

/* A non-negative decimal for an option, else a usage error. */
static inline int
cli_int(const char *s, const char *opt, int max)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "%s: %s wants a number from 0 to %d\n", cli_name,
		    opt, max);
		exit(2);
	}
	return (int)v;
}

/*
 * The acting identity: -i FILE, else $API_IDENTITY, else the default
 * path; the passphrase of a protected one from fd (>= 0) or the terminal.
 */
static inline api_identity *
cli_identity(const char *file, int pass_fd)
{
	api_pass_src src = { pass_fd };
	api_identity *id;
	char *path;

	if ((path = api_identity_path(file)) == NULL)
		cli_die_lib();
	if (api_identity_load(&id, path, api_pass_read, &src) < 0)
		cli_die_lib();
	free(path);
	return id;
}

/*
 * The store: -C DIR, else $API_DIR, else the current directory; its
 * api.conf must parse (a program must not act on half-read settings),
 * and is handed back in *conf (when conf is not NULL).
 */
static inline api_store *
cli_store_conf(const char *dir, api_conf **conf)
{
	api_conf *c;
	api_store *s;

	if (api_store_open(&s, dir) < 0 || api_store_conf(s, &c) < 0)
		cli_die_lib();
	if (conf)
		*conf = c;
	else
		api_conf_free(c);
	return s;
}

/* The same, for a program that reads no setting. */
static inline api_store *
cli_store(const char *dir)
{
	return cli_store_conf(dir, NULL);
}

/* A JSON string on stdout, every control byte escaped. */
static inline void
cli_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* Flushes stdout; a failed write (full disk, closed pipe) is an error. */
static inline int
cli_flush(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: write error on standard output\n", cli_name);
		return 1;
	}
	return 0;
}
/* Dies unless me is an active member of the store's staff (any role). */
static inline void
cli_require_staff(api_store *s, const api_identity *me)
{
	api_staff_list l;

	if (api_store_staff(s, &l) < 0 || api_staff_require(&l, me,
	    API_ROLES) < 0)
		cli_die_lib();
	api_staff_list_free(&l);
}

/* ---- a watchdog on a git server ---------------------------------------- */

/*
 * libgit2 1.5 has no timeout on a server that accepts a connection and
 * then says nothing: a talk with the server that shows no sign of life
 * for cli_net_timeout seconds ends the program, with nothing of the store
 * half-changed (every ref moves by compare-and-swap; what a fetch left
 * under refs/api/sync/ goes at the next run).
 */
static unsigned cli_net_timeout = 60;
static const char *cli_net_server = "the server";
static const char *cli_net_rmdir;       /* api-clone: its new store */

static void
cli_net_alarm(int sig)
{
	static const char tail[] = ": no answer; gave up waiting\n";
	pid_t pid;

	(void)sig;
	if (write(2, cli_name, strlen(cli_name)) < 0 || write(2, ": ", 2) < 0 ||
	    write(2, cli_net_server, strlen(cli_net_server)) < 0 ||
	    write(2, tail, sizeof tail - 1) < 0)
		_exit(1);
	/* a clone half made goes (only what is safe in a signal handler) */
	if (cli_net_rmdir != NULL && (pid = fork()) == 0) {
		execl("/bin/rm", "rm", "-rf", "--", cli_net_rmdir, (char *)NULL);
		_exit(127);
	} else if (cli_net_rmdir != NULL && pid > 0)
		waitpid(pid, NULL, 0);
	_exit(1);
}

static void
cli_net(void *ctx, int busy)
{
	(void)ctx;
	alarm(busy ? cli_net_timeout : 0);
}

static inline void
cli_net_watch(api_sync_opts *o, const char *server, unsigned timeout)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cli_net_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	cli_net_server = server;
	cli_net_timeout = timeout;
	o->net = timeout ? cli_net : NULL;
}

/* ---- the read log ------------------------------------------------------ */

/* --purpose TEXT: checked before anything is read, else a usage error */
static inline const char *
cli_purpose(const char *p)
{
	if (api_purpose_check(p) < 0) {
		fprintf(stderr, "%s: --purpose: %s\n", cli_name, api_error_last());
		exit(2);
	}
	return p;
}

/*
 * Logs a read of the cases in r by me (see api_readlog_record) before
 * anything of them is shown, as api.conf says: nothing when
 * readlog.enabled is not true; when the log cannot be written, the read
 * is refused (exit 1) where readlog.mandatory is true, else one warning
 * goes to stderr and the read goes on.
 */
static inline void
cli_readlog(api_store *s, const api_identity *me, const char *program,
    const char *purpose, const api_reads *r)
{
	int enabled, mandatory;

	if (r->n == 0)
		return;
	if (api_readlog_settings(s, &enabled, &mandatory, NULL) < 0)
		cli_die("read refused: %s", api_error_last());
	if (!enabled || api_readlog_record(s, me, program, purpose, r, NULL) == 0)
		return;
	if (mandatory)
		cli_die("read refused: it cannot be logged, and api.conf says "
		    "readlog.mandatory: %s", api_error_last());
	fprintf(stderr, "%s: warning: this read is not logged: %s\n", cli_name,
	    api_error_last());
}

/* The same for one case. */
static inline void
cli_readlog_one(api_store *s, const api_identity *me, const char *program,
    const char *purpose, const char *id)
{
	api_reads r = { 0 };

	if (api_reads_add(&r, id) < 0)
		cli_die_lib();
	cli_readlog(s, me, program, purpose, &r);
	api_reads_free(&r);
}

/* ---- the text of a note ---------------------------------------------- */

#define CLI_EDIT_MARK "<!-- Write below this line. Leave the text unchanged to " \
	"abort; lines starting with a field name and a colon above the blank " \
	"line are the note's header. -->"

/* 1 if b holds nothing but white space */
static inline int
cli_blank(const api_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->ptr[i] != ' ' && b->ptr[i] != '\t' && b->ptr[i] != '\n' &&
		    b->ptr[i] != '\r')
			return 0;
	return 1;
}

/*
 * The text of a note into out (secret): -m TEXT, else -F FILE ("-" is
 * stdin), else stdin when it is not a terminal, else the editor on tmpl.
 * Returns 1 when it came from the editor.  Dies on an empty text.
 */
static inline int
cli_text(api_buf *out, const char *m, const char *file, const char *tmpl)
{
	int edited = 0, rc = 0;

	out->secret = 1;
	if (m != NULL)
		rc = api_buf_append(out, m, strlen(m));
	else if (file != NULL && strcmp(file, "-") != 0)
		rc = api_file_read(file, out, API_NOTE_MAX);
	else if (file != NULL || !isatty(0)) {
		api_fd in = { 0, "standard input" };
		unsigned char chunk[65536];
		size_t got;
		out->max = API_NOTE_MAX;
		while ((rc = api_fd_read(&in, chunk, sizeof chunk, &got)) == 0 &&
		    got > 0 && (rc = api_buf_append(out, chunk, got)) == 0)
			;
		sodium_memzero(chunk, sizeof chunk);
		out->max = 0;
	} else {
		rc = api_edit(tmpl, strlen(tmpl), "note.md", out);
		edited = 1;
	}
	if (rc < 0)
		cli_die_lib();
	if (api_text_check(out->ptr, out->len, "the note") < 0)
		cli_die_lib();
	/* from the editor too: an emptied file is an empty note (and
	 * cli_edited would get no text at all) */
	if (cli_blank(out))
		cli_die("the note is empty; nothing was written");
	return edited;
}

/*
 * Splits what came back from the editor: header fields (only those named
 * in keys, space-separated; empty values dropped) into vals[] (pointing
 * into out); returns the body, without the marker line, and its length.
 * Dies when the body is empty.
 */
static inline const char *
cli_edited(api_buf *out, const char *keys, char **vals, size_t nkeys,
    size_t *bodylen)
{
	char *p = (char *)out->ptr, *end = p + out->len, *mark;
	size_t ml = strlen(CLI_EDIT_MARK);

	while (p < end && *p != '\n') {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *colon, *v;
		size_t i = 0, kl;
		const char *k;
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		if ((colon = strchr(p, ':')) == NULL)
			cli_die("editor: header line '%.40s' is not 'Field: value'", p);
		*colon = '\0';
		for (k = keys; *k; k += kl + (k[kl] == ' '), i++) {
			kl = strcspn(k, " ");
			if (strlen(p) == kl && strncasecmp(p, k, kl) == 0)
				break;
		}
		if (*k == '\0')
			cli_die("editor: unknown header field '%.40s'", p);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (char *t = v + strlen(v); t > v && (t[-1] == ' ' ||
		    t[-1] == '\t' || t[-1] == '\r'); )
			*--t = '\0';
		if (i < nkeys)
			vals[i] = *v ? v : NULL;
		p = nl + 1;
	}
	if (p > end)
		p = end;     /* the last header line had no newline */
	if (p < end)
		p++;
	if ((mark = strstr(p, CLI_EDIT_MARK)) != NULL) {
		char *after = mark + ml;
		if (*after == '\n')
			after++;
		memmove(mark, after, (size_t)(end - after) + 1);
		end -= after - mark;
	}
	while (p < end && (*p == '\n' || *p == '\r'))
		p++;
	if (p >= end || strspn(p, " \t\r\n") == (size_t)(end - p))
		cli_die("the note is empty; nothing was written");
	*bodylen = (size_t)(end - p);
	return p;
}

/* The read log refs to look at: refs/api/reads/YEAR, or (year NULL)
 * every one of the store; the caller frees each and the array. */
static inline void
cli_readlog_refs(api_store *s, const char *year, char ***refs, size_t *n)
{
	char one[64];

	if (year == NULL) {
		if (api_readlog_refs(s, refs, n) < 0)
			cli_die_lib();
		return;
	}
	snprintf(one, sizeof one, "%s%.8s", API_READS_REF, year);
	if ((*refs = malloc(sizeof **refs)) == NULL ||
	    ((*refs)[0] = strdup(one)) == NULL)
		cli_die("out of memory");
	*n = 1;
}

#endif
