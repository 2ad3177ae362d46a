/*
 * tls.c - the TLS trust store, loaded only by the programs that connect.
 *
 * Debian's libgit2 1.5 is built with mbedTLS, and git_libgit2_init()
 * parses the whole system CA bundle (/etc/ssl/certs/ca-certificates.crt,
 * about 140 certificates) on every start: some 6 ms of CPU, a third of
 * what api-log costs in all, in every program, although only api-sync
 * and api-clone ever open a connection, and only to an https:// server
 * does the bundle matter.
 *
 * So this file defines mbedtls_x509_crt_parse_file itself.  libgit2
 * calls it through its PLT, and the dynamic linker finds the first
 * definition in load order: the program, then libapi, before
 * libmbedx509.  Until api_tls_load() is called it only records the path
 * it was given and leaves the chain empty (mbedtls_x509_crt_init has
 * already made it so), and a TLS handshake would then fail certificate
 * verification: an omission fails closed, it never trusts.
 * api_tls_load() hands the recorded path back to libgit2
 * (GIT_OPT_SET_SSL_CERT_LOCATIONS), which parses it with the real
 * function, found with dlsym(RTLD_NEXT).
 *
 * A libgit2 built with OpenSSL never calls this function; a libmbedx509
 * loaded before libapi would take precedence, and the bundle is parsed
 * at start-up as before.  Either way nothing is lost but the 6 ms.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <git2.h>

#include "api.h"

/* mbedtls/x509_crt.h is not among the toolkit's build dependencies: the
 * chain is only passed through. */
int mbedtls_x509_crt_parse_file(void *chain, const char *path);

static int tls_wanted;
static char tls_file[PATH_MAX];

int
mbedtls_x509_crt_parse_file(void *chain, const char *path)
{
	int (*real)(void *, const char *);

	if (!tls_wanted) {
		if (path != NULL && strlen(path) < sizeof tls_file)
			snprintf(tls_file, sizeof tls_file, "%s", path);
		return 0;
	}
	/* (the POSIX way to take a function from dlsym) */
	*(void **)&real = dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file");
	if (real == NULL)
		return -1;
	return real(chain, path);
}

int
api_tls_load(void)
{
	if (tls_wanted)
		return API_OK;
	tls_wanted = 1;
	if (tls_file[0] != '\0' && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS,
	    tls_file, NULL) < 0)
		return api_git_fail(API_EIO, tls_file);
	return API_OK;
}
