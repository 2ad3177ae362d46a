/*
 * api - run an api program.  "api CMD ARG..." executes api-CMD, the way
 * git runs git-CMD, so that every program can stay a small binary (or a
 * script) of its own.
 *
 * Programs are looked for in $API_EXEC_PATH, then beside this binary
 * (the build tree: build/bin/api next to build/bin/api-keygen), then in
 * the install libexec directory, then in $PATH.  The first found wins.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

#ifndef API_LIBEXECDIR
#define API_LIBEXECDIR "/usr/local/libexec/api"
#endif

#define PREFIX "api-"
#define HELP_TIMEOUT_MS 2000    /* per program, when listing */
#define SUMMARY_MAX 256

struct dirs {
	char **v;
	size_t n;
};

struct prog {
	char *name;             /* without the "api-" prefix */
	char *path;
	char summary[SUMMARY_MAX];
};

struct progs {
	struct prog *v;
	size_t n, cap;
};

static _Noreturn void
usage(void)
{
	fputs("usage: api [--help | --version]\n"
	    "       api CMD [ARG ...]\n"
	    "       api help CMD\n", stderr);
	exit(2);
}

static _Noreturn void
nomem(void)
{
	fputs("api: out of memory\n", stderr);
	exit(1);
}

/* A command name is what may follow "api-": no path, no option. */
static int
cmd_valid(const char *s)
{
	const char *p;

	if (*s == '\0' || *s == '-' || strlen(s) > NAME_MAX - strlen(PREFIX))
		return 0;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-'))
			return 0;
	return 1;
}

/* a + b + c in fresh memory */
static char *
concat(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *s = malloc(la + lb + lc + 1);

	if (s == NULL)
		nomem();
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

/* The directory of this binary, or NULL (no /proc). */
static char *
self_dir(void)
{
	char buf[PATH_MAX];
	char *slash, *dir;
	ssize_t n;

	n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	slash[slash == buf] = '\0';
	if ((dir = strdup(buf)) == NULL)
		nomem();
	return dir;
}

static void
dirs_add(struct dirs *d, const char *dir, size_t len)
{
	char **v;

	if (len == 0)
		return;
	if ((v = realloc(d->v, (d->n + 1) * sizeof *v)) == NULL)
		nomem();
	d->v = v;
	if ((d->v[d->n] = strndup(dir, len)) == NULL)
		nomem();
	d->n++;
}

static void
dirs_add_list(struct dirs *d, const char *list, int absolute_only)
{
	const char *p, *end;

	for (p = list; ; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		/* Listing runs what it finds: never from a relative $PATH entry. */
		if (!absolute_only || *p == '/')
			dirs_add(d, p, (size_t)(end - p));
		if (*end == '\0')
			break;
	}
}

/* The search path; with_path adds $PATH, which dispatch leaves to execvp. */
static void
dirs_get(struct dirs *d, int with_path)
{
	const char *s;
	char *self;

	d->v = NULL;
	d->n = 0;
	if ((s = getenv("API_EXEC_PATH")) != NULL)
		dirs_add_list(d, s, 0);
	if ((self = self_dir()) != NULL) {
		char rel[4096];
		dirs_add(d, self, strlen(self));
		/* an install moved as a whole (or staged with DESTDIR) */
		snprintf(rel, sizeof rel, "%s/../libexec/api", self);
		dirs_add(d, rel, strlen(rel));
		free(self);
	}
	dirs_add(d, API_LIBEXECDIR, strlen(API_LIBEXECDIR));
	if (with_path && (s = getenv("PATH")) != NULL)
		dirs_add_list(d, s, 1);
}

static void
dirs_free(struct dirs *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
}

/*
 * Executes argv[0] ("api-CMD") from the search path; returns only on
 * failure, with the exit status to use.
 */
static int
run(char *argv[])
{
	struct dirs d;
	char *path = NULL, *failed = NULL;
	int err = 0;
	size_t i;

	dirs_get(&d, 0);
	for (i = 0; i < d.n; i++) {
		path = concat(d.v[i], "/", argv[0]);
		/* execvp, not execv: a script without "#!" runs under sh. */
		execvp(path, argv);
		/* Like execvp on $PATH: go on, report the first real failure. */
		if (errno != ENOENT && errno != ENOTDIR && err == 0) {
			err = errno;
			failed = path;
			path = NULL;
		}
		free(path);
		path = NULL;
	}
	execvp(argv[0], argv);
	if (errno != ENOENT && errno != ENOTDIR && err == 0) {
		err = errno;
		failed = concat(argv[0], "", "");
	}
	if (err != 0)
		fprintf(stderr, "api: cannot run %s: %s\n", failed, strerror(err));
	else
		fprintf(stderr, "api: '%s' is not an api command; see 'api --help'\n",
		    argv[0] + strlen(PREFIX));
	free(failed);
	dirs_free(&d);
	return 1;
}

/* Runs argv with stdin, stdout and stderr on /dev/null; its exit status. */
static int
run_quiet(char *argv[])
{
	pid_t pid;
	int st, fd;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if ((fd = open("/dev/null", O_RDWR)) < 0)
			_exit(127);
		if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		if (fd > 2)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Fills p->summary from the first line of "PROG --help", which by
 * convention is "api-NAME - summary".  A program that does not answer
 * within HELP_TIMEOUT_MS is killed, with everything it started: it
 * runs in a process group of its own.  No summary is not an error.
 */
static void
prog_summary(struct prog *p)
{
	char line[SUMMARY_MAX + 64], *prefix = NULL, *s, *nl;
	char *argv[] = { NULL, "--help", NULL };
	int fds[2] = { -1, -1 }, fd;
	size_t len = 0;
	long deadline;
	pid_t pid = -1;

	p->summary[0] = '\0';
	/* Before fork: the child must not exit through nomem(). */
	argv[0] = concat(PREFIX, p->name, "");
	prefix = concat(argv[0], " - ", "");
	if (pipe(fds) != 0)
		goto out;
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		setpgid(0, 0);
		close(fds[0]);
		if (fds[1] != 1) {
			if (dup2(fds[1], 1) < 0)
				_exit(127);
			close(fds[1]);
		}
		if ((fd = open("/dev/null", O_RDWR)) < 0)
			_exit(127);
		if ((fd != 0 && dup2(fd, 0) < 0) || (fd != 2 && dup2(fd, 2) < 0))
			_exit(127);
		if (fd > 2)
			close(fd);
		execvp(p->path, argv);
		_exit(127);
	}
	/* Also here, so that the group exists before any kill below. */
	setpgid(pid, pid);
	close(fds[1]);
	fds[1] = -1;

	deadline = now_ms() + HELP_TIMEOUT_MS;
	while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			break;
		if ((r = poll(&pfd, 1, (int)left)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if ((n = read(fds[0], line + len, sizeof line - 1 - len)) < 0 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	if ((nl = strchr(line, '\n')) != NULL)
		*nl = '\0';
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		goto out;
	s = line + strlen(prefix);
	snprintf(p->summary, sizeof p->summary, "%s", s);
	/* It goes to a terminal: no control characters. */
	for (s = p->summary; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
out:
	if (pid > 0) {
		/* The first line is all we need, so no need to wait for the rest. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	free(prefix);
	free(argv[0]);
}

static void
progs_scan(struct progs *ps, const char *dir)
{
	struct dirent *e;
	struct stat st;
	char *path = NULL;
	DIR *dp;
	size_t i;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		const char *name = e->d_name + strlen(PREFIX);

		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0 ||
		    !cmd_valid(name))
			continue;
		for (i = 0; i < ps->n; i++)
			if (strcmp(ps->v[i].name, name) == 0)
				break;
		if (i < ps->n)
			continue;
		free(path);
		path = concat(dir, "/", e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    access(path, X_OK) != 0)
			continue;
		if (ps->n == ps->cap) {
			size_t cap = ps->cap ? 2 * ps->cap : 16;
			struct prog *v = realloc(ps->v, cap * sizeof *v);

			if (v == NULL)
				nomem();
			ps->v = v;
			ps->cap = cap;
		}
		ps->v[ps->n].name = concat(name, "", "");
		ps->v[ps->n].path = path;
		path = NULL;
		ps->n++;
	}
	free(path);
	closedir(dp);
}

static int
prog_cmp(const void *a, const void *b)
{
	return strcmp(((const struct prog *)a)->name,
	    ((const struct prog *)b)->name);
}

/* The usage and the programs found, with their summaries. */
static void
help(FILE *f)
{
	struct progs ps = { NULL, 0, 0 };
	struct dirs d;
	size_t i, w = 0;

	dirs_get(&d, 1);
	for (i = 0; i < d.n; i++)
		progs_scan(&ps, d.v[i]);
	qsort(ps.v, ps.n, sizeof *ps.v, prog_cmp);
	for (i = 0; i < ps.n; i++) {
		prog_summary(&ps.v[i]);
		if (strlen(ps.v[i].name) > w)
			w = strlen(ps.v[i].name);
	}

	fputs("api - run an api program\n"
	    "usage: api [--help | --version]\n"
	    "       api CMD [ARG ...]\n"
	    "       api help CMD\n\n", f);
	if (ps.n == 0)
		fputs("No api programs found.\n", f);
	else
		fputs("Programs (see 'api help CMD'):\n", f);
	for (i = 0; i < ps.n; i++) {
		if (ps.v[i].summary[0] == '\0')
			fprintf(f, "   %s\n", ps.v[i].name);
		else
			fprintf(f, "   %-*s  %s\n", (int)w, ps.v[i].name,
			    ps.v[i].summary);
	}

	for (i = 0; i < ps.n; i++) {
		free(ps.v[i].name);
		free(ps.v[i].path);
	}
	free(ps.v);
	dirs_free(&d);
}

/*
 * The manual of api-CMD: installed, else the build tree's (beside
 * build/bin, in ../../man), else the program's own --help.
 */
static int
help_cmd(const char *cmd)
{
	char page[PATH_MAX], *name, *dir = NULL;
	int rc = 1, st, n;

	name = concat(PREFIX, cmd, "");
	st = run_quiet((char *[]){ "man", "-w", name, NULL });
	if (st == 0) {
		execvp("man", (char *[]){ "man", name, NULL });
		fprintf(stderr, "api: cannot run man: %s\n", strerror(errno));
		goto out;
	}
	/* 127: no man at all, so no use looking for a page. */
	if (st != 127 && (dir = self_dir()) != NULL) {
		n = snprintf(page, sizeof page, "%s/../../man/%s.1", dir, name);
		if (n > 0 && (size_t)n < sizeof page && access(page, R_OK) == 0) {
			execvp("man", (char *[]){ "man", "-l", page, NULL });
			fprintf(stderr, "api: cannot run man: %s\n",
			    strerror(errno));
			goto out;
		}
	}
	rc = run((char *[]){ name, "--help", NULL });
out:
	free(dir);
	free(name);
	return rc;
}

static int
flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "api: write error: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *a;

	/*
	 * Not getopt: everything after CMD belongs to api-CMD, and GNU
	 * getopt would reorder it.
	 */
	if (argc < 2) {
		help(stderr);
		return 2;
	}
	a = argv[1];
	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
		if (argc != 2)
			usage();
		help(stdout);
		return flush_stdout();
	}
	if (strcmp(a, "--version") == 0) {
		if (argc != 2)
			usage();
		printf("api %s\n", API_VERSION);
		return flush_stdout();
	}
	if (strcmp(a, "help") == 0) {
		if (argc == 2) {
			help(stdout);
			return flush_stdout();
		}
		if (argc != 3)
			usage();
		if (!cmd_valid(argv[2])) {
			fprintf(stderr, "api: '%s' is not a valid command name\n",
			    argv[2]);
			usage();
		}
		return help_cmd(argv[2]);
	}
	if (!cmd_valid(a)) {
		fprintf(stderr, "api: '%s' is not a valid command name\n", a);
		usage();
	}
	/* argv[1] becomes the program's argv[0]; argv[argc] is NULL. */
	argv[1] = concat(PREFIX, a, "");
	return run(argv + 1);
}
