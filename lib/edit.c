/*
 * edit.c - an editor on plaintext that never touches a disk.
 *
 * The text is written to a file in a private directory (0700, the file
 * 0600) on a memory file system: $XDG_RUNTIME_DIR when it is set, else
 * /dev/shm; where that is not a tmpfs, nothing is written at all.  After
 * the editor exits, and when the program is told to stop (SIGHUP, SIGTERM,
 * SIGINT, SIGQUIT, SIGPIPE), every file in the directory (the editor's
 * swap and backup files too) is overwritten with zeros and removed, then
 * the directory.  Only SIGKILL or a power cut can leave it behind, and
 * then only in memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

#define TMPFS_MAGIC 0x01021994
#define RAMFS_MAGIC 0x858458f6

static volatile sig_atomic_t got_signal;
static const int signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE };
#define NSIG_ (sizeof signals / sizeof signals[0])

static void
on_signal(int sig)
{
	got_signal = sig;
}

int
api_edit_dir(char *out, size_t cap)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	const char *what = "$XDG_RUNTIME_DIR";
	struct statfs fs;

	if (base == NULL || *base == '\0') {
		base = "/dev/shm";
		what = "/dev/shm";
	}
	if (statfs(base, &fs) < 0)
		return api_error_set(API_ENOTFOUND, "%s (%s): %s; plaintext is "
		    "edited only in a memory file system", what, base,
		    strerror(errno));
	if ((unsigned long)fs.f_type != TMPFS_MAGIC &&
	    (unsigned long)fs.f_type != RAMFS_MAGIC)
		return api_error_set(API_EPERM, "%s (%s) is not a memory file "
		    "system (tmpfs); plaintext is never written to disk", what,
		    base);
	if ((size_t)snprintf(out, cap, "%s/api-edit.XXXXXX", base) >= cap)
		return api_error_set(API_EINVAL, "%s is too long", what);
	if (mkdtemp(out) == NULL)
		return api_error_set(API_EIO, "cannot make a directory in %s: %s",
		    base, strerror(errno));
	return API_OK;
}

/* Overwrites f with zeros and removes it. */
static void
wipe_file(int dirfd, const char *name)
{
	unsigned char zero[4096] = { 0 };
	struct stat st;
	int fd;

	if ((fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			for (off_t left = st.st_size; left > 0; ) {
				size_t n = left > (off_t)sizeof zero ? sizeof zero :
				    (size_t)left;
				ssize_t w = write(fd, zero, n);
				if (w <= 0)
					break;
				left -= w;
			}
		close(fd);
	}
	if (unlinkat(dirfd, name, 0) < 0 && errno == EISDIR)
		(void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

void
api_edit_wipe(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				wipe_file(dirfd(d), e->d_name);
		closedir(d);
	}
	(void)rmdir(dir);
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Runs the editor on path; its exit status, or -1. */
static int
run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	pid_t pid;
	int st;

	if (ed == NULL || *ed == '\0')
		ed = getenv("EDITOR");
	if (ed == NULL || *ed == '\0')
		ed = "vi";
	if ((pid = fork()) < 0)
		return api_error_set(API_EIO, "cannot start the editor: %s",
		    strerror(errno));
	if (pid == 0) {
		for (size_t i = 0; i < NSIG_; i++)
			signal(signals[i], SIG_DFL);
		execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, path,
		    (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return api_error_set(API_EIO, "editor: %s", strerror(errno));
		if (got_signal == SIGHUP || got_signal == SIGTERM ||
		    got_signal == SIGPIPE)
			kill(pid, SIGTERM);
	}
	if (got_signal == SIGHUP || got_signal == SIGTERM || got_signal == SIGPIPE)
		return api_error_set(API_ECANCEL, "stopped by a signal");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return api_error_set(API_ECANCEL, "the editor (%s) failed (%s %d); "
		    "nothing was written", ed, WIFEXITED(st) ? "exit status" :
		    "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return API_OK;
}

int
api_edit(const char *tmpl, size_t len, const char *name, api_buf *out)
{
	struct sigaction sa, old[NSIG_];
	char dir[4096], path[4200];
	int fd = -1, rc, sig;

	if ((rc = api_edit_dir(dir, sizeof dir)) < 0)
		return rc;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;   /* no SA_RESTART: waitpid returns */
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	for (size_t i = 0; i < NSIG_; i++)
		sigaction(signals[i], &sa, &old[i]);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0 || write_all(fd, tmpl, len) < 0 || close(fd) < 0) {
		rc = api_error_set(API_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((rc = run_editor(path)) < 0)
		goto out;
	out->secret = 1;
	out->len = 0;
	if ((rc = api_file_read(path, out, API_NOTE_MAX)) < 0)
		goto out;
	if (out->len == len && sodium_memcmp(out->ptr, tmpl, len) == 0)
		rc = api_error_set(API_ECANCEL, "the text was left unchanged; "
		    "nothing was written");
out:
	api_edit_wipe(dir);
	sig = got_signal;
	for (size_t i = 0; i < NSIG_; i++)
		sigaction(signals[i], &old[i], NULL);
	if (sig == SIGHUP || sig == SIGTERM || sig == SIGPIPE) {
		api_buf_free(out);
		raise(sig);          /* the directory is gone: die as asked */
	}
	return rc;
}
