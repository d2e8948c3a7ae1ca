/* check.h: the tiny unit-test helper. Each test binary prints one line per
 * check, "PASS name" or "FAIL name: detail", and ends with "N passed, N failed".
 * tests/run adds the counts of every binary. */
#ifndef RELAY_CHECK_H
#define RELAY_CHECK_H

#include <stdio.h>
#include <string.h>
#include <time.h>

static int check_passed, check_failed;
static int check_verbose = 0;

#define CHECK(name, cond)                                                                   \
	do {                                                                                \
		if (cond) {                                                                 \
			check_passed++;                                                     \
			if (check_verbose)                                                  \
				printf("PASS %s\n", (name));                                \
		} else {                                                                    \
			check_failed++;                                                     \
			printf("FAIL %s (%s:%d): %s\n", (name), __FILE__, __LINE__, #cond); \
		}                                                                           \
	} while (0)

/* String equality with both values shown on failure. NULL-safe. */
#define CHECK_STR(name, got, want)                                                                           \
	do {                                                                                                 \
		const char *g_ = (got), *w_ = (want);                                                        \
		if ((g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0)) {                       \
			check_passed++;                                                                      \
			if (check_verbose)                                                                   \
				printf("PASS %s\n", (name));                                                 \
		} else {                                                                                     \
			check_failed++;                                                                      \
			printf("FAIL %s (%s:%d):\n  got:  [%s]\n  want: [%s]\n", (name), __FILE__, __LINE__, \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                      \
		}                                                                                            \
	} while (0)

#define CHECK_INT(name, got, want)                                                                            \
	do {                                                                                                  \
		long long g_ = (long long)(got), w_ = (long long)(want);                                      \
		if (g_ == w_) {                                                                               \
			check_passed++;                                                                       \
			if (check_verbose)                                                                    \
				printf("PASS %s\n", (name));                                                  \
		} else {                                                                                      \
			check_failed++;                                                                       \
			printf("FAIL %s (%s:%d): got %lld, want %lld\n", (name), __FILE__, __LINE__, g_, w_); \
		}                                                                                             \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

/* Times for tests. check_local: a wall-clock time in the current zone (TZ);
 * the hour skipped at a clock change is never asked for, so mktime's reading
 * is unambiguous. check_utc: the same in UTC, independent of TZ. */
static inline struct tm check_tm(int y, int mo, int d, int hh, int mm)
{
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	return tm;
}

static inline long long check_local(int y, int mo, int d, int hh, int mm)
{
	struct tm tm = check_tm(y, mo, d, hh, mm);
	tm.tm_isdst = -1;
	return (long long)mktime(&tm);
}

static inline long long check_utc(int y, int mo, int d, int hh, int mm)
{
	struct tm tm = check_tm(y, mo, d, hh, mm);
	return (long long)timegm(&tm);
}

#endif
