/* log.h: levelled logging to stderr (foreground) or syslog (service).
 *
 * Rule for every caller: a log line names the conversation reference, the
 * server or the queue id, never a message's text, a phone number, an email
 * address or a secret. Use log_* with reference strings only. */
#ifndef RELAY_LOG_H
#define RELAY_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* use_syslog: to syslog (facility mail) instead of stderr. On stderr under
 * systemd (JOURNAL_STREAM names our stderr) each line carries its priority
 * as "<N>" so the journal keeps the levels. */
void log_init(const char *progname, int use_syslog, enum log_level level);
void log_set_level(enum log_level level);
int log_parse_level(const char *s, enum log_level *out); /* 0 or -1 */

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last error logged since log_error_mark(), "" when none: how the
 * intake names what went wrong deep inside one message's handling when it
 * sets that message aside (log lines carry no personal data, by the rule
 * above, so the text may be shown to the advisers). Borrowed until the next
 * log_error. */
void log_error_mark(void);
const char *log_error_since_mark(void);

/* "what done/total (P%)" on one rewritten line of a terminal's stderr, at
 * most a few times a second, ended when done == total; nothing when stderr is
 * not a terminal. For long work: a backlog, a purge. */
void log_progress(const char *what, size_t done, size_t total);

#endif
