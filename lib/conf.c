/*
 * conf.c - api.conf in git-config syntax, so that stock git reads it too
 * (git config -f api.conf --list).  Sections [a], [a "sub"], "name =
 * value" lines, '#' and ';' comments, double quotes with \" \\ \n \t
 * escapes, a backslash at the end of a line continues it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

struct kv {
	char *key, *val;
};

struct api_conf {
	struct kv *v;
	size_t n, cap;
};

static const char default_text[] =
	"# api store settings, git-config syntax: read them with\n"
	"#   git config -f api.conf --list\n"
	"# Durations: a number of days, or with a unit: 30d, 6m, 5y.\n"
	"\n"
	"[programme]\n"
	"\tname = Exit programme\n"
	"\t# shown at the top and bottom of every exported page\n"
	"\tclassification = VS-NUR FÜR DEN DIENSTGEBRAUCH\n"
	"\n"
	"[phases]\n"
	"\t# the order of a case's life; \"paused\" may return to \"active\"\n"
	"\tlist = referral intake active paused aftercare closed\n"
	"\tcloseReasons = completed ended-by-client declined referred "
	"transferred security other\n"
	"\n"
	"[notes]\n"
	"\t# the types of a note (api-log -t); the first is the default\n"
	"\ttypes = psychosocial ideological network crisis assessment admin\n"
	"\n"
	"[remind]\n"
	"\t# no contact for this long, by phase\n"
	"\tcontactGapIntake = 14d\n"
	"\tcontactGapActive = 30d\n"
	"\tcontactGapAftercare = 90d\n"
	"\triskReview = 6m\n"
	"\treferralUndecided = 30d\n"
	"\treleaseLead = 60d\n"
	"\tmilestones = 3y 5y\n"
	"\twithin = 7d\n"
	"\n"
	"[retention]\n"
	"\t# a closed case is reviewed, then purged, after these periods\n"
	"\tafterClosure = 5y\n"
	"\treview = 1y\n"
	"\n"
	"[readlog]\n"
	"\t# who decrypted which case, when and why, on refs/api/reads/YEAR;\n"
	"\t# mandatory: a read that cannot be logged is refused\n"
	"\tenabled = true\n"
	"\tmandatory = false\n"
	"\t# a year's log may be dropped this long after the year's end\n"
	"\tretention = 2y\n";

const char *
api_conf_default_text(void)
{
	return default_text;
}

static int
add(api_conf *c, const char *key, const char *val)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct kv *n = realloc(c->v, cap * sizeof *n);
		if (n == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		c->v = n;
		c->cap = cap;
	}
	c->v[c->n].key = strdup(key);
	c->v[c->n].val = strdup(val);
	if (c->v[c->n].key == NULL || c->v[c->n].val == NULL) {
		free(c->v[c->n].key);
		free(c->v[c->n].val);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	c->n++;
	return API_OK;
}

void
api_conf_free(api_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].val);
	}
	free(c->v);
	free(c);
}

const char *
api_conf_get(const api_conf *c, const char *key)
{
	for (size_t i = c->n; i > 0; i--)
		if (strcasecmp(c->v[i - 1].key, key) == 0)
			return c->v[i - 1].val;
	return NULL;
}

long
api_conf_days(const char *v)
{
	char *end;
	long n;

	if (v == NULL || !isdigit((unsigned char)*v))
		return -1;
	n = strtol(v, &end, 10);
	if (n < 0 || n > 100000)
		return -1;
	if (*end == '\0' || strcmp(end, "d") == 0)
		return n;
	if (strcmp(end, "w") == 0)
		return n * 7;
	if (strcmp(end, "m") == 0)
		return n * 30;
	if (strcmp(end, "y") == 0)
		return n * 365;
	return -1;
}

/* Parses text; on error the message names the line. */
int
api_conf_parse(api_conf **out, const char *text, size_t len, const char *name)
{
	api_conf *c;
	api_buf val = { 0 };
	char section[256] = "", key[512];
	size_t i = 0, line = 1;
	int rc = API_OK;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	if (memchr(text, '\0', len) != NULL) {
		rc = api_error_set(API_EINVAL, "%s: contains a NUL byte", name);
		goto out;
	}
#define ERR(msg) do { rc = api_error_set(API_EINVAL, "%s line %zu: %s", \
	name, line, msg); goto out; } while (0)
	while (i < len) {
		while (i < len && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (text[i] == '\n') {
			i++;
			line++;
			continue;
		}
		if (text[i] == '#' || text[i] == ';') {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		}
		if (text[i] == '[') {
			size_t n = 0;
			i++;
			while (i < len && (isalnum((unsigned char)text[i]) ||
			    text[i] == '-' || text[i] == '.')) {
				if (n + 1 >= sizeof section)
					ERR("section name too long");
				section[n++] = (char)tolower((unsigned char)text[i++]);
			}
			if (n == 0)
				ERR("malformed section header");
			if (i < len && text[i] == ' ') {
				/* [section "subsection"]: case kept */
				i++;
				if (i >= len || text[i] != '"')
					ERR("malformed section header");
				section[n++] = '.';
				for (i++; i < len && text[i] != '"'; i++) {
					if (text[i] == '\n' || n + 1 >= sizeof section)
						ERR("malformed subsection");
					if (text[i] == '\\' && i + 1 < len)
						i++;
					section[n++] = text[i];
				}
				if (i >= len)
					ERR("unterminated subsection");
				i++;
			}
			section[n] = '\0';
			if (i >= len || text[i] != ']')
				ERR("malformed section header");
			i++;
			while (i < len && (text[i] == ' ' || text[i] == '\t'))
				i++;
			if (i < len && text[i] != '\n' && text[i] != '#' &&
			    text[i] != ';')
				ERR("text after section header");
			continue;
		}
		if (!isalpha((unsigned char)text[i]))
			ERR("expected a setting or a [section]");
		if (section[0] == '\0')
			ERR("setting outside a section");
		size_t sl = strlen(section), n = sl + 1;
		memcpy(key, section, sl);
		key[sl] = '.';
		while (i < len && (isalnum((unsigned char)text[i]) || text[i] == '-')) {
			if (n + 1 >= sizeof key)
				ERR("name too long");
			key[n++] = (char)tolower((unsigned char)text[i++]);
		}
		key[n] = '\0';
		while (i < len && (text[i] == ' ' || text[i] == '\t'))
			i++;
		val.len = 0;
		if (i == len || text[i] == '\n' || text[i] == '#' || text[i] == ';') {
			/* a bare name means true */
			if ((rc = api_buf_append(&val, "true", 4)) < 0)
				goto out;
		} else {
			int quote = 0;
			size_t trail = 0;
			if (text[i] != '=')
				ERR("expected '=' after the name");
			i++;
			while (i < len && (text[i] == ' ' || text[i] == '\t'))
				i++;
			for (; i < len; i++) {
				char ch = text[i];
				if (ch == '\n' && !quote)
					break;
				if (ch == '\n')
					ERR("unterminated quote");
				if (!quote && (ch == '#' || ch == ';'))
					break;
				if (ch == '"') {
					quote = !quote;
					trail = 0;
					continue;
				}
				if (ch == '\\') {
					if (++i >= len)
						ERR("backslash at the end");
					ch = text[i];
					if (ch == '\n') {
						line++;
						continue;
					}
					ch = ch == 'n' ? '\n' : ch == 't' ? '\t' :
					    ch == 'b' ? '\b' : ch;
					if (strchr("\n\t\b\\\"", ch) == NULL)
						ERR("unknown escape");
					trail = 0;
				} else if (!quote && (ch == ' ' || ch == '\t')) {
					trail++;
				} else {
					trail = 0;
				}
				if ((rc = api_buf_append(&val, &ch, 1)) < 0)
					goto out;
			}
			if (quote)
				ERR("unterminated quote");
			val.len -= trail;
			if ((rc = api_buf_append(&val, "", 0)) < 0)
				goto out;
		}
		if ((rc = add(c, key, (const char *)val.ptr)) < 0)
			goto out;
		while (i < len && text[i] != '\n')
			i++;
	}
#undef ERR
out:
	api_buf_free(&val);
	if (rc < 0)
		api_conf_free(c);
	else
		*out = c;
	return rc;
}

/* git-config booleans: true yes on 1 / false no off 0 (any case); an
 * absent key or an empty value is false. */
int
api_conf_bool(const api_conf *c, const char *key, int *out)
{
	const char *v = api_conf_get(c, key);

	*out = 0;
	if (v == NULL)
		return API_OK;
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (strcasecmp(v, "false") && strcasecmp(v, "no") &&
	    strcasecmp(v, "off") && strcmp(v, "0") && *v)
		return api_error_set(API_EINVAL, "api.conf: %s = %s is not true "
		    "or false", key, v);
	return API_OK;
}
