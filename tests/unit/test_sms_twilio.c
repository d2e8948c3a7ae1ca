/* test_sms_twilio.c: Twilio's responses, parsed exactly in the API's shapes,
 * and the provider-independent parts of sms.c (opening, names, classes). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sms.h"
#include "sms_twilio.h"

#define ACCT "AC00000000000000000000000000000001"
#define LIST "/2010-04-01/Accounts/" ACCT "/Messages.json"

/* A message resource as Twilio lists it. */
#define MSG(sid, dir, from, to, body, sent)                                                         \
	"{\"account_sid\": \"" ACCT "\", \"api_version\": \"2010-04-01\", \"body\": " body ", "     \
	"\"date_created\": \"" sent "\", \"date_sent\": \"" sent "\", "                             \
	"\"date_updated\": \"" sent "\", \"direction\": \"" dir "\", \"error_code\": null, "        \
	"\"error_message\": null, \"from\": \"" from "\", \"messaging_service_sid\": null, "        \
	"\"num_media\": \"0\", \"num_segments\": \"1\", \"price\": null, \"price_unit\": \"USD\", " \
	"\"sid\": \"" sid "\", \"status\": \"received\", \"subresource_uris\": {\"media\": "        \
	"\"/2010-04-01/Accounts/" ACCT "/Messages/" sid "/Media.json\"}, \"to\": \"" to "\", "      \
	"\"uri\": \"/2010-04-01/Accounts/" ACCT "/Messages/" sid ".json\"}"

/* Page 0 of 2 (newest first), with outbound entries mixed in. */
static const char page0[] =
	"{\"end\": 2, \"first_page_uri\": \"" LIST "?To=%2B447700900001&PageSize=3&Page=0\", "
	"\"next_page_uri\": \"" LIST "?To=%2B447700900001&PageSize=3&Page=1&PageToken=PASM0003\", "
	"\"page\": 0, \"page_size\": 3, \"previous_page_uri\": null, \"start\": 0, "
	"\"uri\": \"" LIST "?To=%2B447700900001&PageSize=3&Page=0\", \"messages\": [" MSG(
		"SM0003", "inbound", "+447700900123", "+447700900001", "\"are you there?\"",
		"Tue, 05 Mar 2024 10:00:00 +0000") ", " MSG("SM0002", "outbound-api", "+447700900001", "+447700900123",
                                                            "\"Thanks for your message\"",
                                                            "Mon, 04 Mar 2024 23:59:59 +0000") ", " MSG("SM0001", "inbound",
                                                                                                        "+447700900456",
                                                                                                        "+447700900001",
                                                                                                        "\"caf\\u00e9 \\ud83d\\ude00 & \\\"quotes\\\"\"",
                                                                                                        "Mon, 04 Mar 2024 23:59:59 +0000") "]}";

static const char page1[] =
	"{\"end\": 4, \"first_page_uri\": \"" LIST "?To=%2B447700900001&PageSize=3&Page=0\", "
	"\"next_page_uri\": null, \"page\": 1, \"page_size\": 3, "
	"\"previous_page_uri\": \"" LIST "?To=%2B447700900001&PageSize=3&Page=0\", \"start\": 3, "
	"\"uri\": \"" LIST "?To=%2B447700900001&PageSize=3&Page=1&PageToken=PASM0003\", \"messages\": [" MSG(
		"SM0000", "inbound", "+447700900123", "+447700900001", "\"hello\"",
		"Mon, 04 Mar 2024 09:00:00 +0000") ", " MSG("SMffff", "outbound-reply", "+447700900001", "+447700900123",
                                                            "\"auto reply\"", "Mon, 04 Mar 2024 09:00:01 +0000") "]}";

static int parse(const char *json, struct twilio_page *p)
{
	char err[256];

	return twilio_parse_page(json, strlen(json), p, err, sizeof(err));
}

static void test_two_pages(void)
{
	struct twilio_page p0, p1;
	struct sms_text all[8];
	size_t n = 0;
	char err[256];
	char *cursor;

	CHECK_INT("page0 parses", twilio_parse_page(page0, strlen(page0), &p0, err, sizeof(err)), 0);
	CHECK_INT("page0: inbound only", p0.n, 2);
	CHECK_STR("page0: next page", p0.next_page_uri, LIST "?To=%2B447700900001&PageSize=3&Page=1&PageToken=PASM0003");
	CHECK_INT("page1 parses", parse(page1, &p1), 0);
	CHECK_INT("page1: inbound only", p1.n, 1);
	CHECK("page1: last page", p1.next_page_uri == NULL);
	if (p0.n != 2 || p1.n != 1)
		goto out;

	CHECK_STR("page0[0] sid", p0.texts[0].id, "SM0003");
	CHECK_STR("page0[0] from", p0.texts[0].from, "+447700900123");
	CHECK_STR("page0[0] to", p0.texts[0].to, "+447700900001");
	CHECK_STR("page0[0] body", p0.texts[0].body, "are you there?");
	CHECK_INT("page0[0] time", p0.texts[0].received_at, 1709632800LL);
	CHECK("page0[0] no ack handle", p0.texts[0].ack == NULL);
	CHECK_STR("page0[1] unicode body", p0.texts[1].body, "caf\xc3\xa9 \xf0\x9f\x98\x80 & \"quotes\"");

	/* What fetch does: pages in order, then oldest first. */
	memcpy(all, p0.texts, p0.n * sizeof(*all));
	n = p0.n;
	memcpy(all + n, p1.texts, p1.n * sizeof(*all));
	n += p1.n;
	sms_texts_oldest_first(all, n);
	CHECK_STR("oldest first: 1", all[0].id, "SM0000");
	CHECK_STR("oldest first: 2", all[1].id, "SM0001");
	CHECK_STR("oldest first: 3", all[2].id, "SM0003");
	cursor = twilio_cursor(all[2].received_at);
	CHECK_STR("cursor: date of the newest", cursor, "2024-03-05");
	free(cursor);
	/* all[] shares the strings; the pages still own them. */
out:
	twilio_page_free(&p0);
	twilio_page_free(&p1);
	twilio_page_free(NULL);
}

static void test_oldest_first_stable(void)
{
	struct sms_text t[4];
	const char *ids[] = { "d", "c", "b", "a" }; /* newest first, as listed */
	long long at[] = { 300, 200, 200, 100 };
	int i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < 4; i++) {
		t[i].id = (char *)ids[i];
		t[i].received_at = at[i];
	}
	sms_texts_oldest_first(t, 4);
	CHECK_STR("stable: a", t[0].id, "a");
	CHECK_STR("stable: same second keeps listing order reversed (b)", t[1].id, "b");
	CHECK_STR("stable: c", t[2].id, "c");
	CHECK_STR("stable: d", t[3].id, "d");
	sms_texts_oldest_first(t, 0);
	sms_texts_oldest_first(t, 1);
	CHECK_STR("one: unchanged", t[0].id, "a");
}

static void expect_page_error(const char *name, const char *json, size_t len)
{
	struct twilio_page p;
	char err[256] = "";

	CHECK_INT(name, twilio_parse_page(json, len, &p, err, sizeof(err)), -1);
	CHECK("error: has text", err[0] != '\0');
	CHECK("error: page left empty", p.texts == NULL && p.n == 0 && p.next_page_uri == NULL);
	twilio_page_free(&p);
}

static void test_malformed_pages(void)
{
	static const char *bad[] = {
		"",
		"{",
		"[]",
		"null",
		"42",
		"\"messages\"",
		"{\"messages\": {}}",
		"{\"messages\": null}",
		"{\"messages\": [], \"next_page_uri\": 5}",
		"{\"messages\": [], \"next_page_uri\": \"https://evil.example/x\"}",
		"{\"messages\": [], \"next_page_uri\": \"//evil.example/x\"}",
		"{\"messages\": [], \"next_page_uri\": \"/a b\"}",
		"{\"messages\": []} trailing",
		"{\"messages\": [}",
		"{\"messages\": [] ",
	};
	struct twilio_page p;
	char err[256], *deep;
	size_t i, depth = 100000;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_page_error(bad[i], bad[i], strlen(bad[i]));
	expect_page_error("NULL body", NULL, 0);

	/* Deep nesting: json-c's depth limit, not the stack. */
	deep = malloc(2 * depth + 20);
	strcpy(deep, "{\"messages\": ");
	memset(deep + 13, '[', depth);
	memset(deep + 13 + depth, ']', depth);
	strcpy(deep + 13 + 2 * depth, "}");
	expect_page_error("deep nesting", deep, strlen(deep));
	free(deep);

	/* Only len bytes count: the rest of the buffer is not ours to read. */
	CHECK_INT("len respected", twilio_parse_page("{\"messages\": []}XXXX", 16, &p, err, sizeof(err)), 0);
	twilio_page_free(&p);

	/* Entries of the wrong shape are skipped, not fatal. */
	{
		static const char odd[] =
			"{\"messages\": [1, \"x\", null, [], {}, {\"direction\": 5}, "
			"{\"direction\": \"inbound\", \"sid\": 7, \"from\": \"+447700900123\"}, "
			"{\"direction\": \"inbound\", \"sid\": \"SMnofrom\"}, "
			"{\"direction\": \"inbound\", \"sid\": \"\", \"from\": \"+447700900123\"}, "
			"{\"direction\": \"inbound\", \"sid\": \"SMok\", \"from\": \"+447700900123\", \"body\": 12, "
			"\"date_sent\": 99999999999999999999999, \"date_created\": \"Mon, 04 Mar 2024 09:00:00 GMT\"}, "
			"{\"direction\": \"inbound\", \"sid\": \"SMnull\", \"from\": \"+447700900123\", \"body\": null, "
			"\"to\": {\"x\": 1}, \"date_sent\": \"yesterday\"}, "
			"{\"direction\": \"inbound\", \"sid\": \"SMnul\", \"from\": \"+447700900123\", "
			"\"body\": \"a\\u0000b\\u00e9\", \"date_sent\": null}], "
			"\"next_page_uri\": null, \"page\": 99999999999999999999999999, \"page_size\": -1e999}";

		CHECK_INT("odd entries: parses", parse(odd, &p), 0);
		CHECK_INT("odd entries: three kept", p.n, 3);
		if (p.n == 3) {
			CHECK_STR("number body: empty", p.texts[0].body, "");
			CHECK_INT("number date_sent: date_created used", p.texts[0].received_at, 1709542800LL);
			CHECK_STR("null body: empty", p.texts[1].body, "");
			CHECK("object to: NULL", p.texts[1].to == NULL);
			CHECK_INT("bad date: 0", p.texts[1].received_at, 0);
			CHECK_STR("NUL dropped", p.texts[2].body, "ab\xc3\xa9");
		}
		twilio_page_free(&p);
	}

	/* Invalid UTF-8 reaches the relay as U+FFFD, not as raw bytes. */
	{
		static const char raw[] = "{\"messages\": [{\"direction\": \"inbound\", \"sid\": \"SM1\", "
					  "\"from\": \"+447700900123\", \"body\": \"a\xff"
					  "b\"}]}";

		CHECK_INT("bad utf-8: parses", parse(raw, &p), 0);
		if (p.n == 1)
			CHECK_STR("bad utf-8: replaced", p.texts[0].body,
			          "a\xef\xbf\xbd"
			          "b");
		twilio_page_free(&p);
	}
}

static void test_dates(void)
{
	long long t = -1;

	CHECK_INT("date: twilio form", twilio_parse_date("Wed, 18 Aug 2010 20:01:40 +0000", &t), 0);
	CHECK_INT("date: value", t, 1282161700LL);
	CHECK_INT("date: offset", twilio_parse_date("Wed, 18 Aug 2010 21:01:40 +0100", &t), 0);
	CHECK_INT("date: offset value", t, 1282161700LL);
	CHECK_INT("date: negative offset", twilio_parse_date("Wed, 18 Aug 2010 15:01:40 -0500", &t), 0);
	CHECK_INT("date: negative offset value", t, 1282161700LL);
	CHECK_INT("date: GMT, no weekday", twilio_parse_date("18 Aug 2010 20:01:40 GMT", &t), 0);
	CHECK_INT("date: GMT value", t, 1282161700LL);
	CHECK_INT("date: one-digit day", twilio_parse_date("Fri, 1 Mar 2024 00:00:00 +0000", &t), 0);
	CHECK_INT("date: one-digit day value", t, 1709251200LL);
	CHECK_INT("date: leap day", twilio_parse_date("Thu, 29 Feb 2024 12:00:00 +0000", &t), 0);
	CHECK_INT("date: no seconds", twilio_parse_date("Thu, 29 Feb 2024 12:00 UT", &t), 0);

	CHECK_INT("date: NULL", twilio_parse_date(NULL, &t), -1);
	CHECK_INT("date: empty", twilio_parse_date("", &t), -1);
	CHECK_INT("date: ISO refused", twilio_parse_date("2024-03-05T10:00:00Z", &t), -1);
	CHECK_INT("date: 31 Feb", twilio_parse_date("Sat, 31 Feb 2024 12:00:00 +0000", &t), -1);
	CHECK_INT("date: 29 Feb 2023", twilio_parse_date("Wed, 29 Feb 2023 12:00:00 +0000", &t), -1);
	CHECK_INT("date: hour 24", twilio_parse_date("Tue, 05 Mar 2024 24:00:00 +0000", &t), -1);
	CHECK_INT("date: bad month", twilio_parse_date("Tue, 05 Foo 2024 10:00:00 +0000", &t), -1);
	CHECK_INT("date: no zone", twilio_parse_date("Tue, 05 Mar 2024 10:00:00", &t), -1);
	CHECK_INT("date: trailing", twilio_parse_date("Tue, 05 Mar 2024 10:00:00 +0000 x", &t), -1);
	CHECK_INT("date: huge year", twilio_parse_date("Tue, 05 Mar 99999 10:00:00 +0000", &t), -1);
	CHECK_INT("date: truncated", twilio_parse_date("Tue, 05 Ma", &t), -1);
}

static void test_cursor(void)
{
	char *c;

	c = twilio_cursor(1709632800LL);
	CHECK_STR("cursor: date", c, "2024-03-05");
	free(c);
	c = twilio_cursor(1709596799LL); /* 23:59:59 UTC on the 4th */
	CHECK_STR("cursor: UTC day", c, "2024-03-04");
	free(c);
	CHECK("cursor valid", twilio_cursor_valid("2024-03-05"));
	CHECK("cursor: NULL", !twilio_cursor_valid(NULL));
	CHECK("cursor: short", !twilio_cursor_valid("2024-3-05"));
	CHECK("cursor: injection", !twilio_cursor_valid("2024-03-05&PageSize=1"));
	CHECK("cursor: letters", !twilio_cursor_valid("2024-0a-05"));
	CHECK("cursor: ISO time is not a Twilio cursor", !twilio_cursor_valid("2024-03-05T10:00:00Z"));
}

static void expect_error(const char *name, long status, const char *json, enum sms_result want)
{
	char err[256] = "";

	CHECK_INT(name, twilio_parse_error(status, json, json ? strlen(json) : 0, err, sizeof(err)), want);
	CHECK("error text never quotes a number", strstr(err, "7700900") == NULL);
	CHECK("error text present", err[0] != '\0');
}

static void test_errors(void)
{
	char err[256];

	expect_error("21610 opted out", 400,
	             "{\"code\": 21610, \"message\": \"Attempt to send to unsubscribed recipient\", "
	             "\"more_info\": \"https://www.twilio.com/docs/errors/21610\", \"status\": 400}",
	             SMS_OPTED_OUT);
	expect_error("20429 too many requests", 429,
	             "{\"code\": 20429, \"message\": \"Too Many Requests\", "
	             "\"more_info\": \"https://www.twilio.com/docs/errors/20429\", \"status\": 429}",
	             SMS_TEMPORARY);
	expect_error("20429 under another status", 400, "{\"code\": 20429}", SMS_TEMPORARY);
	expect_error("429 without a body", 429, "", SMS_TEMPORARY);
	expect_error("401 auth", 401,
	             "{\"code\": 20003, \"message\": \"Authenticate\", "
	             "\"more_info\": \"https://www.twilio.com/docs/errors/20003\", \"status\": 401}",
	             SMS_AUTH);
	expect_error("403 auth", 403, "{\"code\": 20003}", SMS_AUTH);
	expect_error("invalid number: permanent, number not quoted", 400,
	             "{\"code\": 21211, \"message\": \"The 'To' number +447700900123 is not a valid phone number.\", "
	             "\"more_info\": \"https://www.twilio.com/docs/errors/21211\", \"status\": 400}",
	             SMS_PERMANENT);
	expect_error("404 permanent", 404, "{\"code\": 20404, \"message\": \"not found\"}", SMS_PERMANENT);
	expect_error("500 temporary", 500, "<html>Internal Server Error</html>", SMS_TEMPORARY);
	expect_error("503 temporary", 503, NULL, SMS_TEMPORARY);
	expect_error("code as a string is not trusted", 400, "{\"code\": \"21610\"}", SMS_PERMANENT);
	expect_error("huge code", 400, "{\"code\": 99999999999999999999999999}", SMS_PERMANENT);
	expect_error("float code", 400, "{\"code\": 21610.0}", SMS_PERMANENT);
	expect_error("array body", 400, "[21610]", SMS_PERMANENT);
	expect_error("2xx with an error body: not success", 200, "{\"code\": 30001}", SMS_TEMPORARY);

	CHECK_INT("error names code", twilio_parse_error(400, "{\"code\": 21211}", 15, err, sizeof(err)), SMS_PERMANENT);
	CHECK("error names code: 21211", strstr(err, "21211") != NULL);
	CHECK("error names status: 400", strstr(err, "400") != NULL);
	twilio_parse_error(400, "{\"code\": 21211}", 15, err, 8);
	CHECK_INT("small err buffer: truncated", strlen(err), 7);
}

static void test_message_and_status(void)
{
	static const char created[] =
		"{\"account_sid\": \"" ACCT "\", \"api_version\": \"2010-04-01\", \"body\": \"Thanks\", "
		"\"date_created\": \"Thu, 24 Aug 2023 05:01:45 +0000\", \"date_sent\": null, "
		"\"date_updated\": \"Thu, 24 Aug 2023 05:01:45 +0000\", \"direction\": \"outbound-api\", "
		"\"error_code\": null, \"error_message\": null, \"from\": \"+447700900001\", "
		"\"messaging_service_sid\": null, \"num_media\": \"0\", \"num_segments\": \"1\", \"price\": null, "
		"\"price_unit\": \"GBP\", \"sid\": \"SM1f0e8ae6ade43cb3c0ce4525424e404f\", \"status\": \"queued\", "
		"\"subresource_uris\": {\"media\": \"/x\"}, \"to\": \"+447700900123\", \"uri\": \"/x.json\"}";
	enum sms_delivery d = SMS_DELIVERY_FAILED;
	char err[256], *sid = NULL;

	CHECK_INT("201 answer parses", twilio_parse_message(created, strlen(created), &sid, &d, err, sizeof(err)), 0);
	CHECK_STR("201 answer: sid", sid, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
	CHECK_INT("201 answer: queued", d, SMS_DELIVERY_QUEUED);
	free(sid);
	CHECK_INT("no delivery wanted", twilio_parse_message(created, strlen(created), &sid, NULL, err, sizeof(err)), 0);
	free(sid);

	CHECK_INT("no sid", twilio_parse_message("{\"status\": \"sent\"}", 18, &sid, &d, err, sizeof(err)), -1);
	CHECK("no sid: NULL", sid == NULL);
	CHECK_INT("sid a number", twilio_parse_message("{\"sid\": 5}", 10, &sid, &d, err, sizeof(err)), -1);
	CHECK_INT("not JSON", twilio_parse_message("<xml/>", 6, &sid, &d, err, sizeof(err)), -1);
	CHECK_INT("empty", twilio_parse_message("", 0, &sid, &d, err, sizeof(err)), -1);
	CHECK_INT("status a number: unknown",
	          twilio_parse_message("{\"sid\": \"SM1\", \"status\": 3}", 27, &sid, &d, err, sizeof(err)), 0);
	CHECK_INT("status a number: unknown d", d, SMS_DELIVERY_UNKNOWN);
	free(sid);

	CHECK_INT("map accepted", twilio_delivery("accepted"), SMS_DELIVERY_QUEUED);
	CHECK_INT("map queued", twilio_delivery("queued"), SMS_DELIVERY_QUEUED);
	CHECK_INT("map sending", twilio_delivery("sending"), SMS_DELIVERY_QUEUED);
	CHECK_INT("map sent", twilio_delivery("sent"), SMS_DELIVERY_SENT);
	CHECK_INT("map delivered", twilio_delivery("delivered"), SMS_DELIVERY_DELIVERED);
	CHECK_INT("map undelivered", twilio_delivery("undelivered"), SMS_DELIVERY_UNDELIVERED);
	CHECK_INT("map failed", twilio_delivery("failed"), SMS_DELIVERY_FAILED);
	CHECK_INT("map canceled", twilio_delivery("canceled"), SMS_DELIVERY_FAILED);
	CHECK_INT("map received", twilio_delivery("received"), SMS_DELIVERY_UNKNOWN);
	CHECK_INT("map case matters", twilio_delivery("Delivered"), SMS_DELIVERY_UNKNOWN);
	CHECK_INT("map NULL", twilio_delivery(NULL), SMS_DELIVERY_UNKNOWN);
}

static void test_length(void)
{
	char *long_text = malloc(TWILIO_MAX_BODY * 4 + 1);
	int i;

	CHECK_INT("length: ascii", twilio_length("hello"), 5);
	CHECK_INT("length: accents count once", twilio_length("caf\xc3\xa9"), 4);
	CHECK_INT("length: emoji counts once", twilio_length("\xf0\x9f\x98\x80!"), 2);
	CHECK_INT("length: empty", twilio_length(""), 0);
	CHECK_INT("length: NULL", twilio_length(NULL), 0);
	for (i = 0; i < TWILIO_MAX_BODY; i++)
		memcpy(long_text + 4 * i, "\xf0\x9f\x98\x80", 4);
	long_text[4 * TWILIO_MAX_BODY] = '\0';
	CHECK_INT("length: 1600 emoji", twilio_length(long_text), TWILIO_MAX_BODY);
	free(long_text);
}

static int try_open(const char *provider, const char *url, const char *account, const char *user, const char *password,
                    const char *number, int page_size, char *err, size_t errlen)
{
	struct sms_settings s = { 0 };
	struct sms_gateway *g = NULL;
	int r;

	s.provider = provider;
	s.url = url;
	s.account = account;
	s.username = user;
	s.password = password;
	s.number = number;
	s.page_size = page_size;
	err[0] = '\0';
	r = sms_open(&s, &g, err, errlen);
	if (r == 0) {
		CHECK("open: provider chosen", g && g->provider && strcmp(g->provider->name, provider) == 0);
		CHECK("open: settings kept", g && g->settings.number == number);
	}
	sms_close(g);
	return r;
}

static void test_open(void)
{
	const char *u = "https://api.twilio.com", *n = "+447700900001";
	char err[256];

	CHECK_INT("open twilio", try_open("twilio", u, ACCT, NULL, "tok", n, 0, err, sizeof(err)), 0);
	CHECK_INT("open twilio with API key", try_open("twilio", u, ACCT, "SK1", "tok", n, 0, err, sizeof(err)), 0);
	CHECK_INT("open android", try_open("android", "http://127.0.0.1:8080", NULL, "sms", "pw", n, 0, err, sizeof(err)),
	          0);
	CHECK_INT("unknown provider", try_open("nexmo", u, ACCT, NULL, "tok", n, 0, err, sizeof(err)), -1);
	CHECK("unknown provider: named", strstr(err, "nexmo") != NULL);
	CHECK_INT("no provider", try_open(NULL, u, ACCT, NULL, "tok", n, 0, err, sizeof(err)), -1);
	CHECK_INT("no url", try_open("twilio", NULL, ACCT, NULL, "tok", n, 0, err, sizeof(err)), -1);
	CHECK_INT("blank url", try_open("twilio", "  ", ACCT, NULL, "tok", n, 0, err, sizeof(err)), -1);
	CHECK_INT("no number", try_open("twilio", u, ACCT, NULL, "tok", NULL, 0, err, sizeof(err)), -1);
	CHECK_INT("twilio: no account", try_open("twilio", u, NULL, "SK1", "tok", n, 0, err, sizeof(err)), -1);
	CHECK_INT("no password", try_open("twilio", u, ACCT, NULL, NULL, n, 0, err, sizeof(err)), -1);
	CHECK_INT("android: no username",
	          try_open("android", "https://phone.example", NULL, NULL, "pw", n, 0, err, sizeof(err)), -1);
	CHECK_INT("http to a public host",
	          try_open("twilio", "http://api.twilio.com", ACCT, NULL, "tok", n, 0, err, sizeof(err)), -1);
	CHECK("http refusal: never the token", strstr(err, "tok") == NULL);
	CHECK_INT("negative page size", try_open("twilio", u, ACCT, NULL, "tok", n, -1, err, sizeof(err)), -1);
	sms_close(NULL);
	sms_texts_free(NULL, 3);
}

static void test_names_and_classes(void)
{
	CHECK_STR("result ok", sms_result_name(SMS_OK), "ok");
	CHECK_STR("result temporary", sms_result_name(SMS_TEMPORARY), "temporary");
	CHECK_STR("result permanent", sms_result_name(SMS_PERMANENT), "permanent");
	CHECK_STR("result auth", sms_result_name(SMS_AUTH), "auth");
	CHECK_STR("result opted out", sms_result_name(SMS_OPTED_OUT), "opted-out");
	CHECK_STR("result out of range", sms_result_name((enum sms_result)99), "unknown");
	CHECK_STR("delivery unknown", sms_delivery_name(SMS_DELIVERY_UNKNOWN), "unknown");
	CHECK_STR("delivery queued", sms_delivery_name(SMS_DELIVERY_QUEUED), "queued");
	CHECK_STR("delivery sent", sms_delivery_name(SMS_DELIVERY_SENT), "sent");
	CHECK_STR("delivery delivered", sms_delivery_name(SMS_DELIVERY_DELIVERED), "delivered");
	CHECK_STR("delivery undelivered", sms_delivery_name(SMS_DELIVERY_UNDELIVERED), "undelivered");
	CHECK_STR("delivery failed", sms_delivery_name(SMS_DELIVERY_FAILED), "failed");

	CHECK_INT("200 ok", sms_classify_status(200), SMS_OK);
	CHECK_INT("201 ok", sms_classify_status(201), SMS_OK);
	CHECK_INT("202 ok", sms_classify_status(202), SMS_OK);
	CHECK_INT("204 ok", sms_classify_status(204), SMS_OK);
	CHECK_INT("400 permanent", sms_classify_status(400), SMS_PERMANENT);
	CHECK_INT("401 auth", sms_classify_status(401), SMS_AUTH);
	CHECK_INT("403 auth", sms_classify_status(403), SMS_AUTH);
	CHECK_INT("404 permanent", sms_classify_status(404), SMS_PERMANENT);
	CHECK_INT("408 temporary", sms_classify_status(408), SMS_TEMPORARY);
	CHECK_INT("413 permanent", sms_classify_status(413), SMS_PERMANENT);
	CHECK_INT("429 temporary", sms_classify_status(429), SMS_TEMPORARY);
	CHECK_INT("500 temporary", sms_classify_status(500), SMS_TEMPORARY);
	CHECK_INT("503 temporary", sms_classify_status(503), SMS_TEMPORARY);
	CHECK_INT("599 temporary", sms_classify_status(599), SMS_TEMPORARY);
	CHECK_INT("0 temporary", sms_classify_status(0), SMS_TEMPORARY);
	CHECK_INT("301 temporary (not followed)", sms_classify_status(301), SMS_TEMPORARY);
	CHECK_INT("100 temporary", sms_classify_status(100), SMS_TEMPORARY);
	CHECK_INT("negative temporary", sms_classify_status(-1), SMS_TEMPORARY);
}

int main(void)
{
	test_two_pages();
	test_oldest_first_stable();
	test_malformed_pages();
	test_dates();
	test_cursor();
	test_errors();
	test_message_and_status();
	test_length();
	test_open();
	test_names_and_classes();
	return check_done();
}
