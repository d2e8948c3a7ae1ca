/* log.c: levelled logging to stderr or syslog. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "termsafe.h"

static const char *log_prog = "relay";
static int log_syslog;
static enum log_level log_max = LOG_LVL_INFO;
static int log_journal; /* stderr is the journal: "<N>" prefixes, no time stamps */

/* JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &sb) < 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino;
}

void log_init(const char *progname, int use_syslog, enum log_level level)
{
	log_prog = progname;
	log_syslog = use_syslog;
	log_max = level;
	log_journal = !use_syslog && stderr_is_journal();
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_level(enum log_level level)
{
	log_max = level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

static char last_error[512];

void log_error_mark(void)
{
	last_error[0] = '\0';
}

const char *log_error_since_mark(void)
{
	return last_error;
}

static void __attribute__((format(printf, 2, 0))) log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *tag[] = { "error", "warning", "info", "debug" };
	char line[2048];

	if (lvl > log_max) /* never an error: log_max is at least LOG_LVL_ERROR */
		return;
	vsnprintf(line, sizeof line, fmt, ap);
	/* One event, one line: a stray newline would forge a second entry. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	/* A server's words in an error reach a terminal: no control character
	 * gets through (termsafe.h). Rarely needed, so the common case copies nothing. */
	if (!termsafe_is_clean(line, strlen(line), TERMSAFE_LINE)) {
		char *safe = termsafe_dup(line, TERMSAFE_LINE);
		snprintf(line, sizeof line, "%s", safe);
		free(safe);
	}
	if (lvl == LOG_LVL_ERROR) {
		size_t n = strnlen(line, sizeof last_error - 1);
		memcpy(last_error, line, n);
		last_error[n] = '\0';
	}
	if (log_syslog) {
		syslog(prio[lvl], "%s", line);
		return;
	}
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", prio[lvl], tag[lvl], line);
		return;
	}
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s %s: %s\n", stamp, log_prog, tag[lvl], line);
}

#define LOG_FN(name, lvl)                 \
	void name(const char *fmt, ...)   \
	{                                 \
		va_list ap;               \
		va_start(ap, fmt);        \
		log_vwrite(lvl, fmt, ap); \
		va_end(ap);               \
	}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void log_progress(const char *what, size_t done, size_t total)
{
	static struct timespec last;
	struct timespec now;
	if (!total || !isatty(2))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
	if (done < total && ms < 200)
		return;
	last = now;
	fprintf(stderr, "\r%s %zu/%zu (%zu%%)%s", what, done, total, done * 100 / total, done >= total ? "\n" : "");
}
