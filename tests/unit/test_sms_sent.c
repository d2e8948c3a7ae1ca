/* test_sms_sent.c: finding a text the gateway took although its answer was
 * lost: the match (sms_sent_match) and each provider's reading of its list
 * of sent messages. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sms.h"
#include "sms_android.h"
#include "sms_esendex.h"
#include "sms_twilio.h"
#include "util.h"

static const char *claimed; /* the id known() says is another text's */

static int known(void *arg, const char *id)
{
	(void)arg;
	return claimed && !strcmp(id, claimed);
}

static int broken(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return -1;
}

static void test_match(void)
{
	struct sms_text t[] = {
		/* newest first, as listed */
		{ .id = "C", .from = "+447700900000", .to = "+447700900123", .body = "hello", .received_at = 1300 },
		{ .id = "B", .from = "+447700900000", .to = "447700900123", .body = "hello", .received_at = 1200 },
		{ .id = "X", .from = "+447700900000", .to = "+447700900999", .body = "hello", .received_at = 1250 },
		{ .id = "Y", .from = "+447700900000", .to = "+447700900123", .body = "hello!", .received_at = 1250 },
		{ .id = "Z", .from = "+447700900555", .to = "+447700900123", .body = "hello", .received_at = 1250 },
		{ .id = "A", .from = "+447700900000", .to = "+447700900123", .body = "hello", .received_at = 900 },
	};
	size_t n = sizeof t / sizeof t[0];
	const char *us = "+447700900000", *to = "+447700900123";

	claimed = NULL;
	CHECK_INT("the oldest match at or after since", sms_sent_match(t, n, us, to, "hello", 1000, known, NULL), 1);
	CHECK_INT("numbers compare by digits (Esendex lists 447...)",
	          sms_sent_match(t, n, us, "447700900123", "hello", 1000, NULL, NULL), 1);
	claimed = "B";
	CHECK_INT("an id already recorded for another text is skipped",
	          sms_sent_match(t, n, us, to, "hello", 1000, known, NULL), 0);
	claimed = NULL;
	CHECK_INT("before since: not this text", sms_sent_match(t, n, us, to, "hello", 1301, known, NULL), -1);
	CHECK_INT("the body must be the same exactly", sms_sent_match(t, n, us, to, "hello!", 0, NULL, NULL), 3);
	CHECK_INT("no such body", sms_sent_match(t, n, us, to, "Hello", 0, NULL, NULL), -1);
	CHECK_INT("another sender's text is not ours", sms_sent_match(t + 4, 1, us, to, "hello", 0, NULL, NULL), -1);
	CHECK_INT("a listing without from (Android) passes",
	          sms_sent_match(&(struct sms_text){ .id = "P", .to = "+447700900123", .body = "hi", .received_at = 5 }, 1,
	                         us, to, "hi", 0, NULL, NULL),
	          0);
	CHECK_INT("an entry without an id cannot be recorded",
	          sms_sent_match(&(struct sms_text){ .to = "+447700900123", .body = "hi", .received_at = 5 }, 1, us, to,
	                         "hi", 0, NULL, NULL),
	          -1);
	CHECK_INT("known() failing is reported", sms_sent_match(t, n, us, to, "hello", 0, broken, NULL), -2);
	CHECK_INT("empty list", sms_sent_match(NULL, 0, us, to, "hello", 0, NULL, NULL), -1);
}

static void test_twilio(void)
{
	const char *page =
		"{\"messages\": ["
		"{\"sid\": \"SM2\", \"direction\": \"outbound-api\", \"from\": \"+447700900000\", \"to\": \"+447700900123\","
		" \"body\": \"hello\", \"status\": \"queued\", \"date_created\": \"Fri, 04 Dec 2026 09:00:05 +0000\","
		" \"date_sent\": null},"
		"{\"sid\": \"SM1\", \"direction\": \"inbound\", \"from\": \"+447700900123\", \"to\": \"+447700900000\","
		" \"body\": \"hi\", \"date_created\": \"Fri, 04 Dec 2026 09:00:00 +0000\","
		" \"date_sent\": \"Fri, 04 Dec 2026 09:00:00 +0000\"},"
		"{\"sid\": \"SM0\", \"direction\": \"outbound-call\", \"from\": \"+447700900000\", \"to\": \"+447700900123\"},"
		"{\"sid\": \"SM3\", \"direction\": \"outbound-reply\", \"from\": \"+447700900000\", \"to\": \"+447700900123\","
		" \"body\": \"x\", \"date_created\": \"Fri, 04 Dec 2026 08:00:00 +0000\","
		" \"date_sent\": \"Fri, 04 Dec 2026 08:30:00 +0000\"}],"
		" \"next_page_uri\": \"/2010-04-01/Accounts/AC1/Messages.json?To=%2B447700900123&PageSize=2&Page=1&PageToken=PASM3\"}";
	struct twilio_page p;
	char err[256];

	CHECK_INT("twilio sent page parses", twilio_parse_sent_page(page, strlen(page), &p, err, sizeof err), 0);
	CHECK_INT("twilio: outbound-api and outbound-reply kept, inbound and calls left", p.n, 2);
	if (p.n == 2) {
		CHECK_STR("twilio: sid", p.texts[0].id, "SM2");
		CHECK_STR("twilio: body", p.texts[0].body, "hello");
		CHECK_STR("twilio: to", p.texts[0].to, "+447700900123");
		CHECK_INT("twilio: a queued text is timed by date_created", p.texts[0].received_at,
		          check_utc(2026, 12, 4, 9, 0) + 5);
		CHECK_INT("twilio: a sent text too (not date_sent)", p.texts[1].received_at, check_utc(2026, 12, 4, 8, 0));
	}
	CHECK("twilio: next page kept", p.next_page_uri && strstr(p.next_page_uri, "PageToken=PASM3"));
	twilio_page_free(&p);
	CHECK_INT("twilio: the inbound reader still keeps only inbound",
	          twilio_parse_page(page, strlen(page), &p, err, sizeof err) == 0 && p.n == 1 &&
	                  !strcmp(p.texts[0].id, "SM1"),
	          1);
	twilio_page_free(&p);
	CHECK_INT("twilio: not a list", twilio_parse_sent_page("[]", 2, &p, err, sizeof err), -1);
	twilio_page_free(&p);
}

static void test_esendex(void)
{
	const char *xml =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>"
		"<messageheaders startindex=\"0\" count=\"1\" totalcount=\"3\" xmlns=\"http://api.esendex.com/ns/\">"
		"<messageheader id=\"e1\" uri=\"https://api.esendex.com/v1.0/messageheaders/e1\">"
		"<reference>EX0000001</reference><status>Submitted</status>"
		"<sentat>2026-12-04T09:00:05.000Z</sentat><laststatusat>2026-12-04T09:00:05.000Z</laststatusat>"
		"<submittedat>2026-12-04T09:00:05.120Z</submittedat><type>SMS</type>"
		"<to><phonenumber>447700900123</phonenumber></to><from><phonenumber>447700900000</phonenumber></from>"
		"<summary>hello there, this i</summary><body id=\"e1\" uri=\"https://api.esendex.com/v1.0/messageheaders/e1/body\"/>"
		"<direction>Outbound</direction><parts>1</parts><username>relay@example.org</username>"
		"</messageheader></messageheaders>";
	struct esendex_page p;
	char err[256];
	long long next = 0;

	CHECK_INT("esendex sent page parses", esendex_parse_inbox(xml, strlen(xml), &p, err, sizeof err), 0);
	CHECK_INT("esendex: one header", p.n, 1);
	if (p.n == 1) {
		CHECK_INT("esendex: an outbound header is not inbound", p.headers[0].inbound, 0);
		CHECK_INT("esendex: submittedat read", p.headers[0].submitted_at, check_utc(2026, 12, 4, 9, 0) + 5);
		CHECK_INT("esendex: no receivedat on a sent text", p.headers[0].received_at, 0);
		CHECK_STR("esendex: to", p.headers[0].to, "447700900123");
	}
	CHECK_INT("esendex: sent messages page like the inbox", esendex_next_page(&p, 0, 1, &next), 1);
	CHECK_INT("esendex: next start", next, 1);
	esendex_page_free(&p);
}

static void test_android(void)
{
	const char *json =
		"[{\"id\": \"n1\", \"deviceId\": \"d\", \"state\": \"Pending\", \"isHashed\": false, \"isEncrypted\": false,"
		"  \"createdAt\": \"2026-12-04T10:00:05.000+01:00\", \"textMessage\": {\"text\": \"hello\"},"
		"  \"recipients\": [{\"phoneNumber\": \"+447700900123\", \"state\": \"Pending\", \"error\": null},"
		"                 {\"phoneNumber\": \"+447700900124\", \"state\": \"Pending\", \"error\": null}],"
		"  \"states\": {}},"
		" {\"id\": \"n2\", \"state\": \"Sent\", \"createdAt\": \"2026-12-04T09:00:00.000Z\", \"textMessage\": null,"
		"  \"dataMessage\": {\"data\": \"AA==\", \"port\": 53739},"
		"  \"recipients\": [{\"phoneNumber\": \"+447700900123\", \"state\": \"Sent\"}]},"
		" {\"state\": \"Sent\", \"recipients\": []},"
		" {\"id\": \"n3\", \"recipients\": \"nope\"}]";
	struct sms_text *t = NULL;
	size_t n = 0, count = 0;
	char err[256];

	CHECK_INT("android messages parse", android_parse_sent(json, strlen(json), &t, &n, &count, err, sizeof err), 0);
	CHECK_INT("android: every entry counted for paging", count, 4);
	CHECK_INT("android: one text per recipient of entries with an id", n, 3);
	if (n == 3) {
		CHECK_STR("android: id", t[0].id, "n1");
		CHECK_STR("android: to", t[1].to, "+447700900124");
		CHECK_STR("android: text", t[0].body, "hello");
		CHECK_INT("android: createdAt with its zone", t[0].received_at, check_utc(2026, 12, 4, 9, 0) + 5);
		CHECK_STR("android: a data message has no text", t[2].body, "");
		CHECK("android: no from", t[0].from == NULL);
	}
	sms_texts_free(t, n);
	CHECK_INT("android: not an array", android_parse_sent("{}", 2, &t, &n, &count, err, sizeof err), -1);
	CHECK_INT("android: not JSON", android_parse_sent("[", 1, &t, &n, &count, err, sizeof err), -1);
}

int main(void)
{
	test_match();
	test_twilio();
	test_esendex();
	test_android();
	return check_done();
}
