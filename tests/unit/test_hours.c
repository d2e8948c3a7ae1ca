/* test_hours.c: office hours, bank holidays and the wording of "when we
 * reopen", in Europe/London time across both 2026 clock changes, and once in
 * America/New_York to show the zone comes from TZ. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "hours.h"

#define HOLIDAYS_FILE "config/bank-holidays-england-and-wales.txt"

static void use_zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static char *clock_of(long long t)
{
	static char s[32];
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(s, sizeof s, "%Y-%m-%d %H:%M %Z", &tm);
	return s;
}

static void load_shipped(struct office_hours *h)
{
	char err[300];
	hours_default(h);
	if (hours_load_holidays(h, HOLIDAYS_FILE, err, sizeof err) < 0) {
		printf("FAIL cannot load %s: %s\n", HOLIDAYS_FILE, err);
		exit(1);
	}
}

/* ---- parsing -------------------------------------------------------------- */

static void test_parse(void)
{
	static const struct {
		const char *text;
		int ok, open, from, to;
		const char *err_has; /* a phrase the error must contain */
	} cases[] = {
		{ "09:00-17:30", 1, 1, 540, 1050, NULL },
		{ "9:00-17:30", 1, 1, 540, 1050, NULL },
		{ "09:00 - 17:30", 1, 1, 540, 1050, NULL },
		{ "  09:00-17:00  ", 1, 1, 540, 1020, NULL },
		{ "9:30-12:00", 1, 1, 570, 720, NULL },
		{ "00:00-24:00", 1, 1, 0, 1440, NULL },
		{ "09:00\xe2\x80\x93"
		  "17:30",
		  1, 1, 540, 1050, NULL },
		{ "09:00\t-\t17:30", 1, 1, 540, 1050, NULL },
		{ "closed", 1, 0, 0, 0, NULL },
		{ "Closed", 1, 0, 0, 0, NULL },
		{ " CLOSED ", 1, 0, 0, 0, NULL },
		{ "9-5", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "25:00-26:00", 0, 0, 0, 0, "\"25:00\" is not a time of day" },
		{ "09:00-26:00", 0, 0, 0, 0, "\"26:00\" is not a time of day" },
		{ "17:30-09:00", 0, 0, 0, 0, "closing time must be after the opening time" },
		{ "09:00-09:00", 0, 0, 0, 0, "closing time must be after the opening time" },
		{ "open", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "", 0, 0, 0, 0, "no hours given" },
		{ "   ", 0, 0, 0, 0, "no hours given" },
		{ "09:60-17:00", 0, 0, 0, 0, "not a time of day" },
		{ "24:30-25:00", 0, 0, 0, 0, "not a time of day" },
		{ "24:00-24:00", 0, 0, 0, 0, "24:00 is a closing time" },
		{ "09:00", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "09:00-", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "09:0-17:30", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "009:00-17:30", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "09:000-17:30", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "09:00-17:30 weekdays", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "9am-5pm", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "09.00-17.30", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
		{ "closed today", 0, 0, 0, 0, "expected HH:MM-HH:MM" },
	};
	char name[120], err[200];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hours_day d = { 7, 7, 7 };
		int rc;
		err[0] = '\0';
		rc = hours_parse_day(cases[i].text, &d, err, sizeof err);
		snprintf(name, sizeof name, "parse \"%s\"", cases[i].text);
		if (cases[i].ok) {
			CHECK_INT(name, rc, 0);
			CHECK_INT(name, d.open, cases[i].open);
			if (cases[i].open) {
				CHECK_INT(name, d.from_min, cases[i].from);
				CHECK_INT(name, d.to_min, cases[i].to);
			}
		} else {
			CHECK_INT(name, rc, -1);
			CHECK(name, strstr(err, cases[i].err_has) != NULL);
			CHECK(name, d.open == 7 && d.from_min == 7 && d.to_min == 7); /* untouched */
		}
	}
	/* NULL is "no hours given", not a crash. */
	struct hours_day d = { 0, 0, 0 };
	CHECK_INT("parse NULL", hours_parse_day(NULL, &d, err, sizeof err), -1);
	/* A tiny error buffer is truncated, not overrun. */
	char small[8];
	CHECK_INT("parse error into small buffer", hours_parse_day("9-5", &d, small, sizeof small), -1);
	CHECK_INT("parse error truncated", (long long)strlen(small), 7);
}

/* ---- the default week, minute by minute ---------------------------------- */

static void test_defaults(void)
{
	struct office_hours h;
	/* The seeds, written out independently of hours_default(). */
	static const int want_from[7] = { -1, 540, 540, 540, 540, 540, -1 };
	static const int want_to[7] = { -1, 1050, 1050, 1050, 1050, 1020, -1 };
	static const char *const names[7] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" };
	char name[120];

	hours_default(&h);
	CHECK("default has no holidays", h.holidays == NULL && h.nholidays == 0);
	for (int wd = 0; wd < 7; wd++) {
		snprintf(name, sizeof name, "default %s", names[wd]);
		CHECK_INT(name, h.day[wd].open, want_from[wd] >= 0);
		if (want_from[wd] >= 0) {
			CHECK_INT(name, h.day[wd].from_min, want_from[wd]);
			CHECK_INT(name, h.day[wd].to_min, want_to[wd]);
		}
	}

	/* Every minute of an ordinary winter week (Monday 19 to Sunday 25
	 * January 2026) and of a summer week (Monday 13 to Sunday 19 July 2026,
	 * BST), against the table above. */
	static const int weeks[2][3] = { { 2026, 1, 19 }, { 2026, 7, 13 } };
	for (int w = 0; w < 2; w++) {
		for (int i = 0; i < 7; i++) {
			int wd = (i + 1) % 7, wrong = 0, opens = 0;
			for (int m = 0; m < 1440; m++) {
				long long t = check_local(weeks[w][0], weeks[w][1], weeks[w][2] + i, m / 60, m % 60);
				int want = want_from[wd] >= 0 && m >= want_from[wd] && m < want_to[wd];
				int got = hours_is_open(&h, t);
				opens += got;
				if (got != want || hours_is_open(&h, t + 59) != want) {
					if (!wrong)
						printf("  first wrong minute: %s got %d\n", clock_of(t), got);
					wrong++;
				}
			}
			snprintf(name, sizeof name, "every minute of %s %d/%d/%d", names[wd], weeks[w][2] + i, weeks[w][1],
			         weeks[w][0]);
			CHECK_INT(name, wrong, 0);
			snprintf(name, sizeof name, "open minutes on %s in %s", names[wd], w ? "July" : "January");
			CHECK_INT(name, opens, want_from[wd] >= 0 ? want_to[wd] - want_from[wd] : 0);
		}
	}
	hours_free(&h);
}

/* ---- the table: open?, next opening, wording ------------------------------ */

struct when_case {
	const char *name;
	int y, mo, d, hh, mm; /* local time in Europe/London */
	int open;
	int ny, nmo, nd, nhh, nmm; /* the next opening, local; ignored when open */
	const char *text;
};

static void run_when_cases(const struct office_hours *h, const struct when_case *c, size_t n)
{
	char name[160];

	for (size_t i = 0; i < n; i++) {
		long long t = check_local(c[i].y, c[i].mo, c[i].d, c[i].hh, c[i].mm);
		long long want = c[i].open ? t : check_local(c[i].ny, c[i].nmo, c[i].nd, c[i].nhh, c[i].nmm);
		char *text;

		snprintf(name, sizeof name, "%s: open", c[i].name);
		CHECK_INT(name, hours_is_open(h, t), c[i].open);
		snprintf(name, sizeof name, "%s: next open", c[i].name);
		CHECK_INT(name, hours_next_open(h, t), want);
		snprintf(name, sizeof name, "%s: wording", c[i].name);
		text = hours_next_open_text(h, t);
		CHECK_STR(name, text, c[i].open ? "now" : c[i].text);
		free(text);
	}
}

static void test_week_boundaries(void)
{
	/* Monday 19 - Sunday 25 January 2026 (GMT), no bank holiday near. */
	static const struct when_case cases[] = {
		{ "Mon 00:00", 2026, 1, 19, 0, 0, 0, 2026, 1, 19, 9, 0, "today at 9am" },
		{ "Mon 08:59", 2026, 1, 19, 8, 59, 0, 2026, 1, 19, 9, 0, "today at 9am" },
		{ "Mon 09:00", 2026, 1, 19, 9, 0, 1, 0, 0, 0, 0, 0, NULL },
		{ "Mon 17:29", 2026, 1, 19, 17, 29, 1, 0, 0, 0, 0, 0, NULL },
		{ "Mon 17:30", 2026, 1, 19, 17, 30, 0, 2026, 1, 20, 9, 0, "tomorrow at 9am" },
		{ "Tue 08:59", 2026, 1, 20, 8, 59, 0, 2026, 1, 20, 9, 0, "today at 9am" },
		{ "Tue 09:00", 2026, 1, 20, 9, 0, 1, 0, 0, 0, 0, 0, NULL },
		{ "Tue 17:29", 2026, 1, 20, 17, 29, 1, 0, 0, 0, 0, 0, NULL },
		{ "Tue 17:30", 2026, 1, 20, 17, 30, 0, 2026, 1, 21, 9, 0, "tomorrow at 9am" },
		{ "Wed 08:59", 2026, 1, 21, 8, 59, 0, 2026, 1, 21, 9, 0, "today at 9am" },
		{ "Wed 09:00", 2026, 1, 21, 9, 0, 1, 0, 0, 0, 0, 0, NULL },
		{ "Wed 17:29", 2026, 1, 21, 17, 29, 1, 0, 0, 0, 0, 0, NULL },
		{ "Wed 17:30", 2026, 1, 21, 17, 30, 0, 2026, 1, 22, 9, 0, "tomorrow at 9am" },
		{ "Thu 08:59", 2026, 1, 22, 8, 59, 0, 2026, 1, 22, 9, 0, "today at 9am" },
		{ "Thu 09:00", 2026, 1, 22, 9, 0, 1, 0, 0, 0, 0, 0, NULL },
		{ "Thu 17:29 (acceptance: open)", 2026, 1, 22, 17, 29, 1, 0, 0, 0, 0, 0, NULL },
		{ "Thu 17:30", 2026, 1, 22, 17, 30, 0, 2026, 1, 23, 9, 0, "tomorrow at 9am" },
		{ "Thu 17:31 (acceptance: closed)", 2026, 1, 22, 17, 31, 0, 2026, 1, 23, 9, 0, "tomorrow at 9am" },
		{ "Thu 23:59", 2026, 1, 22, 23, 59, 0, 2026, 1, 23, 9, 0, "tomorrow at 9am" },
		{ "Fri 08:59", 2026, 1, 23, 8, 59, 0, 2026, 1, 23, 9, 0, "today at 9am" },
		{ "Fri 09:00", 2026, 1, 23, 9, 0, 1, 0, 0, 0, 0, 0, NULL },
		{ "Fri 16:59", 2026, 1, 23, 16, 59, 1, 0, 0, 0, 0, 0, NULL },
		{ "Fri 17:00", 2026, 1, 23, 17, 0, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "Fri 17:01 (acceptance)", 2026, 1, 23, 17, 1, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "Fri 17:29", 2026, 1, 23, 17, 29, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "Sat 00:00", 2026, 1, 24, 0, 0, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "Sat 09:00", 2026, 1, 24, 9, 0, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "Sat 12:00", 2026, 1, 24, 12, 0, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "Sat 23:59", 2026, 1, 24, 23, 59, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "Sun 00:00", 2026, 1, 25, 0, 0, 0, 2026, 1, 26, 9, 0, "tomorrow at 9am" },
		{ "Sun 09:00", 2026, 1, 25, 9, 0, 0, 2026, 1, 26, 9, 0, "tomorrow at 9am" },
		{ "Sun 17:00", 2026, 1, 25, 17, 0, 0, 2026, 1, 26, 9, 0, "tomorrow at 9am" },
		{ "Sun 23:59", 2026, 1, 25, 23, 59, 0, 2026, 1, 26, 9, 0, "tomorrow at 9am" },
		{ "Mon 26 00:00", 2026, 1, 26, 0, 0, 0, 2026, 1, 26, 9, 0, "today at 9am" },
	};
	struct office_hours h;

	load_shipped(&h);
	run_when_cases(&h, cases, sizeof cases / sizeof cases[0]);

	/* 17:30 is closed to the second; 17:29:59 is open. */
	long long t = check_local(2026, 1, 22, 17, 30);
	CHECK_INT("Thu 17:29:59 open", hours_is_open(&h, t - 1), 1);
	CHECK_INT("Thu 17:30:00 closed", hours_is_open(&h, t), 0);
	t = check_local(2026, 1, 22, 9, 0);
	CHECK_INT("Thu 08:59:59 closed", hours_is_open(&h, t - 1), 0);
	CHECK_INT("Thu 08:59:59 next open is 09:00:00", hours_next_open(&h, t - 1), t);
	/* Next open from inside an opening returns t itself, to the second. */
	CHECK_INT("Thu 12:34:56 next open is itself", hours_next_open(&h, t + 12345), t + 12345);
	hours_free(&h);
}

static void test_summer_acceptance(void)
{
	struct office_hours h;
	char *text;

	load_shipped(&h);
	/* Thursday 16 July 2026: 17:45 BST is 16:45 UTC; closed although 16:45
	 * would be open on the clock of a server left in UTC. */
	long long t = check_utc(2026, 7, 16, 16, 45);
	CHECK_STR("16:45 UTC reads 17:45 BST", clock_of(t), "2026-07-16 17:45 BST");
	CHECK_INT("July Thursday 17:45 BST closed", hours_is_open(&h, t), 0);
	CHECK_INT("July Thursday 17:45 BST next open Friday 09:00 BST = 08:00 UTC", hours_next_open(&h, t),
	          check_utc(2026, 7, 17, 8, 0));
	text = hours_next_open_text(&h, t);
	CHECK_STR("July Thursday 17:45 BST wording", text, "tomorrow at 9am");
	free(text);
	t = check_utc(2026, 7, 16, 16, 15);
	CHECK_INT("July Thursday 17:15 BST (16:15 UTC) open", hours_is_open(&h, t), 1);
	CHECK_INT("July Thursday 17:29 BST (16:29 UTC) open", hours_is_open(&h, check_utc(2026, 7, 16, 16, 29)), 1);
	CHECK_INT("July Thursday 17:30 BST (16:30 UTC) closed", hours_is_open(&h, check_utc(2026, 7, 16, 16, 30)), 0);
	CHECK_INT("July Thursday 08:59 BST (07:59 UTC) closed", hours_is_open(&h, check_utc(2026, 7, 16, 7, 59)), 0);
	CHECK_INT("July Thursday 09:00 BST (08:00 UTC) open", hours_is_open(&h, check_utc(2026, 7, 16, 8, 0)), 1);
	hours_free(&h);
}

/* ---- bank holidays ---------------------------------------------------------- */

static void test_bank_holidays(void)
{
	/* The brief's list, written out again so a wrong line in the shipped
	 * file is caught here. */
	static const int want[] = {
		20260101, 20260403, 20260406, 20260504, 20260525, 20260831, 20261225, 20261228,
		20270101, 20270326, 20270329, 20270503, 20270531, 20270830, 20271227, 20271228,
		20280103, 20280414, 20280417, 20280501, 20280529, 20280828, 20281225, 20281226,
	};
	size_t n = sizeof want / sizeof want[0];
	struct office_hours h;
	char name[120];

	load_shipped(&h);
	CHECK_INT("shipped file: 24 bank holidays", h.nholidays, n);
	for (size_t i = 0; i < n && i < h.nholidays; i++) {
		int y = want[i] / 10000, mo = want[i] / 100 % 100, d = want[i] % 100;
		long long noon = check_local(y, mo, d, 12, 0);
		time_t tt = (time_t)noon;
		struct tm tm;

		snprintf(name, sizeof name, "bank holiday %d-%02d-%02d listed", y, mo, d);
		CHECK_INT(name, h.holidays[i], want[i]);
		localtime_r(&tt, &tm);
		/* Substitute days move every holiday onto a weekday. */
		snprintf(name, sizeof name, "bank holiday %d-%02d-%02d is a weekday", y, mo, d);
		CHECK(name, tm.tm_wday >= 1 && tm.tm_wday <= 5);
		snprintf(name, sizeof name, "bank holiday %d-%02d-%02d closed at 12:00", y, mo, d);
		CHECK_INT(name, hours_is_open(&h, noon), 0);
		snprintf(name, sizeof name, "bank holiday %d-%02d-%02d closed at 09:00", y, mo, d);
		CHECK_INT(name, hours_is_open(&h, check_local(y, mo, d, 9, 0)), 0);
		snprintf(name, sizeof name, "bank holiday %d-%02d-%02d next open is a later day", y, mo, d);
		CHECK(name, hours_next_open(&h, noon) > check_local(y, mo, d, 23, 59));
	}
	/* Without the file the same days would be open: the file is what closes them. */
	struct office_hours plain;
	hours_default(&plain);
	CHECK_INT("28 Dec 2026 12:00 open without holidays", hours_is_open(&plain, check_local(2026, 12, 28, 12, 0)), 1);

	static const struct when_case cases[] = {
		/* Christmas 2026: Fri 25 and the substitute Boxing Day Mon 28. */
		{ "Christmas Eve 2026 17:29", 2026, 12, 24, 17, 29, 1, 0, 0, 0, 0, 0, NULL },
		{ "Christmas Eve 2026 17:31 (acceptance)", 2026, 12, 24, 17, 31, 0, 2026, 12, 29, 9, 0,
		  "Tuesday 29 December at 9am" },
		{ "Christmas Day 2026 12:00", 2026, 12, 25, 12, 0, 0, 2026, 12, 29, 9, 0, "Tuesday 29 December at 9am" },
		{ "Boxing Day 2026 12:00", 2026, 12, 26, 12, 0, 0, 2026, 12, 29, 9, 0, "Tuesday 29 December at 9am" },
		{ "Sun 27 Dec 2026 12:00", 2026, 12, 27, 12, 0, 0, 2026, 12, 29, 9, 0, "Tuesday 29 December at 9am" },
		{ "Mon 28 Dec 2026 (substitute) 08:59", 2026, 12, 28, 8, 59, 0, 2026, 12, 29, 9, 0, "tomorrow at 9am" },
		{ "Mon 28 Dec 2026 (substitute) 09:00", 2026, 12, 28, 9, 0, 0, 2026, 12, 29, 9, 0, "tomorrow at 9am" },
		{ "Mon 28 Dec 2026 (substitute) 12:00", 2026, 12, 28, 12, 0, 0, 2026, 12, 29, 9, 0, "tomorrow at 9am" },
		{ "Mon 28 Dec 2026 (substitute) 17:29", 2026, 12, 28, 17, 29, 0, 2026, 12, 29, 9, 0, "tomorrow at 9am" },
		{ "Tue 29 Dec 2026 09:00", 2026, 12, 29, 9, 0, 1, 0, 0, 0, 0, 0, NULL },
		/* New Year: Thu 31 Dec 2026 evening, Fri 1 Jan 2027 a holiday. */
		{ "Thu 31 Dec 2026 17:30", 2026, 12, 31, 17, 30, 0, 2027, 1, 4, 9, 0, "Monday 4 January at 9am" },
		{ "Fri 1 Jan 2027 12:00", 2027, 1, 1, 12, 0, 0, 2027, 1, 4, 9, 0, "Monday at 9am" },
		/* Easter 2026: Good Friday 3 April, Easter Monday 6 April. */
		{ "Thu 2 Apr 2026 17:30", 2026, 4, 2, 17, 30, 0, 2026, 4, 7, 9, 0, "Tuesday 7 April at 9am" },
		{ "Good Friday 2026 12:00", 2026, 4, 3, 12, 0, 0, 2026, 4, 7, 9, 0, "Tuesday 7 April at 9am" },
		{ "Easter Sunday 2026 12:00", 2026, 4, 5, 12, 0, 0, 2026, 4, 7, 9, 0, "Tuesday 7 April at 9am" },
		{ "Easter Monday 2026 12:00", 2026, 4, 6, 12, 0, 0, 2026, 4, 7, 9, 0, "tomorrow at 9am" },
		/* A Monday holiday after an ordinary Friday. */
		{ "Fri 1 May 2026 17:00", 2026, 5, 1, 17, 0, 0, 2026, 5, 5, 9, 0, "Tuesday 5 May at 9am" },
		{ "Sat 2 May 2026 10:00", 2026, 5, 2, 10, 0, 0, 2026, 5, 5, 9, 0, "Tuesday 5 May at 9am" },
		/* Christmas 2027: Sat 25, Sun 26, substitutes Mon 27 and Tue 28. */
		{ "Fri 24 Dec 2027 17:00", 2027, 12, 24, 17, 0, 0, 2027, 12, 29, 9, 0, "Wednesday 29 December at 9am" },
		{ "Mon 27 Dec 2027 12:00", 2027, 12, 27, 12, 0, 0, 2027, 12, 29, 9, 0, "Wednesday 29 December at 9am" },
		/* 2028: New Year substitute Monday 3 January. */
		{ "Fri 31 Dec 2027 17:00", 2027, 12, 31, 17, 0, 0, 2028, 1, 4, 9, 0, "Tuesday 4 January at 9am" },
	};
	run_when_cases(&h, cases, sizeof cases / sizeof cases[0]);
	hours_free(&h);
	hours_free(&plain);
}

/* ---- the 2026 clock changes ------------------------------------------------ */

static void test_clock_changes(void)
{
	struct office_hours h;
	char *text;

	load_shipped(&h);

	/* Spring: Sunday 29 March 2026, 01:00 GMT becomes 02:00 BST. */
	CHECK_STR("spring: 00:59 UTC is 00:59 GMT", clock_of(check_utc(2026, 3, 29, 0, 59)), "2026-03-29 00:59 GMT");
	CHECK_STR("spring: 01:00 UTC is 02:00 BST", clock_of(check_utc(2026, 3, 29, 1, 0)), "2026-03-29 02:00 BST");
	for (int m = -90; m <= 150; m += 10) {
		long long t = check_utc(2026, 3, 29, 1, 0) + m * 60;
		char name[80];
		snprintf(name, sizeof name, "spring change day closed at %s", clock_of(t));
		CHECK_INT(name, hours_is_open(&h, t), 0);
		snprintf(name, sizeof name, "spring change day next open from %s", clock_of(t));
		CHECK_INT(name, hours_next_open(&h, t), check_utc(2026, 3, 30, 8, 0));
	}
	/* The 23-hour day: Friday 17:00 GMT to Monday 09:00 BST is 63 hours, not 64. */
	long long fri = check_utc(2026, 3, 27, 17, 0);
	CHECK_INT("spring: Friday 17:00 GMT next open Monday 09:00 BST", hours_next_open(&h, fri),
	          check_utc(2026, 3, 30, 8, 0));
	CHECK_INT("spring: 63 hours from Friday close to Monday open", hours_next_open(&h, fri) - fri, 63 * 3600);
	text = hours_next_open_text(&h, fri);
	CHECK_STR("spring: Friday evening wording", text, "Monday at 9am");
	free(text);
	text = hours_next_open_text(&h, check_utc(2026, 3, 29, 0, 30));
	CHECK_STR("spring: Sunday 00:30 GMT wording", text, "tomorrow at 9am");
	free(text);
	/* The Monday after, in BST. */
	CHECK_INT("spring Monday 08:59 BST closed", hours_is_open(&h, check_utc(2026, 3, 30, 7, 59)), 0);
	CHECK_INT("spring Monday 09:00 BST open", hours_is_open(&h, check_utc(2026, 3, 30, 8, 0)), 1);
	CHECK_INT("spring Monday 17:29 BST open", hours_is_open(&h, check_utc(2026, 3, 30, 16, 29)), 1);
	CHECK_INT("spring Monday 17:30 BST closed", hours_is_open(&h, check_utc(2026, 3, 30, 16, 30)), 0);
	CHECK_INT("spring Monday 17:30 BST next Tuesday 09:00 BST", hours_next_open(&h, check_utc(2026, 3, 30, 16, 30)),
	          check_utc(2026, 3, 31, 8, 0));

	/* Autumn: Sunday 25 October 2026, 02:00 BST becomes 01:00 GMT; 01:00-01:59
	 * happens twice (00:00-00:59 UTC as BST, 01:00-01:59 UTC as GMT). */
	CHECK_STR("autumn: 00:30 UTC is 01:30 BST", clock_of(check_utc(2026, 10, 25, 0, 30)), "2026-10-25 01:30 BST");
	CHECK_STR("autumn: 01:30 UTC is 01:30 GMT", clock_of(check_utc(2026, 10, 25, 1, 30)), "2026-10-25 01:30 GMT");
	for (int m = -90; m <= 150; m += 10) {
		long long t = check_utc(2026, 10, 25, 1, 0) + m * 60;
		char name[80];
		snprintf(name, sizeof name, "autumn change day closed at %s", clock_of(t));
		CHECK_INT(name, hours_is_open(&h, t), 0);
		snprintf(name, sizeof name, "autumn change day next open from %s", clock_of(t));
		CHECK_INT(name, hours_next_open(&h, t), check_utc(2026, 10, 26, 9, 0));
	}
	fri = check_utc(2026, 10, 23, 16, 0); /* Friday 17:00 BST */
	CHECK_INT("autumn: Friday 17:00 BST next open Monday 09:00 GMT", hours_next_open(&h, fri),
	          check_utc(2026, 10, 26, 9, 0));
	CHECK_INT("autumn: 65 hours from Friday close to Monday open", hours_next_open(&h, fri) - fri, 65 * 3600);
	text = hours_next_open_text(&h, fri);
	CHECK_STR("autumn: Friday evening wording", text, "Monday at 9am");
	free(text);
	CHECK_INT("autumn Monday 08:59 GMT closed", hours_is_open(&h, check_utc(2026, 10, 26, 8, 59)), 0);
	CHECK_INT("autumn Monday 09:00 GMT open", hours_is_open(&h, check_utc(2026, 10, 26, 9, 0)), 1);
	CHECK_INT("autumn Monday 17:29 GMT open", hours_is_open(&h, check_utc(2026, 10, 26, 17, 29)), 1);
	CHECK_INT("autumn Monday 17:30 GMT closed", hours_is_open(&h, check_utc(2026, 10, 26, 17, 30)), 0);
	hours_free(&h);

	/* A service open on Sunday nights, 01:30-03:00, meets both changes head on. */
	struct office_hours night;
	char err[200];
	hours_default(&night);
	CHECK_INT("parse night hours", hours_parse_day("01:30-03:00", &night.day[0], err, sizeof err), 0);

	/* Spring: 01:30 never happens; the service opens when the clocks jump to 02:00 BST. */
	CHECK_INT("night spring: 00:59 GMT closed", hours_is_open(&night, check_utc(2026, 3, 29, 0, 59)), 0);
	CHECK_INT("night spring: 02:00 BST open", hours_is_open(&night, check_utc(2026, 3, 29, 1, 0)), 1);
	CHECK_INT("night spring: 02:59 BST open", hours_is_open(&night, check_utc(2026, 3, 29, 1, 59)), 1);
	CHECK_INT("night spring: 03:00 BST closed", hours_is_open(&night, check_utc(2026, 3, 29, 2, 0)), 0);
	CHECK_INT("night spring: next open from 00:00 GMT is the jump",
	          hours_next_open(&night, check_utc(2026, 3, 29, 0, 0)), check_utc(2026, 3, 29, 1, 0));
	CHECK_INT("night spring: next open from Saturday noon is the jump",
	          hours_next_open(&night, check_utc(2026, 3, 28, 12, 0)), check_utc(2026, 3, 29, 1, 0));
	text = hours_next_open_text(&night, check_utc(2026, 3, 29, 0, 0));
	CHECK_STR("night spring: wording gives the real clock time", text, "today at 2am");
	free(text);
	CHECK_INT("night spring: after 03:00 BST next is Monday 09:00 BST",
	          hours_next_open(&night, check_utc(2026, 3, 29, 2, 0)), check_utc(2026, 3, 30, 8, 0));

	/* Autumn: 01:30 happens twice; the first is the opening. */
	CHECK_INT("night autumn: 01:29 BST closed", hours_is_open(&night, check_utc(2026, 10, 25, 0, 29)), 0);
	CHECK_INT("night autumn: 01:30 BST open", hours_is_open(&night, check_utc(2026, 10, 25, 0, 30)), 1);
	CHECK_INT("night autumn: next open from 00:00 BST is 01:30 BST",
	          hours_next_open(&night, check_utc(2026, 10, 24, 23, 0)), check_utc(2026, 10, 25, 0, 30));
	CHECK_INT("night autumn: next open from Saturday noon is 01:30 BST",
	          hours_next_open(&night, check_utc(2026, 10, 24, 11, 0)), check_utc(2026, 10, 25, 0, 30));
	/* Clocks go back to 01:00: the wall clock is before 01:30 again, so
	 * closed until the second 01:30 (GMT). */
	CHECK_INT("night autumn: 01:10 GMT (second time round) closed",
	          hours_is_open(&night, check_utc(2026, 10, 25, 1, 10)), 0);
	CHECK_INT("night autumn: from 01:10 GMT next is 01:30 GMT", hours_next_open(&night, check_utc(2026, 10, 25, 1, 10)),
	          check_utc(2026, 10, 25, 1, 30));
	text = hours_next_open_text(&night, check_utc(2026, 10, 25, 1, 10));
	CHECK_STR("night autumn: wording", text, "today at 1.30am");
	free(text);
	CHECK_INT("night autumn: 01:30 GMT open", hours_is_open(&night, check_utc(2026, 10, 25, 1, 30)), 1);
	CHECK_INT("night autumn: 02:59 GMT open", hours_is_open(&night, check_utc(2026, 10, 25, 2, 59)), 1);
	CHECK_INT("night autumn: 03:00 GMT closed", hours_is_open(&night, check_utc(2026, 10, 25, 3, 0)), 0);
	hours_free(&night);
}

/* ---- properties over a whole year ------------------------------------------ */

static void test_year_properties(void)
{
	struct office_hours h;
	long long start = check_utc(2026, 1, 1, 0, 0), end = check_utc(2027, 1, 1, 0, 0);
	int not_open = 0, not_first = 0, not_after = 0, gap_open = 0, not_boundary = 0, samples = 0;
	int opens = 0, open_minutes = 0;

	/* Under valgrind (RELAY_TEST_QUICK) coarser steps that still land on
	 * every :00 and :30, where all openings, closings and clock changes are. */
	int quick = getenv("RELAY_TEST_QUICK") != NULL;
	long long step = quick ? 67 * 60 : 7 * 60, sweep = quick ? 30 * 60 : 60;

	load_shipped(&h);
	/* Every 7 minutes of 2026: the next opening is open, the second before
	 * it closed, and it falls on 09:00 local. */
	for (long long t = start; t < end; t += step) {
		long long o = hours_next_open(&h, t);
		time_t oo = (time_t)o;
		struct tm tm;
		if (o < t)
			not_after++;
		if (!hours_is_open(&h, o))
			not_open++;
		if (o != t) {
			if (hours_is_open(&h, o - 1))
				not_first++;
			localtime_r(&oo, &tm);
			if (tm.tm_hour != 9 || tm.tm_min != 0 || tm.tm_sec != 0)
				not_boundary++;
		}
	}
	/* Every 13 hours, walk forward a quarter of an hour at a time: nothing
	 * between t and the next opening is open. */
	for (long long t = start; t < end; t += 13 * 3600 + 60) {
		long long o = hours_next_open(&h, t);
		samples++;
		for (long long u = t + 900 - t % 900; u < o; u += 900)
			if (hours_is_open(&h, u))
				gap_open++;
	}
	/* Every minute of the year: 261 weekdays less 8 bank holidays, as
	 * opening moments and as minutes. */
	int was = 0;
	for (long long t = start; t < end; t += sweep) {
		int now = hours_is_open(&h, t);
		opens += now && !was;
		open_minutes += now ? (int)(sweep / 60) : 0;
		was = now;
	}
	CHECK_INT("2026: next open never before t", not_after, 0);
	CHECK_INT("2026: next open is open", not_open, 0);
	CHECK_INT("2026: the second before next open is closed", not_first, 0);
	CHECK_INT("2026: every opening is at 09:00 local", not_boundary, 0);
	CHECK("2026: 13-hourly samples taken", samples > 600);
	CHECK_INT("2026: nothing open between t and next open", gap_open, 0);
	/* 2026 has 209 days Monday to Thursday (53 Thursdays) and 52 Fridays;
	 * its bank holidays take 6 of the first and 2 Fridays. */
	CHECK_INT("2026: openings", opens, 261 - 8);
	CHECK_INT("2026: open minutes", open_minutes, (209 - 6) * 510 + (52 - 2) * 480);
	hours_free(&h);
}

/* ---- wording and description ------------------------------------------------ */

static void test_wording(void)
{
	struct office_hours h;
	char err[200], *s;

	hours_default(&h);
	s = hours_describe(&h);
	CHECK_STR("describe the seeds' hours", s, "Monday to Thursday 9am to 5.30pm, Friday 9am to 5pm");
	free(s);

	static const struct {
		const char *days[7]; /* Sunday first, as struct tm counts */
		const char *want;
	} weeks[] = {
		{ { "closed", "09:30-12:00", "09:30-12:00", "closed", "12:00-17:30", "12:00-17:30", "10:00-14:00" },
		  "Monday and Tuesday 9.30am to 12pm, Thursday and Friday 12pm to 5.30pm, Saturday 10am to 2pm" },
		{ { "08:00-20:00", "08:00-20:00", "08:00-20:00", "08:00-20:00", "08:00-20:00", "08:00-20:00",
		    "08:00-20:00" },
		  "Monday to Sunday 8am to 8pm" },
		{ { "00:00-24:00", "closed", "closed", "closed", "closed", "closed", "00:00-24:00" },
		  "Saturday and Sunday all day" },
		{ { "closed", "closed", "closed", "closed", "closed", "closed", "closed" }, "closed" },
		{ { "closed", "00:30-12:15", "closed", "18:00-24:00", "closed", "closed", "closed" },
		  "Monday 12.30am to 12.15pm, Wednesday 6pm to midnight" },
		{ { "closed", "09:00-17:30", "09:00-17:30", "09:00-17:00", "09:00-17:30", "09:00-17:30", "closed" },
		  "Monday and Tuesday 9am to 5.30pm, Wednesday 9am to 5pm, Thursday and Friday 9am to 5.30pm" },
	};
	for (size_t i = 0; i < sizeof weeks / sizeof weeks[0]; i++) {
		struct office_hours w;
		char name[40];
		hours_default(&w);
		for (int d = 0; d < 7; d++)
			if (hours_parse_day(weeks[i].days[d], &w.day[d], err, sizeof err) < 0)
				printf("FAIL setting up week %zu: %s\n", i, err);
		s = hours_describe(&w);
		snprintf(name, sizeof name, "describe week %zu", i);
		CHECK_STR(name, s, weeks[i].want);
		free(s);
	}

	/* Times in the wording: 9.30am, 12pm, 5.30pm, 12am. */
	struct office_hours odd;
	hours_default(&odd);
	hours_parse_day("09:30-12:00", &odd.day[1], err, sizeof err); /* Monday */
	hours_parse_day("12:00-13:00", &odd.day[2], err, sizeof err); /* Tuesday */
	hours_parse_day("17:30-20:00", &odd.day[3], err, sizeof err); /* Wednesday */
	hours_parse_day("00:00-01:00", &odd.day[4], err, sizeof err); /* Thursday */
	hours_parse_day("closed", &odd.day[5], err, sizeof err);
	static const struct when_case cases[] = {
		{ "odd: Mon 09:00", 2026, 1, 19, 9, 0, 0, 2026, 1, 19, 9, 30, "today at 9.30am" },
		{ "odd: Mon 12:00", 2026, 1, 19, 12, 0, 0, 2026, 1, 20, 12, 0, "tomorrow at 12pm" },
		{ "odd: Tue 13:00", 2026, 1, 20, 13, 0, 0, 2026, 1, 21, 17, 30, "tomorrow at 5.30pm" },
		{ "odd: Wed 20:00", 2026, 1, 21, 20, 0, 0, 2026, 1, 22, 0, 0, "tomorrow at 12am" },
		{ "odd: Thu 01:00", 2026, 1, 22, 1, 0, 0, 2026, 1, 26, 9, 30, "Monday at 9.30am" },
		{ "odd: Sat 12:00", 2026, 1, 24, 12, 0, 0, 2026, 1, 26, 9, 30, "Monday at 9.30am" },
	};
	run_when_cases(&odd, cases, sizeof cases / sizeof cases[0]);

	/* Open on Mondays only: six days ahead is a weekday, seven is a date. */
	struct office_hours mondays;
	hours_default(&mondays);
	for (int d = 2; d <= 5; d++)
		mondays.day[d].open = 0;
	static const struct when_case monday_cases[] = {
		{ "mondays: Tue 12:00", 2026, 1, 20, 12, 0, 0, 2026, 1, 26, 9, 0, "Monday at 9am" },
		{ "mondays: Sun 12:00", 2026, 1, 25, 12, 0, 0, 2026, 1, 26, 9, 0, "tomorrow at 9am" },
		{ "mondays: Mon 17:30", 2026, 1, 19, 17, 30, 0, 2026, 1, 26, 9, 0, "Monday 26 January at 9am" },
	};
	run_when_cases(&mondays, monday_cases, sizeof monday_cases / sizeof monday_cases[0]);

	/* Never open: 0 and NULL. */
	struct office_hours never;
	hours_default(&never);
	for (int d = 0; d < 7; d++)
		never.day[d].open = 0;
	CHECK_INT("never open: is_open", hours_is_open(&never, check_utc(2026, 1, 19, 12, 0)), 0);
	CHECK_INT("never open: next_open is 0", hours_next_open(&never, check_utc(2026, 1, 19, 12, 0)), 0);
	CHECK("never open: no wording", hours_next_open_text(&never, check_utc(2026, 1, 19, 12, 0)) == NULL);

	/* A year that is all holidays but one Monday far away: still found within 400 days. */
	CHECK_INT("mondays: next open is found a week on", hours_next_open(&mondays, check_local(2026, 1, 19, 17, 30)),
	          check_local(2026, 1, 26, 9, 0));
	hours_free(&h);
	hours_free(&odd);
	hours_free(&mondays);
	hours_free(&never);
	hours_free(NULL);
}

/* ---- the holidays loader ----------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void test_loader(void)
{
	char dir[] = "/tmp/relay-test-hours-XXXXXX";
	char path[200], err[300];
	struct office_hours h;

	if (!mkdtemp(dir)) {
		CHECK("mkdtemp", 0);
		return;
	}
	snprintf(path, sizeof path, "%s/holidays.txt", dir);
	hours_default(&h);

	/* Comments, blanks, CRLF, tabs, repeats and any order. */
	write_file(path, "# Bank holidays\r\n"
	                 "\r\n"
	                 "2027-01-01  # New Year's Day\r\n"
	                 "   # an indented comment\n"
	                 "2026-12-28\t# Boxing Day (substitute day)\n"
	                 "2026-12-25#Christmas\n"
	                 "  2026-04-03  \n"
	                 "2026-12-25  # again\n"
	                 "2028-02-29  # a leap day\n"
	                 "2026-05-04"); /* no final newline */
	CHECK_INT("load good file", hours_load_holidays(&h, path, err, sizeof err), 0);
	CHECK_INT("load good file: count, repeats dropped", h.nholidays, 6);
	if (h.nholidays == 6) {
		static const int want[6] = { 20260403, 20260504, 20261225, 20261228, 20270101, 20280229 };
		int same = 1;
		for (int i = 0; i < 6; i++)
			same &= h.holidays[i] == want[i];
		CHECK("load good file: sorted", same);
	}
	CHECK_INT("loaded file closes 3 Apr 2026", hours_is_open(&h, check_local(2026, 4, 3, 12, 0)), 0);

	/* A bad line: the error names file and line, and h is untouched. */
	static const struct {
		const char *text;
		const char *want; /* after the path */
	} bad[] = {
		{ "# ok\n2026-01-01\n\n26-12-25  # short year\n", ":4: \"26-12-25\" is not a date as YYYY-MM-DD" },
		{ "2026-01-01\n2026-02-30\n", ":2: 2026-02-30 is not a day of the calendar" },
		{ "2027-02-29\n", ":1: 2027-02-29 is not a day of the calendar" },
		{ "2026-13-01\n", ":1: 2026-13-01 is not a day of the calendar" },
		{ "2026-00-10\n", ":1: 2026-00-10 is not a day of the calendar" },
		{ "2026-12-25 Christmas\n", ":1: \"2026-12-25 Christmas\" is not a date as YYYY-MM-DD" },
		{ "\n\n\n25/12/2026\n", ":4: \"25/12/2026\" is not a date as YYYY-MM-DD" },
		{ "2026-1-1\n", ":1: \"2026-1-1\" is not a date as YYYY-MM-DD" },
		{ "2026-01-01\r\n2026-01-0x\r\n", ":2: \"2026-01-0x\" is not a date as YYYY-MM-DD" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[300], name[60];
		int *before = h.holidays;
		size_t nbefore = h.nholidays;

		write_file(path, bad[i].text);
		snprintf(want, sizeof want, "%s%s", path, bad[i].want);
		snprintf(name, sizeof name, "load bad file %zu", i);
		CHECK_INT(name, hours_load_holidays(&h, path, err, sizeof err), -1);
		CHECK_STR(name, err, want);
		CHECK(name, h.holidays == before && h.nholidays == nbefore);
	}

	/* A missing file names the file. */
	char missing[220];
	snprintf(missing, sizeof missing, "%s/no-such-file.txt", dir);
	CHECK_INT("load missing file", hours_load_holidays(&h, missing, err, sizeof err), -1);
	CHECK("load missing file: error names it", strstr(err, missing) == err);
	CHECK_INT("load missing file: list kept", h.nholidays, 6);

	/* Only comments: an empty list replaces the old one. */
	write_file(path, "# nothing yet\n\n");
	CHECK_INT("load empty file", hours_load_holidays(&h, path, err, sizeof err), 0);
	CHECK("load empty file: no holidays", h.holidays == NULL && h.nholidays == 0);
	CHECK_INT("after empty file 3 Apr 2026 is open", hours_is_open(&h, check_local(2026, 4, 3, 12, 0)), 1);

	/* Loading twice replaces, without leaking (valgrind checks). */
	CHECK_INT("load shipped file", hours_load_holidays(&h, HOLIDAYS_FILE, err, sizeof err), 0);
	CHECK_INT("load shipped file again", hours_load_holidays(&h, HOLIDAYS_FILE, err, sizeof err), 0);
	CHECK_INT("shipped file count after reload", h.nholidays, 24);
	hours_free(&h);
	CHECK("freed: empty", h.holidays == NULL && h.nholidays == 0);
	hours_free(&h); /* twice is fine */

	unlink(path);
	rmdir(dir);
}

/* ---- another zone ------------------------------------------------------------ */

static void test_new_york(void)
{
	struct office_hours h;
	char *text;

	use_zone("America/New_York");
	load_shipped(&h);
	CHECK_STR("New York: 22:00 UTC reads 17:00 EST", clock_of(check_utc(2026, 1, 22, 22, 0)), "2026-01-22 17:00 EST");
	/* Thursday 22 January 2026: 22:00 UTC is 17:00 in New York (open),
	 * 22:00 in London (closed); 09:30 UTC is 04:30 in New York (closed). */
	CHECK_INT("New York: Thu 17:00 EST open", hours_is_open(&h, check_utc(2026, 1, 22, 22, 0)), 1);
	CHECK_INT("New York: Thu 17:30 EST closed", hours_is_open(&h, check_utc(2026, 1, 22, 22, 30)), 0);
	CHECK_INT("New York: Thu 04:30 EST closed", hours_is_open(&h, check_utc(2026, 1, 22, 9, 30)), 0);
	CHECK_INT("New York: Thu 09:00 EST open", hours_is_open(&h, check_utc(2026, 1, 22, 14, 0)), 1);
	CHECK_INT("New York: Thu 17:30 EST next open Fri 09:00 EST", hours_next_open(&h, check_utc(2026, 1, 22, 22, 30)),
	          check_utc(2026, 1, 23, 14, 0));
	text = hours_next_open_text(&h, check_utc(2026, 1, 22, 22, 30));
	CHECK_STR("New York: wording", text, "tomorrow at 9am");
	free(text);
	/* US clocks go forward on Sunday 8 March 2026, three weeks before the UK's. */
	CHECK_INT("New York: Fri 6 Mar 17:00 EST next open Mon 9 Mar 09:00 EDT",
	          hours_next_open(&h, check_utc(2026, 3, 6, 22, 0)), check_utc(2026, 3, 9, 13, 0));
	CHECK_INT("New York: Mon 9 Mar 08:59 EDT closed", hours_is_open(&h, check_utc(2026, 3, 9, 12, 59)), 0);
	CHECK_INT("New York: Mon 9 Mar 09:00 EDT open", hours_is_open(&h, check_utc(2026, 3, 9, 13, 0)), 1);
	/* Holidays are local dates: 28 December in New York. */
	CHECK_INT("New York: 28 Dec 2026 12:00 EST closed", hours_is_open(&h, check_utc(2026, 12, 28, 17, 0)), 0);
	CHECK_INT("New York: 28 Dec 2026 next open 29 Dec 09:00 EST", hours_next_open(&h, check_utc(2026, 12, 28, 17, 0)),
	          check_utc(2026, 12, 29, 14, 0));
	/* 29 Dec 2026 at 04:00 UTC is still the 28th in New York (closed), the 29th in London. */
	CHECK_INT("New York: 23:00 EST on the 28th closed", hours_is_open(&h, check_utc(2026, 12, 29, 4, 0)), 0);
	hours_free(&h);
	use_zone("Europe/London");
}

int main(void)
{
	use_zone("Europe/London");
	test_parse();
	test_defaults();
	test_week_boundaries();
	test_summer_acceptance();
	test_bank_holidays();
	test_clock_changes();
	test_year_properties();
	test_wording();
	test_loader();
	test_new_york();
	return check_done();
}
