/*
 * cli.h - what every api program does the same way: start-up (crypto,
 * no core dumps), one-line errors naming the program, exit codes
 * (0 success, 1 failure, 2 usage).  The library never prints; this does.
 */
#ifndef API_CLI_H
#define API_CLI_H

#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "api.h"

static const char *cli_name = "api";

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
	exit(1);
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

/* The store: -C DIR, else $API_DIR, else the current directory. */
static inline api_store *
cli_store(const char *dir)
{
	api_store *s;

	if (api_store_open(&s, dir) < 0)
		cli_die_lib();
	return s;
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
#endif
