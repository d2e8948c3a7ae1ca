/* test_sms_esendex.c: the Esendex provider's readers and request writer,
 * over canned answers in the shapes the REST API sends, and hostile ones. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "check.h"
#include "sms_esendex.h"
#include "util.h"

#define NS "xmlns=\"http://api.esendex.com/ns/\""

/* Two inbox pages, newest first as Esendex lists them. Page 1: an unread
 * text, a read one, an outbound one. Page 2: an unread one, one whose readat
 * is empty, one with no id, one with no sender or time. */
static const char page1[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<messageheaders startindex=\"0\" count=\"3\" totalcount=\"7\" " NS ">\n"
	" <messageheader id=\"0a5d3c3c-8f12-4c2e-9d4b-000000000003\" "
	"uri=\"https://api.esendex.com/v1.0/messageheaders/0a5d3c3c-8f12-4c2e-9d4b-000000000003\">\n"
	"  <reference>EX0123456</reference>\n"
	"  <status>Submitted</status>\n"
	"  <receivedat>2024-03-01T10:15:30.123Z</receivedat>\n"
	"  <type>SMS</type>\n"
	"  <to><phonenumber>447700900000</phonenumber></to>\n"
	"  <from><phonenumber>447700900123</phonenumber></from>\n"
	"  <summary>I need to talk to someone about what happe</summary>\n"
	"  <body id=\"0a5d3c3c-8f12-4c2e-9d4b-000000000003\" "
	"uri=\"https://api.esendex.com/v1.0/messageheaders/0a5d3c3c-8f12-4c2e-9d4b-000000000003/body\"/>\n"
	"  <direction>Inbound</direction>\n"
	"  <parts>2</parts>\n"
	" </messageheader>\n"
	" <messageheader id=\"read-2\" uri=\"u\">\n"
	"  <receivedat>2024-03-01T10:00:00Z</receivedat>\n"
	"  <from><phonenumber>447700900456</phonenumber></from>\n"
	"  <summary>old</summary>\n"
	"  <direction>Inbound</direction>\n"
	"  <readat>2024-03-01T10:05:00Z</readat>\n"
	"  <readby>adviser@example.org</readby>\n"
	" </messageheader>\n"
	" <messageheader id=\"out-1\" uri=\"u\">\n"
	"  <from><phonenumber>447700900000</phonenumber></from>\n"
	"  <direction>Outbound</direction>\n"
	" </messageheader>\n"
	"</messageheaders>\n";

static const char page2[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
			    "<messageheaders startindex=\"3\" count=\"4\" totalcount=\"7\" " NS ">\n"
			    " <messageheader id=\"unread-4\" uri=\"u\">\n"
			    "  <receivedat>2024-02-29T23:59:59</receivedat>\n"
			    "  <from><phonenumber> 447700900789 </phonenumber></from>\n"
			    "  <summary>hello</summary>\n"
			    "  <direction>inbound</direction>\n"
			    " </messageheader>\n"
			    " <messageheader id=\"unread-5\" uri=\"u\">\n"
			    "  <receivedat>2024-02-29T20:00:00+01:00</receivedat>\n"
			    "  <from><phonenumber>447700900321</phonenumber></from>\n"
			    "  <direction>Inbound</direction>\n"
			    "  <readat></readat>\n"
			    " </messageheader>\n"
			    " <messageheader uri=\"no-id\">\n"
			    "  <direction>Inbound</direction>\n"
			    " </messageheader>\n"
			    " <messageheader id=\"bare-7\">\n"
			    " </messageheader>\n"
			    "</messageheaders>\n";

static const char body_ok[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<messagebody " NS ">\n"
	"  <bodytext>Caf\xC3\xA9 &amp; chips? \xE2\x80\x9Cscared\xE2\x80\x9D \xF0\x9F\x98\x9F &lt;3 &#233;&#x1F600;\n"
	"line two</bodytext>\n"
	"  <characterset>Unicode</characterset>\n"
	"</messagebody>\n";

static const char dispatch_ok[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	"<messageheaders batchid=\"F8BF9867-FF81-49E4-ACC5-774DE793B776\" " NS ">\n"
	"  <messageheader uri=\"https://api.esendex.com/v1.0/MessageHeaders/1183C73D-2E62-4F60-B610-30F160BDFBD5\" "
	"id=\"1183C73D-2E62-4F60-B610-30F160BDFBD5\" />\n"
	"</messageheaders>\n";

static const char lol[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
			  " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
			  " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
			  " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
			  " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
			  " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
			  " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
			  " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
			  " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
			  " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
			  "]>\n<messagebody " NS "><bodytext>&lol9;</bodytext></messagebody>\n";

static long long utc(int y, int mo, int d, int h, int mi, int s)
{
	return check_utc(y, mo, d, h, mi) + s;
}

static int parse_inbox_s(const char *xml, struct esendex_page *p, char *err, size_t errlen)
{
	return esendex_parse_inbox(xml, strlen(xml), p, err, errlen);
}

static void test_inbox_pages(void)
{
	struct esendex_page p;
	char err[256] = "";
	long long next = -1;

	CHECK("page1 parses", parse_inbox_s(page1, &p, err, sizeof err) == 0);
	CHECK_INT("page1 counts", p.startindex * 1000000 + p.count * 1000 + p.totalcount, 3007);
	CHECK_INT("page1 headers", p.n, 3);
	CHECK_STR("page1[0] id", p.headers[0].id, "0a5d3c3c-8f12-4c2e-9d4b-000000000003");
	CHECK_STR("page1[0] from", p.headers[0].from, "447700900123");
	CHECK_STR("page1[0] to", p.headers[0].to, "447700900000");
	CHECK_STR("page1[0] summary", p.headers[0].summary, "I need to talk to someone about what happe");
	CHECK_INT("page1[0] received", p.headers[0].received_at, utc(2024, 3, 1, 10, 15, 30));
	CHECK("page1[0] inbound unread", p.headers[0].inbound && !p.headers[0].read);
	CHECK("page1[1] read", p.headers[1].inbound && p.headers[1].read);
	CHECK("page1[2] outbound", !p.headers[2].inbound);
	CHECK("page1 has more", esendex_next_page(&p, 0, 3, &next) == 1);
	CHECK_INT("page1 next start", next, 3);
	esendex_page_free(&p);
	CHECK_INT("freed page empty", p.n, 0);
	esendex_page_free(&p); /* twice is harmless */
	esendex_page_free(NULL);

	CHECK("page2 parses", parse_inbox_s(page2, &p, err, sizeof err) == 0);
	CHECK_INT("page2 headers", p.n, 4);
	CHECK_STR("page2[0] from trimmed", p.headers[0].from, "447700900789");
	CHECK_INT("page2[0] no zone is UTC", p.headers[0].received_at, utc(2024, 2, 29, 23, 59, 59));
	CHECK("page2[0] lower-case direction", p.headers[0].inbound && !p.headers[0].read);
	CHECK_INT("page2[1] offset", p.headers[1].received_at, utc(2024, 2, 29, 19, 0, 0));
	CHECK("page2[1] empty readat is unread", !p.headers[1].read);
	CHECK("page2[1] no summary", p.headers[1].summary == NULL);
	CHECK("page2[2] no id", p.headers[2].id == NULL);
	CHECK("page2[3] bare header", p.headers[3].from == NULL && p.headers[3].to == NULL &&
	                                      p.headers[3].received_at == 0 && p.headers[3].inbound && !p.headers[3].read);
	CHECK("page2 is last", esendex_next_page(&p, 3, 3, &next) == 0);
	esendex_page_free(&p);
}

static void test_paging_limits(void)
{
	struct esendex_page p = { 0 };
	struct esendex_header h[3] = { { 0 } };
	long long next = -1;

	p.headers = h;
	p.n = 3;
	p.startindex = -1;
	p.totalcount = 1000000000LL; /* huge, but a number */
	CHECK("huge total pages on", esendex_next_page(&p, 0, 3, &next) == 1 && next == 3);
	CHECK("huge total stops at the limit", esendex_next_page(&p, ESENDEX_MAX_HEADERS - 3, 3, &next) == 0);
	CHECK("huge total: just under the limit", esendex_next_page(&p, ESENDEX_MAX_HEADERS - 4, 3, &next) == 1);
	p.startindex = 0; /* the server answered page 0 again */
	CHECK("page 0 again ends", esendex_next_page(&p, 3, 3, &next) == 0);
	p.startindex = 3;
	CHECK("the page asked for", esendex_next_page(&p, 3, 3, &next) == 1 && next == 6);
	p.startindex = -1;
	p.totalcount = 2; /* claims fewer than were listed */
	CHECK("total already passed", esendex_next_page(&p, 0, 3, &next) == 0);
	p.totalcount = -1; /* absent: a full page means maybe more */
	CHECK("no total, full page", esendex_next_page(&p, 0, 3, &next) == 1 && next == 3);
	CHECK("no total, short page", esendex_next_page(&p, 0, 100, &next) == 0);
	p.totalcount = 50;
	p.n = 0; /* an empty page ends it, whatever the total says */
	CHECK("empty page ends", esendex_next_page(&p, 0, 3, &next) == 0);
	CHECK("NULL page", esendex_next_page(NULL, 0, 3, &next) == 0);
}

static void test_inbox_counts(void)
{
	struct esendex_page p;
	char err[256];
	const char *huge = "<messageheaders " NS " startindex=\"0\" count=\"1\" totalcount=\"99999999999999999999999\"/>";
	const char *neg = "<messageheaders " NS " startindex=\"0\" count=\"1\" totalcount=\"-1\"/>";
	const char *junk = "<messageheaders " NS " totalcount=\"12abc\"/>";
	const char *big = "<messageheaders " NS " totalcount=\"9223372036854775807\"/>";
	const char *none = "<messageheaders " NS "/>";

	CHECK("overflowing totalcount refused", parse_inbox_s(huge, &p, err, sizeof err) < 0 && p.n == 0);
	CHECK("negative totalcount refused", parse_inbox_s(neg, &p, err, sizeof err) < 0);
	CHECK("junk totalcount refused", parse_inbox_s(junk, &p, err, sizeof err) < 0);
	CHECK("LLONG_MAX totalcount read",
	      parse_inbox_s(big, &p, err, sizeof err) == 0 && p.totalcount == 9223372036854775807LL && p.n == 0);
	esendex_page_free(&p);
	CHECK("no counts at all",
	      parse_inbox_s(none, &p, err, sizeof err) == 0 && p.totalcount == -1 && p.count == -1 && p.startindex == -1);
	esendex_page_free(&p);
}

static void test_body(void)
{
	char *t = NULL, err[256] = "";
	const char *cdata = "<messagebody " NS "><bodytext><![CDATA[a <b> & c]]> d</bodytext></messagebody>";
	const char *empty = "<messagebody " NS "><bodytext/></messagebody>";
	const char *missing = "<messagebody " NS "><characterset>GSM</characterset></messagebody>";
	const char *prefixed = "<e:messagebody xmlns:e=\"http://api.esendex.com/ns/\"><e:bodytext>hi</e:bodytext>"
			       "</e:messagebody>";
	const char *plain = "<messagebody><bodytext>no namespace</bodytext></messagebody>";
	const char *wrong_root = "<messagebody xmlns=\"urn:not-esendex\"><bodytext>x</bodytext></messagebody>";
	const char *wrong_child = "<messagebody " NS "><x:bodytext xmlns:x=\"urn:evil\">x</x:bodytext></messagebody>";
	const char *latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><messagebody " NS
			     "><bodytext>caf\xC3\xA9</bodytext></messagebody>";

	CHECK("body parses", esendex_parse_body(body_ok, strlen(body_ok), &t, err, sizeof err) == 0);
	CHECK_STR(
		"body text exact", t,
		"Caf\xC3\xA9 & chips? \xE2\x80\x9Cscared\xE2\x80\x9D \xF0\x9F\x98\x9F <3 \xC3\xA9\xF0\x9F\x98\x80\nline two");
	free(t);
	CHECK("cdata body", esendex_parse_body(cdata, strlen(cdata), &t, err, sizeof err) == 0);
	CHECK_STR("cdata text", t, "a <b> & c d");
	free(t);
	CHECK("empty bodytext", esendex_parse_body(empty, strlen(empty), &t, err, sizeof err) == 0);
	CHECK_STR("empty text", t, "");
	free(t);
	CHECK("missing bodytext", esendex_parse_body(missing, strlen(missing), &t, err, sizeof err) < 0 && !t);
	CHECK("prefixed namespace", esendex_parse_body(prefixed, strlen(prefixed), &t, err, sizeof err) == 0);
	CHECK_STR("prefixed text", t, "hi");
	free(t);
	CHECK("no namespace accepted", esendex_parse_body(plain, strlen(plain), &t, err, sizeof err) == 0);
	CHECK_STR("no namespace text", t, "no namespace");
	free(t);
	t = NULL;
	CHECK("wrong root namespace", esendex_parse_body(wrong_root, strlen(wrong_root), &t, err, sizeof err) < 0 && !t);
	CHECK("wrong namespace error says so", strstr(err, "not an Esendex") != NULL);
	CHECK("wrong child namespace", esendex_parse_body(wrong_child, strlen(wrong_child), &t, err, sizeof err) < 0);
	CHECK("declared encoding ignored", esendex_parse_body(latin1, strlen(latin1), &t, err, sizeof err) == 0);
	CHECK_STR("read as UTF-8", t, "caf\xC3\xA9");
	free(t);
}

static void test_hostile(void)
{
	char *t = NULL, err[256] = "";
	clock_t t0 = clock();
	const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
			  "<messagebody " NS "><bodytext>&x;</bodytext></messagebody>";
	const char *ext = "<!DOCTYPE messagebody SYSTEM \"http://127.0.0.1:9/evil.dtd\">"
			  "<messagebody " NS "><bodytext>&evil;</bodytext></messagebody>";
	const char *undeclared = "<messagebody " NS "><bodytext>&nbsp;</bodytext></messagebody>";
	/* A DTD in UTF-16 hides from the byte scan; the forced UTF-8 read then
	 * fails on it instead. */
	const char *u16src = "<!DOCTYPE a [<!ENTITY x \"y\">]><messagebody " NS "><bodytext>&x;</bodytext></messagebody>";
	unsigned char u16[512];
	size_t k = 0;
	struct esendex_page p;
	enum sms_delivery d;

	u16[k++] = 0xFF;
	u16[k++] = 0xFE;
	for (const char *s = u16src; *s && k + 2 < sizeof u16; s++) {
		u16[k++] = (unsigned char)*s;
		u16[k++] = 0;
	}

	CHECK("billion laughs refused", esendex_parse_body(lol, strlen(lol), &t, err, sizeof err) < 0 && !t);
	CHECK("billion laughs: says DTD", strstr(err, "DTD") != NULL);
	CHECK("billion laughs: no time spent", (clock() - t0) < CLOCKS_PER_SEC / 2);
	CHECK("billion laughs as inbox", parse_inbox_s(lol, &p, err, sizeof err) < 0);
	CHECK("billion laughs as status", esendex_parse_status(lol, strlen(lol), &d, NULL, err, sizeof err) < 0);
	CHECK("xxe refused", esendex_parse_body(xxe, strlen(xxe), &t, err, sizeof err) < 0 && !t);
	CHECK("external DTD refused", esendex_parse_body(ext, strlen(ext), &t, err, sizeof err) < 0 && !t);
	CHECK("undeclared entity refused", esendex_parse_body(undeclared, strlen(undeclared), &t, err, sizeof err) < 0);
	CHECK("utf-16 DTD refused", esendex_parse_body((const char *)u16, k, &t, err, sizeof err) < 0 && !t);
}

static void test_malformed(void)
{
	static const char *bad[] = {
		"",
		"not xml at all",
		"<messagebody " NS "><bodytext>unterminated",
		"<messagebody " NS "><bodytext>a & b</bodytext></messagebody>",
		"<messagebody " NS "><bodytext>x</bodytxt></messagebody>",
		"<messagebody " NS "><bodytext>\x01</bodytext></messagebody>",
		"<messagebody " NS "><bodytext>\xFF\xFE</bodytext></messagebody>",
		"<messagebody " NS "/><messagebody " NS "/>",
		"<html><body>502 Bad Gateway</body></html>",
		"{\"error\": \"json\"}",
	};
	char *t = NULL, *id = NULL, err[256];
	struct esendex_page p;
	enum sms_delivery d;
	const char nul[] = "<messagebody " NS "><bodytext>a\0b</bodytext></messagebody>";

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "malformed body %zu", i);
		err[0] = '\0';
		CHECK(name, esendex_parse_body(bad[i], strlen(bad[i]), &t, err, sizeof err) < 0 && !t && err[0]);
		snprintf(name, sizeof name, "malformed inbox %zu", i);
		CHECK(name, parse_inbox_s(bad[i], &p, err, sizeof err) < 0 && p.n == 0 && !p.headers);
		snprintf(name, sizeof name, "malformed dispatch %zu", i);
		CHECK(name, esendex_parse_dispatch(bad[i], strlen(bad[i]), &id, err, sizeof err) < 0 && !id);
		snprintf(name, sizeof name, "malformed status %zu", i);
		CHECK(name, esendex_parse_status(bad[i], strlen(bad[i]), &d, NULL, err, sizeof err) < 0);
	}
	CHECK("NULL answer", esendex_parse_body(NULL, 0, &t, err, sizeof err) < 0);
	CHECK("embedded NUL", esendex_parse_body(nul, sizeof nul - 1, &t, err, sizeof err) < 0 && !t);
	const char *secret = "<messagebody " NS "><bodytext>SECRETWORD & oops</bodytext></messagebody>";
	CHECK("malformed with text", esendex_parse_body(secret, strlen(secret), &t, err, sizeof err) < 0);
	CHECK("error never quotes the text", strstr(err, "SECRETWORD") == NULL);
}

static void test_dispatch_answer(void)
{
	char *id = NULL, err[256];
	const char *noid = "<messageheaders batchid=\"b\" " NS "><messageheader uri=\"u\"/></messageheaders>";
	const char *none = "<messageheaders batchid=\"b\" " NS "/>";
	const char *two = "<messageheaders " NS "><messageheader id=\"first\"/><messageheader id=\"second\"/>"
			  "</messageheaders>";

	CHECK("dispatch parses", esendex_parse_dispatch(dispatch_ok, strlen(dispatch_ok), &id, err, sizeof err) == 0);
	CHECK_STR("dispatch id", id, "1183C73D-2E62-4F60-B610-30F160BDFBD5");
	free(id);
	CHECK("dispatch without id", esendex_parse_dispatch(noid, strlen(noid), &id, err, sizeof err) < 0 && !id);
	CHECK("dispatch without header", esendex_parse_dispatch(none, strlen(none), &id, err, sizeof err) < 0 && !id);
	CHECK("dispatch first of two", esendex_parse_dispatch(two, strlen(two), &id, err, sizeof err) == 0);
	CHECK_STR("dispatch first id", id, "first");
	free(id);
}

static void test_status(void)
{
	static const struct {
		const char *status;
		enum sms_delivery d;
	} cases[] = {
		{ "Submitted", SMS_DELIVERY_QUEUED },       { "Scheduled", SMS_DELIVERY_QUEUED },
		{ "Queued", SMS_DELIVERY_QUEUED },          { "Sent", SMS_DELIVERY_SENT },
		{ "Connecting", SMS_DELIVERY_SENT },        { "Delivered", SMS_DELIVERY_DELIVERED },
		{ "Acknowledged", SMS_DELIVERY_DELIVERED }, { "delivered", SMS_DELIVERY_DELIVERED },
		{ "Expired", SMS_DELIVERY_UNDELIVERED },    { "PartiallyDelivered", SMS_DELIVERY_UNDELIVERED },
		{ "Failed", SMS_DELIVERY_FAILED },          { "FailedAuthorisation", SMS_DELIVERY_FAILED },
		{ "Rejected", SMS_DELIVERY_FAILED },        { "Cancelled", SMS_DELIVERY_FAILED },
		{ "SomethingNew", SMS_DELIVERY_UNKNOWN },   { "", SMS_DELIVERY_UNKNOWN },
	};
	char *reason = NULL, err[256];
	enum sms_delivery d;
	const char *failed = "<messageheader id=\"x\" " NS "><status>Failed</status>"
			     "<failurereason><code>4</code><description>Number 447700900123 unobtainable</description>"
			     "<permanentfailure>true</permanentfailure></failurereason></messageheader>";
	const char *failed_flat = "<messageheader " NS "><status> Expired </status>"
				  "<failurereason>Validity period passed</failurereason></messageheader>";
	const char *delivered = "<messageheader " NS "><status>Delivered</status>"
				"<deliveredat>2024-03-01T10:00:00Z</deliveredat></messageheader>";
	const char *nostatus = "<messageheader " NS "><failurereason>x</failurereason></messageheader>";
	const char *wrongroot = "<messageheaders " NS "><status>Delivered</status></messageheaders>";

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "delivery %s", cases[i].status);
		CHECK_INT(name, esendex_delivery(cases[i].status), cases[i].d);
	}
	CHECK_INT("delivery NULL", esendex_delivery(NULL), SMS_DELIVERY_UNKNOWN);

	CHECK("failed parses", esendex_parse_status(failed, strlen(failed), &d, &reason, err, sizeof err) == 0);
	CHECK_INT("failed state", d, SMS_DELIVERY_FAILED);
	CHECK_STR("failed reason", reason, "Number 447700900123 unobtainable");
	free(reason);
	CHECK("expired parses", esendex_parse_status(failed_flat, strlen(failed_flat), &d, &reason, err, sizeof err) == 0);
	CHECK_INT("expired state", d, SMS_DELIVERY_UNDELIVERED);
	CHECK_STR("flat reason", reason, "Validity period passed");
	free(reason);
	CHECK("delivered parses", esendex_parse_status(delivered, strlen(delivered), &d, &reason, err, sizeof err) == 0);
	CHECK("delivered: no reason", d == SMS_DELIVERY_DELIVERED && reason == NULL);
	CHECK("reason pointer optional", esendex_parse_status(failed, strlen(failed), &d, NULL, err, sizeof err) == 0);
	CHECK("missing status", esendex_parse_status(nostatus, strlen(nostatus), &d, &reason, err, sizeof err) < 0 &&
	                                !reason && d == SMS_DELIVERY_UNKNOWN);
	CHECK("wrong root", esendex_parse_status(wrongroot, strlen(wrongroot), &d, &reason, err, sizeof err) < 0);
}

static void test_reason_safe(void)
{
	char *s;
	char longer[400];

	s = esendex_reason_safe("Number 447700900123 unobtainable (code 4012)");
	CHECK_STR("phone masked, short code kept", s, "Number # unobtainable (code 4012)");
	free(s);
	s = esendex_reason_safe("line\none\ttab\x7f");
	CHECK_STR("controls dropped", s, "lineonetab");
	free(s);
	CHECK("NULL reason", esendex_reason_safe(NULL) == NULL);
	CHECK("opted out", esendex_reason_opted_out("Recipient opted out"));
	CHECK("opt-out", esendex_reason_opted_out("Recipient is on the OPT-OUT list"));
	CHECK("not opted out", !esendex_reason_opted_out("Number unobtainable"));
	CHECK("opted out NULL", !esendex_reason_opted_out(NULL));
	memset(longer, 0, sizeof longer);
	for (size_t i = 0; i + 2 < 300; i += 2)
		memcpy(longer + i, "\xC3\xA9", 2); /* é, two bytes each */
	s = esendex_reason_safe(longer);
	CHECK_INT("capped at 120", strlen(s), 120);
	free(s);
	memset(longer, 0, sizeof longer);
	longer[0] = 'x';
	for (size_t i = 1; i + 2 < 300; i += 2)
		memcpy(longer + i, "\xC3\xA9", 2); /* odd offset: 120 falls mid-character */
	s = esendex_reason_safe(longer);
	CHECK_INT("cut before a split character", strlen(s), 119);
	free(s);
}

static void test_time(void)
{
	long long t = 0;

	CHECK("time Z", esendex_parse_time("2012-01-01T12:00:05Z", &t) == 0 && t == utc(2012, 1, 1, 12, 0, 5));
	CHECK("time fraction", esendex_parse_time("2012-01-01T12:00:01.05Z", &t) == 0 && t == utc(2012, 1, 1, 12, 0, 1));
	CHECK("time no zone", esendex_parse_time("2012-01-01T12:00:02.000", &t) == 0 && t == utc(2012, 1, 1, 12, 0, 2));
	CHECK("time offset", esendex_parse_time("2012-06-01T12:00:00+01:00", &t) == 0 && t == utc(2012, 6, 1, 11, 0, 0));
	CHECK("time negative offset",
	      esendex_parse_time("2012-06-01T12:00:00-0530", &t) == 0 && t == utc(2012, 6, 1, 17, 30, 0));
	CHECK("leap day", esendex_parse_time("2024-02-29T00:00:00Z", &t) == 0 && t == utc(2024, 2, 29, 0, 0, 0));
	CHECK("31 February", esendex_parse_time("2023-02-31T00:00:00Z", &t) < 0);
	CHECK("month 13", esendex_parse_time("2023-13-01T00:00:00Z", &t) < 0);
	CHECK("hour 24", esendex_parse_time("2023-01-01T24:00:00Z", &t) < 0);
	CHECK("date only", esendex_parse_time("2023-01-01", &t) < 0);
	CHECK("trailing junk", esendex_parse_time("2023-01-01T00:00:00Zjunk", &t) < 0);
	CHECK("empty fraction", esendex_parse_time("2023-01-01T00:00:00.Z", &t) < 0);
	CHECK("empty", esendex_parse_time("", &t) < 0);
	CHECK("NULL", esendex_parse_time(NULL, &t) < 0);
}

static xmlNode *find(xmlNode *n, const char *name)
{
	for (; n; n = n->next) {
		xmlNode *c;
		if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
			return n;
		if ((c = find(n->children, name)))
			return c;
	}
	return NULL;
}

/* An element of a built dispatcher request, read back by libxml2. */
static char *read_back(const char *doc, const char *element)
{
	xmlDoc *x;
	xmlNode *n;
	char *out = NULL;

	if (!doc)
		return NULL;
	x = xmlReadMemory(doc, (int)strlen(doc), NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!x)
		return NULL;
	n = find(xmlDocGetRootElement(x), element);
	if (n) {
		xmlChar *c = xmlNodeGetContent(n);
		out = xstrdup((const char *)c);
		xmlFree(c);
	}
	xmlFreeDoc(x);
	return out;
}

static void test_build(void)
{
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
		{ "plain", "Hi, it's the advice line.", NULL },
		{ "markup", "<b>bold</b> & <script>alert(1)</script>", NULL },
		{ "cdata end", "a]]>b ]]]]><![CDATA[x", NULL },
		{ "entities literal", "&amp; &lt; &#233; &nbsp;", NULL },
		{ "quotes", "\"double\" 'single' `back`", NULL },
		{ "newlines", "line 1\nline 2\r\nline 3\rend\ttab", NULL },
		{ "emoji and accents",
		  "\xF0\x9F\x98\x80 caf\xC3\xA9 \xE2\x82\xAC \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
		  NULL },
		{ "C0 controls",
		  "a\x01"
		  "b\x08"
		  "c\x0B"
		  "d\x0C"
		  "e\x1B"
		  "f\x1F"
		  "g",
		  "a b c d e f g" },
		{ "DEL and C1 kept", "x\x7Fy\xC2\x85z", NULL },
		{ "noncharacters",
		  "a\xEF\xBF\xBE"
		  "b\xEF\xBF\xBF"
		  "c\xEF\xBF\xBD",
		  "a b c\xEF\xBF\xBD" },
		{ "invalid UTF-8",
		  "bad\xFF\xC3"
		  "end",
		  "bad\xEF\xBF\xBD\xEF\xBF\xBD"
		  "end" },
		{ "empty", "", NULL },
	};
	char err[256];
	char *doc, *got;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[96];
		doc = esendex_build_dispatch("EX0123456", "+447700900123", cases[i].text, 0, err, sizeof err);
		snprintf(name, sizeof name, "build %s", cases[i].name);
		CHECK(name, doc != NULL);
		got = doc ? read_back(doc, "body") : NULL;
		snprintf(name, sizeof name, "round trip %s", cases[i].name);
		CHECK_STR(name, got, cases[i].want ? cases[i].want : cases[i].text);
		free(got);
		free(doc);
	}

	doc = esendex_build_dispatch("EX<0&1>", "+447700900123", "hi", 0, err, sizeof err);
	got = read_back(doc, "accountreference");
	CHECK_STR("account escaped", got, "EX<0&1>");
	free(got);
	got = read_back(doc, "to");
	CHECK_STR("to without +", got, "447700900123");
	free(got);
	got = read_back(doc, "characterset");
	CHECK_STR("characterset Auto", got, "Auto");
	free(got);
	CHECK("exact shape", strstr(doc, "<messages>\n<accountreference>EX&lt;0&amp;1&gt;</accountreference>\n"
	                                 "<message>\n<to>447700900123</to>\n<body>hi</body>\n"
	                                 "<characterset>Auto</characterset>\n</message>\n</messages>\n") != NULL);
	free(doc);

	doc = esendex_build_dispatch("EX0123456", "447700900123", "\xE4\xBD\xA0", 1, err, sizeof err);
	got = read_back(doc, "characterset");
	CHECK_STR("characterset Unicode", got, "Unicode");
	free(got);
	free(doc);

	err[0] = '\0';
	CHECK("to with letters", !esendex_build_dispatch("EX1", "+44770090012a", "x", 0, err, sizeof err));
	CHECK("error names no number", err[0] && strstr(err, "4477") == NULL);
	CHECK("to empty", !esendex_build_dispatch("EX1", "+", "x", 0, err, sizeof err));
	CHECK("to NULL", !esendex_build_dispatch("EX1", NULL, "x", 0, err, sizeof err));
	CHECK("to with markup", !esendex_build_dispatch("EX1", "44</to><to>1", "x", 0, err, sizeof err));
	CHECK("to too long", !esendex_build_dispatch("EX1", "+123456789012345678901", "x", 0, err, sizeof err));
	CHECK("no account", !esendex_build_dispatch("", "+447700900123", "x", 0, err, sizeof err));
	CHECK("NULL account", !esendex_build_dispatch(NULL, "+447700900123", "x", 0, err, sizeof err));
	doc = esendex_build_dispatch("EX1", "+447700900123", NULL, 0, err, sizeof err);
	got = read_back(doc, "body");
	CHECK_STR("NULL text is empty", got, "");
	free(got);
	free(doc);
}

/* Byte-level mutations of the canned answers through every reader: nothing
 * may crash, leak or read out of bounds (run under ASan and valgrind). */
static void test_mutations(void)
{
	const char *seeds[] = { page1, page2, body_ok, dispatch_ok, lol };
	static const char junk[] = "<>&;\"'/!?[]\0\xFF\xC3 =-x";
	uint32_t rng = 12345;
	int survived = 1;

	for (int round = 0; round < 3000; round++) {
		const char *seed = seeds[round % 5];
		size_t len = strlen(seed);
		char *m = xmalloc(len + 1), *t = NULL, *id = NULL, *reason = NULL, err[128];
		struct esendex_page p;
		enum sms_delivery d;

		memcpy(m, seed, len + 1);
		for (int k = 0; k < 1 + round % 6; k++) {
			rng = rng * 1103515245u + 12345u;
			size_t at = (rng >> 8) % len;
			rng = rng * 1103515245u + 12345u;
			m[at] = junk[(rng >> 8) % (sizeof junk - 1)];
		}
		rng = rng * 1103515245u + 12345u;
		size_t cut = (round % 7 == 0) ? (rng >> 8) % len : len; /* sometimes truncated */
		if (esendex_parse_inbox(m, cut, &p, err, sizeof err) == 0)
			esendex_page_free(&p);
		else if (p.n || p.headers)
			survived = 0;
		if (esendex_parse_body(m, cut, &t, err, sizeof err) == 0)
			free(t);
		else if (t)
			survived = 0;
		if (esendex_parse_dispatch(m, cut, &id, err, sizeof err) == 0)
			free(id);
		if (esendex_parse_status(m, cut, &d, &reason, err, sizeof err) == 0)
			free(reason);
		free(m);
	}
	CHECK("mutations: failures leave nothing behind", survived);
}

int main(void)
{
	test_inbox_pages();
	test_paging_limits();
	test_inbox_counts();
	test_body();
	test_hostile();
	test_malformed();
	test_dispatch_answer();
	test_status();
	test_reason_safe();
	test_time();
	test_build();
	test_mutations();
	return check_done();
}
