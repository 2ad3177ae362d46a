/*
 * staff.c - fuzz target: a staff/<handle> file ("key: value" lines:
 * handle, role, age, ssh, valid-from, valid-until, added-by).
 *
 * What parses must format and parse back to the same member, and its
 * times must be canonical: allowed_signers carries their digits to
 * ssh-keygen (valid-after="YYYYMMDDHHMMSSZ"), and the read log and
 * api-verify compare them as seconds.
 */
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	api_staff m, m2;
	api_buf out = { 0 };
	char back[32];
	int64_t t;

	fuzz_init();
	if (api_staff_parse(&m, (const char *)data, size) != 0)
		return 0;
	FUZZ_ASSERT(api_handle_valid(m.handle) && api_role_valid(m.role));
	FUZZ_ASSERT(api_time_parse(m.valid_from, &t) == 0 &&
	    api_time_format(back, t) == 0 && strcmp(back, m.valid_from) == 0);
	FUZZ_ASSERT(m.valid_until[0] == '\0' ||
	    (api_time_parse(m.valid_until, &t) == 0 &&
	    api_time_format(back, t) == 0 && strcmp(back, m.valid_until) == 0));
	FUZZ_ASSERT(api_staff_format(&m, &out) == 0);
	FUZZ_ASSERT(api_staff_parse(&m2, (const char *)out.ptr, out.len) == 0);
	FUZZ_ASSERT(strcmp(m.handle, m2.handle) == 0 &&
	    strcmp(m.role, m2.role) == 0 &&
	    strcmp(m.valid_from, m2.valid_from) == 0 &&
	    strcmp(m.valid_until, m2.valid_until) == 0 &&
	    strcmp(m.added_by, m2.added_by) == 0 &&
	    strcmp(m.pub.handle, m2.pub.handle) == 0 &&
	    memcmp(m.pub.age_pk, m2.pub.age_pk, 32) == 0 &&
	    memcmp(m.pub.sign_pk, m2.pub.sign_pk, 32) == 0);
	api_buf_free(&out);
	return 0;
}
