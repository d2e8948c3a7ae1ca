/* tools.h: the service's own tools at the server — relay list, show, close,
 * reopen, send, stats, export, purge and retry.
 *
 * Each prints a table for people, or JSON with --json (json-c), on stdout,
 * text from outside escaped for the terminal (termsafe.h) except in JSON and
 * in an export written to a file,
 * and writes what it changes to the database with an audit entry naming the
 * operator. Only `send` touches the network (to deliver at once). */
#ifndef RELAY_TOOLS_H
#define RELAY_TOOLS_H

#include <stdio.h>

#include "db.h"
#include "relay.h"

struct tools {
	struct relay *r;      /* borrowed: configuration, database, clock, SMS gateway (send) */
	int json;             /* print JSON instead of a table */
	const char *operator; /* "operator alice": who is at the console, for the audit trail */
	int exact;            /* print text as it is: set for an export that is not going to a terminal;
	                         * otherwise control characters are shown escaped (termsafe.h) */
};

/* Each returns the process's exit status: 0 done, 1 failed (the reason on stderr). */
int tools_list(struct tools *t, enum db_list_filter filter);
int tools_show(struct tools *t, const char *ref);
/* The transcript for a safeguarding referral: everything `show` has, with
 * full dates, who exported it and the audit trail; recorded in the trail.
 * To a terminal it is escaped as show is; to a file or a pipe it is exact. */
int tools_export(struct tools *t, const char *ref);
/* open 0: close the conversation, 1: reopen it. */
int tools_set_state(struct tools *t, const char *ref, int open);
/* Reads a message from in and sends it to the young person (queued, then
 * delivered at once when the servers answer). */
int tools_send(struct tools *t, const char *ref, FILE *in);
/* since: unix time, 0 for all time. */
int tools_stats(struct tools *t, long long since);
/* relay purge: removes the text of conversations closed more than
 * retention_days ago (retention.h); dry_run only counts. actor names who
 * asked, for the audit trail. Prints a progress line on a terminal, then a
 * summary. */
int tools_purge(struct tools *t, int dry_run, const char *actor);

/* Hands the conversation's set-aside messages back to the intake (intake.h)
 * and sends what that queues; exit 1 when any still cannot be handled. */
int tools_retry(struct tools *t, const char *ref);

/* Each part's health as the daemon last wrote it (state, last success,
 * current failure and since when, alerts sent), the backlog and whether
 * the daemon still writes: 0 when all is well, 1 when a part fails or the
 * daemon is not running. */
int tools_status(struct tools *t);

#endif
