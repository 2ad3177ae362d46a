/*
 * bundle.c - fuzz target: handover bundles, inside the age layer (which
 * the age target covers): the ustar archive and the MANIFEST in it.
 *
 * The input goes whole to the manifest parser, and whole to the archive
 * reader, whose entries are then read as api_bundle_read reads them:
 * ID/MANIFEST parsed, ID/MANIFEST.sig checked over it (namespace
 * "api-bundle"), the other entries parsed as records.  A manifest that
 * parses must format to text that parses to the same manifest.
 */
#include <string.h>

#include "fuzz.h"

static void
same(const api_bundle_manifest *a, const api_bundle_manifest *b)
{
	FUZZ_ASSERT(strcmp(a->case_id, b->case_id) == 0 &&
	    strcmp(a->store, b->store) == 0 &&
	    strcmp(a->exported, b->exported) == 0 &&
	    strcmp(a->by, b->by) == 0 &&
	    memcmp(a->recipient, b->recipient, 32) == 0 &&
	    strcmp(a->consent, b->consent) == 0 &&
	    (a->override == NULL) == (b->override == NULL) &&
	    (a->override == NULL || strcmp(a->override, b->override) == 0) &&
	    a->nstaff == b->nstaff && a->nrec == b->nrec);
	for (size_t i = 0; i < a->nstaff; i++)
		FUZZ_ASSERT(strcmp(a->staff[i].role, b->staff[i].role) == 0 &&
		    strcmp(a->staff[i].pub.handle, b->staff[i].pub.handle) == 0 &&
		    memcmp(a->staff[i].pub.age_pk, b->staff[i].pub.age_pk, 32) == 0 &&
		    memcmp(a->staff[i].pub.sign_pk, b->staff[i].pub.sign_pk, 32) == 0);
	for (size_t i = 0; i < a->nrec; i++)
		FUZZ_ASSERT(strcmp(a->rec[i].path, b->rec[i].path) == 0 &&
		    memcmp(a->rec[i].sha256, b->rec[i].sha256, 32) == 0 &&
		    strcmp(a->rec[i].blob, b->rec[i].blob) == 0 &&
		    strcmp(a->rec[i].commit, b->rec[i].commit) == 0);
}

static void
manifest(const char *text, size_t len)
{
	api_bundle_manifest m, m2;
	api_buf out = { 0 };

	if (api_bundle_manifest_parse(&m, text, len) != 0)
		return;
	FUZZ_ASSERT(m.nrec > 0);
	FUZZ_ASSERT(api_bundle_manifest_format(&m, &out) == 0);
	FUZZ_ASSERT(api_bundle_manifest_parse(&m2, (const char *)out.ptr,
	    out.len) == 0);
	same(&m, &m2);
	api_bundle_manifest_free(&m2);
	api_bundle_manifest_free(&m);
	api_buf_free(&out);
}

struct entries {
	const unsigned char *manifest;
	size_t mlen;
};

static int
entry(void *ctx, const char *name, const unsigned char *data, size_t len)
{
	struct entries *e = ctx;
	size_t n = strlen(name);
	api_record r;

	FUZZ_ASSERT(n > 0 && n <= 100);
	if (n >= 9 && strcmp(name + n - 9, "/MANIFEST") == 0) {
		e->manifest = data;
		e->mlen = len;
		manifest((const char *)data, len);
	} else if (n >= 13 && strcmp(name + n - 13, "/MANIFEST.sig") == 0) {
		if (e->manifest != NULL)
			api_sshsig_verify(NULL, (const char *)data, len, "api-bundle",
			    e->manifest, e->mlen);
	} else {
		memset(&r, 0, sizeof r);
		api_record_parse(&r, data, len);
		api_record_free(&r);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entries e = { NULL, 0 };

	fuzz_init();
	manifest((const char *)data, size);
	api_tar_each(data, size, entry, &e);
	return 0;
}
