/*
 * age.c - fuzz target: age files (header, armor, payload stream).
 *
 * Decrypts the input with fixed test identities (two X25519 keys and the
 * passphrase "password", scrypt capped at work factor 4 so that a run
 * stays fast), armor detected as api_age_decrypt does by default, twice:
 * from memory in one read, and streamed a few bytes per read.  Both must
 * end the same way and release the same plaintext.  Then the header
 * check used by api-verify runs on the same bytes.
 */
#include <string.h>

#include "fuzz.h"

static const char IDENTITIES[] =
	"# test keys, also those of the C2SP CCTV age vectors\n"
	"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0\n"
	"AGE-SECRET-KEY-143WN7DCXU4G8R5AXQSSYD9AEPYDNT3HXSLWSPK36CDU6E8M59SSSAGZ3KG\n";
#define MAX_PLAIN (4 << 20)

/* Reads of 1, 2, 3, ... 13 bytes in turn: every refill path of the
 * stream, deterministically. */
struct dribble {
	const uint8_t *p;
	size_t len, pos;
	size_t step;
};

static int
dribble_read(void *ctx, unsigned char *buf, size_t len, size_t *got)
{
	struct dribble *d = ctx;
	size_t n = d->step % 13 + 1;

	d->step++;
	if (n > len)
		n = len;
	if (n > d->len - d->pos)
		n = d->len - d->pos;
	memcpy(buf, d->p + d->pos, n);
	d->pos += n;
	*got = n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static api_age_keys *k;
	api_buf a = { 0 }, b = { 0 };
	struct dribble d = { data, size, 0, 0 };
	int ra, rb;

	fuzz_init();
	if (k == NULL && (api_age_keys_new(&k) < 0 ||
	    api_age_keys_add_identities(k, IDENTITIES, sizeof IDENTITIES - 1) < 0 ||
	    api_age_keys_add_passphrase(k, "password", 8, 4) < 0)) {
		fprintf(stderr, "fuzz: %s\n", api_error_last());
		abort();
	}
	ra = api_age_decrypt_mem(k, data, size, &a, MAX_PLAIN, 0);
	b.secret = 1;
	b.max = MAX_PLAIN;
	rb = api_age_decrypt(k, dribble_read, &d, api_buf_write, &b, 0);
	FUZZ_ASSERT(ra == rb);
	FUZZ_ASSERT(a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0));
	api_buf_free(&a);
	api_buf_free(&b);
	/* the syntax check api-verify runs on every age file of a store */
	api_age_header_check(data, size);
	return 0;
}
