/* Unit tests for replies.c, the advisers' side, without servers: an allowed
 * adviser's emailed reply (proved by the receiving server's
 * Authentication-Results) relayed to a young person by email or by text, each
 * #command and what it changes, a reply to a conversation closed more than
 * [policy] reopen_days ago, replies that are held (commands not understood,
 * nothing left after cleaning, too long for a text), automatic mail from the
 * advisers' side, and replies_from_console (relay send). Over a temporary
 * database with a configuration written by the test; each case checks what
 * the transcript (message), the outbox, the audit trail and the conversation
 * hold afterwards, read by a connection of its own. test_intake.c has the
 * first reply, a forged adviser and a stranger; they are not repeated here. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "db.h"
#include "engine.h"
#include "intake.h"
#include "relay.h"
#include "replies.h"
#include "util.h"


#define DAY 86400LL
/* An outbox row's message as text, quoted-printable soft line breaks undone
 * (a notice's long lines are folded). */
#define DATA "replace(CAST(d.data AS TEXT), '=' || char(13, 10), '')"
#define REOPEN_DAYS 7
#define CLOSE_AFTER_DAYS 30


/* An email as the mailbox hands it over, in a batch of its own. */
static int email(struct relay *r, const char *text)
{
	static int n;
	char key[64];
	snprintf(key, sizeof key, "imap:INBOX:1:%d", ++n);
	return engine_email(r, key, text);
}

/* The Message-ID (without <>) of conversation conv's first forward. */
static void forward_id(long long conv, char *id, size_t idlen)
{
	char got[300];
	queryf(got, sizeof got,
	       "SELECT message_id FROM outbox WHERE kind = 'forward' AND conversation_id = %lld ORDER BY id LIMIT 1", conv);
	snprintf(id, idlen, "%s", got[0] == '<' ? got + 1 : got);
	id[strcspn(id, ">")] = '\0';
}

/* An allowed adviser's reply to a forward, proved by the receiving server,
 * with extra headers (may be ""), handed to the intake. */
static int adviser_as(struct relay *r, const char *from, const char *fwd, const char *headers, const char *body)
{
	static int n;
	struct buf b;
	buf_init(&b);
	buf_printf(&b,
	           "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n"
	           "From: Adviser <%s>\r\nTo: rusafe@example.org\r\nSubject: Re: hello\r\n"
	           "Message-ID: <adv%d@example.org>\r\n%s%s%s%s\r\n%s",
	           from, ++n, fwd ? "In-Reply-To: <" : "", fwd ? fwd : "", fwd ? ">\r\n" : "", headers, body);
	int rc = email(r, buf_str(&b));
	buf_free(&b);
	return rc;
}

static int adviser(struct relay *r, const char *fwd, const char *body)
{
	return adviser_as(r, "adviser1@example.org", fwd, "", body);
}

static long long max_id(const char *table)
{
	return countf("SELECT ifnull(max(id), 0) FROM %s", table);
}

/* Where each table stands before a case, to see what the case added. */
struct mark {
	long long message, outbox, audit;
};

static struct mark mark(void)
{
	struct mark m = { max_id("message"), max_id("outbox"), max_id("audit") };
	return m;
}

/* Messages queued since m, of kind (NULL: any), whose text holds words (as
 * SQL LIKE '%words%' matches it: case folded for ASCII). */
static long long queued_saying(struct mark m, const char *kind, const char *words)
{
	char of_kind[64] = "";
	if (kind)
		snprintf(of_kind, sizeof of_kind, "AND o.kind = '%s' ", kind);
	return countf("SELECT count(*) FROM outbox o JOIN outbox_data d ON d.id = o.id WHERE o.id > %lld %sAND " DATA
	              " LIKE '%%%s%%'",
	              m.outbox, of_kind, words);
}

/* kind:channel:rcpt of the outbox rows added since m, rcpt's newlines made '/'. */
static void outbox_since(struct mark m, char *out, size_t outlen)
{
	queryf(out, outlen,
	       "SELECT kind || ':' || channel || ':' || replace(rcpt, char(10), '/') FROM outbox WHERE id > %lld ORDER BY id",
	       m.outbox);
}

static long long added(struct mark m, const char *table)
{
	return countf("SELECT count(*) FROM %s WHERE id > %lld", table,
	              !strcmp(table, "message")  ? m.message
	              : !strcmp(table, "outbox") ? m.outbox
	                                         : m.audit);
}

/* A conversation's state:closed_at:urgent. */
static void state(long long conv, char *out, size_t outlen)
{
	queryf(out, outlen, "SELECT state || ':' || closed_at || ':' || urgent FROM conversation WHERE id = %lld", conv);
}

static void test_reply_email(struct relay *r, long long conv, const char *fwd)
{
	char got[2048], want[256];
	struct mark m = mark();

	r->now += 60;
	CHECK_INT("email reply: handled", adviser(r, fwd, "Thank you for writing, Sam.\r\nWe can talk now.\r\n"), 0);
	outbox_since(m, got, sizeof got);
	CHECK_STR("email reply: one reply to the young person's address, then the receipt to every adviser", got,
	          "reply:email:sam@example.net/,receipt:email:adviser1@example.org/adviser2@example.org/");
	CHECK_INT("email reply: exactly one row of kind reply",
	          countf("SELECT count(*) FROM outbox WHERE id > %lld AND kind = 'reply'", m.outbox), 1);
	queryf(got, sizeof got,
	       "SELECT kind || ':' || channel || ':' || author || ':' || replace(body, char(10), '|') FROM message WHERE id > %lld",
	       m.message);
	CHECK_STR("email reply: one transcript row, the text as sent", got,
	          "reply:email:adviser1@example.org:Thank you for writing, Sam.|We can talk now.");
	CHECK_INT("email reply: the outbox row carries that transcript row",
	          countf("SELECT count(*) FROM outbox o JOIN message m ON m.id = o.message WHERE o.id > %lld AND "
	                 "o.kind = 'reply' AND m.kind = 'reply' AND o.conversation_id = %lld",
	                 m.outbox, conv),
	          1);
	CHECK_INT("email reply: the email holds the adviser's words", queued_saying(m, "reply", "We can talk now."), 1);
	CHECK_INT("email reply: the receipt says how it went", queued_saying(m, "receipt", "by email"), 1);
	queryf(got, sizeof got, "SELECT actor || ':' || action || ':' || detail FROM audit WHERE id > %lld", m.audit);
	CHECK_STR("email reply: the audit trail names the adviser", got, "adviser1@example.org:replied:email");
	snprintf(want, sizeof want, "%lld:%lld", r->now, r->now);
	queryf(got, sizeof got, "SELECT last_adviser_reply_at || ':' || last_activity FROM conversation WHERE id = %lld",
	       conv);
	CHECK_STR("email reply: the conversation notes the reply and the activity", got, want);
}

static void test_reply_sms(struct relay *r, long long conv, const char *fwd)
{
	char got[2048];
	struct mark m = mark();

	r->now += 60;
	CHECK_INT("text reply: handled", adviser(r, fwd, "Hi, we got your text. Are you safe now?\r\n"), 0);
	outbox_since(m, got, sizeof got);
	CHECK_STR("text reply: one text to the number, then the receipt by email", got,
	          "reply:sms:+447700900123,receipt:email:adviser1@example.org/adviser2@example.org/");
	queryf(got, sizeof got,
	       "SELECT o.parts || ':' || " DATA " FROM outbox o JOIN outbox_data d ON d.id = o.id "
	       "WHERE o.id > %lld AND o.kind = 'reply'",
	       m.outbox);
	CHECK_STR("text reply: the text as sent, in one part", got, "1:Hi, we got your text. Are you safe now?");
	queryf(got, sizeof got, "SELECT kind || ':' || channel || ':' || body FROM message WHERE id > %lld", m.message);
	CHECK_STR("text reply: recorded on the conversation's channel", got,
	          "reply:sms:Hi, we got your text. Are you safe now?");
	CHECK_INT("text reply: the receipt says it went by text, in one part",
	          queued_saying(m, "receipt", "by text message, in 1 part"), 1);
	CHECK_INT("text reply: the conversation notes the reply",
	          countf("SELECT last_adviser_reply_at FROM conversation WHERE id = %lld", conv), r->now);

	/* Longer than [sms] max_parts (4) allows: refused, the adviser told. */
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 25; i++)
		buf_adds(&b, "Please call us back when you can, any time. ");
	buf_adds(&b, "\r\n");
	m = mark();
	r->now += 60;
	CHECK_INT("long text reply: handled", adviser(r, fwd, buf_str(&b)), 0);
	buf_free(&b);
	outbox_since(m, got, sizeof got);
	CHECK_STR("long text reply: nothing to the number; a notice to the adviser who wrote it", got,
	          "notice:email:adviser1@example.org/");
	queryf(got, sizeof got, "SELECT kind || ':' || detail || ':' || length(body) FROM message WHERE id > %lld",
	       m.message);
	CHECK_STR("long text reply: held, saying why, with the text", got, "held:too long for a text message:1099");
	CHECK_INT("long text reply: the notice gives the parts and the limit",
	          queued_saying(m, NULL, "need 8 text message parts and the most one reply may take is 4"), 1);

	/* The same with commands above it: given back whole, no command carried
	 * out, so that sending it again does not note twice or restart a block. */
	buf_init(&b);
	buf_adds(&b, "#note Called the school\r\n#block 7\r\n\r\n");
	for (int i = 0; i < 25; i++)
		buf_adds(&b, "Please call us back when you can, any time. ");
	buf_adds(&b, "\r\n");
	m = mark();
	r->now += 60;
	CHECK_INT("long text reply with commands: handled", adviser(r, fwd, buf_str(&b)), 0);
	buf_free(&b);
	queryf(got, sizeof got, "SELECT kind || ':' || coalesce(detail, '') FROM message WHERE id > %lld", m.message);
	CHECK_STR("long text reply with commands: held, no note and no command row", got,
	          "held:too long for a text message");
	CHECK_INT("long text reply with commands: the number not blocked",
	          countf("SELECT count(*) FROM contact WHERE channel = 'sms' AND address = '+447700900123' AND "
	                 "blocked_until > %lld",
	                 r->now),
	          0);
	outbox_since(m, got, sizeof got);
	CHECK_STR("long text reply with commands: only the notice", got, "notice:email:adviser1@example.org/");
	CHECK_INT("long text reply with commands: the notice says no command was carried out",
	          queued_saying(m, NULL, "No command in it was carried out"), 1);
}

/* One #command alone: nothing queued, its transcript row and audit row. */
static void command_only(struct relay *r, long long conv, const char *fwd, const char *body, const char *name,
                         const char *row_want)
{
	char got[1024], label[160], want[512];
	struct mark m = mark();
	r->now += 60;
	snprintf(label, sizeof label, "%s: handled", name);
	CHECK_INT(label, adviser(r, fwd, body), 0);
	snprintf(label, sizeof label, "%s: nothing queued", name);
	CHECK_INT(label, added(m, "outbox"), 0);
	queryf(got, sizeof got,
	       "SELECT kind || ':' || channel || ':' || author || ':' || body FROM message WHERE id > %lld AND "
	       "conversation_id = %lld",
	       m.message, conv);
	snprintf(label, sizeof label, "%s: one transcript row, by the adviser", name);
	snprintf(want, sizeof want, "%s", row_want);
	CHECK_STR(label, got, want);
	queryf(got, sizeof got, "SELECT actor || ':' || action || ':' || detail FROM audit WHERE id > %lld", m.audit);
	snprintf(label, sizeof label, "%s: one audit row", name);
	if (!strncmp(row_want, "note:", 5))
		snprintf(want, sizeof want, "adviser1@example.org:note:email");
	else
		snprintf(want, sizeof want, "adviser1@example.org:command:%s", strrchr(row_want, ':') + 1);
	CHECK_STR(label, got, want);
	snprintf(label, sizeof label, "%s: the conversation's last activity", name);
	CHECK_INT(label, countf("SELECT last_activity FROM conversation WHERE id = %lld", conv), r->now);
}

static void test_commands(struct relay *r, long long conv, const char *fwd)
{
	char got[1024], want[256];
	struct mark m;

	command_only(r, conv, fwd, "#note Spoke to the school today.\r\n", "#note",
	             "note:email:adviser1@example.org:Spoke to the school today.");
	state(conv, got, sizeof got);
	CHECK_STR("#note: the conversation is as it was", got, "open:0:0");

	command_only(r, conv, fwd, "#urgent\r\n", "#urgent", "command:email:adviser1@example.org:#urgent");
	state(conv, got, sizeof got);
	CHECK_STR("#urgent: the conversation is urgent", got, "open:0:1");

	command_only(r, conv, fwd, "#block 7\r\n", "#block 7", "command:email:adviser1@example.org:#block 7");
	CHECK_INT("#block 7: the contact is blocked for seven days",
	          count("SELECT blocked_until FROM contact WHERE channel = 'email' AND address = 'sam@example.net'"),
	          r->now + 7 * DAY);
	command_only(r, conv, fwd, "#unblock\r\n", "#unblock", "command:email:adviser1@example.org:#unblock");
	CHECK_INT(
		"#unblock: the contact is no longer blocked",
		count("SELECT ifnull(blocked_until, 0) FROM contact WHERE channel = 'email' AND address = 'sam@example.net'"),
		0);
	command_only(r, conv, fwd, "#block\r\n", "#block", "command:email:adviser1@example.org:#block");
	CHECK_INT("#block: indefinitely is a hundred years",
	          count("SELECT blocked_until FROM contact WHERE channel = 'email' AND address = 'sam@example.net'"),
	          r->now + 100LL * 365 * DAY);
	command_only(r, conv, fwd, "#unblock\r\n", "#unblock again", "command:email:adviser1@example.org:#unblock");

	command_only(r, conv, fwd, "#close\r\n", "#close", "command:email:adviser1@example.org:#close");
	state(conv, got, sizeof got);
	snprintf(want, sizeof want, "closed:%lld:1", r->now);
	CHECK_STR("#close: closed now", got, want);
	command_only(r, conv, fwd, "#reopen\r\n", "#reopen", "command:email:adviser1@example.org:#reopen");
	state(conv, got, sizeof got);
	CHECK_STR("#reopen: open again, no closing time", got, "open:0:1");

	/* Two commands and an answer: both carried out, in order, then the answer relayed. */
	m = mark();
	r->now += 60;
	CHECK_INT("#note and #close with an answer: handled",
	          adviser(r, fwd, "#note Last contact for now\r\n\r\n#close\r\n\r\nTake care, Sam.\r\n"), 0);
	queryf(got, sizeof got, "SELECT kind || ':' || body FROM message WHERE id > %lld ORDER BY id", m.message);
	CHECK_STR("#note and #close with an answer: the note, the command, then the reply", got,
	          "note:Last contact for now,command:#close,reply:Take care, Sam.");
	outbox_since(m, got, sizeof got);
	CHECK_STR("#note and #close with an answer: the answer relayed, the receipt", got,
	          "reply:email:sam@example.net/,receipt:email:adviser1@example.org/adviser2@example.org/");
	state(conv, got, sizeof got);
	snprintf(want, sizeof want, "closed:%lld:1", r->now);
	CHECK_STR("#note and #close with an answer: closed after relaying it", got, want);
	command_only(r, conv, fwd, "#reopen\r\n", "#reopen after the answer", "command:email:adviser1@example.org:#reopen");

	/* Commands that cannot be carried out: held, the adviser told, nothing changed. */
	static const struct {
		const char *name, *body, *notice;
	} bad[] = {
		{ "mistyped command", "#clsoe\r\n\r\nHello Sam.\r\n", "is not a command" },
		{ "#close with #reopen", "#close\r\n#reopen\r\n\r\nHello Sam.\r\n", "cannot go together" },
		{ "#block 0 days", "#block 0\r\n\r\nHello Sam.\r\n", "is not a number of days" },
		{ "#close below the answer", "Hello Sam.\r\n#close\r\n", "must go on the first lines" },
		{ "#urgent with words after it", "#urgent now please\r\n\r\nHello Sam.\r\n", "takes nothing after it" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char label[160];
		m = mark();
		r->now += 60;
		snprintf(label, sizeof label, "%s: handled", bad[i].name);
		CHECK_INT(label, adviser(r, fwd, bad[i].body), 0);
		queryf(got, sizeof got, "SELECT kind || ':' || author || ':' || detail FROM message WHERE id > %lld",
		       m.message);
		snprintf(label, sizeof label, "%s: held, no command row", bad[i].name);
		CHECK_STR(label, got, "held:adviser1@example.org:adviser command not understood");
		outbox_since(m, got, sizeof got);
		snprintf(label, sizeof label, "%s: only a notice to the adviser who wrote it", bad[i].name);
		CHECK_STR(label, got, "notice:email:adviser1@example.org/");
		snprintf(label, sizeof label, "%s: the notice says what is wrong", bad[i].name);
		CHECK_INT(
			label,
			countf("SELECT count(*) FROM outbox o JOIN outbox_data d ON d.id = o.id WHERE o.id > %lld AND " DATA
		               " LIKE '%%%s%%' AND " DATA " LIKE '%%Nothing was sent%%'",
		               m.outbox, bad[i].notice),
			1);
		state(conv, got, sizeof got);
		snprintf(label, sizeof label, "%s: the conversation is as it was", bad[i].name);
		CHECK_STR(label, got, "open:0:1");
	}
	CHECK_INT(
		"bad commands: the contact stays unblocked",
		count("SELECT ifnull(blocked_until, 0) FROM contact WHERE channel = 'email' AND address = 'sam@example.net'"),
		0);
}

/* Replies to a closed conversation: within reopen_days they reopen it; after, held. */
static void test_closed(struct relay *r, long long conv, const char *fwd)
{
	char got[2048], want[256], ref[64];
	struct mark m;

	queryf(ref, sizeof ref, "SELECT ref FROM conversation WHERE id = %lld", conv);
	r->now += 60;
	CHECK_INT("close: handled", adviser(r, fwd, "#close\r\n"), 0);
	long long closed = r->now;

	/* A command alone does not reopen it. */
	r->now = closed + 2 * DAY;
	command_only(r, conv, fwd, "#note Checked in with the school\r\n", "#note while closed",
	             "note:email:adviser1@example.org:Checked in with the school");
	state(conv, got, sizeof got);
	snprintf(want, sizeof want, "closed:%lld:1", closed);
	CHECK_STR("#note while closed: still closed", got, want);

	/* A reply exactly reopen_days after closing still reaches the young person, and reopens it. */
	m = mark();
	r->now = closed + REOPEN_DAYS * DAY;
	CHECK_INT("reply on the last day: handled", adviser(r, fwd, "Checking in: how are you?\r\n"), 0);
	outbox_since(m, got, sizeof got);
	CHECK_STR("reply on the last day: relayed", got,
	          "reply:email:sam@example.net/,receipt:email:adviser1@example.org/adviser2@example.org/");
	state(conv, got, sizeof got);
	CHECK_STR("reply on the last day: reopened", got, "open:0:1");
	CHECK_INT("reply on the last day: the conversation's last activity",
	          countf("SELECT last_activity FROM conversation WHERE id = %lld", conv), r->now);

	/* Closed again; a reply a second after reopen_days: held. */
	r->now += 60;
	CHECK_INT("close again: handled", adviser(r, fwd, "#close\r\n"), 0);
	closed = r->now;
	m = mark();
	r->now = closed + REOPEN_DAYS * DAY + 1;
	CHECK_INT("reply too late: handled", adviser(r, fwd, "Are you still there?\r\n"), 0);
	queryf(got, sizeof got, "SELECT kind || ':' || author || ':' || detail FROM message WHERE id > %lld", m.message);
	CHECK_STR("reply too late: held, saying why", got,
	          "held:adviser1@example.org:the conversation closed more than reopen_days ago");
	outbox_since(m, got, sizeof got);
	CHECK_STR("reply too late: nothing to the young person; a notice to the adviser", got,
	          "notice:email:adviser1@example.org/");
	char like[200];
	snprintf(like, sizeof like, "%%closed more than %d days ago%%relay send %s%%", REOPEN_DAYS, ref);
	CHECK_INT("reply too late: the notice says how to write to them",
	          countf("SELECT count(*) FROM outbox o JOIN outbox_data d ON d.id = o.id WHERE o.id > %lld AND "
	                 "replace(replace(" DATA ", char(13), ''), char(10), ' ') LIKE '%s'",
	                 m.outbox, like),
	          1);
	state(conv, got, sizeof got);
	snprintf(want, sizeof want, "closed:%lld:1", closed);
	CHECK_STR("reply too late: still closed, its closing time kept", got, want);

	/* A #reopen too late is no way round it. */
	m = mark();
	r->now += 60;
	CHECK_INT("#reopen too late: handled", adviser(r, fwd, "#reopen\r\n"), 0);
	queryf(got, sizeof got, "SELECT kind || ':' || detail FROM message WHERE id > %lld", m.message);
	CHECK_STR("#reopen too late: held", got, "held:the conversation closed more than reopen_days ago");
	CHECK_INT("#reopen too late: no command row",
	          countf("SELECT count(*) FROM message WHERE id > %lld AND kind = 'command'", m.message), 0);
	state(conv, got, sizeof got);
	CHECK_STR("#reopen too late: still closed", got, want);
}

/* A conversation left open but idle counts as closed close_after_days after its last activity. */
static void test_idle(struct relay *r, long long conv, const char *fwd)
{
	char got[1024];
	long long last = count("SELECT last_activity FROM conversation WHERE channel = 'sms'");
	struct mark m = mark();

	r->now = last + (CLOSE_AFTER_DAYS + REOPEN_DAYS) * DAY;
	CHECK_INT("idle, within reopen_days: handled", adviser(r, fwd, "Hello again.\r\n"), 0);
	outbox_since(m, got, sizeof got);
	CHECK_STR("idle, within reopen_days: relayed by text", got,
	          "reply:sms:+447700900123,receipt:email:adviser1@example.org/adviser2@example.org/");
	state(conv, got, sizeof got);
	CHECK_STR("idle, within reopen_days: open", got, "open:0:0");

	m = mark();
	last = r->now;
	r->now = last + (CLOSE_AFTER_DAYS + REOPEN_DAYS) * DAY + 1;
	CHECK_INT("idle too long: handled", adviser(r, fwd, "Hello again?\r\n"), 0);
	queryf(got, sizeof got, "SELECT kind || ':' || detail FROM message WHERE id > %lld", m.message);
	CHECK_STR("idle too long: held", got, "held:the conversation closed more than reopen_days ago");
	outbox_since(m, got, sizeof got);
	CHECK_STR("idle too long: nothing to the number", got, "notice:email:adviser1@example.org/");
	CHECK_INT("idle too long: last activity unchanged",
	          countf("SELECT last_activity FROM conversation WHERE id = %lld", conv), last);
}

/* Replies with nothing for the young person after cleaning, and mail that is not a reply. */
static void test_held(struct relay *r, long long conv, const char *fwd)
{
	char got[2048];
	struct mark m;

	/* Only the young person's words, quoted back. */
	m = mark();
	r->now += 60;
	CHECK_INT("only quoted history: handled", adviser(r, fwd, "On Tue, Sam wrote:\r\n> I need to talk to someone.\r\n"),
	          0);
	queryf(got, sizeof got, "SELECT kind || ':' || detail FROM message WHERE id > %lld", m.message);
	CHECK_STR("only quoted history: held, saying why", got,
	          "held:after removing the quoted history, signature and footers, nothing was left to send");
	outbox_since(m, got, sizeof got);
	CHECK_STR("only quoted history: no reply queued; the adviser told", got, "notice:email:adviser1@example.org/");

	/* Only a signature. */
	m = mark();
	r->now += 60;
	CHECK_INT("only a signature: handled", adviser(r, fwd, "-- \r\nAdviser One\r\nR-U-Safe?\r\n"), 0);
	queryf(got, sizeof got, "SELECT kind || ':' || detail FROM message WHERE id > %lld", m.message);
	CHECK_STR("only a signature: held, saying why", got,
	          "held:after removing the quoted history, signature and footers, nothing was left to send");
	CHECK_INT("only a signature: no reply queued",
	          countf("SELECT count(*) FROM outbox WHERE id > %lld AND kind = 'reply'", m.outbox), 0);
	CHECK_INT("only a signature: one notice", countf("SELECT count(*) FROM outbox WHERE id > %lld", m.outbox), 1);

	/* Blank lines only. */
	m = mark();
	r->now += 60;
	CHECK_INT("blank reply: handled", adviser(r, fwd, "\r\n   \r\n\r\n"), 0);
	queryf(got, sizeof got, "SELECT kind FROM message WHERE id > %lld", m.message);
	CHECK_STR("blank reply: held", got, "held");
	CHECK_INT("blank reply: no reply queued",
	          countf("SELECT count(*) FROM outbox WHERE id > %lld AND kind = 'reply'", m.outbox), 0);

	/* A zero-width space only: kept by the cleaning, blank to the commands' reading. */
	m = mark();
	r->now += 60;
	CHECK_INT("zero-width space only: handled",
	          adviser_as(r, "adviser1@example.org", fwd, "Content-Type: text/plain; charset=utf-8\r\n",
	                     "\xE2\x80\x8B\r\n"),
	          0);
	queryf(got, sizeof got, "SELECT kind || ':' || detail FROM message WHERE id > %lld", m.message);
	CHECK_STR("zero-width space only: held, saying why", got, "held:nothing left after removing quotes");
	outbox_since(m, got, sizeof got);
	CHECK_STR("zero-width space only: no reply queued; the adviser told", got, "notice:email:adviser1@example.org/");
	CHECK_INT("zero-width space only: the notice says why", queued_saying(m, NULL, "nothing was left to send"), 1);

	/* An adviser's out-of-office answering the forward: kept, never relayed, nobody told. */
	m = mark();
	r->now += 60;
	CHECK_INT("out of office: handled",
	          adviser_as(r, "adviser2@example.org", fwd, "Auto-Submitted: auto-replied\r\n",
	                     "I am out of the office until Monday.\r\n"),
	          0);
	queryf(got, sizeof got, "SELECT kind || ':' || author || ':' || (detail IS NOT NULL) FROM message WHERE id > %lld",
	       m.message);
	CHECK_STR("out of office: kept as automatic, with why", got, "automatic:adviser2@example.org:1");
	CHECK_INT("out of office: nothing queued", added(m, "outbox"), 0);

	/* An adviser writing to the service with no thread: held, with no conversation. */
	m = mark();
	r->now += 60;
	CHECK_INT("no thread: handled", adviser(r, NULL, "Can someone call Sam?\r\n"), 0);
	CHECK_INT("no thread: nothing in any transcript", added(m, "message"), 0);
	queryf(got, sizeof got, "SELECT kind || ':' || ifnull(conversation_id, 'none') FROM outbox WHERE id > %lld",
	       m.outbox);
	CHECK_STR("no thread: the advisers told, of no conversation", got, "notice:none");
	CHECK_INT("no thread: the notice says why", queued_saying(m, NULL, "does not answer a forward"), 1);
	(void)conv;
}

static int console(struct relay *r, long long conv, const char *who, const char *typed, const char *contact, char *err,
                   size_t errlen)
{
	struct conversation c;
	err[0] = '\0';
	if (db_conversation_by_id(r->db, conv, &c) != 0)
		return -2;
	if (contact) {
		free(c.contact);
		c.contact = xstrdup(contact);
	}
	int rc = db_begin(r->db) < 0 ? -2 : replies_from_console(r, &c, who, typed, err, errlen);
	if (rc == 0 && db_commit(r->db) < 0)
		rc = -2;
	if (rc != 0)
		db_rollback(r->db);
	conversation_free(&c);
	return rc;
}

static void test_console(struct relay *r, long long email_conv, long long sms_conv)
{
	char got[2048], err[512], want[256];
	struct mark m;

	/* By email, with control characters typed or pasted in. */
	m = mark();
	r->now += 60;
	CHECK_INT("console email: queued",
	          console(r, email_conv, "operator alice", "Hello Sam,\x1b[2J this is the office.\a\r\nCall us.\n", NULL,
	                  err, sizeof err),
	          0);
	queryf(got, sizeof got,
	       "SELECT kind || ':' || channel || ':' || author || ':' || replace(body, char(10), '|') FROM message WHERE id > %lld",
	       m.message);
	CHECK_STR("console email: recorded as a reply by the operator, control characters made spaces", got,
	          "reply:email:operator alice:Hello Sam, [2J this is the office.|Call us.");
	outbox_since(m, got, sizeof got);
	CHECK_STR("console email: one reply to the young person; the receipt to forward_to only", got,
	          "reply:email:sam@example.net/,receipt:email:adviser1@example.org/adviser2@example.org/");
	CHECK_INT("console email: no control character queued",
	          countf("SELECT count(*) FROM outbox o JOIN outbox_data d ON d.id = o.id WHERE o.id > %lld AND "
	                 "(instr(" DATA ", char(27)) OR instr(" DATA ", char(7)))",
	                 m.outbox),
	          0);
	queryf(got, sizeof got, "SELECT actor || ':' || action FROM audit WHERE id > %lld", m.audit);
	CHECK_STR("console email: the audit trail names the operator", got, "operator alice:replied");
	snprintf(want, sizeof want, "%lld:%lld", r->now, r->now);
	queryf(got, sizeof got, "SELECT last_adviser_reply_at || ':' || last_activity FROM conversation WHERE id = %lld",
	       email_conv);
	CHECK_STR("console email: the conversation notes it", got, want);

	/* By text. */
	m = mark();
	r->now += 60;
	CHECK_INT("console text: queued",
	          console(r, sms_conv, "operator bob", "Hi, this is the office.", NULL, err, sizeof err), 0);
	queryf(got, sizeof got,
	       "SELECT o.kind || ':' || o.channel || ':' || o.rcpt || ':' || o.parts || ':' || " DATA " "
	       "FROM outbox o JOIN outbox_data d ON d.id = o.id WHERE o.id > %lld AND o.kind = 'reply'",
	       m.outbox);
	CHECK_STR("console text: one text, as typed", got, "reply:sms:+447700900123:1:Hi, this is the office.");
	CHECK_INT("console text: and a receipt", countf("SELECT count(*) FROM outbox WHERE id > %lld", m.outbox), 2);
	queryf(got, sizeof got, "SELECT kind || ':' || channel || ':' || author FROM message WHERE id > %lld", m.message);
	CHECK_STR("console text: recorded", got, "reply:sms:operator bob");

	/* Refused: nothing stored, nothing queued, err says why. */
	static const struct {
		const char *name, *typed, *contact, *err;
	} refused[] = {
		{ "console empty", "", NULL, "nothing to send" },
		{ "console blank", "  \n\t\n\n", NULL, "nothing to send" },
		{ "console quotes only", "> I need to talk to someone.\n> Are you there?\n", NULL, "nothing to send" },
		{ "console controls only", "\x1b\a\b\x01\n", NULL, "nothing to send" },
		{ "console purged contact", "Hello.", "", "contact details were removed" },
		{ "console no sender address", "Hello.", "unknown", "had no sender address" },
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char label[160];
		m = mark();
		snprintf(label, sizeof label, "%s: refused (1)", refused[i].name);
		CHECK_INT(label,
		          console(r, email_conv, "operator alice", refused[i].typed, refused[i].contact, err, sizeof err),
		          1);
		snprintf(label, sizeof label, "%s: says why", refused[i].name);
		CHECK(label, strstr(err, refused[i].err) != NULL);
		snprintf(label, sizeof label, "%s: nothing stored or queued", refused[i].name);
		CHECK_INT(label, added(m, "message") + added(m, "outbox") + added(m, "audit"), 0);
	}
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 20; i++)
		buf_adds(&b, "Please call us back when you can, any time. ");
	m = mark();
	CHECK_INT("console text too long: refused", console(r, sms_conv, "operator bob", buf_str(&b), NULL, err, sizeof err),
	          1);
	buf_free(&b);
	CHECK("console text too long: says why",
	      strstr(err, "it would need 6 text message parts and the most one reply may take is 4") != NULL);
	CHECK_INT("console text too long: nothing stored or queued", added(m, "message") + added(m, "outbox"), 0);
}

int main(void)
{
	char extra[200];
	snprintf(extra, sizeof extra, "[policy]\nreopen_days = %d\nclose_after_days = %d\n\n[sms]\nmax_parts = 4\n",
	         REOPEN_DAYS, CLOSE_AFTER_DAYS);
	struct relay r;
	if (engine_start(extra, &r) < 0)
		return check_done();

	/* Two young people: one by email, one by text. */
	CHECK_INT("young email: handled",
	          email(&r, "From: Sam <sam@example.net>\r\nTo: rusafe@example.org\r\nSubject: hello\r\n"
	                    "Message-ID: <s1@example.net>\r\n\r\nI need to talk to someone.\r\n"),
	          0);
	CHECK_INT("young text: handled", engine_text(&r, "SM1", "07700 900123", "Can someone help me?"), 0);
	long long econv = count("SELECT id FROM conversation WHERE channel = 'email'");
	long long sconv = count("SELECT id FROM conversation WHERE channel = 'sms'");
	char efwd[300], sfwd[300];
	forward_id(econv, efwd, sizeof efwd);
	forward_id(sconv, sfwd, sizeof sfwd);
	CHECK("both forwarded", efwd[0] && sfwd[0] && econv > 0 && sconv > 0 && econv != sconv);

	test_reply_email(&r, econv, efwd);
	test_reply_sms(&r, sconv, sfwd);
	test_commands(&r, econv, efwd);
	test_held(&r, econv, efwd);
	test_console(&r, econv, sconv);
	test_closed(&r, econv, efwd);
	test_idle(&r, sconv, sfwd);

	engine_stop(&r);
	return check_done();
}
