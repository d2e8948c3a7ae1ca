/* test_smtp.c: the pure parts of smtp (smtp_judge.c) — how replies become an outcome,
 * what a log may see of them, and what may be offered to a server. */
#include <string.h>

#include "check.h"
#include "smtp.h"

#define R(c, t)                   \
	{                         \
		(c), 0, 0, 0, (t) \
	}
#define RE(c, a, b, d, t)               \
	{                               \
		(c), (a), (b), (d), (t) \
	}

static const char GOOD[] = "Date: Thu, 21 Nov 2024 10:00:00 +0000\r\n"
			   "From: R-U-Safe? <rusafe@example.org>\r\n"
			   "To: adviser@example.org\r\n"
			   "Message-ID: <abc.123@example.org>\r\n"
			   "Subject: [RUS-1] hello\r\n"
			   "\r\n"
			   ".leading dot is libESMTP's to stuff\r\n"
			   "body\r\n";

static enum smtp_outcome judge(const struct smtp_reply *mail, const struct smtp_reply *rcpt, size_t n,
                               const struct smtp_reply *data, size_t *acc, char *d)
{
	return smtp_judge(mail, rcpt, n, data, acc, d, 256);
}

static void test_judge(void)
{
	struct smtp_reply ok = R(250, "2.1.0 Ok"), ok_rcpt = R(250, "Ok"), ok_data = R(250, "queued as X");
	struct smtp_reply none = R(0, NULL);
	struct smtp_reply t451 = RE(451, 4, 3, 0, "try later");
	struct smtp_reply p550 = RE(550, 5, 1, 1, "<kid@example.com>: Recipient address rejected: User unknown");
	struct smtp_reply p554 = RE(554, 5, 5, 1, "Error: no valid recipients");
	struct smtp_reply rcpts[3];
	char d[256];
	size_t acc = 99;

	rcpts[0] = ok_rcpt;
	rcpts[1] = ok_rcpt;
	rcpts[2] = ok_rcpt;
	CHECK_INT("all accepted: sent", judge(&ok, rcpts, 3, &ok_data, &acc, d), SMTP_SENT);
	CHECK_INT("all accepted: 3 recipients", acc, 3);
	CHECK_STR("sent: no detail", d, "");

	{
		struct smtp_reply r251[1] = { R(251, "will forward") };
		CHECK_INT("251 is acceptance", judge(&ok, r251, 1, &ok_data, &acc, d), SMTP_SENT);
	}
	{
		struct smtp_reply d2xx = R(251, "odd");
		CHECK_INT("data must be 250 exactly", judge(&ok, rcpts, 1, &d2xx, &acc, d), SMTP_TEMPORARY);
		CHECK_INT("odd data: nothing accepted", acc, 0);
	}

	/* MAIL FROM refused: recipients never offered. */
	CHECK_INT("mail 451: temporary", judge(&t451, rcpts, 3, &none, &acc, d), SMTP_TEMPORARY);
	CHECK_STR("mail 451: detail", d, "451 4.3.0 try later (MAIL FROM)");
	{
		struct smtp_reply p553 = RE(553, 5, 7, 1, "Sender address rejected: not owned by user x@y.org");
		struct smtp_reply never[1] = { R(0, NULL) };
		CHECK_INT("mail 553: permanent", judge(&p553, never, 1, &none, &acc, d), SMTP_PERMANENT);
		CHECK_STR("mail 553: address hidden", d,
		          "553 5.7.1 Sender address rejected: not owned by user <address> (MAIL FROM)");
	}
	CHECK_INT("mail never sent: temporary", judge(&none, rcpts, 3, &none, &acc, d), SMTP_TEMPORARY);
	CHECK_STR("mail never sent: detail", d, "no reply (MAIL FROM)");

	/* RCPT */
	{
		struct smtp_reply r[1] = { t451 };
		CHECK_INT("rcpt 451: temporary", judge(&ok, r, 1, &p554, &acc, d), SMTP_TEMPORARY);
		CHECK_STR("rcpt 451: detail names the position", d, "451 4.3.0 try later (recipient 1 of 1)");
		CHECK_INT("rcpt 451: nothing accepted", acc, 0);
	}
	{
		struct smtp_reply r[1] = { p550 };
		CHECK_INT("rcpt 550: permanent", judge(&ok, r, 1, &p554, &acc, d), SMTP_PERMANENT);
		CHECK_STR("rcpt 550: detail without the address, not the DATA echo", d,
		          "550 5.1.1 <address> Recipient address rejected: User unknown (recipient 1 of 1)");
	}
	{
		struct smtp_reply r[2] = { R(250, "Ok"), RE(550, 5, 1, 1, "no such user") };
		CHECK_INT("one of two refused: not sent", judge(&ok, r, 2, &ok_data, &acc, d), SMTP_PERMANENT);
		CHECK_STR("one of two refused: which", d, "550 5.1.1 no such user (recipient 2 of 2)");
		CHECK_INT("one of two refused: one reached", acc, 1);
	}
	{
		struct smtp_reply r[3] = { RE(550, 5, 1, 1, "gone"), R(250, "Ok"), RE(452, 4, 2, 2, "mailbox full") };
		CHECK_INT("temporary beats permanent", judge(&ok, r, 3, &ok_data, &acc, d), SMTP_TEMPORARY);
		CHECK_STR("temporary detail shown", d, "452 4.2.2 mailbox full (recipient 3 of 3)");
		CHECK_INT("temporary beats permanent: one reached", acc, 1);
	}
	{
		struct smtp_reply r[2] = { R(250, "Ok"), R(0, NULL) };
		CHECK_INT("recipient never answered: temporary", judge(&ok, r, 2, &none, &acc, d), SMTP_TEMPORARY);
		CHECK_STR("recipient never answered: detail", d, "no reply (recipient 2 of 2)");
	}

	/* DATA */
	{
		struct smtp_reply r[1] = { R(250, "Ok") };
		struct smtp_reply d451 = RE(451, 4, 3, 0, "Error: queue file write error");
		struct smtp_reply d554 = RE(554, 5, 7, 1, "rejected: spam");
		struct smtp_reply d354 = R(354, "End data with <CR><LF>.<CR><LF>");
		CHECK_INT("data 451: temporary", judge(&ok, r, 1, &d451, &acc, d), SMTP_TEMPORARY);
		CHECK_STR("data 451: detail", d, "451 4.3.0 Error: queue file write error (DATA)");
		CHECK_INT("data 554: permanent", judge(&ok, r, 1, &d554, &acc, d), SMTP_PERMANENT);
		CHECK_INT("data 554: none reached", acc, 0);
		CHECK_INT("data 354 then nothing: temporary", judge(&ok, r, 1, &d354, &acc, d), SMTP_TEMPORARY);
		CHECK_STR("data 354 then nothing: detail", d, "no reply (DATA)");
		CHECK_INT("data no reply: temporary", judge(&ok, r, 1, &none, &acc, d), SMTP_TEMPORARY);
		{
			struct smtp_reply d1 = R(199, "what");
			CHECK_INT("odd code: temporary", judge(&ok, r, 1, &d1, &acc, d), SMTP_TEMPORARY);
		}
	}
	CHECK_INT("no recipients: temporary", judge(&ok, NULL, 0, &none, &acc, d), SMTP_TEMPORARY);
}

static void test_describe(void)
{
	char out[256], small[40];
	struct smtp_reply r = RE(550, 5, 1, 1, "<kid@example.com>: Recipient rejected\r\nsecond line x@y");
	struct smtp_reply plain = R(421, "mx.example.org Service not available\r\n");
	struct smtp_reply ctl = R(550, "bad\x01\x7f"
	                               "ctl  text");
	struct smtp_reply nul = R(452, NULL);
	struct smtp_reply longr = R(550, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");

	smtp_describe(&r, "recipient 1 of 2", out, sizeof out);
	CHECK_STR("describe: first line only, address hidden", out,
	          "550 5.1.1 <address> Recipient rejected (recipient 1 of 2)");
	smtp_describe(&plain, "greeting", out, sizeof out);
	CHECK_STR("describe: no enhanced code", out, "421 mx.example.org Service not available (greeting)");
	smtp_describe(&ctl, "DATA", out, sizeof out);
	CHECK_STR("describe: controls dropped, spaces collapsed", out, "550 badctl text (DATA)");
	smtp_describe(&nul, "RCPT", out, sizeof out);
	CHECK_STR("describe: NULL text", out, "452 (RCPT)");
	smtp_describe(NULL, "MAIL FROM", out, sizeof out);
	CHECK_STR("describe: no reply", out, "no reply (MAIL FROM)");
	smtp_describe(&longr, "DATA", small, sizeof small);
	CHECK("describe: cut keeps where", strstr(small, "(DATA)") != NULL);
	CHECK("describe: cut fits", strlen(small) < sizeof small);
	{
		struct smtp_reply u = R(
			550,
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
		char s2[24];
		size_t i, ok = 1;

		smtp_describe(&u, "X", s2, sizeof s2);
		/* every 0xc3 is followed by its continuation byte */
		for (i = 0; s2[i]; i++)
			if ((unsigned char)s2[i] == 0xc3 && (unsigned char)s2[i + 1] != 0xa9)
				ok = 0;
		CHECK("describe: cut does not split UTF-8", ok);
		CHECK("describe: utf-8 cut keeps where", strstr(s2, "(X)") != NULL);
	}
}

static int mcheck(const char *data, size_t len, int *eb, char *err)
{
	return smtp_message_check(data, len, eb, err, 256);
}

static void test_message_check(void)
{
	char err[256], big[1100];
	int eb = -1;
	char msg[4096];

	CHECK_INT("good message", mcheck(GOOD, strlen(GOOD), &eb, err), 0);
	CHECK_INT("good message: 7-bit", eb, 0);
	CHECK_INT("empty", mcheck("", 0, &eb, err), -1);
	CHECK_INT("NULL", mcheck(NULL, 0, &eb, err), -1);

	snprintf(msg, sizeof msg, "%sbare\nlf\r\n", GOOD);
	CHECK_INT("bare LF refused", mcheck(msg, strlen(msg), &eb, err), -1);
	CHECK_STR("bare LF: names the line", err, "line 9 ends in a bare LF");
	snprintf(msg, sizeof msg, "%sbare\rcr\r\n", GOOD);
	CHECK_INT("bare CR refused", mcheck(msg, strlen(msg), &eb, err), -1);
	snprintf(msg, sizeof msg, "%sno end", GOOD);
	CHECK_INT("no final CRLF refused", mcheck(msg, strlen(msg), &eb, err), -1);
	snprintf(msg, sizeof msg, "%sends in CR\r", GOOD);
	CHECK_INT("final lone CR refused", mcheck(msg, strlen(msg), &eb, err), -1);
	{
		char nulmsg[sizeof GOOD + 8];
		memcpy(nulmsg, GOOD, sizeof GOOD - 1);
		memcpy(nulmsg + sizeof GOOD - 1, "a\0b\r\n", 5);
		CHECK_INT("NUL refused", mcheck(nulmsg, sizeof GOOD - 1 + 5, &eb, err), -1);
	}
	memset(big, 'x', 998);
	big[998] = '\0';
	snprintf(msg, sizeof msg, "%s%s\r\n", GOOD, big);
	CHECK_INT("998-octet line accepted", mcheck(msg, strlen(msg), &eb, err), 0);
	snprintf(msg, sizeof msg, "%s%sx\r\n", GOOD, big);
	CHECK_INT("999-octet line refused", mcheck(msg, strlen(msg), &eb, err), -1);
	CHECK_STR("long line: names it", err, "line 9 is longer than 998 octets");

	snprintf(msg, sizeof msg, "%s\xc3\xa9\r\n", GOOD);
	CHECK_INT("8-bit accepted", mcheck(msg, strlen(msg), &eb, err), 0);
	CHECK_INT("8-bit noticed", eb, 1);

	{
		const char *nodate = "From: a@example.org\r\nMessage-ID: <x@y>\r\n\r\nb\r\n";
		const char *nofrom = "Date: x\r\nMessage-ID: <x@y>\r\n\r\nb\r\n";
		const char *noid = "Date: x\r\nFrom: a@example.org\r\n\r\nb\r\n";
		const char *idbody = "Date: x\r\nFrom: a@example.org\r\n\r\nMessage-ID: <x@y>\r\n";
		const char *lower = "date: x\r\nfrom: a@example.org\r\nmessage-id: <x@y>\r\n\r\nb\r\n";
		const char *bcc = "Date: x\r\nFrom: a@example.org\r\nMessage-ID: <x@y>\r\nBCC: s@example.org\r\n\r\nb\r\n";
		const char *bccbody = "Date: x\r\nFrom: a@example.org\r\nMessage-ID: <x@y>\r\n\r\nBcc: fine\r\n";
		const char *idfold = "Date: x\r\nFrom: a@example.org\r\nMessage-ID:\r\n <x@y>\r\n\r\nb\r\n";
		const char *xid = "Date: x\r\nFrom: a@example.org\r\nX-Message-ID: <x@y>\r\n\r\nb\r\n";

		CHECK_INT("no Date refused", mcheck(nodate, strlen(nodate), &eb, err), -1);
		CHECK_STR("no Date: says so", err, "the message has no Date header (libESMTP would invent one)");
		CHECK_INT("no From refused", mcheck(nofrom, strlen(nofrom), &eb, err), -1);
		CHECK_INT("no Message-ID refused", mcheck(noid, strlen(noid), &eb, err), -1);
		CHECK_STR("no Message-ID: says so", err, "the message has no Message-ID header (libESMTP would invent one)");
		CHECK_INT("Message-ID in the body does not count", mcheck(idbody, strlen(idbody), &eb, err), -1);
		CHECK_INT("X-Message-ID does not count", mcheck(xid, strlen(xid), &eb, err), -1);
		CHECK_INT("header names in any case", mcheck(lower, strlen(lower), &eb, err), 0);
		CHECK_INT("Bcc refused", mcheck(bcc, strlen(bcc), &eb, err), -1);
		CHECK_INT("Bcc: in the body is text", mcheck(bccbody, strlen(bccbody), &eb, err), 0);
		CHECK_INT("folded Message-ID accepted", mcheck(idfold, strlen(idfold), &eb, err), 0);
	}
}

static void test_address(void)
{
	char longa[300];

	CHECK_INT("plain address", smtp_address_ok("adviser@example.org", 0), 1);
	CHECK_INT("postmaster", smtp_address_ok("postmaster", 0), 1);
	CHECK_INT("null sender allowed", smtp_address_ok("", 1), 1);
	CHECK_INT("null recipient refused", smtp_address_ok("", 0), 0);
	CHECK_INT("NULL refused", smtp_address_ok(NULL, 1), 0);
	CHECK_INT("CRLF injection refused", smtp_address_ok("a@b.org>\r\nRCPT TO:<c@d.org", 0), 0);
	CHECK_INT("LF refused", smtp_address_ok("a@b.org\n", 0), 0);
	CHECK_INT("angle bracket refused", smtp_address_ok("a@b.org> SIZE=1", 0), 0);
	CHECK_INT("space refused", smtp_address_ok("a b@c.org", 0), 0);
	CHECK_INT("8-bit refused (no SMTPUTF8)", smtp_address_ok("\xc3\xa9@b.org", 0), 0);
	memset(longa, 'a', 251);
	memcpy(longa + 251, "@b.o", 5); /* 255 octets */
	CHECK_INT("over 254 octets refused", smtp_address_ok(longa, 0), 0);
	longa[254] = '\0';
	CHECK_INT("254 octets accepted", smtp_address_ok(longa, 0), 1);
}

static void test_settings(void)
{
	struct smtp_settings s = { .host = "127.0.0.1", .port = 1, .security = NET_SECURITY_TLS, .timeout = 1 };
	struct smtp_outgoing m;
	static const char *const to[] = { "a@example.org" };
	char err[256];

	memset(&m, 0, sizeof m);
	m.mail_from = "r@example.org";
	m.rcpt = to;
	m.nrcpt = 1;
	m.data = GOOD;
	m.len = strlen(GOOD);

	CHECK_INT("implicit TLS refused", smtp_send(&s, &m, 1, err, sizeof err), -1);
	CHECK("implicit TLS: says starttls", strstr(err, "starttls") != NULL);
	CHECK_INT("implicit TLS: message kept for later", m.outcome, SMTP_TEMPORARY);
	CHECK_STR("implicit TLS: detail is the reason", m.detail, err);

	s.security = NET_SECURITY_NONE;
	s.username = "relay@example.org";
	s.password = "secret";
	CHECK_INT("password without TLS refused", smtp_check(&s, err, sizeof err), -1);
	CHECK("password without TLS: says why", strstr(err, "without TLS") != NULL);
	CHECK("error never holds the password", strstr(err, "secret") == NULL);

	s.security = NET_SECURITY_STARTTLS;
	s.password = NULL;
	CHECK_INT("user without password refused", smtp_check(&s, err, sizeof err), -1);
	s.username = NULL;
	s.host = "::1";
	CHECK_INT("IPv6 literal refused", smtp_check(&s, err, sizeof err), -1);
	s.host = "";
	CHECK_INT("no host refused", smtp_check(&s, err, sizeof err), -1);

	/* Refused messages never reach a server (none is listening on port 1). */
	s.host = "127.0.0.1";
	s.security = NET_SECURITY_NONE;
	m.data = "no headers\r\n";
	m.len = strlen(m.data);
	CHECK_INT("bad message alone: no session needed", smtp_send(&s, &m, 1, err, sizeof err), 0);
	CHECK_INT("bad message: permanent", m.outcome, SMTP_PERMANENT);
	m.data = GOOD;
	m.len = strlen(GOOD);
	m.mail_from = "x@y>\r\nRSET";
	CHECK_INT("bad sender: no session needed", smtp_send(&s, &m, 1, err, sizeof err), 0);
	CHECK_INT("bad sender: permanent", m.outcome, SMTP_PERMANENT);
	CHECK_STR("bad sender: detail hides it", m.detail, "the envelope sender is not a usable address");
}

int main(void)
{
	test_judge();
	test_describe();
	test_message_check();
	test_address();
	test_settings();
	return check_done();
}
