/*
 * stats.h - api-export --stats: evaluation statistics from the events of
 * every case, without note text, case IDs or handles.
 */
#ifndef API_STATS_H
#define API_STATS_H

#include "cli.h"

enum stats_fmt { STATS_TSV, STATS_JSON, STATS_CSV };

struct stats_opts {
	long from, to;               /* days since 1970-01-01; -1: open */
	enum stats_fmt fmt;
	int k;                       /* --min-cell, >= 1 */
	const char *svg;             /* --svg FILE, or NULL */
	const char *purpose;         /* for the read log */
};

/* Prints the statistics of every case of s to out; dies on error. */
static void
stats_run(api_store *s, const api_identity *me, const api_conf *conf,
    const struct stats_opts *o, FILE *out)
{
	(void)s; (void)me; (void)conf; (void)o; (void)out;
	cli_die("--stats is not built yet");
}
#endif
