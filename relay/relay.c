/* relay.c: the context's clock and the service's local time. */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long long relay_clock(void)
{
#ifdef RELAY_TEST_HOOKS
	const char *pin = getenv("RELAY_TEST_NOW");
	if (pin && *pin && strspn(pin, "0123456789") == strlen(pin))
		return atoll(pin);
#endif
	return (long long)time(NULL);
}

const char *relay_build(void)
{
#ifdef RELAY_TEST_HOOKS
	return "test build: RELAY_TEST_NOW pins the clock; not for production";
#else
	return "production build";
#endif
}

void relay_format_time(long long t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;
	/* The process runs in the service's zone (TZ is set from [service] timezone). */
	localtime_r(&tt, &tm);
	if (strftime(out, outlen, "%A %-d %B %Y, %H:%M %Z", &tm) == 0 && outlen)
		out[0] = '\0';
}
