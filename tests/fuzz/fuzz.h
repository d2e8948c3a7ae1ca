/* fuzz.h: what every libFuzzer harness of the relay shares.
 *
 * Each harness feeds hostile bytes to one pure part of the relay (the parts
 * that read what a stranger or a gateway sends). A crash, a sanitizer report,
 * a leak, a timeout or memory beyond the limits given to libFuzzer fails the
 * run; fuzz_require() turns a broken promise of a header into a crash too. */
#ifndef RELAY_FUZZ_H
#define RELAY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Quiet: the relay warns about malformed input, which is all a fuzzer sends. */
static inline void fuzz_quiet(void)
{
	log_set_level(LOG_LVL_ERROR);
}

/* The LLVMFuzzerInitialize of a harness that needs nothing but quiet. */
#define FUZZ_QUIET_INITIALIZE                             \
	int LLVMFuzzerInitialize(int *argc, char ***argv) \
	{                                                 \
		(void)argc;                               \
		(void)argv;                               \
		fuzz_quiet();                             \
		return 0;                                 \
	}

/* The input as a NUL-terminated string (an embedded NUL ends it early, as it
 * would for a C string from the network). Owned. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* 1 when s is valid UTF-8 (what utf8_sanitize would leave unchanged). */
static inline int fuzz_valid_utf8(const char *s)
{
	char *clean = utf8_sanitize(s, strlen(s));
	int same = strcmp(clean, s) == 0;
	free(clean);
	return same;
}

#define fuzz_require(cond)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: promise broken: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
