/*
 * identity.c - fuzz target: the text of an identity file ("# handle:",
 * "# signing-key: API-SIGNING-KEY-1...", one AGE-SECRET-KEY-1 line), as
 * api_identity_load parses it once read (and decrypted, when it is
 * protected), and as an age identity file (api_age_keys_add_identities,
 * what stock age makes of it).
 *
 * An identity that parses must give a public line that parses back to
 * its keys.
 */
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	api_identity *id = NULL;
	api_age_keys *k = NULL;

	fuzz_init();
	if (api_identity_parse(&id, (const char *)data, size, "identity") == 0) {
		api_pubid p, back;
		char line[256];
		memset(&p, 0, sizeof p);
		memset(&back, 0, sizeof back);
		FUZZ_ASSERT(id != NULL && api_handle_valid(id->handle));
		api_identity_pubid(&p, id);
		FUZZ_ASSERT(api_pubid_format(line, sizeof line, &p) == 0);
		FUZZ_ASSERT(api_pubid_parse(&back, line) == 0);
		FUZZ_ASSERT(memcmp(&p, &back, sizeof p) == 0);
	} else
		FUZZ_ASSERT(id == NULL);
	api_identity_free(id);
	FUZZ_ASSERT(api_age_keys_new(&k) == 0);
	api_age_keys_add_identities(k, (const char *)data, size);
	api_age_keys_free(k);
	return 0;
}
