/* policy.h: what the relay does about a young person's message — the
 * safeguarding decision, as one pure function over plain data.
 *
 * Every forward and auto-reply is driven through policy_decide(); the caller
 * carries the actions out. Office hours, urgent triage and rate limits slot
 * in here as fields of the input and actions of the output. */
#ifndef RELAY_POLICY_H
#define RELAY_POLICY_H

struct policy_settings {
	long autoreply_window;     /* seconds: at most one auto-reply per conversation per window */
};

struct policy_input {
	long long now;
	int new_conversation;          /* this message started the conversation */
	int automatic;                 /* automatic mail (bounce, out-of-office, list): never answered */
	long long last_autoreply_at;   /* 0: never */
	long long last_adviser_reply_at;  /* 0: never */
};

enum policy_autoreply { POLICY_NO_AUTOREPLY = 0, POLICY_FIRST_CONTACT };

struct policy_actions {
	int forward;                   /* send the message to the advisers */
	enum policy_autoreply autoreply;
	const char *why;               /* one short reason for the log: static text */
};

void policy_decide(const struct policy_settings *s, const struct policy_input *in, struct policy_actions *out);

#endif
