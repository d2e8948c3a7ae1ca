/* stats.c: the figures of `relay stats`. */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void stats_init(struct stats *s)
{
	memset(s, 0, sizeof *s);
	s->median_wait = s->p90_wait = -1;
}

void stats_free(struct stats *s)
{
	if (!s)
		return;
	free(s->waits);
	s->waits = NULL;
	s->nwaits = s->cap = 0;
}

void stats_add_message(struct stats *s, const struct office_hours *hours, enum message_kind kind, enum channel channel,
                       long long at)
{
	struct stats_channel *ch = channel == CHANNEL_SMS ? &s->sms : &s->email;
	if (kind == KIND_INBOUND) {
		ch->in++;
		if (hours && hours_is_open(hours, at))
			s->in_hours++;
		else
			s->out_of_hours++;
	} else if (kind == KIND_REPLY) {
		ch->out++;
	} else if (kind == KIND_AUTOREPLY) {
		ch->autoreplies++;
	}
}

void stats_add_conversation(struct stats *s, int urgent, long long first_inbound, long long first_reply)
{
	s->conversations++;
	if (urgent)
		s->urgent++;
	if (!first_inbound || !first_reply || first_reply < first_inbound)
		return;
	s->answered++;
	if (s->nwaits == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->waits = xrealloc(s->waits, s->cap * sizeof *s->waits);
	}
	s->waits[s->nwaits++] = first_reply - first_inbound;
}

static int by_value(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

long long stats_percentile(const long long *sorted, size_t n, int p)
{
	if (n == 0)
		return -1;
	/* nearest rank: the smallest value with at least p% of values at or below it */
	size_t rank = ((size_t)p * n + 99) / 100;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

void stats_finish(struct stats *s)
{
	if (s->nwaits)
		qsort(s->waits, s->nwaits, sizeof *s->waits, by_value);
	s->median_wait = stats_percentile(s->waits, s->nwaits, 50);
	s->p90_wait = stats_percentile(s->waits, s->nwaits, 90);
}

void stats_format_wait(long long seconds, char *out, size_t outlen)
{
	if (seconds < 0)
		snprintf(out, outlen, "-");
	else if (seconds < 60)
		snprintf(out, outlen, "%llds", seconds);
	else if (seconds < 3600)
		snprintf(out, outlen, "%lldm", seconds / 60);
	else if (seconds < 86400)
		snprintf(out, outlen, "%lldh %02lldm", seconds / 3600, seconds / 60 % 60);
	else
		snprintf(out, outlen, "%lldd %02lldh", seconds / 86400, seconds / 3600 % 24);
}
