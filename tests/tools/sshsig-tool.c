/*
 * sshsig-tool - drives lib/sshsig.c for the shell tests (tests/sshsig.t):
 *
 *   sshsig-tool keygen PRIVFILE          raw 64-byte secret key to PRIVFILE,
 *                                        public key line on stdout
 *   sshsig-tool pubkey PRIVFILE          public key line of a raw key
 *   sshsig-tool import-openssh KEY PRIVFILE
 *                                        an unencrypted ssh-keygen Ed25519
 *                                        key as a raw 64-byte key
 *   sshsig-tool sign PRIVFILE NS < msg > sig
 *   sshsig-tool verify NS SIGFILE < msg  signer's public key line on stdout
 *
 * Not installed.  Errors: api_error_last() on stderr, exit 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sshsig-tool keygen PRIVFILE\n"
	    "       sshsig-tool pubkey PRIVFILE\n"
	    "       sshsig-tool import-openssh KEYFILE PRIVFILE\n"
	    "       sshsig-tool sign PRIVFILE NAMESPACE < msg > sig\n"
	    "       sshsig-tool verify NAMESPACE SIGFILE < msg\n");
	exit(2);
}

static int
read_stdin(api_buf *b)
{
	unsigned char chunk[65536];
	api_fd f = { 0, "stdin" };
	size_t got;
	int rc;

	for (;;) {
		if ((rc = api_fd_read(&f, chunk, sizeof chunk, &got)) < 0)
			return rc;
		if (got == 0)
			return API_OK;
		if ((rc = api_buf_append(b, chunk, got)) < 0)
			return rc;
	}
}

static int
read_sk(const char *path, api_buf *sk)
{
	int rc;

	sk->secret = 1;
	if ((rc = api_file_read(path, sk, API_ED25519_SK)) < 0)
		return rc;
	if (sk->len != API_ED25519_SK)
		return api_error_set(API_EINVAL, "%s: not a %d-byte Ed25519 key",
		    path, API_ED25519_SK);
	return API_OK;
}

static int
print_pk(const unsigned char pk[32])
{
	char line[API_SSH_PUBKEY_LEN + 1];
	int rc;

	if ((rc = api_ssh_pubkey_encode(line, pk)) < 0)
		return rc;
	printf("%s\n", line);
	return fflush(stdout) == 0 ? API_OK :
	    api_error_set(API_EIO, "stdout: write failed");
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Next SSH string of b (len bytes, at *pos), or NULL. */
static const unsigned char *
str(const unsigned char *b, size_t len, size_t *pos, size_t *slen)
{
	const unsigned char *s;
	uint32_t n;

	if (len - *pos < 4 || (n = be32(b + *pos)) > len - *pos - 4)
		return NULL;
	s = b + *pos + 4;
	*slen = n;
	*pos += 4 + (size_t)n;
	return s;
}

/* The next SSH string of b is lit. */
static int
next_is(const unsigned char *b, size_t len, size_t *pos, const char *lit)
{
	const unsigned char *s;
	size_t slen;

	s = str(b, len, pos, &slen);
	return s != NULL && slen == strlen(lit) && memcmp(s, lit, slen) == 0;
}

/*
 * openssh-key-v1 (PROTOCOL.key), unencrypted, one Ed25519 key: its
 * private section holds the key exactly in libsodium's seed || pk form.
 */
static int
import_openssh(const char *keyfile, unsigned char sk[64])
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char end[] = "-----END OPENSSH PRIVATE KEY-----";
	static const char magic[] = "openssh-key-v1";
	api_buf text = { .secret = 1 };
	unsigned char *bin = NULL;
	const unsigned char *s, *k;
	const char *b64, *e;
	size_t binlen = 0, pos, slen, klen;
	int rc;

	if ((rc = api_file_read(keyfile, &text, 64 * 1024)) < 0)
		goto out;
	rc = api_error_set(API_EINVAL, "%s: not an unencrypted OpenSSH "
	    "Ed25519 private key", keyfile);
	if (text.len == 0 ||
	    (b64 = strstr((char *)text.ptr, begin)) == NULL ||
	    (e = strstr(b64, end)) == NULL)
		goto out;
	b64 += sizeof begin - 1;
	if ((bin = sodium_malloc(text.len)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of secure memory");
		goto out;
	}
	if (sodium_base642bin(bin, text.len, b64, (size_t)(e - b64), "\r\n",
	    &binlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen < sizeof magic || memcmp(bin, magic, sizeof magic) != 0)
		goto out;
	pos = sizeof magic;
	if (!next_is(bin, binlen, &pos, "none") ||                  /* cipher */
	    !next_is(bin, binlen, &pos, "none") ||                  /* kdf */
	    str(bin, binlen, &pos, &slen) == NULL ||                 /* kdf options */
	    binlen - pos < 4 || be32(bin + pos) != 1)
		goto out;
	pos += 4;
	if (str(bin, binlen, &pos, &slen) == NULL ||                 /* public key */
	    (s = str(bin, binlen, &pos, &slen)) == NULL)             /* private */
		goto out;
	{
		size_t p = 8;

		if (slen < 8 || be32(s) != be32(s + 4) ||           /* check ints */
		    !next_is(s, slen, &p, "ssh-ed25519") ||
		    (k = str(s, slen, &p, &klen)) == NULL || klen != 32 ||
		    (k = str(s, slen, &p, &klen)) == NULL || klen != 64)
			goto out;
	}
	memcpy(sk, k, 64);
	rc = API_OK;
out:
	sodium_free(bin);
	api_buf_free(&text);
	return rc;
}

int
main(int argc, char **argv)
{
	unsigned char pk[API_ED25519_PK], *sk = NULL;
	api_buf a = { 0 }, b = { 0 }, key = { 0 };
	api_fd out = { 1, "stdout" };
	int rc;

	if (argc < 2)
		usage();
	if ((rc = api_init()) < 0 || (rc = api_no_core_dumps()) < 0)
		goto out;
	if ((sk = sodium_malloc(API_ED25519_SK)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of secure memory");
		goto out;
	}
	if (strcmp(argv[1], "keygen") == 0 && argc == 3) {
		crypto_sign_keypair(pk, sk);
		if ((rc = api_file_write(argv[2], sk, API_ED25519_SK, 0600, 1)) < 0)
			goto out;
		rc = print_pk(pk);
	} else if (strcmp(argv[1], "pubkey") == 0 && argc == 3) {
		if ((rc = read_sk(argv[2], &key)) < 0)
			goto out;
		rc = print_pk(key.ptr + 32);
	} else if (strcmp(argv[1], "import-openssh") == 0 && argc == 4) {
		if ((rc = import_openssh(argv[2], sk)) < 0)
			goto out;
		rc = api_file_write(argv[3], sk, API_ED25519_SK, 0600, 1);
	} else if (strcmp(argv[1], "sign") == 0 && argc == 4) {
		if ((rc = read_sk(argv[2], &key)) < 0 ||
		    (rc = read_stdin(&a)) < 0 ||
		    (rc = api_sshsig_sign(&b, key.ptr, argv[3], a.ptr, a.len)) < 0)
			goto out;
		rc = api_fd_write(&out, b.ptr, b.len);
	} else if (strcmp(argv[1], "verify") == 0 && argc == 4) {
		if ((rc = api_file_read(argv[3], &b, 1024 * 1024)) < 0 ||
		    (rc = read_stdin(&a)) < 0 ||
		    (rc = api_sshsig_verify(pk, (const char *)b.ptr, b.len,
		    argv[2], a.ptr, a.len)) < 0)
			goto out;
		rc = print_pk(pk);
	} else {
		usage();
	}
out:
	sodium_free(sk);
	api_buf_free(&key);
	api_buf_free(&a);
	api_buf_free(&b);
	if (rc < 0) {
		fprintf(stderr, "sshsig-tool: %s\n", api_error_last());
		return 1;
	}
	return 0;
}
