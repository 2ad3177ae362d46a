/*
 * record.c - fuzz target: the header and body of a note or event (what a
 * decrypted record holds), as api_case_read and the state of a case
 * read them: "Key: value" lines, an empty line, the body; the dates of
 * Date and Next.
 *
 * The record is parsed twice into the same api_record (the second time
 * reusing its buffer, as a listing does) and must come out the same.
 */
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *keys[] = { "Case", "Id", "Type", "Date", "Next",
	    "Phase", "Reason", "Kind", "Consent", "Author", "Title" };
	api_record r;
	size_t n;
	long day;
	int rc, rc2;

	fuzz_init();
	memset(&r, 0, sizeof r);
	rc = api_record_parse(&r, data, size);
	if (rc == 0) {
		for (size_t i = 0; i < r.n; i++) {
			FUZZ_ASSERT(r.key[i] != NULL && r.val[i] != NULL);
			/* values are one line of text */
			FUZZ_ASSERT(strchr(r.val[i], '\n') == NULL);
			if (api_date_parse(r.val[i], &day) == 0) {
				char back[11];
				api_date_format(back, day);
				long again;
				FUZZ_ASSERT(api_date_parse(back, &again) == 0 &&
				    again == day);
			}
		}
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			api_record_get(&r, keys[i]);
		FUZZ_ASSERT(r.body != NULL && r.bodylen <= size);
	}
	n = r.n;
	rc2 = api_record_parse(&r, data, size);
	FUZZ_ASSERT(rc == rc2);
	FUZZ_ASSERT(rc != 0 || r.n == n);
	api_record_free(&r);
	/* the rules a value must keep, on the whole input */
	api_text_check(data, size, "record");
	return 0;
}
