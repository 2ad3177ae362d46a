/*
 * bench-age - how close lib/age.c comes to what the hardware allows,
 * both measured in the same run (the first part of "make bench"):
 *
 *   bench-age [--quick]
 *
 * (a) age encryption and decryption throughput of a 64 MiB payload, over
 *     bare ChaCha20-Poly1305 (IETF) on the same bytes in 64 KiB chunks:
 *     the payload cipher is the floor, so age should reach it closely.
 * (b) small age files (1 KiB, one X25519 recipient) opened per second
 *     with one api_age_keys, over bare X25519 scalar multiplications per
 *     second: each file needs exactly one, everything else is overhead.
 *
 * Each figure is the best of several runs (CLOCK_MONOTONIC), and the
 * runs of a figure and of its limit are interleaved, so that a change of
 * clock speed during the run hits both.  MB is 10^6 bytes.  --quick uses
 * a smaller payload and fewer files (for trying the tool, not figures).
 *
 * A benchmark, not a test: a missed target is reported in the table, not
 * by the exit status.  Exit 0 when measured, 1 if age fails, 2 on usage.
 * Not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "api.h"

#define TAG crypto_aead_chacha20poly1305_ietf_ABYTES
#define ENC_CHUNK (API_AGE_CHUNK + TAG)
#define TARGET 0.8

struct config {
	size_t payload;          /* bytes, for (a) */
	size_t nfiles;           /* for (b) */
	size_t filesize;
	int reps;                /* best of */
};

static const struct config full = { 64u << 20, 2000, 1024, 5 };
static const struct config quick = { 4u << 20, 200, 1024, 3 };

static void
usage(void)
{
	fprintf(stderr, "usage: bench-age [--quick]\n");
	exit(2);
}

static void
fail(const char *what)
{
	fprintf(stderr, "bench-age: %s: %s\n", what, api_error_last());
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fprintf(stderr, "bench-age: out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
best(double *b, double t)
{
	if (*b == 0 || t < *b)
		*b = t;
}

/* A writer that keeps only the count, as the cheapest possible sink. */
static int
discard(void *ctx, const unsigned char *buf, size_t len)
{
	(void)buf;
	*(size_t *)ctx += len;
	return API_OK;
}

/* A writer that checks the plaintext, for the untimed first pass. */
struct cmp {
	const unsigned char *want;
	size_t len, pos;
};

static int
compare(void *ctx, const unsigned char *buf, size_t len)
{
	struct cmp *c = ctx;

	if (len > c->len - c->pos || memcmp(c->want + c->pos, buf, len) != 0)
		return api_error_set(API_ERROR, "decrypted text differs at %zu",
		    c->pos);
	c->pos += len;
	return API_OK;
}

/* ---- (a) throughput ------------------------------------------------ */

/* The STREAM nonce of age: 11-byte big-endian counter, last-chunk flag. */
static void
nonce_at(unsigned char nonce[12], size_t i, int last)
{
	memset(nonce, 0, 12);
	for (int b = 10; b >= 0 && i > 0; b--, i >>= 8)
		nonce[b] = (unsigned char)i;
	nonce[11] = (unsigned char)last;
}

static size_t
nchunks(size_t len)
{
	return len == 0 ? 1 : (len + API_AGE_CHUNK - 1) / API_AGE_CHUNK;
}

/* Bare encryption: plaintext in place, one reused chunk for the output. */
static double
raw_encrypt(const unsigned char *pt, size_t len, const unsigned char *key,
    unsigned char *ct)
{
	unsigned char nonce[12];
	unsigned long long clen;
	size_t n = nchunks(len), i;
	double t0 = now();

	for (i = 0; i < n; i++) {
		size_t off = i * API_AGE_CHUNK;
		size_t c = len - off < API_AGE_CHUNK ? len - off : API_AGE_CHUNK;
		nonce_at(nonce, i, i == n - 1);
		crypto_aead_chacha20poly1305_ietf_encrypt(ct, &clen, pt + off, c,
		    NULL, 0, NULL, nonce, key);
	}
	return now() - t0;
}

/* Every chunk of len plaintext bytes, encrypted back to back. */
static unsigned char *
raw_ciphertext(const unsigned char *pt, size_t len, const unsigned char *key)
{
	unsigned char nonce[12], *ct = xmalloc(nchunks(len) * ENC_CHUNK);
	size_t n = nchunks(len), i;

	for (i = 0; i < n; i++) {
		size_t off = i * API_AGE_CHUNK;
		size_t c = len - off < API_AGE_CHUNK ? len - off : API_AGE_CHUNK;
		nonce_at(nonce, i, i == n - 1);
		crypto_aead_chacha20poly1305_ietf_encrypt(ct + i * ENC_CHUNK, NULL,
		    pt + off, c, NULL, 0, NULL, nonce, key);
	}
	return ct;
}

/* Bare decryption: ciphertext in place, one reused chunk for the output. */
static double
raw_decrypt(const unsigned char *ct, size_t len, const unsigned char *key,
    unsigned char *pt)
{
	unsigned char nonce[12];
	size_t n = nchunks(len), i;
	double t0 = now();

	for (i = 0; i < n; i++) {
		size_t off = i * API_AGE_CHUNK;
		size_t c = len - off < API_AGE_CHUNK ? len - off : API_AGE_CHUNK;
		nonce_at(nonce, i, i == n - 1);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL,
		    ct + i * ENC_CHUNK, c + TAG, NULL, 0, nonce, key) != 0) {
			fprintf(stderr, "bench-age: raw chunk %zu does not open\n", i);
			exit(1);
		}
	}
	return now() - t0;
}

/* Encryption as a program streams it: 64 KiB writes, output discarded. */
static double
age_encrypt(const unsigned char (*pk)[32], const unsigned char *pt,
    size_t len)
{
	api_age_enc *e;
	size_t out = 0, off;
	double t0 = now();

	if (api_age_enc_new(&e, pk, 1, discard, &out, 0) < 0)
		fail("api_age_enc_new");
	for (off = 0; off < len; off += API_AGE_CHUNK)
		if (api_age_enc_write(e, pt + off, len - off < API_AGE_CHUNK ?
		    len - off : API_AGE_CHUNK) < 0)
			fail("api_age_enc_write");
	if (api_age_enc_close(e) < 0)
		fail("api_age_enc_close");
	api_age_enc_free(e);
	return now() - t0;
}

static double
age_decrypt(api_age_keys *k, const api_buf *file, size_t want)
{
	api_mem m = { file->ptr, file->len, 0 };
	size_t out = 0;
	double t0 = now(), t;

	if (api_age_decrypt(k, api_mem_read, &m, discard, &out, 0) < 0)
		fail("api_age_decrypt");
	t = now() - t0;
	if (out != want) {
		fprintf(stderr, "bench-age: decrypted %zu bytes, not %zu\n", out,
		    want);
		exit(1);
	}
	return t;
}

/* ---- (b) small files ----------------------------------------------- */

static double
open_files(api_age_keys *k, const api_buf *files, size_t n, size_t size)
{
	size_t i, out = 0;
	double t0 = now(), t;

	for (i = 0; i < n; i++) {
		api_mem m = { files[i].ptr, files[i].len, 0 };
		if (api_age_decrypt(k, api_mem_read, &m, discard, &out, 0) < 0)
			fail("api_age_decrypt (small file)");
	}
	t = now() - t0;
	if (out != n * size) {
		fprintf(stderr, "bench-age: small files gave %zu bytes, not %zu\n",
		    out, n * size);
		exit(1);
	}
	return t;
}

static double
scalarmults(const unsigned char *sk, const unsigned char (*pts)[32], size_t n)
{
	unsigned char q[32];
	size_t i;
	double t0 = now();

	for (i = 0; i < n; i++)
		if (crypto_scalarmult(q, sk, pts[i]) != 0) {
			fprintf(stderr, "bench-age: scalar multiplication failed\n");
			exit(1);
		}
	return now() - t0;
}

/* ---- report ---------------------------------------------------------- */

static void
row(const char *figure, double ours, double limit, const char *unit,
    const char *lunit)
{
	double ratio = ours / limit;
	char a[32], b[32];
	int met = ratio >= TARGET;

	snprintf(a, sizeof a, "%.0f %s", ours, unit);
	snprintf(b, sizeof b, "%.0f %s", limit, lunit);
	printf("%-24s %-18s %-20s %6.2f  >= %.2f  %s\n", figure, a, b, ratio,
	    TARGET, met ? "met" : "NOT met");
}

int
main(int argc, char *argv[])
{
	const struct config *cf = &full;
	unsigned char sk[32], pks[1][32], key[32];
	unsigned char *pt, *rawct, *chunk, *smallpt, (*pts)[32];
	api_buf file = { 0 }, *files;
	api_age_keys *k;
	struct cmp c;
	double renc = 0, aenc = 0, rdec = 0, adec = 0, tfiles = 0, tmul = 0;
	size_t i;
	int r;

	if (argc == 2 && strcmp(argv[1], "--quick") == 0)
		cf = &quick;
	else if (argc != 1)
		usage();
	if (api_init() < 0)
		fail("api_init");

	/* setup, untimed */
	if (api_age_keypair(pks[0], sk) < 0)
		fail("api_age_keypair");
	if (api_age_keys_new(&k) < 0 || api_age_keys_add_x25519(k, sk) < 0)
		fail("api_age_keys");
	pt = xmalloc(cf->payload);
	randombytes_buf(pt, cf->payload);
	randombytes_buf(key, sizeof key);
	rawct = raw_ciphertext(pt, cf->payload, key);
	chunk = xmalloc(ENC_CHUNK);
	if (api_age_encrypt_mem((const unsigned char (*)[32])pks, 1, pt,
	    cf->payload, &file, 0) < 0)
		fail("api_age_encrypt_mem");
	/* one checked pass, which also faults every page in */
	c.want = pt;
	c.len = cf->payload;
	c.pos = 0;
	{
		api_mem m = { file.ptr, file.len, 0 };
		if (api_age_decrypt(k, api_mem_read, &m, compare, &c, 0) < 0 ||
		    c.pos != c.len)
			fail("api_age_decrypt (check)");
	}

	files = xmalloc(cf->nfiles * sizeof *files);
	pts = xmalloc(cf->nfiles * sizeof *pts);
	smallpt = xmalloc(cf->filesize);
	for (i = 0; i < cf->nfiles; i++) {
		unsigned char esk[32];
		memset(&files[i], 0, sizeof files[i]);
		randombytes_buf(smallpt, cf->filesize);
		if (api_age_encrypt_mem((const unsigned char (*)[32])pks, 1,
		    smallpt, cf->filesize, &files[i], 0) < 0)
			fail("api_age_encrypt_mem (small file)");
		/* distinct points, as the shares of distinct files are */
		if (api_age_keypair(pts[i], esk) < 0)
			fail("api_age_keypair");
	}

	for (r = 0; r < cf->reps; r++) {
		best(&renc, raw_encrypt(pt, cf->payload, key, chunk));
		best(&aenc, age_encrypt((const unsigned char (*)[32])pks, pt,
		    cf->payload));
		best(&rdec, raw_decrypt(rawct, cf->payload, key, chunk));
		best(&adec, age_decrypt(k, &file, cf->payload));
		best(&tmul, scalarmults(sk, (const unsigned char (*)[32])pts,
		    cf->nfiles));
		best(&tfiles, open_files(k, files, cf->nfiles, cf->filesize));
	}

	{
		double mb = (double)cf->payload / 1e6;
		printf("age (libsodium %s): %zu MiB payload, %zu files of "
		    "%zu bytes, best of %d\n", sodium_version_string(),
		    cf->payload >> 20, cf->nfiles, cf->filesize, cf->reps);
		printf("%-24s %-18s %-20s %6s  %-7s  %s\n", "figure", "ours",
		    "limit", "ratio", "target", "result");
		row("age encrypt", mb / aenc, mb / renc, "MB/s", "MB/s");
		row("age decrypt", mb / adec, mb / rdec, "MB/s", "MB/s");
		row("age open, small files", (double)cf->nfiles / tfiles,
		    (double)cf->nfiles / tmul, "files/s", "X25519/s");
		printf("limits: ChaCha20-Poly1305 (IETF) in 64 KiB chunks; "
		    "crypto_scalarmult\n");
	}

	for (i = 0; i < cf->nfiles; i++)
		api_buf_free(&files[i]);
	free(files);
	free(pts);
	free(smallpt);
	api_buf_free(&file);
	free(chunk);
	free(rawct);
	free(pt);
	api_age_keys_free(k);
	sodium_memzero(sk, sizeof sk);
	return 0;
}
