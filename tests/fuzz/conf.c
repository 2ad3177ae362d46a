/*
 * conf.c - fuzz target: api.conf (git-config syntax), and what reads its
 * values: durations, booleans, the phase list and the reminders that
 * api-status computes from them for a few fixed case states.
 */
#include <string.h>

#include "fuzz.h"

static void
use(const api_conf *c)
{
	static const char *keys[] = { "phases.list", "phases.closeReasons",
	    "remind.within", "remind.riskReview", "remind.releaseLead",
	    "remind.referralUndecided", "remind.milestones",
	    "remind.contactGapintake", "remind.contactGapactive",
	    "retention.review", "retention.afterClosure", "readlog.enabled",
	    "readlog.mandatory", "readlog.retention", "store.name" };
	const char *list = api_phases(c);
	api_case_state st;
	char out[64], phase[32];
	int b;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = api_conf_get(c, keys[i]);
		if (v != NULL)
			api_conf_days(v);
		api_conf_bool(c, keys[i], &b);
	}
	memset(&st, 0, sizeof st);
	memcpy(st.id, "0123456789", 11);
	memcpy(st.lead, "lead1", 6);
	st.opened = st.since = 20000;
	st.last_contact = 20100;
	st.last_assessment = -1;
	st.appointment = 20200;
	st.review = -1;
	st.release = 20300;
	st.custody = -1;
	st.retention = -1;
	/* every configured phase (the first 8), and one that is not */
	for (int i = 0; i < 9; i++) {
		const char *p = list;
		size_t n = 0;
		for (int w = 0; ; w++) {
			while (*p == ' ' || *p == '\t')
				p++;
			for (n = 0; p[n] && p[n] != ' ' && p[n] != '\t'; n++)
				;
			if (w == i || n == 0)
				break;
			p += n;
		}
		if (i == 8 || n == 0 || n >= sizeof phase)
			memcpy(phase, "nowhere", 8);
		else {
			memcpy(phase, p, n);
			phase[n] = '\0';
		}
		memcpy(st.phase, phase, strlen(phase) + 1);
		api_phase_is_closed(c, st.phase);
		api_phase_next(c, &st, "reopen", NULL, out, sizeof out);
		api_phase_next(c, &st, "closed", "completed", out, sizeof out);
		api_phase_next(c, &st, phase, NULL, out, sizeof out);
		api_due *due = NULL;
		size_t nd = 0;
		api_due_compute(&st, c, 20400, 30, &due, &nd);
		free(due);
		if (n == 0)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	api_conf *c = NULL;

	fuzz_init();
	if (api_conf_parse(&c, (const char *)data, size, "api.conf") == 0) {
		FUZZ_ASSERT(c != NULL);
		use(c);
	} else
		FUZZ_ASSERT(c == NULL);
	api_conf_free(c);
	return 0;
}
