/* Unit tests for policy.c: the safeguarding decision, table-driven. */
#include "check.h"
#include "hours.h"
#include "policy.h"
#include "triage.h"

#include <stdlib.h>
#include <time.h>

/* Unix time of a Europe/London wall-clock time. */
/* The whole decision from a time and words, for a first contact. */
static enum policy_autoreply first_contact_at(const struct policy_settings *s, const struct office_hours *h,
                                              const struct triage *t, long long when, const char *text)
{
	struct policy_input in = { .now = when, .new_conversation = 1 };
	struct policy_actions a;
	policy_decide_at(s, h, t, NULL, text, &in, &a);
	return a.autoreply;
}

#define H 3600LL
#define NOW 1795109460LL /* Thursday 19 November 2026 17:31 UTC */

struct row {
	const char *name;
	struct policy_input in;
	int forward;
	enum policy_autoreply autoreply;
	enum policy_opt opt;
};

int main(void)
{
	const struct policy_settings s = { .autoreply_window = 24 * H, .sender_limit = 3, .urgent_repeat = H };
	const struct row rows[] = {
		{ "first contact in hours: forward and the in-hours reply",
		  { .now = NOW, .new_conversation = 1, .in_hours = 1 },
		  1,
		  POLICY_FIRST_CONTACT,
		  0 },
		{ "first contact out of hours: the out-of-hours reply",
		  { .now = NOW, .new_conversation = 1 },
		  1,
		  POLICY_OUT_OF_HOURS,
		  0 },
		{ "automatic mail: stored, not forwarded, not answered",
		  { .now = NOW, .new_conversation = 1, .automatic = 1 },
		  0,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "no sender: forwarded, not answered",
		  { .now = NOW, .new_conversation = 1, .cannot_reply = 1 },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "follow-up within the window: no auto-reply",
		  { .now = NOW, .last_autoreply_at = NOW - 23 * H },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "follow-up at exactly the window: auto-reply again",
		  { .now = NOW, .last_autoreply_at = NOW - 24 * H, .in_hours = 1 },
		  1,
		  POLICY_FIRST_CONTACT,
		  0 },
		{ "follow-up after the window, out of hours",
		  { .now = NOW, .last_autoreply_at = NOW - 25 * H },
		  1,
		  POLICY_OUT_OF_HOURS,
		  0 },
		{ "adviser answered within the window: no auto-reply",
		  { .now = NOW, .last_autoreply_at = NOW - 48 * H, .last_adviser_reply_at = NOW - 2 * H },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "adviser answered long ago: auto-reply",
		  { .now = NOW, .last_autoreply_at = NOW - 48 * H, .last_adviser_reply_at = NOW - 30 * H, .in_hours = 1 },
		  1,
		  POLICY_FIRST_CONTACT,
		  0 },
		{ "STOP: opt out and confirm",
		  { .now = NOW, .keyword = KEYWORD_STOP },
		  1,
		  POLICY_STOP_CONFIRMATION,
		  POLICY_OPT_OUT },
		{ "STOP on first contact: confirm, not the welcome",
		  { .now = NOW, .new_conversation = 1, .keyword = KEYWORD_STOP },
		  1,
		  POLICY_STOP_CONFIRMATION,
		  POLICY_OPT_OUT },
		{ "START: opt in and confirm",
		  { .now = NOW, .opted_out = 1, .keyword = KEYWORD_START },
		  1,
		  POLICY_START_CONFIRMATION,
		  POLICY_OPT_IN },
		{ "HELP: signposting even when opted out",
		  { .now = NOW, .opted_out = 1, .keyword = KEYWORD_HELP },
		  1,
		  POLICY_HELP,
		  0 },
		{ "opted out: forwarded, nothing automatic",
		  { .now = NOW, .opted_out = 1, .new_conversation = 1 },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "short code: forwarded, never answered",
		  { .now = NOW, .new_conversation = 1, .cannot_reply = 1 },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "short code texting STOP: nothing sent back",
		  { .now = NOW, .cannot_reply = 1, .keyword = KEYWORD_STOP },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "urgent on first contact: 999 signposting first",
		  { .now = NOW, .new_conversation = 1, .urgent = 1 },
		  1,
		  POLICY_URGENT,
		  0 },
		{ "urgent inside the auto-reply window: still at once",
		  { .now = NOW, .urgent = 1, .last_autoreply_at = NOW - 60 },
		  1,
		  POLICY_URGENT,
		  0 },
		{ "urgent past the sender limit: still at once",
		  { .now = NOW, .urgent = 1, .sender_recent = 10 },
		  1,
		  POLICY_URGENT,
		  0 },
		{ "urgent again within the hour: not again",
		  { .now = NOW, .urgent = 1, .last_urgent_at = NOW - 59 * 60 },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "urgent again after an hour: again",
		  { .now = NOW, .urgent = 1, .last_urgent_at = NOW - H },
		  1,
		  POLICY_URGENT,
		  0 },
		{ "urgent but opted out: forwarded, nothing texted",
		  { .now = NOW, .urgent = 1, .opted_out = 1 },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "sender limit reached: no auto-reply",
		  { .now = NOW, .new_conversation = 1, .sender_recent = 3 },
		  1,
		  POLICY_NO_AUTOREPLY,
		  0 },
		{ "just under the sender limit: auto-reply",
		  { .now = NOW, .new_conversation = 1, .sender_recent = 2 },
		  1,
		  POLICY_OUT_OF_HOURS,
		  0 },
		{ "blocked: stored only", { .now = NOW, .new_conversation = 1, .blocked = 1 }, 0, POLICY_NO_AUTOREPLY, 0 },
		{ "blocked and urgent: stored only", { .now = NOW, .blocked = 1, .urgent = 1 }, 0, POLICY_NO_AUTOREPLY, 0 },
		{ "automatic and urgent wording: not answered",
		  { .now = NOW, .automatic = 1, .urgent = 1 },
		  0,
		  POLICY_NO_AUTOREPLY,
		  0 },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct policy_actions a;
		policy_decide(&s, &rows[i].in, &a);
		char name[160];
		snprintf(name, sizeof name, "%s [forward]", rows[i].name);
		CHECK_INT(name, a.forward, rows[i].forward);
		snprintf(name, sizeof name, "%s [auto-reply]", rows[i].name);
		CHECK_INT(name, a.autoreply, rows[i].autoreply);
		snprintf(name, sizeof name, "%s [opt]", rows[i].name);
		CHECK_INT(name, a.opt, rows[i].opt);
		snprintf(name, sizeof name, "%s [urgent flag]", rows[i].name);
		CHECK_INT(name, a.urgent, rows[i].in.urgent && rows[i].forward);
		snprintf(name, sizeof name, "%s [why given]", rows[i].name);
		CHECK(name, a.why != NULL);
	}

	const struct {
		const char *text;
		enum policy_keyword k;
	} words[] = {
		{ "STOP", KEYWORD_STOP },
		{ "stop", KEYWORD_STOP },
		{ " Stop. ", KEYWORD_STOP },
		{ "STOP!", KEYWORD_STOP },
		{ "unsubscribe", KEYWORD_STOP },
		{ "STOPALL", KEYWORD_STOP },
		{ "START", KEYWORD_START },
		{ "unstop", KEYWORD_START },
		{ "help", KEYWORD_HELP },
		{ "HELP\n", KEYWORD_HELP },
		{ "info", KEYWORD_HELP },
		{ "please stop", KEYWORD_NONE },
		{ "stop it he hurts me", KEYWORD_NONE },
		{ "help me", KEYWORD_NONE },
		{ "STOPP", KEYWORD_NONE },
		{ "", KEYWORD_NONE },
		{ "   ", KEYWORD_NONE },
		{ "endless", KEYWORD_NONE },
		{ "S T O P", KEYWORD_NONE },
		{ "averyveryverylongwordthatisnotakeyword", KEYWORD_NONE },
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "keyword [%s]", words[i].text);
		CHECK_INT(name, policy_keyword(words[i].text), words[i].k);
	}
	CHECK_INT("keyword NULL", policy_keyword(NULL), KEYWORD_NONE);

	/* ---- time and words: policy_decide_at with the shipped hours, holidays and list ---- */
	setenv("TZ", "Europe/London", 1);
	tzset();
	struct office_hours h;
	struct triage *t = NULL;
	char err[256];
	hours_default(&h);
	h.holidays = NULL;
	h.nholidays = 0;
	CHECK("holidays load", hours_load_holidays(&h, "config/bank-holidays-england-and-wales.txt", err, sizeof err) == 0);
	CHECK("urgent list loads", triage_load("config/urgent.txt", &t, err, sizeof err) == 0);
	const struct {
		const char *name;
		int y, mo, d, hh, mi;
		const char *text;
		enum policy_autoreply want;
	} at[] = {
		{ "Thursday 17:29", 2026, 11, 19, 17, 29, "hi", POLICY_FIRST_CONTACT },
		{ "Thursday 17:30", 2026, 11, 19, 17, 30, "hi", POLICY_OUT_OF_HOURS },
		{ "Thursday 17:31", 2026, 11, 19, 17, 31, "hi", POLICY_OUT_OF_HOURS },
		{ "Monday 08:59", 2026, 11, 16, 8, 59, "hi", POLICY_OUT_OF_HOURS },
		{ "Monday 09:00", 2026, 11, 16, 9, 0, "hi", POLICY_FIRST_CONTACT },
		{ "Tuesday 17:29", 2026, 11, 17, 17, 29, "hi", POLICY_FIRST_CONTACT },
		{ "Wednesday 17:30", 2026, 11, 18, 17, 30, "hi", POLICY_OUT_OF_HOURS },
		{ "Friday 16:59", 2026, 11, 20, 16, 59, "hi", POLICY_FIRST_CONTACT },
		{ "Friday 17:00", 2026, 11, 20, 17, 0, "hi", POLICY_OUT_OF_HOURS },
		{ "Saturday noon", 2026, 11, 21, 12, 0, "hi", POLICY_OUT_OF_HOURS },
		{ "Sunday noon", 2026, 11, 22, 12, 0, "hi", POLICY_OUT_OF_HOURS },
		{ "July Thursday 17:45 BST", 2026, 7, 16, 17, 45, "hi", POLICY_OUT_OF_HOURS },
		{ "July Thursday 17:15 BST", 2026, 7, 16, 17, 15, "hi", POLICY_FIRST_CONTACT },
		{ "Monday after spring change 08:59 BST", 2026, 3, 30, 8, 59, "hi", POLICY_OUT_OF_HOURS },
		{ "Monday after spring change 09:00 BST", 2026, 3, 30, 9, 0, "hi", POLICY_FIRST_CONTACT },
		{ "spring change Sunday 01:30", 2026, 3, 29, 1, 30, "hi", POLICY_OUT_OF_HOURS },
		{ "Monday after autumn change 08:59 GMT", 2026, 10, 26, 8, 59, "hi", POLICY_OUT_OF_HOURS },
		{ "Monday after autumn change 09:00 GMT", 2026, 10, 26, 9, 0, "hi", POLICY_FIRST_CONTACT },
		{ "28 December 2026 (substitute day)", 2026, 12, 28, 12, 0, "hi", POLICY_OUT_OF_HOURS },
		{ "29 December 2026 10:00", 2026, 12, 29, 10, 0, "hi", POLICY_FIRST_CONTACT },
		{ "urgent in hours", 2026, 11, 19, 11, 0, "im gonna hurrrt myself", POLICY_URGENT },
		{ "urgent out of hours", 2026, 11, 21, 3, 0, "hes outside my house", POLICY_URGENT },
		{ "urgent text-speak", 2026, 11, 21, 3, 0, "i cant get home", POLICY_URGENT },
		{ "near-miss: skill myself", 2026, 11, 19, 11, 0, "i need to skill myself up", POLICY_FIRST_CONTACT },
		{ "near-miss: outsider", 2026, 11, 19, 11, 0, "i feel like an outsider", POLICY_FIRST_CONTACT },
		{ "near-miss: quoted signposting", 2026, 11, 21, 3, 0, "If you are in danger, call 999 now",
		  POLICY_OUT_OF_HOURS },
	};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		char name[128];
		snprintf(name, sizeof name, "at %s", at[i].name);
		CHECK_INT(name,
		          first_contact_at(&s, &h, t, check_local(at[i].y, at[i].mo, at[i].d, at[i].hh, at[i].mi),
		                           at[i].text),
		          at[i].want);
	}
	/* Every shipped bank holiday, at noon: out of hours. */
	for (size_t i = 0; i < h.nholidays; i++) {
		int d = h.holidays[i];
		char name[64];
		snprintf(name, sizeof name, "bank holiday %d at noon", d);
		CHECK_INT(name, first_contact_at(&s, &h, t, check_local(d / 10000, d / 100 % 100, d % 100, 12, 0), "hi"),
		          POLICY_OUT_OF_HOURS);
	}
	CHECK("24 bank holidays shipped for 2026-2028", h.nholidays == 24);
	hours_free(&h);
	triage_free(t);
	/* --- the overall auto-reply budget ------------------------------------------------------ */
	{
		const struct policy_settings b = {
			.autoreply_window = 24 * H, .sender_limit = 3, .urgent_repeat = H, .autoreply_budget = 200
		};
		struct policy_actions a;
		struct policy_input in = { .now = NOW, .new_conversation = 1, .in_hours = 1, .budget_used = 199 };

		policy_decide(&b, &in, &a);
		CHECK("budget: the 200th auto-reply of the hour goes",
		      a.autoreply == POLICY_FIRST_CONTACT && a.forward && !a.over_budget);
		in.budget_used = 200;
		policy_decide(&b, &in, &a);
		CHECK("budget: beyond it, forwarded but not answered",
		      a.forward && a.autoreply == POLICY_NO_AUTOREPLY && a.over_budget);
		in.urgent = 1;
		policy_decide(&b, &in, &a);
		CHECK("budget: an urgent message is still answered, at once",
		      a.autoreply == POLICY_URGENT && !a.over_budget && a.urgent && a.forward);
		in.urgent = 0;
		in.keyword = KEYWORD_STOP;
		policy_decide(&b, &in, &a);
		CHECK("budget: a STOP is still confirmed",
		      a.autoreply == POLICY_STOP_CONFIRMATION && a.opt == POLICY_OPT_OUT && !a.over_budget);
		in.keyword = KEYWORD_HELP;
		policy_decide(&b, &in, &a);
		CHECK("budget: HELP waits like any auto-reply", a.autoreply == POLICY_NO_AUTOREPLY && a.over_budget);
		in.keyword = KEYWORD_NONE;
		in.new_conversation = 0;
		in.last_autoreply_at = NOW - H;
		policy_decide(&b, &in, &a);
		CHECK("budget: no auto-reply due anyway is not over budget",
		      a.autoreply == POLICY_NO_AUTOREPLY && !a.over_budget);
		in.new_conversation = 1;
		in.automatic = 1;
		policy_decide(&b, &in, &a);
		CHECK("budget: automatic mail is not counted as over budget", !a.over_budget && !a.forward);
		in.automatic = 0;
		in.budget_used = 100000;
		policy_decide(&s, &in, &a);
		CHECK("budget 0: no limit", a.autoreply == POLICY_FIRST_CONTACT && !a.over_budget);

		CHECK_INT("budget period: the clock hour", policy_budget_period(check_utc(2026, 12, 4, 9, 59) + 59),
		          check_utc(2026, 12, 4, 9, 0));
		CHECK_INT("budget period: its first second", policy_budget_period(check_utc(2026, 12, 4, 10, 0)),
		          check_utc(2026, 12, 4, 10, 0));
		CHECK("notice: once per period", policy_budget_notice(1, NOW, 0) &&
		                                         !policy_budget_notice(1, NOW, policy_budget_period(NOW)) &&
		                                         policy_budget_notice(1, NOW + H, policy_budget_period(NOW)) &&
		                                         !policy_budget_notice(0, NOW, 0));
	}
	/* --- a bounce known by its subject ---------------------------------------------------- */
	{
		struct policy_actions a;
		struct policy_input in = { .now = NOW, .new_conversation = 1, .in_hours = 1, .bounce = 1, .urgent = 1 };
		policy_decide(&s, &in, &a);
		CHECK("bounce by subject: forwarded, never answered, not urgent (it quotes our signposting)",
		      a.forward && a.autoreply == POLICY_NO_AUTOREPLY && !a.urgent && !a.over_budget);
	}
	return check_done();
}
