/* test_stats.c: the figures of `relay stats`: percentiles by nearest rank,
 * tallies per channel, in and out of office hours, first-reply waits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "stats.h"

static void percentiles(void)
{
	long long one[] = { 42 };
	long long ten[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	long long four[] = { 10, 20, 30, 40 };
	CHECK_INT("percentile of nothing", (int)stats_percentile(NULL, 0, 50), -1);
	CHECK_INT("median of one", (int)stats_percentile(one, 1, 50), 42);
	CHECK_INT("p90 of one", (int)stats_percentile(one, 1, 90), 42);
	CHECK_INT("median of 1..10", (int)stats_percentile(ten, 10, 50), 5);
	CHECK_INT("p90 of 1..10", (int)stats_percentile(ten, 10, 90), 9);
	CHECK_INT("p91 of 1..10", (int)stats_percentile(ten, 10, 91), 10);
	CHECK_INT("p100 of 1..10", (int)stats_percentile(ten, 10, 100), 10);
	CHECK_INT("p1 of 1..10", (int)stats_percentile(ten, 10, 1), 1);
	CHECK_INT("median of four (lower middle)", (int)stats_percentile(four, 4, 50), 20);
	CHECK_INT("p75 of four", (int)stats_percentile(four, 4, 75), 30);
	CHECK_INT("p76 of four", (int)stats_percentile(four, 4, 76), 40);
	/* every p on 1..100 gives a value that is in the list and grows with p */
	long long hundred[100];
	for (int i = 0; i < 100; i++)
		hundred[i] = (i + 1) * 3;
	int monotonic = 1, exact = 1;
	for (int p = 1; p <= 100; p++) {
		if (stats_percentile(hundred, 100, p) != p * 3)
			exact = 0;
		if (p > 1 && stats_percentile(hundred, 100, p) < stats_percentile(hundred, 100, p - 1))
			monotonic = 0;
	}
	CHECK("p-th of 100 values is the p-th value", exact);
	CHECK("percentiles grow with p", monotonic);
}

static void tallies(void)
{
	struct office_hours h;
	struct stats s;
	setenv("TZ", "Europe/London", 1);
	tzset();
	hours_default(&h);
	stats_init(&s);
	/* Thursday 19 November 2026: 10:00 open, 17:31 closed (GMT = UTC in November) */
	stats_add_message(&s, &h, KIND_INBOUND, CHANNEL_EMAIL, check_utc(2026, 11, 19, 10, 0));
	stats_add_message(&s, &h, KIND_INBOUND, CHANNEL_SMS, check_utc(2026, 11, 19, 17, 31));
	stats_add_message(&s, &h, KIND_INBOUND, CHANNEL_SMS, check_utc(2026, 11, 21, 12, 0)); /* Saturday */
	stats_add_message(&s, &h, KIND_REPLY, CHANNEL_SMS, check_utc(2026, 11, 19, 10, 5));
	stats_add_message(&s, &h, KIND_AUTOREPLY, CHANNEL_EMAIL, check_utc(2026, 11, 19, 10, 0));
	stats_add_message(&s, &h, KIND_AUTOREPLY, CHANNEL_SMS, check_utc(2026, 11, 19, 17, 31));
	stats_add_message(&s, &h, KIND_NOTE, CHANNEL_EMAIL, check_utc(2026, 11, 19, 10, 0)); /* not counted */
	CHECK_INT("email in", (int)s.email.in, 1);
	CHECK_INT("texts in", (int)s.sms.in, 2);
	CHECK_INT("email out", (int)s.email.out, 0);
	CHECK_INT("texts out", (int)s.sms.out, 1);
	CHECK_INT("email auto-replies", (int)s.email.autoreplies, 1);
	CHECK_INT("text auto-replies", (int)s.sms.autoreplies, 1);
	CHECK_INT("in office hours", (int)s.in_hours, 1);
	CHECK_INT("out of hours", (int)s.out_of_hours, 2);

	stats_add_conversation(&s, 1, 1000, 1000 + 300);
	stats_add_conversation(&s, 0, 1000, 1000 + 60);
	stats_add_conversation(&s, 0, 1000, 0);    /* not answered */
	stats_add_conversation(&s, 0, 0, 0);       /* nothing yet */
	stats_add_conversation(&s, 0, 2000, 1000); /* a reply before the message: ignored */
	for (int i = 0; i < 200; i++)              /* grow past the first allocation */
		stats_add_conversation(&s, 0, 10, 10 + 3600);
	stats_finish(&s);
	CHECK_INT("conversations", (int)s.conversations, 205);
	CHECK_INT("urgent", (int)s.urgent, 1);
	CHECK_INT("answered", (int)s.answered, 202);
	CHECK_INT("median wait", (int)s.median_wait, 3600);
	CHECK_INT("p90 wait", (int)s.p90_wait, 3600);
	stats_free(&s);
	stats_free(&s); /* twice is harmless */
	stats_free(NULL);

	stats_init(&s);
	stats_finish(&s);
	CHECK_INT("no waits: median -1", (int)s.median_wait, -1);
	CHECK_INT("no waits: p90 -1", (int)s.p90_wait, -1);
	stats_add_conversation(&s, 0, 100, 160);
	stats_add_conversation(&s, 0, 100, 100 + 7200);
	stats_add_conversation(&s, 0, 100, 100 + 600);
	stats_finish(&s);
	CHECK_INT("median of 1m, 10m, 2h", (int)s.median_wait, 600);
	CHECK_INT("p90 of 1m, 10m, 2h", (int)s.p90_wait, 7200);
	stats_free(&s);
	hours_free(&h);
}

static void waits(void)
{
	char b[32];
	stats_format_wait(-1, b, sizeof b);
	CHECK_STR("no wait", b, "-");
	stats_format_wait(45, b, sizeof b);
	CHECK_STR("seconds", b, "45s");
	stats_format_wait(12 * 60 + 59, b, sizeof b);
	CHECK_STR("minutes", b, "12m");
	stats_format_wait(3 * 3600 + 5 * 60, b, sizeof b);
	CHECK_STR("hours", b, "3h 05m");
	stats_format_wait(2 * 86400 + 3 * 3600, b, sizeof b);
	CHECK_STR("days", b, "2d 03h");
}

int main(void)
{
	percentiles();
	tallies();
	waits();
	return check_done();
}
