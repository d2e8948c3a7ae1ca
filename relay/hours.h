/* hours.h: when the service is open — office hours and bank holidays, as pure
 * functions of a unix time.
 *
 * Everything works in the process's local time zone: the relay sets TZ to the
 * [service] timezone (e.g. Europe/London) and calls tzset() once, so
 * localtime_r and mktime give GMT or BST correctly. Whoever changes TZ must
 * call tzset() again before calling these functions (glibc's localtime_r does
 * not re-read TZ). Days are walked by calendar date with mktime, never by
 * adding 86400 s, because a day is 23 or 25 hours on the clock-change days.
 *
 * The only I/O is hours_load_holidays(), which reads one file. */
#ifndef RELAY_HOURS_H
#define RELAY_HOURS_H

#include <stddef.h>

/* One weekday's opening hours, in minutes after local midnight. The service is
 * open for local wall-clock times in [from_min, to_min): at 17:30 itself it is
 * closed. to_min may be 1440 (open until midnight). */
struct hours_day {
	int open;     /* 0: closed all day (from_min/to_min are ignored) */
	int from_min; /* 0..1439 */
	int to_min;   /* from_min+1..1440 */
};

struct office_hours {
	struct hours_day day[7]; /* 0 = Sunday ... 6 = Saturday (struct tm's tm_wday) */
	int *holidays;           /* owned: sorted, distinct dates as YYYYMMDD ints (closed all day) */
	size_t nholidays;
};

/* Parses one day's hours: "09:00-17:30" or "closed" (any case). Also accepts
 * a one-digit hour ("9:00-17:30"), spaces around the dash ("09:00 - 17:30"),
 * an en dash, and "24:00" as a closing time. Returns 0 and fills *out, or -1
 * with err saying what is wrong (out is untouched). */
int hours_parse_day(const char *text, struct hours_day *out, char *err, size_t errlen);

/* Fills *h with the hours from the seeds: Monday to Thursday 09:00-17:30,
 * Friday 09:00-17:00, Saturday and Sunday closed; no holidays. Overwrites h
 * without freeing it: call hours_free() first on a struct already in use. */
void hours_default(struct office_hours *h);

/* Reads a bank-holidays file: one date per line as "YYYY-MM-DD", optionally
 * followed by "# name"; blank lines and lines starting with "#" are ignored.
 * Dates may come in any order and repeat. Returns 0 and replaces h->holidays
 * (the old list is freed), or -1 with err naming the file and line (h is
 * untouched). */
int hours_load_holidays(struct office_hours *h, const char *path, char *err, size_t errlen);

/* Frees h->holidays and empties the list; h itself is the caller's. Accepts
 * NULL. */
void hours_free(struct office_hours *h);

/* 1 if the service is open at unix time t (local wall-clock time inside that
 * weekday's hours, and the local date not a holiday), else 0. */
int hours_is_open(const struct office_hours *h, long long t);

/* The next moment the service opens: t itself if it is open at t, otherwise
 * the first later second at which it is open. Searches up to 400 days ahead;
 * returns 0 if the service never opens (every day closed). If an opening time
 * does not exist on a spring clock-change day, the answer is the moment the
 * clocks go forward; if it happens twice in autumn, the first one after t. */
long long hours_next_open(const struct office_hours *h, long long t);

/* When the service next opens, in words for a young person, relative to t:
 *   "now" (open at t), "today at 9am", "tomorrow at 9am",
 *   "Monday at 9am" (2 to 6 days ahead, after an ordinary closed spell),
 *   "Tuesday 29 December at 9am" (a week or more ahead, or when a bank holiday
 *   makes the closure longer than usual, e.g. over Christmas or Easter).
 * Times read "9am", "9.30am", "12pm", "5.30pm", "12am". Returns an owned
 * string (caller frees), or NULL if the service never opens. */
char *hours_next_open_text(const struct office_hours *h, long long t);

/* The opening hours as one line for templates, Monday first, consecutive days
 * with the same hours grouped, closed days left out:
 * "Monday to Thursday 9am to 5.30pm, Friday 9am to 5pm". Two days read
 * "Saturday and Sunday ..."; 00:00-24:00 reads "all day"; no open day at all
 * reads "closed". Bank holidays are not mentioned. Owned (caller frees). */
char *hours_describe(const struct office_hours *h);

#endif
