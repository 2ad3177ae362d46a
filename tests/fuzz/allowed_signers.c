/*
 * allowed_signers.c - fuzz target: allowed_signers and the key lines
 * behind it.
 *
 * The library never parses allowed_signers: it makes the file again from
 * staff/ and api-verify compares the bytes.  So this target does what
 * that check does on hostile input: the input is staff files separated
 * by NUL bytes, then (after the last NUL) a claimed allowed_signers.
 * The staff files are parsed and allowed_signers is made from them (the
 * comparison with the claim is a plain memcmp, not exercised); each
 * line made must name its member and carry that member's key.  The lines of the claim also go through the
 * parsers of public key lines, as api-staff add and api-keygen read them
 * from people: "HANDLE age1... ssh-ed25519 KEY" and "ssh-ed25519 KEY".
 */
#include <string.h>

#include "fuzz.h"

#define MAX_STAFF 16

static void
key_lines(const char *text)
{
	const char *p = text;
	unsigned char pk[32];
	api_pubid pub;

	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = malloc(n + 1);
		if (line == NULL)
			abort();
		memcpy(line, p, n);
		line[n] = '\0';
		memset(&pub, 0, sizeof pub);
		if (api_pubid_parse(&pub, line) == 0) {
			char back[256];
			api_pubid again;
			memset(&again, 0, sizeof again);
			FUZZ_ASSERT(api_handle_valid(pub.handle));
			FUZZ_ASSERT(api_pubid_format(back, sizeof back, &pub) == 0);
			FUZZ_ASSERT(api_pubid_parse(&again, back) == 0);
			FUZZ_ASSERT(memcmp(&pub, &again, sizeof pub) == 0);
		}
		api_ssh_pubkey_parse(pk, line);
		free(line);
		p += n;
		if (*p == '\n')
			p++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	api_staff v[MAX_STAFF];
	api_staff_list l = { v, 0 };
	api_buf made = { 0 };
	const char *p = (const char *)data, *end = p + size, *claim;
	char *s;

	fuzz_init();
	/* the claim: after the last NUL, else the whole input */
	claim = p;
	for (const char *q = p; q < end; q++)
		if (*q == '\0')
			claim = q + 1;
	while (p < claim && l.n < MAX_STAFF) {
		const char *nul = memchr(p, '\0', (size_t)(claim - p));
		size_t n = (size_t)(nul - p);
		if (api_staff_parse(&v[l.n], p, n) != 0)
			goto out;            /* api-verify: the staff are bad */
		l.n++;
		p = nul + 1;
	}
	if (l.n > 0 && api_allowed_signers(&l, &made) == 0) {
		const char *q = (const char *)made.ptr, *mend = q + made.len;
		size_t lines = 0;
		FUZZ_ASSERT(made.len > 0 && mend[-1] == '\n');
		while (q < mend) {
			const char *nl = memchr(q, '\n', (size_t)(mend - q));
			size_t hl;
			char *line = malloc((size_t)(nl - q) + 1), *key, h[64];
			unsigned char pk[32];
			long i;
			FUZZ_ASSERT(line != NULL && nl != NULL);
			memcpy(line, q, (size_t)(nl - q));
			line[nl - q] = '\0';
			hl = strcspn(line, " ");
			FUZZ_ASSERT(hl < sizeof h);
			memcpy(h, line, hl);
			h[hl] = '\0';
			FUZZ_ASSERT((i = api_staff_find(&l, h)) >= 0);
			FUZZ_ASSERT((key = strstr(line, "\" ssh-ed25519 ")) != NULL);
			FUZZ_ASSERT(api_ssh_pubkey_parse(pk, key + 2) == 0);
			FUZZ_ASSERT(api_staff_find_key(&l, pk) >= 0);
			free(line);
			lines++;
			q = nl + 1;
		}
		FUZZ_ASSERT(lines == l.n);
	}
out:
	s = fuzz_str((const uint8_t *)claim, (size_t)(end - claim));
	key_lines(s);
	free(s);
	api_buf_free(&made);
	return 0;
}
