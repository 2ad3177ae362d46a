/* pass.c - passphrases from the terminal (echo off) or a descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

/* A signal that came while the terminal was silenced, to re-raise. */
static volatile sig_atomic_t pending;
static const int tty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
#define NSIG_TTY (sizeof tty_signals / sizeof tty_signals[0])

static void
note_signal(int sig)
{
	pending = sig;
}

/* One line from fd, byte by byte so that nothing after it is consumed. */
static int
read_line(int fd, char *pass, size_t cap, const char *what)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR && !pending)
			continue;
		if (r < 0)
			return api_error_set(API_EIO, "cannot read the passphrase from %s: %s",
			    what, strerror(errno));
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= cap) {
			sodium_memzero(pass, cap);
			return api_error_set(API_EINVAL, "passphrase too long");
		}
		pass[n++] = c;
	}
	if (n > 0 && pass[n - 1] == '\r')
		n--;
	pass[n] = '\0';
	return API_OK;
}

/*
 * Echo is turned off before the prompt shows, so that nothing typed is
 * echoed, and back on before returning -- also when the user interrupts:
 * the signal is held until the terminal is restored, then raised again.
 */
static int
tty_ask(int tty, const char *prompt, char *pass, size_t cap)
{
	struct sigaction sa, old_sa[NSIG_TTY];
	struct termios old, quiet;
	int rc, restore, sig;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = note_signal;     /* no SA_RESTART: read() returns */
	sigemptyset(&sa.sa_mask);
	pending = 0;
	for (i = 0; i < NSIG_TTY; i++)
		sigaction(tty_signals[i], &sa, &old_sa[i]);
	restore = tcgetattr(tty, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(tty, TCSANOW, &quiet);
	}
	if (write(tty, prompt, strlen(prompt)) < 0)
		rc = api_error_set(API_EIO, "cannot write to the terminal");
	else
		rc = read_line(tty, pass, cap, "the terminal");
	if (restore)
		tcsetattr(tty, TCSANOW, &old);
	for (i = 0; i < NSIG_TTY; i++)
		sigaction(tty_signals[i], &old_sa[i], NULL);
	if ((sig = pending) != 0) {
		sodium_memzero(pass, cap);
		rc = api_error_set(API_ECANCEL, "interrupted");
		pending = 0;
		raise(sig);
	}
	return rc;
}

int
api_pass_read(void *ctx, const char *prompt, char *pass, size_t cap, int confirm)
{
	api_pass_src *src = ctx;
	char *again = NULL;
	int tty, rc;

	if (src != NULL && src->fd >= 0)
		return read_line(src->fd, pass, cap, "the passphrase descriptor");
	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0)
		return api_error_set(API_EINVAL,
		    "no terminal to ask for the passphrase; use --passphrase-fd N");
	if ((rc = tty_ask(tty, prompt, pass, cap)) < 0 || !confirm)
		goto out;
	if ((again = sodium_malloc(cap)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of secure memory");
		goto out;
	}
	if ((rc = tty_ask(tty, "Confirm passphrase: ", again, cap)) < 0)
		goto out;
	if (strcmp(pass, again) != 0)
		rc = api_error_set(API_EPASS, "the passphrases do not match");
out:
	if (rc < 0)
		sodium_memzero(pass, cap);
	sodium_free(again);
	close(tty);
	return rc;
}
