/*
 * fuzz.h - shared by the fuzz targets in tests/fuzz/.
 *
 * Each target defines LLVMFuzzerTestOneInput and feeds its input to one
 * parser of the library.  The same file builds two ways: with clang's
 * -fsanitize=fuzzer for `make fuzz`, and with replay.c's main() and the
 * normal compiler for `make check`, which replays the committed corpus
 * and regression inputs.  A target is deterministic (no clock, no
 * randomness that changes what is parsed) and frees what it allocates.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* api_init once; a library that cannot start is a broken target. */
static inline void
fuzz_init(void)
{
	static int done;

	if (!done) {
		if (api_init() < 0) {
			fprintf(stderr, "fuzz: %s\n", api_error_last());
			abort();
		}
		done = 1;
	}
}

/* An invariant of the library that the input broke: a finding. */
#define FUZZ_ASSERT(c) do { if (!(c)) { \
	fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

/* A NUL-terminated copy of the input (parsers of C strings). */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		s[i] = (char)data[i];
	s[size] = '\0';
	return s;
}

#endif
