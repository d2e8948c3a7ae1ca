/* Unit tests for outgoing.c: every message the relay sends, as it lands in
 * the outbox, without servers. For each: who it goes to (rcpt, one per
 * line), by which channel, what it says and what it must never say (a young
 * person's contact, unmasked, to the advisers; a young person's words in a
 * notice about delivery). Rows are read by a connection of the test's own. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "db.h"
#include "engine.h"
#include "outgoing.h"
#include "relay.h"
#include "util.h"

/* The newest outbox row's column col ("rcpt", "kind || ':' || channel", "data", ...). */
static void newest(const char *col, char *out, size_t outlen)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM outbox LEFT JOIN outbox_data USING (id) ORDER BY id DESC LIMIT 1", col);
	query(sql, out, outlen);
}

static long long conversation(struct relay *r, const char *ref, enum channel ch, const char *contact, struct conversation *c)
{
	memset(c, 0, sizeof *c);
	c->ref = xstrdup(ref);
	c->channel = ch;
	c->contact = xstrdup(contact);
	c->created_at = c->last_activity = r->now;
	return db_conversation_create(r->db, c) == 0 ? c->id : -1;
}

static long long rows(void)
{
	return count("SELECT count(*) FROM outbox");
}

static void test_contact(struct relay *r, struct conversation *mail, struct conversation *text)
{
	char *s = outgoing_contact(r->cfg, mail);
	CHECK_STR("masked email address", s, "s***@example.net");
	free(s);
	s = outgoing_contact(r->cfg, text);
	CHECK("masked number keeps its last three digits", strstr(s, "123") && !strstr(s, "7700900123"));
	free(s);
	char *saved = r->cfg->show_contact;
	r->cfg->show_contact = "full";
	s = outgoing_contact(r->cfg, mail);
	CHECK_STR("show_contact = full: the address", s, "sam@example.net");
	free(s);
	r->cfg->show_contact = "none";
	s = outgoing_contact(r->cfg, text);
	CHECK_STR("show_contact = none: a number, not shown", s, "(a mobile number, not shown)");
	free(s);
	s = outgoing_contact(r->cfg, mail);
	CHECK_STR("show_contact = none: an address, not shown", s, "(an email address, not shown)");
	free(s);
	r->cfg->show_contact = saved;
	struct conversation purged = *mail;
	purged.contact = NULL;
	s = outgoing_contact(r->cfg, &purged);
	CHECK_STR("a purged contact", s, "(removed after the retention period)");
	free(s);
}

static void test_forward(struct relay *r, struct conversation *mail, struct conversation *text)
{
	char got[8192];
	long long before = rows();
	CHECK_INT("forward: queued", outgoing_forward(r, mail, "hello", "I need to talk to someone", NULL, 0, NULL, 0), 0);
	CHECK_INT("forward: one row", rows(), before + 1);
	newest("kind || ':' || channel || ':' || state", got, sizeof got);
	CHECK_STR("forward: a pending email", got, "forward:email:pending");
	newest("rcpt", got, sizeof got);
	CHECK_STR("forward: to each adviser", got, "adviser1@example.org\nadviser2@example.org\n");
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("forward: names the reference", strstr(got, mail->ref) != NULL);
	CHECK("forward: carries the words", strstr(got, "I need to talk to someone") != NULL);
	CHECK("forward: the contact masked", strstr(got, "s***@example.net") != NULL);
	CHECK("forward: never the contact itself", strstr(got, "sam@example.net") == NULL);
	CHECK("forward: not marked urgent", strstr(got, "X-Priority: 1") == NULL);
	CHECK("forward: answerable through the reply tag", strstr(got, "Reply-To:") != NULL);

	CHECK_INT("urgent forward: queued",
	          outgoing_forward(r, text, NULL, "he is outside my house", NULL, 0, "Note:      urgent words.\n", 1), 0);
	newest("rcpt", got, sizeof got);
	CHECK("urgent forward: the on-call address too", strstr(got, "oncall@example.org") != NULL);
	CHECK("urgent forward: and the advisers", strstr(got, "adviser1@example.org") != NULL);
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("urgent forward: marked urgent", strstr(got, "X-Priority: 1") != NULL);
	CHECK("urgent forward: the remarks", strstr(got, "urgent words.") != NULL);
	CHECK("urgent forward: by text, said so", strstr(got, "New message by text") != NULL);
	CHECK("urgent forward: never the number", strstr(got, "7700900123") == NULL);
}

static void test_autoreply(struct relay *r, struct conversation *mail, struct conversation *text)
{
	char got[8192];
	CHECK_INT("email auto-reply: queued", outgoing_autoreply(r, mail, "email/first_contact"), 0);
	newest("kind || ':' || channel || ':' || rcpt", got, sizeof got);
	CHECK_STR("email auto-reply: to the young person", got, "autoreply:email:sam@example.net\n");
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("email auto-reply: says 999", strstr(got, "call 999") != NULL);
	CHECK("email auto-reply: marked automatic (RFC 3834)", strstr(got, "Auto-Submitted: auto-replied") != NULL);

	CHECK_INT("text auto-reply: queued", outgoing_text_template(r, text, KIND_AUTOREPLY, "sms/first_contact"), 0);
	newest("kind || ':' || channel || ':' || rcpt || ':' || parts", got, sizeof got);
	CHECK_STR("text auto-reply: a text to the number", got, "autoreply:sms:+447700900123:1");
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("text auto-reply: says 999", strstr(got, "999") != NULL);

	long long before = rows();
	CHECK("an unknown template is an error", outgoing_autoreply(r, mail, "email/no_such_template") < 0);
	CHECK_INT("and queues nothing", rows(), before);
}

static void test_reply(struct relay *r, struct conversation *mail, struct conversation *text)
{
	char got[8192], *prepared = NULL;
	int parts = 0;

	CHECK_INT("a short text fits", outgoing_text_fits(r, text, "See you at 4.", &prepared, &parts), 1);
	CHECK_INT("in one part", parts, 1);
	CHECK_STR("as written", prepared, "See you at 4.");
	free(prepared);
	char longer[2000];
	memset(longer, 'a', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	CHECK_INT("1,999 characters do not fit in 4 parts", outgoing_text_fits(r, text, longer, &prepared, &parts), 0);
	free(prepared);
	/* One character outside GSM-7 makes every part UCS-2: 70 characters, 67 when split. */
	char wide[400];
	snprintf(wide, sizeof wide, "%s \xe2\x9c\x93",
	         "Thank you for telling us. We are here for you and we will call at four as planned, ok?");
	CHECK_INT("a text with a tick fits", outgoing_text_fits(r, text, wide, &prepared, &parts), 1);
	CHECK_INT("in UCS-2 parts (two for 88 characters)", parts, 2);
	free(prepared);

	long long before = rows();
	CHECK("a text reply not made ready: refused",
	      outgoing_reply(r, text, "adviser1@example.org", "See you at 4.", NULL, 0, 0) < 0);
	CHECK_INT("and nothing queued", rows(), before);
	CHECK_INT("made ready", outgoing_text_fits(r, text, "See you at 4.", &prepared, &parts), 1);
	CHECK_INT("text reply: queued", outgoing_reply(r, text, "adviser1@example.org", "See you at 4.", prepared, parts, 0),
	          0);
	free(prepared);
	CHECK_INT("text reply: the reply and a receipt", rows(), before + 2);
	query("SELECT kind || ':' || channel || ':' || rcpt FROM outbox ORDER BY id DESC LIMIT 2", got, sizeof got);
	CHECK_STR("text reply: receipt to the advisers, reply to the number", got,
	          "receipt:email:adviser1@example.org\nadviser2@example.org\n,reply:sms:+447700900123");
	query("SELECT CAST(data AS TEXT) FROM outbox JOIN outbox_data USING (id) WHERE kind = 'reply' ORDER BY id DESC LIMIT 1",
	      got, sizeof got);
	CHECK_STR("text reply: exactly the words", got, "See you at 4.");
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("receipt: exactly what was sent", strstr(got, "See you at 4.") != NULL);
	CHECK("receipt: names the adviser", strstr(got, "adviser1@example.org replied") != NULL);
	CHECK("receipt: never the number", strstr(got, "7700900123") == NULL);

	CHECK_INT("email reply: queued",
	          outgoing_reply(r, mail, "adviser2@example.org", "We can meet at school.", NULL, 0, 0), 0);
	query("SELECT kind || ':' || channel || ':' || rcpt FROM outbox ORDER BY id DESC LIMIT 2", got, sizeof got);
	CHECK("email reply: to the young person's address",
	      strstr(got, "reply:email:sam@example.net\n") != NULL && strstr(got, "receipt:email:") != NULL);
	query("SELECT CAST(data AS TEXT) FROM outbox JOIN outbox_data USING (id) WHERE kind = 'reply' ORDER BY id DESC LIMIT 1",
	      got, sizeof got);
	CHECK("email reply: the words", strstr(got, "We can meet at school.") != NULL);
	CHECK("email reply: never the adviser's address", strstr(got, "adviser2@example.org") == NULL);
	CHECK("email reply: from the service", strstr(got, "rusafe@example.org") != NULL);
}

static void test_notices(struct relay *r, struct conversation *mail, struct conversation *text)
{
	char got[8192];
	CHECK_INT("undelivered: queued", outgoing_undelivered(r, text, KIND_REPLY, "the number is not in service"), 0);
	newest("kind || ':' || rcpt", got, sizeof got);
	CHECK_STR("undelivered: a notice to the advisers", got, "notice:adviser1@example.org\nadviser2@example.org\n");
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("undelivered: what could not go", strstr(got, "an adviser's reply") != NULL);
	CHECK("undelivered: the reason", strstr(got, "the number is not in service") != NULL);
	CHECK("undelivered: the reference", strstr(got, text->ref) != NULL);
	CHECK("undelivered: never the young person's words", strstr(got, "See you at 4.") == NULL);

	CHECK_INT("delayed: queued", outgoing_delayed(r, mail, KIND_AUTOREPLY, "the mail server is refusing"), 0);
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("delayed: an automatic reply", strstr(got, "an automatic reply") != NULL);

	CHECK_INT("held: queued", outgoing_held(r, mail, "stranger@example.com", "not an adviser", "hello there"), 0);
	newest("kind || ':' || rcpt", got, sizeof got);
	CHECK("held: to the advisers, never to the stranger",
	      strstr(got, "adviser1@example.org") != NULL && strstr(got, "stranger") == NULL);
	CHECK_INT("held, no conversation to tell: still queued",
	          outgoing_held(r, NULL, "stranger@example.com", "no reference", "hello"), 0);
	CHECK_INT("held, no conversation: a row of no conversation",
	          count("SELECT count(*) FROM outbox WHERE conversation_id IS NULL OR conversation_id = 0"), 1);

	CHECK_INT("refused: queued", outgoing_refused(r, mail, "adviser2@example.org", "the text was empty"), 0);
	newest("kind || ':' || rcpt", got, sizeof got);
	CHECK("refused: to that adviser alone",
	      strstr(got, ":adviser2@example.org\n") != NULL && strstr(got, "adviser1@example.org") == NULL);

	CHECK_INT("budget: queued", outgoing_budget(r, mail, 30, r->now + 3600), 0);
	newest("rcpt", got, sizeof got);
	CHECK("budget: to the advisers", strstr(got, "adviser1@example.org") != NULL);
}

/* A contact no message can be addressed to: refused with an error, nothing
 * queued, the others untouched (issue 16: one message never stops the line). */
static void test_bad_address(struct relay *r)
{
	struct conversation odd;
	CHECK("a conversation with an odd address", conversation(r, "RUS-CCCCC", CHANNEL_EMAIL, "sam@", &odd) > 0);
	long long before = rows();
	CHECK("auto-reply to 'sam@': an error", outgoing_autoreply(r, &odd, "email/first_contact") < 0);
	CHECK_INT("nothing queued", rows(), before);
	CHECK_INT("the forward still goes", outgoing_forward(r, &odd, NULL, "hello", NULL, 0, NULL, 0), 0);
	char got[2048];
	newest("CAST(data AS TEXT)", got, sizeof got);
	CHECK("and names the reference", strstr(got, "RUS-CCCCC") != NULL);
	conversation_free(&odd);
}

int main(void)
{
	struct relay r;
	if (engine_start("", &r) < 0)
		return check_done();
	struct conversation mail, text;
	CHECK("an email conversation", conversation(&r, "RUS-AAAAA", CHANNEL_EMAIL, "sam@example.net", &mail) > 0);
	CHECK("a text conversation", conversation(&r, "RUS-BBBBB", CHANNEL_SMS, "+447700900123", &text) > 0);

	test_contact(&r, &mail, &text);
	test_forward(&r, &mail, &text);
	test_autoreply(&r, &mail, &text);
	test_reply(&r, &mail, &text);
	test_notices(&r, &mail, &text);
	test_bad_address(&r);

	conversation_free(&mail);
	conversation_free(&text);
	engine_stop(&r);
	return check_done();
}
