/*
 * status.c - a case's state from its events, phase changes, and the
 * reminders computed (never stored) from the rules in api.conf.
 *
 * Everything here reads events only, which leads and service staff can
 * decrypt without the case key: the reminder report needs no note.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define NONE (-1L)

static long
date_of(const api_record *r)
{
	const char *v = api_record_get(r, "Date");
	long d;

	if (v == NULL || api_date_parse(v, &d) < 0)
		return NONE;
	return d;
}

static long
max_date(long a, long b)
{
	return a > b ? a : b;
}

/* One event, in the order written (event IDs begin with the time). */
static void
apply(api_case_state *st, const api_record *r)
{
	const char *type = api_record_get(r, "Type"), *v;
	long d = date_of(r);

	if (type == NULL || d == NONE)
		return;
	if (strcmp(type, "opened") == 0 || strcmp(type, "phase") == 0) {
		if ((v = api_record_get(r, "Phase")) == NULL)
			return;
		if (strcmp(type, "opened") == 0)
			st->opened = d;
		snprintf(st->prev, sizeof st->prev, "%s", st->phase);
		snprintf(st->phase, sizeof st->phase, "%s", v);
		st->since = d;
		if ((v = api_record_get(r, "Reason")) != NULL)
			snprintf(st->reason, sizeof st->reason, "%s", v);
		else
			st->reason[0] = '\0';
	} else if (strcmp(type, "contact") == 0) {
		const char *kind = api_record_get(r, "Kind");
		/* a meeting with the client: not paperwork, not a partner */
		if (kind == NULL || (strcmp(kind, "admin") != 0 &&
		    strcmp(kind, "network") != 0))
			st->last_contact = max_date(st->last_contact, d);
		if (kind && strcmp(kind, "assessment") == 0)
			st->last_assessment = max_date(st->last_assessment, d);
		if ((v = api_record_get(r, "Next")) != NULL)
			api_date_parse(v, &st->appointment);
	} else if (strcmp(type, "appointment") == 0)
		st->appointment = d;
	else if (strcmp(type, "review") == 0)
		st->review = d;
	else if (strcmp(type, "release") == 0)
		st->release = d;
	else if (strcmp(type, "custody") == 0)
		st->custody = d;
	else if (strcmp(type, "retention") == 0)
		st->retention = max_date(st->retention, d);
	else if (strcmp(type, "consent") == 0) {
		v = api_record_get(r, "Consent");
		st->consent = v && strcmp(v, "given") == 0;
	}
}

int
api_case_state_load(api_case *c, const api_identity *me, api_case_state *st)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	memset(st, 0, sizeof *st);
	snprintf(st->id, sizeof st->id, "%s", api_case_id(c));
	snprintf(st->lead, sizeof st->lead, "%s", api_case_team(c)->member[0]);
	st->opened = st->since = st->last_contact = st->last_assessment =
	    st->appointment = st->review = st->release = st->custody =
	    st->retention = NONE;
	if ((rc = api_case_files(c, "events", &names, &n)) < 0)
		return rc;
	api_record r = { 0 };            /* one record's buffers, reused */
	for (size_t i = 0; i < n; i++) {
		if ((rc = api_case_read(c, me, "events", names[i], &r)) < 0)
			break;
		apply(st, &r);
	}
	api_record_free(&r);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0 && st->phase[0] == '\0')
		rc = api_error_set(API_EINVAL, "case %s has no opening event",
		    st->id);
	return rc;
}

/* ---- phases ----------------------------------------------------------- */

int
api_word_index(const char *list, const char *w)
{
	size_t wl = strlen(w);
	int i = 0;

	for (const char *p = list; *p; i++) {
		p += strspn(p, " \t");
		size_t n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (n == wl && strncmp(p, w, n) == 0)
			return i;
		p += n;
	}
	return -1;
}

/* The i-th word of list into out. */
static void
word_at(const char *list, int i, char *out, size_t cap)
{
	const char *p = list;
	size_t n = 0;

	for (int k = 0; ; k++) {
		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (k == i || n == 0)
			break;
		p += n;
	}
	snprintf(out, cap, "%.*s", (int)n, p);
}

static int
count_words(const char *list)
{
	int n = 0;

	for (const char *p = list; *(p += strspn(p, " \t")); n++)
		p += strcspn(p, " \t");
	return n;
}

const char *
api_phases(const api_conf *conf)
{
	const char *v = api_conf_get(conf, "phases.list");

	return v && *v ? v : "referral intake active paused aftercare closed";
}

int
api_phase_is_closed(const api_conf *conf, const char *phase)
{
	const char *list = api_phases(conf);
	char closed[32];

	word_at(list, count_words(list) - 1, closed, sizeof closed);
	return strcmp(phase, closed) == 0;
}

int
api_phase_next(const api_conf *conf, const api_case_state *st,
    const char *to, const char *reason, char *out, size_t cap)
{
	const char *list = api_phases(conf);
	const char *reasons = api_conf_get(conf, "phases.closeReasons");
	int n = count_words(list), cur = api_word_index(list, st->phase);
	int last = n - 1, want;
	char closed[32], before[32] = "";

	word_at(list, last, closed, sizeof closed);
	if (reasons == NULL)
		reasons = "completed ended-by-client declined referred transferred "
		    "security other";
	if (strcmp(to, "reopen") == 0) {
		if (reason != NULL)
			return api_error_set(API_EINVAL, "--reason is for closing a "
			    "case");
		if (cur != last)
			return api_error_set(API_EINVAL, "case %s is %s, not %s; only "
			    "a closed case can be reopened", st->id, st->phase,
			    closed);
		/* back to where it was before it was closed */
		if (api_word_index(list, st->prev) >= 0 && api_word_index(list,
		    st->prev) != last)
			snprintf(out, cap, "%s", st->prev);
		else
			word_at(list, n > 2 ? 1 : 0, out, cap);
		return API_OK;
	}
	if ((want = api_word_index(list, to)) < 0)
		return api_error_set(API_EINVAL, "unknown phase '%s' (phases: %s, "
		    "and reopen)", to, list);
	if (cur < 0)
		return api_error_set(API_EINVAL, "case %s has phase '%s', which "
		    "api.conf no longer lists", st->id, st->phase);
	if (want == cur)
		return api_error_set(API_EINVAL, "case %s is %s already", st->id,
		    st->phase);
	if (want == last) {
		if (reason == NULL || api_word_index(reasons, reason) < 0)
			return api_error_set(API_EINVAL, "closing case %s needs "
			    "--reason, one of: %s", st->id, reasons);
		snprintf(out, cap, "%s", to);
		return API_OK;
	}
	if (reason != NULL)
		return api_error_set(API_EINVAL, "--reason is for closing a case");
	if (cur > 0)
		word_at(list, cur - 1, before, sizeof before);
	if (cur == last)
		return api_error_set(API_EINVAL, "case %s is %s; reopen it first",
		    st->id, st->phase);
	/* forward one phase, or past "paused" (a side state); from
	 * "paused" back to the one before it */
	char skip[32];
	word_at(list, cur + 1, skip, sizeof skip);
	if (want == cur + 1 || (want == cur + 2 && strcmp(skip, "paused") == 0) ||
	    (strcmp(st->phase, "paused") == 0 && want == cur - 1)) {
		snprintf(out, cap, "%s", to);
		return API_OK;
	}
	{
		char next[32];
		word_at(list, cur + 1, next, sizeof next);
		int paused = strcmp(st->phase, "paused") == 0;
		if (strcmp(next, closed) == 0)
			return api_error_set(API_EINVAL, "case %s cannot go from %s to "
			    "%s (only to %s, with a reason)", st->id, st->phase, to,
			    closed);
		return api_error_set(API_EINVAL, "case %s cannot go from %s to %s "
		    "(next: %s%s%s; or %s with a reason)", st->id, st->phase, to,
		    next, paused ? ", " : "", paused ? before : "", closed);
	}
}

/* ---- reminders ---------------------------------------------------------- */

static int
add_due(api_due **v, size_t *n, const api_case_state *st, long date,
    const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int
add_due(api_due **v, size_t *n, const api_case_state *st, long date,
    const char *rule, const char *fmt, ...)
{
	api_due *nv = realloc(*v, (*n + 1) * sizeof *nv), *d;
	va_list ap;

	if (nv == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	*v = nv;
	d = &nv[(*n)++];
	memset(d, 0, sizeof *d);
	snprintf(d->id, sizeof d->id, "%s", st->id);
	snprintf(d->lead, sizeof d->lead, "%s", st->lead);
	snprintf(d->rule, sizeof d->rule, "%s", rule);
	d->date = date;
	va_start(ap, fmt);
	vsnprintf(d->detail, sizeof d->detail, fmt, ap);
	va_end(ap);
	return API_OK;
}

static long
conf_days(const api_conf *conf, const char *key, long def)
{
	const char *v = api_conf_get(conf, key);
	long d;

	if (v == NULL)
		return def;
	d = api_conf_days(v);
	return d < 0 ? def : d;
}

int
api_due_compute(const api_case_state *st, const api_conf *conf, long as_of,
    long within, api_due **v, size_t *n)
{
	long horizon = as_of + within, d, gap;
	char key[64], ds[11], ps[11];
	int rc = API_OK;
	int is_closed = api_phase_is_closed(conf, st->phase);
#define DUE(date, rule, ...) do { \
	if ((date) <= horizon && \
	    (rc = add_due(v, n, st, (date), (rule), __VA_ARGS__)) < 0) \
		return rc; } while (0)

	if (is_closed) {
		/* retention: review when the period after closure ends, then
		 * again every retention.review after a decision to keep */
		if (st->retention >= st->since) {
			d = st->retention + conf_days(conf, "retention.review", 365);
			api_date_format(ps, st->retention);
			DUE(d, "retention", "retention review (kept on %s)", ps);
		} else {
			d = st->since + conf_days(conf, "retention.afterClosure",
			    5 * 365);
			api_date_format(ps, st->since);
			DUE(d, "retention", "retention period ends (closed %s)", ps);
		}
		return API_OK;
	}
	/* the next appointment, until a contact on or after its day */
	if (st->appointment != NONE && st->last_contact < st->appointment) {
		api_date_format(ds, st->appointment);
		DUE(st->appointment, "appointment", "appointment on %s", ds);
	}
	/* contact gap by phase: remind.contactGap<Phase> */
	snprintf(key, sizeof key, "remind.contactGap%s", st->phase);
	if ((gap = conf_days(conf, key, -1)) >= 0) {
		long base = max_date(st->last_contact, st->since);
		d = base + gap;
		if (st->last_contact != NONE) {
			api_date_format(ps, st->last_contact);
			DUE(d, "contact", "no contact since %s (%s: every %ld days)",
			    ps, st->phase, gap);
		} else
			DUE(d, "contact", "no contact yet (%s: every %ld days)",
			    st->phase, gap);
	}
	if (strcmp(st->phase, "referral") == 0) {
		api_date_format(ps, st->since);
		DUE(st->since + conf_days(conf, "remind.referralUndecided", 30),
		    "referral", "referral of %s undecided", ps);
	} else {
		/* risk review: a scheduled one, else the interval */
		long last = st->last_assessment != NONE ? st->last_assessment :
		    st->opened;
		if (st->review != NONE && st->review > st->last_assessment) {
			api_date_format(ds, st->review);
			DUE(st->review, "review", "risk review scheduled for %s", ds);
		} else if (last != NONE) {
			api_date_format(ps, last);
			DUE(last + conf_days(conf, "remind.riskReview", 180), "review",
			    "risk review (last %s %s)", st->last_assessment != NONE ?
			    "assessment" : "opened", ps);
		}
	}
	/* release from custody: from the lead time until the day */
	if (st->release != NONE && as_of <= st->release &&
	    st->release - conf_days(conf, "remind.releaseLead", 60) <= horizon) {
		api_date_format(ds, st->release);
		api_date_format(ps, st->release - conf_days(conf,
		    "remind.releaseLead", 60));
		if ((rc = add_due(v, n, st, st->release, "release", "release from "
		    "custody on %s (prepare from %s)", ds, ps)) < 0)
			return rc;
	}
	/* programme milestones, shown from `within` before the day until
	 * remind.within after it (the configured window, not the query's:
	 * a listing asks as far ahead as it can) */
	long after = conf_days(conf, "remind.within", 7);
	const char *ms = api_conf_get(conf, "remind.milestones");
	if (ms == NULL)
		ms = "3y 5y";
	for (int i = 0, k = count_words(ms); st->opened != NONE && i < k; i++) {
		char w[32];
		word_at(ms, i, w, sizeof w);
		if ((gap = api_conf_days(w)) < 0)
			continue;
		d = st->opened + gap;
		if (as_of <= d + after) {
			api_date_format(ds, d);
			DUE(d, "milestone", "%s in the programme on %s", w, ds);
		}
	}
#undef DUE
	return rc;
}
