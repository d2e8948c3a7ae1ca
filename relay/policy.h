/* policy.h: what the relay does about a young person's message — the
 * safeguarding decision, as one pure function over plain data.
 *
 * Every forward and auto-reply is driven through policy_decide(); the caller
 * carries the actions out. Office hours, urgent triage and rate limits slot
 * in here as fields of the input and actions of the output. */
#ifndef RELAY_POLICY_H
#define RELAY_POLICY_H

/* A text that is only a keyword (any case, surrounding spaces and a final
 * full stop or exclamation mark ignored). */
enum policy_keyword { KEYWORD_NONE = 0, KEYWORD_STOP, KEYWORD_START, KEYWORD_HELP };

struct policy_settings {
	long autoreply_window; /* seconds: at most one auto-reply per conversation per window */
	int sender_limit;      /* auto-replies to one sender per ten minutes, across conversations */
	long urgent_repeat;    /* seconds: urgent signposting at most once per this, per conversation */
	int autoreply_budget;  /* auto-replies per budget period (an hour), all conversations; 0: no limit */
};

struct policy_input {
	long long now;
	int new_conversation;            /* this message started the conversation */
	int automatic;                   /* automatic mail (bounce, out-of-office, list): never answered */
	int cannot_reply;                /* alphanumeric sender or short code: no reply can reach it */
	int bounce;                      /* a delivery failure known by its subject: forwarded, never answered */
	int opted_out;                   /* the number texted STOP earlier */
	enum policy_keyword keyword;     /* texts only */
	long long last_autoreply_at;     /* 0: never */
	long long last_adviser_reply_at; /* 0: never */
	int in_hours;                    /* the service is open now (office hours, not a bank holiday) */
	int urgent;                      /* the message matched the urgent list */
	long long last_urgent_at;        /* urgent signposting last sent in this conversation, 0: never */
	int sender_recent;               /* auto-replies sent to this sender in the last ten minutes */
	int blocked;                     /* an adviser blocked the contact (#block) */
	int budget_used;                 /* auto-replies queued so far in this budget period */
};

enum policy_autoreply {
	POLICY_NO_AUTOREPLY = 0,
	POLICY_FIRST_CONTACT,     /* the signposting auto-reply, in office hours */
	POLICY_OUT_OF_HOURS,      /* when the service reopens, and the Emergency Duty Team */
	POLICY_URGENT,            /* 999 first, at once */
	POLICY_STOP_CONFIRMATION, /* still names 999 and Childline */
	POLICY_START_CONFIRMATION,
	POLICY_HELP, /* the signposting text, on request */
};

enum policy_opt { POLICY_OPT_KEEP = 0, POLICY_OPT_OUT, POLICY_OPT_IN };

struct policy_actions {
	int forward; /* send the message to the advisers */
	int urgent;  /* mark the conversation urgent; [URGENT], X-Priority 1, copy to urgent_to */
	enum policy_autoreply autoreply;
	enum policy_opt opt; /* change the contact's opt-out */
	int over_budget;     /* an auto-reply was due but the period's budget is spent: none is sent;
	                                * the advisers are told, once per period (policy_budget_notice) */
	const char *why;     /* one short reason for the log: static text */
};

void policy_decide(const struct policy_settings *s, const struct policy_input *in, struct policy_actions *out);

struct office_hours;
struct triage;

/* The whole decision from the time and the words: fills in->in_hours from
 * hours at in->now and in->urgent from the urgent list (text and subject, either
 * may be NULL), then decides. Pure: the same time, state and words give the
 * same actions. */
void policy_decide_at(const struct policy_settings *s, const struct office_hours *hours, const struct triage *urgent,
                      const char *subject, const char *text, struct policy_input *in, struct policy_actions *out);

/* The overall auto-reply budget. Spoofed senders (backscatter) or a flood
 * of texts must not make the service a source of mail or texts to
 * strangers: beyond [policy] autoreply_budget auto-replies in one clock hour
 * messages are still forwarded, but answered only when urgent (999
 * signposting) or to confirm a STOP (the one text the carriers require).
 * The period a time falls in is named by its start. */
#define POLICY_BUDGET_PERIOD 3600
long long policy_budget_period(long long now);

/* Should the advisers be told now that the budget is spent? Once per period:
 * 1 when over_budget and the last notice (period start, 0: never) was for
 * an earlier period than now's. */
int policy_budget_notice(int over_budget, long long now, long long last_notice_period);

/* The keyword a text is, if any. */
enum policy_keyword policy_keyword(const char *text);

#endif
