/* Unit tests for the engine's path of one received message, without servers:
 * intake.c (the per-message savepoint), inbound.c (routing an email),
 * young.c (a young person's email or text), replies.c (the advisers' side)
 * and received.c (threads, role, storing), over a temporary database with a
 * configuration written by the test. Each case checks what the transcript
 * (message) and the outbox hold afterwards, read by a connection of its own. */
#include <sqlite3.h>
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
#include "util.h"

#define YOUNG "From: Sam <sam@example.net>\r\nTo: rusafe@example.org\r\nDate: Tue, 24 Nov 2026 11:00:00 +0000\r\n"

static void test_email(struct relay *r)
{
	char got[2048], sql[512], forward_id[300], msg[2048];

	/* A young person's first email: stored, forwarded, answered. */
	CHECK_INT("first email: handled",
	          engine_email(r, "imap:INBOX:1:1",
	                       YOUNG "Subject: hello\r\nMessage-ID: <s1@example.net>\r\n\r\n"
	                             "I need to talk to someone.\r\n"),
	          0);
	query("SELECT channel || ':' || contact || ':' || state FROM conversation", got, sizeof got);
	CHECK_STR("first email: one conversation, by the normal form of the sender", got, "email:sam@example.net:open");
	query("SELECT kind || ':' || channel || ':' || rtrim(body, char(13, 10)) FROM message", got, sizeof got);
	CHECK_STR("first email: its transcript row", got, "inbound:email:I need to talk to someone.");
	query("SELECT kind || ':' || channel || ':' || rcpt FROM outbox ORDER BY id", got, sizeof got);
	CHECK_STR("first email: a forward to the advisers, then the first-contact reply to the sender", got,
	          "forward:email:adviser1@example.org\nadviser2@example.org\n,autoreply:email:sam@example.net\n");
	query("SELECT message FROM outbox WHERE kind = 'forward'", got, sizeof got);
	CHECK_STR("first email: the forward names its transcript row", got, "1");
	query("SELECT key FROM inbound_key ORDER BY key", got, sizeof got);
	CHECK("first email: its source key is kept", strstr(got, "imap:INBOX:1:1") != NULL);

	/* The same email again, under another key: skipped. */
	CHECK_INT("copy: skipped as taken in before (1)",
	          engine_email(r, "imap:INBOX:1:2",
	                       YOUNG "Subject: hello\r\nMessage-ID: <s1@example.net>\r\n\r\n"
	                             "I need to talk to someone.\r\n"),
	          1);
	CHECK_INT("copy: nothing more stored", count("SELECT count(*) FROM message"), 1);
	CHECK_INT("copy: nothing more queued", count("SELECT count(*) FROM outbox"), 2);

	/* A follow-up from another address, threaded by In-Reply-To to the first. */
	r->now += 60;
	CHECK_INT("follow-up: handled",
	          engine_email(r, "imap:INBOX:1:3",
	                       "From: Sam <sam.other@example.net>\r\nTo: rusafe@example.org\r\n"
	                       "Subject: Re: hello\r\nMessage-ID: <s2@example.net>\r\nIn-Reply-To: <s1@example.net>\r\n\r\n"
	                       "Are you there?\r\n"),
	          0);
	CHECK_INT("follow-up: the same conversation", count("SELECT count(*) FROM conversation"), 1);
	query("SELECT kind || ':' || conversation_id || ':' || ifnull(refs, '-') FROM message ORDER BY id", got, sizeof got);
	CHECK_STR("follow-up: its row, with its threads", got, "inbound:1:-,inbound:1:s1@example.net");
	query("SELECT kind FROM outbox ORDER BY id", got, sizeof got);
	CHECK_STR("follow-up: forwarded; no second first-contact reply", got, "forward,autoreply,forward");
	CHECK_INT("follow-up: the forward says it came from another address",
	          count("SELECT count(*) FROM outbox o JOIN outbox_data d ON d.id = o.id WHERE o.kind = 'forward' "
	                "AND CAST(d.data AS TEXT) LIKE '%written from a different address%'"),
	          1);

	/* An adviser's reply to the first forward, proved by the receiving server. */
	query("SELECT message_id FROM outbox WHERE kind = 'forward' ORDER BY id LIMIT 1", forward_id, sizeof forward_id);
	CHECK("the forward has a Message-ID", forward_id[0] == '<' || strchr(forward_id, '@'));
	char id[300];
	snprintf(id, sizeof id, "%s", forward_id[0] == '<' ? forward_id + 1 : forward_id);
	id[strcspn(id, ">")] = '\0';
	r->now += 60;
	snprintf(msg, sizeof msg,
	         "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n"
	         "From: Adviser One <adviser1@example.org>\r\nTo: rusafe@example.org\r\nSubject: Re: hello\r\n"
	         "Message-ID: <a1@example.org>\r\nIn-Reply-To: <%s>\r\n\r\nWe are here for you, Sam.\r\n",
	         id);
	CHECK_INT("adviser reply: handled", engine_email(r, "imap:INBOX:1:4", msg), 0);
	query("SELECT kind || ':' || channel || ':' || author || ':' || rtrim(body, char(13, 10)) FROM message ORDER BY id DESC LIMIT 1",
	      got, sizeof got);
	CHECK_STR("adviser reply: recorded as a reply", got, "reply:email:adviser1@example.org:We are here for you, Sam.");
	query("SELECT group_concat(kind || ':' || rcpt, '|') FROM (SELECT kind, rcpt FROM outbox WHERE id > 3 ORDER BY id)",
	      got, sizeof got);
	CHECK("adviser reply: relayed to the young person", strstr(got, "reply:sam@example.net") != NULL);
	CHECK("adviser reply: receipt to the advisers", strstr(got, "receipt:") != NULL);
	CHECK_INT("adviser reply: the conversation notes it",
	          count("SELECT last_adviser_reply_at FROM conversation WHERE id = 1"), r->now);

	/* The same From, but nothing proves it: held, the advisers told. */
	long long queued = count("SELECT count(*) FROM outbox");
	snprintf(msg, sizeof msg,
	         "From: Adviser One <adviser1@example.org>\r\nTo: rusafe@example.org\r\nSubject: Re: hello\r\n"
	         "Message-ID: <a2@example.org>\r\nIn-Reply-To: <%s>\r\n\r\nGive me your address.\r\n",
	         id);
	CHECK_INT("forged adviser: handled", engine_email(r, "imap:INBOX:1:5", msg), 0);
	query("SELECT kind || ':' || (detail LIKE '%nothing proves it%') FROM message ORDER BY id DESC LIMIT 1", got,
	      sizeof got);
	CHECK_STR("forged adviser: held, saying why", got, "held:1");
	CHECK_INT("forged adviser: one message queued", count("SELECT count(*) FROM outbox") - queued, 1);
	CHECK_INT("forged adviser: nothing to the young person",
	          count("SELECT count(*) FROM outbox WHERE rcpt LIKE '%sam@example.net%' AND kind = 'reply'"), 1);

	/* A stranger answering the forward: held. */
	snprintf(msg, sizeof msg,
	         "From: someone@example.com\r\nTo: rusafe@example.org\r\nSubject: Re: hello\r\n"
	         "Message-ID: <x1@example.com>\r\nIn-Reply-To: <%s>\r\n\r\nHello?\r\n",
	         id);
	CHECK_INT("stranger: handled", engine_email(r, "imap:INBOX:1:6", msg), 0);
	query("SELECT kind || ':' || author || ':' || detail FROM message ORDER BY id DESC LIMIT 1", got, sizeof got);
	CHECK_STR("stranger: held", got, "held:someone@example.com:the sender is not one of the allowed advisers");
	CHECK_INT("stranger: nothing to the young person",
	          count("SELECT count(*) FROM outbox WHERE rcpt LIKE '%sam@example.net%' AND kind = 'reply'"), 1);

	/* Automatic mail from a young person's side: kept, neither forwarded nor answered. */
	queued = count("SELECT count(*) FROM outbox");
	CHECK_INT("automatic: handled",
	          engine_email(r, "imap:INBOX:1:7",
	                       "From: kim@example.net\r\nTo: rusafe@example.org\r\nSubject: Away\r\n"
	                       "Auto-Submitted: auto-replied\r\nMessage-ID: <k1@example.net>\r\n\r\nI am away.\r\n"),
	          0);
	query("SELECT kind || ':' || (detail IS NOT NULL) FROM message ORDER BY id DESC LIMIT 1", got, sizeof got);
	CHECK_STR("automatic: stored as automatic, with why", got, "automatic:1");
	CHECK_INT("automatic: nothing queued", count("SELECT count(*) FROM outbox") - queued, 0);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM conversation WHERE contact = 'kim@example.net'");
	CHECK_INT("automatic: a conversation of its own", count(sql), 1);
}

static void test_text(struct relay *r)
{
	char got[2048];
	long long messages = count("SELECT count(*) FROM message"), queued = count("SELECT count(*) FROM outbox");

	r->now += 60;
	CHECK_INT("first text: handled", engine_text(r, "SM1", "07700 900123", "Can someone help me?"), 0);
	query("SELECT channel || ':' || contact || ':' || state FROM conversation ORDER BY id DESC LIMIT 1", got,
	      sizeof got);
	CHECK_STR("first text: a conversation by the number's E.164 form", got, "sms:+447700900123:open");
	query("SELECT kind || ':' || channel || ':' || body FROM message ORDER BY id DESC LIMIT 1", got, sizeof got);
	CHECK_STR("first text: its transcript row", got, "inbound:sms:Can someone help me?");
	query("SELECT kind || ':' || channel || ':' || rcpt FROM outbox WHERE id > (SELECT max(id) - 2 FROM outbox) ORDER BY id",
	      got, sizeof got);
	CHECK_STR("first text: forwarded by email, answered by text", got,
	          "forward:email:adviser1@example.org\nadviser2@example.org\n,autoreply:sms:+447700900123");
	CHECK_INT("first text: one row", count("SELECT count(*) FROM message") - messages, 1);
	CHECK_INT("first text: two queued", count("SELECT count(*) FROM outbox") - queued, 2);
	CHECK_INT("first text: its key kept", count("SELECT count(*) FROM inbound_key WHERE key = 'sms:twilio:SM1'"), 1);

	/* The gateway lists the same text again: skipped. */
	CHECK_INT("same id: taken in before", engine_text(r, "SM1", "07700 900123", "Can someone help me?"), 1);
	CHECK_INT("same id: nothing more stored", count("SELECT count(*) FROM message") - messages, 1);
	CHECK_INT("same id: nothing more queued", count("SELECT count(*) FROM outbox") - queued, 2);

	/* STOP: recorded with its keyword, the number opted out, confirmed. */
	r->now += 60;
	CHECK_INT("STOP: handled", engine_text(r, "SM2", "+447700900123", "STOP"), 0);
	query("SELECT detail FROM message ORDER BY id DESC LIMIT 1", got, sizeof got);
	CHECK_STR("STOP: the keyword noted", got, "keyword STOP");
	CHECK_INT("STOP: the number opted out",
	          count("SELECT count(*) FROM contact WHERE channel = 'sms' AND address = '+447700900123' "
	                "AND opted_out_at IS NOT NULL"),
	          1);
	CHECK_INT("STOP: still one conversation for the number",
	          count("SELECT count(*) FROM conversation WHERE contact = '+447700900123'"), 1);
}

int main(void)
{
	struct relay r;
	if (engine_start("", &r) < 0)
		return check_done();

	test_email(&r);
	test_text(&r);

	engine_stop(&r);
	return check_done();
}
