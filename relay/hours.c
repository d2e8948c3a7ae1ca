/* hours.c: office hours and bank holidays (see hours.h). */
#include "hours.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define HOLIDAYS_FILE_MAX (1024 * 1024)
#define SEARCH_DAYS 400

static const char *const weekday_names[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
};
static const char *const month_names[12] = {
	"January", "February", "March",     "April",   "May",      "June",
	"July",    "August",   "September", "October", "November", "December",
};

/* ---- parsing ------------------------------------------------------------ */

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* "H:MM" or "HH:MM" into minutes; *end after it. 24:00 is allowed here and
 * refused as an opening time by the caller. -1: not that shape; -2: out of
 * range. */
static int parse_clock(const char *p, const char **end)
{
	int hour = 0, min, digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 2) {
		hour = hour * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || *p != ':')
		return -1;
	p++;
	if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	min = (p[0] - '0') * 10 + (p[1] - '0');
	p += 2;
	if (*p >= '0' && *p <= '9')
		return -1;
	*end = p;
	if (min > 59 || hour > 24 || (hour == 24 && min != 0))
		return -2;
	return hour * 60 + min;
}

int hours_parse_day(const char *text, struct hours_day *out, char *err, size_t errlen)
{
	const char *p, *start;
	int from, to;

	if (!text || str_is_blank(text)) {
		snprintf(err, errlen, "no hours given: expected HH:MM-HH:MM (e.g. 09:00-17:30) or closed");
		return -1;
	}
	p = skip_spaces(text);
	if (str_ncasecmp_ascii(p, "closed", 6) == 0 && *skip_spaces(p + 6) == '\0') {
		out->open = 0;
		out->from_min = out->to_min = 0;
		return 0;
	}

	start = p;
	from = parse_clock(p, &p);
	if (from == -1)
		goto shape;
	if (from == -2)
		goto range;
	p = skip_spaces(p);
	if (*p == '-')
		p++;
	else if (strncmp(p, "\xe2\x80\x93", 3) == 0) /* en dash, as web pages write it */
		p += 3;
	else
		goto shape;
	p = skip_spaces(p);
	start = p;
	to = parse_clock(p, &p);
	if (to == -1)
		goto shape;
	if (to == -2)
		goto range;
	if (*skip_spaces(p) != '\0')
		goto shape;
	if (from == 24 * 60) {
		snprintf(err, errlen, "\"%.60s\": 24:00 is a closing time, not an opening time", text);
		return -1;
	}
	if (to <= from) {
		snprintf(err, errlen, "\"%.60s\": the closing time must be after the opening time", text);
		return -1;
	}
	out->open = 1;
	out->from_min = from;
	out->to_min = to;
	return 0;

shape:
	snprintf(err, errlen, "\"%.60s\": expected HH:MM-HH:MM (e.g. 09:00-17:30) or closed", text);
	return -1;
range:
	snprintf(err, errlen, "\"%.60s\": \"%.5s\" is not a time of day (00:00 to 23:59, or 24:00 to close)", text, start);
	return -1;
}

void hours_default(struct office_hours *h)
{
	static const struct hours_day weekday = { 1, 9 * 60, 17 * 60 + 30 };
	static const struct hours_day friday = { 1, 9 * 60, 17 * 60 };
	static const struct hours_day closed = { 0, 0, 0 };

	h->day[0] = closed;
	for (int d = 1; d <= 4; d++)
		h->day[d] = weekday;
	h->day[5] = friday;
	h->day[6] = closed;
	h->holidays = NULL;
	h->nholidays = 0;
}

/* ---- holidays ----------------------------------------------------------- */

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* "YYYY-MM-DD" exactly into YYYYMMDD; -1 if not that shape, -2 if no such day. */
static int parse_date(const char *s)
{
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !(s[i] >= '0' && s[i] <= '9'))
			return -1;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -2;
	return y * 10000 + m * 100 + d;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int hours_load_holidays(struct office_hours *h, const char *path, char *err, size_t errlen)
{
	char *text = NULL, *line, *next, *hash;
	int *dates = NULL;
	size_t len, n = 0, cap = 0, kept;
	int lineno = 0, date;

	if (file_read(path, HOLIDAYS_FILE_MAX, &text, &len, err, errlen) < 0)
		return -1;
	for (line = text; line; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		str_trim(line);
		if (*line == '\0')
			continue;
		date = parse_date(line);
		if (date == -1) {
			snprintf(err, errlen, "%s:%d: \"%.40s\" is not a date as YYYY-MM-DD", path, lineno, line);
			goto fail;
		}
		if (date == -2) {
			snprintf(err, errlen, "%s:%d: %s is not a day of the calendar", path, lineno, line);
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			dates = xrealloc(dates, cap * sizeof *dates);
		}
		dates[n++] = date;
	}
	if (n) {
		qsort(dates, n, sizeof *dates, cmp_int);
		kept = 1;
		for (size_t i = 1; i < n; i++)
			if (dates[i] != dates[kept - 1])
				dates[kept++] = dates[i];
		n = kept;
	}
	free(text);
	free(h->holidays);
	h->holidays = dates;
	h->nholidays = n;
	return 0;

fail:
	free(text);
	free(dates);
	return -1;
}

void hours_free(struct office_hours *h)
{
	if (!h)
		return;
	free(h->holidays);
	h->holidays = NULL;
	h->nholidays = 0;
}

/* ---- is it open? -------------------------------------------------------- */

static int ymd_of(const struct tm *tm)
{
	return (tm->tm_year + 1900) * 10000 + (tm->tm_mon + 1) * 100 + tm->tm_mday;
}

static int is_holiday(const struct office_hours *h, int ymd)
{
	return h->nholidays && bsearch(&ymd, h->holidays, h->nholidays, sizeof *h->holidays, cmp_int);
}

/* Would the service be open on this date, bank holidays aside? */
static const struct hours_day *weekday_hours(const struct office_hours *h, const struct tm *tm)
{
	const struct hours_day *d = &h->day[tm->tm_wday];
	return d->open && d->from_min < d->to_min ? d : NULL;
}

static int open_at_tm(const struct office_hours *h, const struct tm *tm)
{
	const struct hours_day *d = weekday_hours(h, tm);
	int minute = tm->tm_hour * 60 + tm->tm_min;

	return d && minute >= d->from_min && minute < d->to_min && !is_holiday(h, ymd_of(tm));
}

int hours_is_open(const struct office_hours *h, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm))
		return 0;
	return open_at_tm(h, &tm);
}

/* ---- when does it open next? -------------------------------------------- */

/* Local noon of the date `offset` calendar days after y-m-d, normalised: noon
 * exists on every day, whatever the clocks do overnight. */
static int calendar_day(int year, int mon, int mday, int offset, struct tm *out)
{
	memset(out, 0, sizeof *out);
	out->tm_year = year;
	out->tm_mon = mon;
	out->tm_mday = mday + offset;
	out->tm_hour = 12;
	out->tm_isdst = -1;
	return mktime(out) == (time_t)-1 ? -1 : 0;
}

/* The first moment after t at which local wall-clock time on `day` reaches
 * minute `from`, or -1 if that is not after t. */
static long long opening_on(const struct office_hours *h, const struct tm *day, int from, long long t)
{
	static const int dst_guess[3] = { -1, 0, 1 };
	long long best = -1, guess = -1;
	struct tm want, got;
	time_t o;

	/* In the repeated autumn hour a wall time happens twice: ask mktime for
	 * both readings and keep the earliest one after t. */
	for (int i = 0; i < 3; i++) {
		want = *day;
		want.tm_hour = from / 60;
		want.tm_min = from % 60;
		want.tm_sec = 0;
		want.tm_isdst = dst_guess[i];
		o = mktime(&want);
		if (o == (time_t)-1 || !localtime_r(&o, &got))
			continue;
		if (i == 0)
			guess = o;
		if (ymd_of(&got) != ymd_of(day) || got.tm_hour != from / 60 || got.tm_min != from % 60)
			continue;
		if ((long long)o > t && (best < 0 || (long long)o < best))
			best = o;
	}
	if (best >= 0 || guess < 0)
		return best;

	/* No reading matched: the opening time fell in the spring gap. The
	 * service opens when the clocks jump past it; find that minute. */
	for (long long m = guess - 3 * 3600; m <= guess + 3 * 3600; m += 60) {
		time_t mm = (time_t)(m - m % 60);
		if (!localtime_r(&mm, &got) || ymd_of(&got) != ymd_of(day))
			continue;
		if ((long long)mm > t && open_at_tm(h, &got))
			return mm;
	}
	return -1;
}

long long hours_next_open(const struct office_hours *h, long long t)
{
	time_t tt = (time_t)t;
	struct tm now, day;
	const struct hours_day *d;
	long long o;

	if (hours_is_open(h, t))
		return t;
	if (!localtime_r(&tt, &now))
		return 0;
	for (int i = 0; i <= SEARCH_DAYS; i++) {
		if (calendar_day(now.tm_year, now.tm_mon, now.tm_mday, i, &day) < 0)
			return 0;
		d = weekday_hours(h, &day);
		if (!d || is_holiday(h, ymd_of(&day)))
			continue;
		o = opening_on(h, &day, d->from_min, t);
		if (o >= 0)
			return o;
	}
	return 0;
}

/* ---- wording ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): a difference of calendar dates that ignores the clocks. */
static long days_from_civil(int y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static long day_number(const struct tm *tm)
{
	return days_from_civil(tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
}

/* "9am", "9.30am", "12pm", "5.30pm", "12am"; 24:00 reads "midnight". */
static void add_clock(struct buf *b, int minute)
{
	int hour = minute / 60, min = minute % 60, h12;

	if (minute >= 24 * 60) {
		buf_adds(b, "midnight");
		return;
	}
	h12 = hour % 12 == 0 ? 12 : hour % 12;
	if (min)
		buf_printf(b, "%d.%02d%s", h12, min, hour < 12 ? "am" : "pm");
	else
		buf_printf(b, "%d%s", h12, hour < 12 ? "am" : "pm");
}

/* Is a bank holiday on a normally open day strictly between the two dates?
 * Then the closure is longer than the young person would expect, and the
 * wording gives the date. */
static int holiday_between(const struct office_hours *h, const struct tm *from, long days)
{
	struct tm day;

	for (long i = 1; i < days; i++) {
		if (calendar_day(from->tm_year, from->tm_mon, from->tm_mday, (int)i, &day) < 0)
			return 1;
		if (weekday_hours(h, &day) && is_holiday(h, ymd_of(&day)))
			return 1;
	}
	return 0;
}

char *hours_next_open_text(const struct office_hours *h, long long t)
{
	long long o = hours_next_open(h, t);
	time_t tt = (time_t)t, to = (time_t)o;
	struct tm now, at;
	struct buf b;
	long days;

	if (o == 0 || !localtime_r(&tt, &now) || !localtime_r(&to, &at))
		return NULL;
	if (o == t)
		return xstrdup("now");
	days = day_number(&at) - day_number(&now);
	buf_init(&b);
	if (days == 0)
		buf_adds(&b, "today");
	else if (days == 1)
		buf_adds(&b, "tomorrow");
	else if (days <= 6 && !holiday_between(h, &now, days))
		buf_adds(&b, weekday_names[at.tm_wday]);
	else
		buf_printf(&b, "%s %d %s", weekday_names[at.tm_wday], at.tm_mday, month_names[at.tm_mon]);
	buf_adds(&b, " at ");
	add_clock(&b, at.tm_hour * 60 + at.tm_min);
	return buf_take(&b);
}

static int same_hours(const struct hours_day *a, const struct hours_day *b)
{
	return a->open == b->open && (!a->open || (a->from_min == b->from_min && a->to_min == b->to_min));
}

char *hours_describe(const struct office_hours *h)
{
	static const int order[7] = { 1, 2, 3, 4, 5, 6, 0 }; /* Monday first, as people say it */
	struct buf b;
	int i = 0, j;

	buf_init(&b);
	while (i < 7) {
		const struct hours_day *d = &h->day[order[i]];
		for (j = i + 1; j < 7 && same_hours(&h->day[order[j]], d); j++)
			;
		if (d->open && d->from_min < d->to_min) {
			if (b.len)
				buf_adds(&b, ", ");
			buf_adds(&b, weekday_names[order[i]]);
			if (j - i == 2)
				buf_printf(&b, " and %s", weekday_names[order[j - 1]]);
			else if (j - i > 2)
				buf_printf(&b, " to %s", weekday_names[order[j - 1]]);
			buf_addc(&b, ' ');
			if (d->from_min == 0 && d->to_min >= 24 * 60) {
				buf_adds(&b, "all day");
			} else {
				add_clock(&b, d->from_min);
				buf_adds(&b, " to ");
				add_clock(&b, d->to_min);
			}
		}
		i = j;
	}
	if (!b.len)
		buf_adds(&b, "closed");
	return buf_take(&b);
}
