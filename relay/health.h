/* health.h: the health of each part of the relay, and the decisions about
 * alerting on it.
 *
 * The daemon notes each part's outcome as it goes (the inbox, the SMS
 * gateway's poll and send, outgoing mail, the disk, the backlog); the
 * decisions — is it time to alert, to remind, to say it has recovered, by
 * which path — are pure functions of (state, now, thresholds), tested by
 * tests/unit/test_health.c. Nothing here does I/O; alerts.c carries the
 * decisions out. A reason is the server's own words (never a young person's
 * text or contact: the callers pass error texts that carry neither). */
#ifndef RELAY_HEALTH_H
#define RELAY_HEALTH_H

#include <stddef.h>

#include "util.h"

enum health_part {
	HEALTH_INBOX = 0, /* IMAP: connect, TLS, login, fetch */
	HEALTH_SMS_POLL,  /* the SMS gateway's inbox */
	HEALTH_SMS_SEND,  /* texts handed to the SMS gateway */
	HEALTH_SMTP,      /* outgoing mail sessions */
	HEALTH_DISK,      /* the database and the disk under it */
	HEALTH_BACKLOG,   /* a young person's message waiting too long to be forwarded */
	HEALTH_NPARTS
};

enum health_state {
	HEALTH_UNKNOWN = 0, /* not tried since the relay started */
	HEALTH_OK,
	HEALTH_FAILING,
};

struct health_part_state {
	enum health_state state;
	long long last_ok;       /* last success, 0: none known */
	long long failing_since; /* start of the current incident, 0: none */
	char reason[640]; /* the current failure, in the server's words ("" while ok); an OAuth2 one carries what to do */
	long long alerted_at;  /* the incident's alert went at this time, 0: not (yet) */
	long long reminded_at; /* its latest alert or reminder, 0: none */
	int alerts;            /* alerts and reminders sent for this incident */
};

struct health {
	struct health_part_state part[HEALTH_NPARTS];
	int sms;                 /* an SMS gateway is configured (its parts count) */
	int waiting;             /* young people's messages waiting to be forwarded */
	long long waiting_since; /* the oldest one's time, 0: none */
	int replies_waiting;     /* replies to young people not yet delivered */
	long long replies_since; /* the oldest one's time, 0: none */
	long long alerts_sent;   /* alerts, reminders and recoveries sent since the relay started */
	long long started;       /* when the daemon started */
	long long smtp_probed;   /* outgoing mail last tried while it failed */
};

struct health_thresholds {
	int alert_after;   /* seconds a part fails before the first alert */
	int remind_every;  /* seconds between reminders while it still fails */
	int backlog_after; /* seconds a young person's message may wait to be forwarded */
};

/* "inbox", "sms-poll", "sms-send", "smtp", "disk", "backlog": names in
 * status, metrics and the database. */
const char *health_part_name(enum health_part p);
/* The part in words for people: "the inbox (IMAP)". */
const char *health_part_words(enum health_part p);
/* -1 when name is none of health_part_name()'s. */
int health_part_from_name(const char *name);
const char *health_state_name(enum health_state s); /* "unknown", "ok", "failing" */

/* Notes an outcome. A failure keeps the incident's start (failing_since)
 * and updates its reason; a success ends it (alerted_at stays until the
 * recovery is said: health_decide). h may be NULL (nothing is noted). */
void health_ok(struct health *h, enum health_part p, long long now);
void health_fail(struct health *h, enum health_part p, const char *reason, long long now);

/* The backlog from the outbox: counts and the oldest times (0: none). Sets
 * the backlog part failing when the oldest forward has waited
 * backlog_after or longer, with a reason naming how many and since when
 * (formatted by fmt_time, e.g. relay_format_time; never a message's text or
 * address). */
void health_backlog(struct health *h, int waiting, long long waiting_since, int replies, long long replies_since,
                    const struct health_thresholds *t, long long now,
                    void (*fmt_time)(long long t, char *out, size_t outlen));

enum health_action {
	HEALTH_NOTHING = 0,
	HEALTH_ALERT,     /* failing for alert_after (the backlog: at once), nobody told yet */
	HEALTH_REMIND,    /* still failing, remind_every since the last alert or reminder */
	HEALTH_RECOVERED, /* works again after an alert: say so */
};

/* What to do about part p now. Pure. */
enum health_action health_decide(const struct health *h, enum health_part p, long long now,
                                 const struct health_thresholds *t);

/* Records that the action went out at now (ALERT, REMIND: counted; RECOVERED:
 * the incident is over and forgotten). */
void health_sent(struct health *h, enum health_part p, enum health_action a, long long now);

enum health_path { HEALTH_BY_EMAIL, HEALTH_BY_TEXT };

/* The path an alert about p should take first: a text when outgoing mail is
 * failing (and a text can go: an SMS gateway whose sending is not failing,
 * and an on-call number), else email. The other path is the fallback. */
enum health_path health_route(const struct health *h, enum health_part p, int have_email, int have_text);

/* Where the relay keeps what an operator may have to change (borrowed). */
struct health_places {
	const char *imap_host;
	const char *imap_password_file;
	const char *smtp_host;
	const char *smtp_password_file; /* may be NULL */
	const char *sms_provider;       /* may be NULL */
	const char *sms_password_file;  /* may be NULL */
	const char *database;
};

/* The failure in plain words and what to do, from the part and its reason:
 * e.g. "the mailbox password was refused" and "update
 * /etc/relay/secrets/imap.password and reload (systemctl reload relay)". */
void health_advice(enum health_part p, const char *reason, const struct health_places *where, char *words, size_t wordslen,
                   char *todo, size_t todolen);

/* "40 s", "12 min", "3 h 5 min". */
void health_duration_text(long long seconds, char *out, size_t outlen);

/* 1 when any part that counts is failing (the sms parts only with a
 * gateway). */
int health_failing(const struct health *h);

/* The one-line summary for systemd's STATUS=: "inbox ok, sms ok, smtp
 * failing for 12 min, 3 waiting". */
void health_summary(const struct health *h, long long now, char *out, size_t outlen);

/* The Prometheus text format (node_exporter's textfile collector) of h at
 * now, appended to out. */
void health_metrics(const struct health *h, long long now, struct buf *out);

#endif
