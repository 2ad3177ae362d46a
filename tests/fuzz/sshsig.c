/*
 * sshsig.c - fuzz target: SSH signatures (PROTOCOL.sshsig), as api-verify
 * reads them from the gpgsig header of every commit.
 *
 * The input is checked twice over the fixed message MSG in namespace
 * "git": as an armored signature ("-----BEGIN SSH SIGNATURE-----" ...),
 * and as the binary SSHSIG blob itself, armored here, so that mutations
 * reach the blob parser without having to keep the base64 intact.  The
 * seeds are signatures of MSG.  A signature that verifies must name a
 * key that parses back from its ssh-ed25519 line.
 */
#include <string.h>

#include <sodium.h>

#include "fuzz.h"

#define MSG "fuzz message\n"

static void
check(const char *armored, size_t len)
{
	unsigned char pk[32], back[32];
	char line[API_SSH_PUBKEY_LEN + 1];

	if (api_sshsig_verify(pk, armored, len, "git", MSG, sizeof MSG - 1) == 0) {
		FUZZ_ASSERT(api_ssh_pubkey_encode(line, pk) == 0);
		FUZZ_ASSERT(api_ssh_pubkey_parse(back, line) == 0);
		FUZZ_ASSERT(memcmp(pk, back, 32) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char begin[] = "-----BEGIN SSH SIGNATURE-----\n";
	static const char end[] = "-----END SSH SIGNATURE-----\n";
	size_t b64 = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
	api_buf a = { 0 };
	char *enc;

	fuzz_init();
	check((const char *)data, size);
	if ((enc = malloc(b64)) == NULL)
		abort();
	sodium_bin2base64(enc, b64, data, size, sodium_base64_VARIANT_ORIGINAL);
	FUZZ_ASSERT(api_buf_append(&a, begin, sizeof begin - 1) == 0);
	/* 70 columns, as ssh-keygen writes it */
	for (size_t i = 0, n = strlen(enc); i < n; i += 70) {
		FUZZ_ASSERT(api_buf_append(&a, enc + i, n - i < 70 ? n - i : 70) == 0);
		FUZZ_ASSERT(api_buf_append(&a, "\n", 1) == 0);
	}
	FUZZ_ASSERT(api_buf_append(&a, end, sizeof end - 1) == 0);
	check((const char *)a.ptr, a.len);
	free(enc);
	api_buf_free(&a);
	return 0;
}
