/*
 * test-age-vectors - runs the C2SP CCTV age vectors.
 *
 * usage: test-age-vectors [DIR]
 * DIR defaults to $API_AGE_VECTORS, else ../shared/testdata/age seen from
 * the project top ($API_TOP).  Each vector is decrypted with its
 * identities or passphrase; the outcome must be the expected one (not
 * just "a failure") and the SHA-256 of the plaintext released must match,
 * also for payload failures.  Post-quantum vectors are skipped.  Prints
 * TAP, then "N passed, M failed, K skipped".
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "api.h"
#include "tap.h"

struct vec {
	char expect[256];
	char payload[256];
	int armored, compressed, pq, unknown;
	api_age_keys *keys;
};

static int
inflate_all(const unsigned char *in, size_t len, api_buf *out)
{
	z_stream z;
	unsigned char buf[65536];
	int rc, ret = -1;

	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = buf;
		z.avail_out = sizeof buf;
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END)
			goto out;
		api_buf_append(out, buf, sizeof buf - z.avail_out);
	} while (rc != Z_STREAM_END);
	ret = 0;
out:
	inflateEnd(&z);
	return ret;
}

static const char *
outcome(int rc)
{
	switch (rc) {
	case 0: return "success";
	case API_EAGE_NOMATCH: return "no match";
	case API_EAGE_HMAC: return "HMAC failure";
	case API_EAGE_HEADER: return "header failure";
	case API_EAGE_PAYLOAD: return "payload failure";
	case API_EAGE_ARMOR: return "armor failure";
	default: return "other error";
	}
}

static int
hash_write(void *ctx, const unsigned char *buf, size_t len)
{
	crypto_hash_sha256_update(ctx, buf, len);
	return 0;
}

/* Parses the vector's text header; body points at the age part. */
static int
parse(struct vec *v, const unsigned char *data, size_t len, size_t *body)
{
	size_t i = 0;

	memset(v, 0, sizeof *v);
	if (api_age_keys_new(&v->keys) < 0)
		return -1;
	while (i < len) {
		const char *line = (const char *)data + i;
		const char *nl = memchr(line, '\n', len - i);
		char val[256];
		size_t n;
		if (nl == NULL)
			return -1;
		n = (size_t)(nl - line);
		i += n + 1;
		if (n == 0) {
			*body = i;
			return 0;
		}
		const char *colon = memchr(line, ':', n);
		if (colon == NULL || colon[1] != ' ')
			return -1;
		size_t kl = (size_t)(colon - line), vl = n - kl - 2;
		if (vl >= sizeof val)
			return -1;
		memcpy(val, colon + 2, vl);
		val[vl] = '\0';
#define KEY(s) (kl == strlen(s) && memcmp(line, s, kl) == 0)
		if (KEY("expect"))
			snprintf(v->expect, sizeof v->expect, "%s", val);
		else if (KEY("payload"))
			snprintf(v->payload, sizeof v->payload, "%s", val);
		else if (KEY("armored"))
			v->armored = strcmp(val, "yes") == 0;
		else if (KEY("compressed"))
			v->compressed = strcmp(val, "zlib") == 0;
		else if (KEY("identity")) {
			if (strncmp(val, "AGE-SECRET-KEY-1", 16) != 0)
				v->pq = 1;
			else if (api_age_keys_add_identities(v->keys, val, vl) < 0)
				return -1;
		} else if (KEY("passphrase")) {
			api_age_keys_add_passphrase(v->keys, val, vl, 0);
		} else if (KEY("file key") || KEY("comment")) {
			;
		} else {
			v->unknown = 1;
		}
#undef KEY
	}
	return -1;
}

static int
run(const char *dir, const char *name, int *result, int *auto_ok)
{
	char path[PATH_MAX], hex[65];
	api_buf file = { 0 }, age = { 0 };
	crypto_hash_sha256_state st;
	unsigned char digest[32];
	struct vec v;
	size_t body;
	int rc;

	*auto_ok = 1;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		return -1;
	if (api_file_read(path, &file, 0) < 0 || parse(&v, file.ptr, file.len,
	    &body) < 0) {
		tap_ok(0, "%s: cannot read or parse the vector", name);
		*result = -1;
		goto out;
	}
	/* PQ identities beside X25519 ones: the X25519 ones must decide */
	if (v.unknown || (v.pq && api_age_keys_count(v.keys) == 0)) {
		tap_skip("%s: %s", name, v.pq ? "post-quantum identity" :
		    "unknown header key");
		*result = 1;
		goto out;
	}
	if (v.compressed) {
		if (inflate_all(file.ptr + body, file.len - body, &age) < 0) {
			tap_ok(0, "%s: zlib", name);
			*result = -1;
			goto out;
		}
	} else {
		api_buf_append(&age, file.ptr + body, file.len - body);
	}
	api_mem m = { age.ptr, age.len, 0 };
	crypto_hash_sha256_init(&st);
	rc = api_age_decrypt(v.keys, api_mem_read, &m, hash_write, &st,
	    v.armored ? API_AGE_ARMOR : API_AGE_BINARY);
	crypto_hash_sha256_final(&st, digest);
	sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
	int good = strcmp(outcome(rc), v.expect) == 0 &&
	    (v.payload[0] == '\0' || strcmp(hex, v.payload) == 0);
	tap_ok(good, "%s: expect %s, got %s%s%s", name, v.expect, outcome(rc),
	    rc ? ": " : "", rc ? api_error_last() : "");
	if (!good && v.payload[0] && strcmp(hex, v.payload) != 0)
		tap_diag("payload hash %s, want %s", hex, v.payload);
	*result = good ? 0 : -1;
	/* What succeeds must also succeed with the armor detected, not told. */
	if (rc == 0) {
		api_mem m2 = { age.ptr, age.len, 0 };
		crypto_hash_sha256_init(&st);
		*auto_ok = api_age_decrypt(v.keys, api_mem_read, &m2, hash_write,
		    &st, 0) == 0;
	}
out:
	api_age_keys_free(v.keys);
	api_buf_free(&file);
	api_buf_free(&age);
	return 0;
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	char dflt[PATH_MAX];
	const char *dir = argc > 1 ? argv[1] : getenv("API_AGE_VECTORS");
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int passed = 0, failed = 0, skipped = 0, auto_bad = 0;
	struct dirent *de;
	DIR *d;

	if (api_init() < 0)
		return 1;
	if (dir == NULL) {
		const char *top = getenv("API_TOP");
		snprintf(dflt, sizeof dflt, "%s/../shared/testdata/age",
		    top ? top : ".");
		dir = dflt;
	}
	if ((d = opendir(dir)) == NULL) {
		printf("1..0 # SKIP no age vectors at %s\n", dir);
		printf("0 passed, 0 failed, 0 skipped\n");
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strchr(de->d_name, '.'))
			continue;       /* README.md and the like */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			names = realloc(names, cap * sizeof *names);
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	for (i = 0; i < n; i++) {
		int r = -1, a = 1;
		run(dir, names[i], &r, &a);
		if (r == 0)
			passed++;
		else if (r > 0)
			skipped++;
		else
			failed++;
		auto_bad += !a;
		free(names[i]);
	}
	free(names);
	tap_ok(auto_bad == 0, "armor detection agrees on every successful vector "
	    "(%d disagree)", auto_bad);
	tap_ok(n > 0, "vectors found in %s", dir);
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return tap_done();
}
