/* stats.h: the figures `relay stats` reports, computed from plain rows.
 *
 * Pure: the caller feeds messages and conversations (from db.c) and reads
 * the tally; nothing here touches the database or the clock. */
#ifndef RELAY_STATS_H
#define RELAY_STATS_H

#include <stddef.h>

#include "domain.h"
#include "hours.h"

struct stats_channel {
	long in;          /* messages from young people */
	long out;         /* advisers' replies */
	long autoreplies; /* automatic signposting */
};

struct stats {
	struct stats_channel email, sms;
	long in_hours, out_of_hours; /* young people's messages, by the office hours at the time */
	long conversations;          /* started in the period */
	long urgent;                 /* of them, marked urgent */
	long answered;               /* of them, with an adviser's reply */
	long open_now;
	long long median_wait; /* seconds from first message to first adviser reply; -1: none answered */
	long long p90_wait;
	/* private */
	long long *waits;
	size_t nwaits, cap;
};

void stats_init(struct stats *s);
void stats_free(struct stats *s); /* accepts NULL */

/* One message: KIND_INBOUND, KIND_REPLY or KIND_AUTOREPLY (others count in nothing); channel its channel; at its time. hours classifies inbound messages (may be NULL). */
void stats_add_message(struct stats *s, const struct office_hours *hours, enum message_kind kind, enum channel channel,
                       long long at);

/* One conversation: its first message and first adviser reply (0: none). */
void stats_add_conversation(struct stats *s, int urgent, long long first_inbound, long long first_reply);

/* Computes the median and 90th percentile of the waits (nearest rank). */
void stats_finish(struct stats *s);

/* The p-th percentile (1..100, nearest rank) of n sorted values; -1 when n is 0. */
long long stats_percentile(const long long *sorted, size_t n, int p);

/* "3h 05m", "12m", "45s": a wait for people to read (out at least 16 bytes). */
void stats_format_wait(long long seconds, char *out, size_t outlen);

#endif
