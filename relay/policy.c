/* policy.c: the safeguarding decision for each young person's message. */
#include "policy.h"

#include "hours.h"
#include "triage.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

enum policy_keyword policy_keyword(const char *text)
{
	/* The words SMS platforms honour (Twilio, RapidPro, Ofcom guidance). */
	static const struct {
		const char *word;
		enum policy_keyword k;
	} words[] = {
		{ "STOP", KEYWORD_STOP },   { "STOPALL", KEYWORD_STOP }, { "UNSUBSCRIBE", KEYWORD_STOP },
		{ "CANCEL", KEYWORD_STOP }, { "END", KEYWORD_STOP },     { "QUIT", KEYWORD_STOP },
		{ "START", KEYWORD_START }, { "UNSTOP", KEYWORD_START }, { "RESUME", KEYWORD_START },
		{ "HELP", KEYWORD_HELP },   { "INFO", KEYWORD_HELP },
	};
	char word[16];
	size_t n = 0;

	if (!text)
		return KEYWORD_NONE;
	while (*text && isspace((unsigned char)*text))
		text++;
	const char *end = text + strlen(text);
	while (end > text && (isspace((unsigned char)end[-1]) || end[-1] == '.' || end[-1] == '!'))
		end--;
	if (end - text >= (long)sizeof word)
		return KEYWORD_NONE;
	for (const char *p = text; p < end; p++)
		word[n++] = *p;
	word[n] = '\0';
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(word, words[i].word) == 0)
			return words[i].k;
	return KEYWORD_NONE;
}

/* The welcome a young person gets depends on whether anyone is there. */
static enum policy_autoreply welcome(const struct policy_input *in)
{
	return in->in_hours ? POLICY_FIRST_CONTACT : POLICY_OUT_OF_HOURS;
}

long long policy_budget_period(long long now)
{
	long long r = now % POLICY_BUDGET_PERIOD;
	return now - (r < 0 ? r + POLICY_BUDGET_PERIOD : r);
}

int policy_budget_notice(int over_budget, long long now, long long last_notice_period)
{
	return over_budget && last_notice_period < policy_budget_period(now);
}

/* Beyond the budget, only urgent signposting and a STOP confirmation go. */
static void apply_budget(const struct policy_settings *s, const struct policy_input *in, struct policy_actions *out)
{
	if (!out->autoreply || s->autoreply_budget <= 0 || in->budget_used < s->autoreply_budget)
		return;
	if (out->autoreply == POLICY_URGENT || out->autoreply == POLICY_STOP_CONFIRMATION)
		return;
	out->autoreply = POLICY_NO_AUTOREPLY;
	out->over_budget = 1;
	out->why = "the hour's auto-reply budget is spent: forwarded, not answered";
}

static void decide_reply(const struct policy_settings *s, const struct policy_input *in, struct policy_actions *out);

void policy_decide(const struct policy_settings *s, const struct policy_input *in, struct policy_actions *out)
{
	decide_reply(s, in, out);
	apply_budget(s, in, out);
}

static void decide_reply(const struct policy_settings *s, const struct policy_input *in, struct policy_actions *out)
{
	memset(out, 0, sizeof *out);
	/* Every message from a young person reaches the advisers, keywords
	 * included: a child who texts STOP is something an adviser must see.
	 * Automatic mail is kept and shown but not forwarded: forwarding a bounce
	 * of a forward would loop. A blocked contact's messages are kept and shown
	 * only, as the adviser asked. */
	out->forward = !in->automatic && !in->blocked;
	/* A bounce quotes our own signposting ("in danger"): not the child's words. */
	out->urgent = in->urgent && !in->automatic && !in->blocked && !in->bounce;

	if (in->automatic) {
		out->why = "automatic mail is stored, never answered or forwarded";
		return;
	}
	if (in->blocked) {
		out->why = "the contact is blocked: stored and shown, not forwarded or answered";
		return;
	}
	if (in->bounce) {
		out->why = "a delivery failure report: forwarded, never answered";
		return;
	}
	if (in->cannot_reply) {
		out->why = "the sender cannot receive replies (alphanumeric sender or short code)";
		return;
	}
	switch (in->keyword) {
	case KEYWORD_STOP:
		out->opt = POLICY_OPT_OUT;
		out->autoreply = POLICY_STOP_CONFIRMATION;
		out->why = "STOP: nothing automatic from now on; one confirmation";
		return;
	case KEYWORD_START:
		out->opt = POLICY_OPT_IN;
		out->autoreply = POLICY_START_CONFIRMATION;
		out->why = "START: automatic replies resume";
		return;
	case KEYWORD_HELP:
		out->autoreply = POLICY_HELP;
		out->why = "HELP: the signposting text";
		return;
	case KEYWORD_NONE:
		break;
	}
	if (in->opted_out) {
		out->why = "the contact texted STOP";
		return;
	}
	/* Urgent signposting goes at once whatever the rate limits say, but not
	 * more than once per urgent_repeat in one conversation. */
	if (in->urgent) {
		if (!in->last_urgent_at || in->now - in->last_urgent_at >= s->urgent_repeat) {
			out->autoreply = POLICY_URGENT;
			out->why = "urgent wording: 999 signposting at once";
		} else {
			out->why = "urgent wording: signposting already sent within the hour";
		}
		return;
	}
	if (in->sender_recent >= s->sender_limit) {
		out->why = "auto-reply limit for this sender reached (ten minutes)";
		return;
	}
	if (in->new_conversation) {
		out->autoreply = welcome(in);
		out->why = in->in_hours ? "first contact, in office hours" : "first contact, out of hours";
		return;
	}
	if (in->last_adviser_reply_at && in->now - in->last_adviser_reply_at < s->autoreply_window) {
		out->why = "an adviser answered within the window";
		return;
	}
	if (in->last_autoreply_at && in->now - in->last_autoreply_at < s->autoreply_window) {
		out->why = "auto-reply already sent within the window";
		return;
	}
	out->autoreply = welcome(in);
	out->why = "no auto-reply within the window";
}

void policy_decide_at(const struct policy_settings *s, const struct office_hours *hours, const struct triage *urgent,
                      const char *subject, const char *text, struct policy_input *in, struct policy_actions *out)
{
	in->in_hours = hours ? hours_is_open(hours, in->now) : 1;
	in->urgent =
		urgent && ((text && triage_match(urgent, text, NULL)) || (subject && triage_match(urgent, subject, NULL)));
	policy_decide(s, in, out);
}
