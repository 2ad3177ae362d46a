/*
 * keys.c - fuzz target: the small files of a case and the key strings.
 *
 * The input goes whole to the parsers of a case's team file (one handle
 * a line), recipient file (two age1 lines) and decrypted key envelope
 * ("# notes", "# events", AGE-SECRET-KEY-1 lines); and, as a C string,
 * to the parsers of bech32, age recipients and identities, handles, case
 * and object IDs, times, dates and read-log purposes.  What parses must
 * format back to what was parsed.
 */
#include <ctype.h>
#include <string.h>

#include "fuzz.h"

static void
files(const char *text, size_t len)
{
	api_team t;
	api_keyset ks;
	unsigned char npk[32], epk[32], n2[32], e2[32];
	api_buf out = { 0 };

	if (api_team_parse(&t, text, len) == 0) {
		FUZZ_ASSERT(t.n > 0 && api_team_format(&t, &out) == 0);
		/* one handle a line, nothing else: the same bytes */
		FUZZ_ASSERT(out.len == len && memcmp(out.ptr, text, len) == 0);
		api_buf_free(&out);
	}
	api_team_free(&t);
	if (api_recipient_parse(text, len, npk, epk) == 0) {
		FUZZ_ASSERT(api_recipient_format(&out, npk, epk) == 0);
		FUZZ_ASSERT(api_recipient_parse((const char *)out.ptr, out.len, n2,
		    e2) == 0);
		FUZZ_ASSERT(memcmp(npk, n2, 32) == 0 && memcmp(epk, e2, 32) == 0);
		api_buf_free(&out);
	}
	if (api_envelope_parse(text, len, &ks) == 0) {
		FUZZ_ASSERT(ks.ne > 0 && ks.ne <= API_MAX_KEYS &&
		    ks.nn <= API_MAX_KEYS);
		api_keyset_free(&ks);
	}
}

static void
strings(const char *s)
{
	char hrp[100], back[256];
	unsigned char data[256], key[32], k2[32];
	size_t len = sizeof data;
	int64_t t;
	long d;

	if (api_bech32_decode(s, hrp, sizeof hrp, data, &len) == 0) {
		/* one string per data: the encoding is canonical */
		int upper = strlen(s) > 0 && isupper((unsigned char)s[0]);
		FUZZ_ASSERT(api_bech32_encode(back, sizeof back, hrp, data, len,
		    upper) == 0 || strlen(s) >= sizeof back);
		FUZZ_ASSERT(strlen(s) >= sizeof back || strcasecmp(back, s) == 0);
	}
	if (api_age_recipient_parse(key, s) == 0) {
		FUZZ_ASSERT(api_age_recipient_encode(back, key) == 0);
		FUZZ_ASSERT(api_age_recipient_parse(k2, back) == 0 &&
		    memcmp(key, k2, 32) == 0);
	}
	if (api_age_identity_parse(key, s) == 0) {
		FUZZ_ASSERT(api_age_identity_encode(back, key) == 0);
		FUZZ_ASSERT(api_age_identity_parse(k2, back) == 0 &&
		    memcmp(key, k2, 32) == 0);
	}
	if (api_ssh_pubkey_parse(key, s) == 0) {
		FUZZ_ASSERT(api_ssh_pubkey_encode(back, key) == 0);
		FUZZ_ASSERT(api_ssh_pubkey_parse(k2, back) == 0 &&
		    memcmp(key, k2, 32) == 0);
	}
	api_handle_valid(s);
	api_role_valid(s);
	api_case_id_valid(s);
	api_obj_id_valid(s);
	api_purpose_check(s);
	api_readlog_year(s);
	api_conf_days(s);
	if (api_time_parse(s, &t) == 0) {
		/* one text per time: ssh-keygen gets its digits */
		FUZZ_ASSERT(api_time_format(back, t) == 0 && strcmp(back, s) == 0);
	}
	if (api_date_parse(s, &d) == 0) {
		long d2;
		api_date_format(back, d);
		FUZZ_ASSERT(strcmp(back, s) == 0 && api_date_parse(back, &d2) == 0 &&
		    d == d2);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	fuzz_init();
	files((const char *)data, size);
	s = fuzz_str(data, size);
	strings(s);
	free(s);
	return 0;
}
