/* test_graph.c: the pure parts of graph.c — how Graph's answers become an
 * outcome, what a log may see of them, and the message Graph gets (the Bcc
 * header that carries envelope recipients the To and Cc headers do not). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph.h"

static enum graph_verdict judge(long status, const char *body, const char *ra, int *wait, char *d)
{
	return graph_judge(status, body, body ? strlen(body) : 0, ra, 1000000, wait, d, 512);
}

static void test_judge(void)
{
	char d[512];
	int wait = -1;

	CHECK_INT("202: sent", judge(202, NULL, NULL, &wait, d), GRAPH_SENT);
	CHECK_INT("202: no wait", wait, 0);
	CHECK_INT("200: not known to be sent", judge(200, NULL, NULL, &wait, d), GRAPH_TEMPORARY);
	CHECK("200: says so", strstr(d, "instead of 202") != NULL);

	const char *bad_rcpt = "{\"error\":{\"code\":\"ErrorInvalidRecipients\",\"message\":\"At least one recipient is "
			       "not valid., Recipient 'kid@example.com' is not resolved.\",\"innerError\":{\"date\":"
			       "\"2026-12-04T08:00:00\",\"request-id\":\"r\",\"client-request-id\":\"r\"}}}";
	CHECK_INT("400 ErrorInvalidRecipients: permanent", judge(400, bad_rcpt, NULL, &wait, d), GRAPH_PERMANENT);
	CHECK("400: code named", strstr(d, "HTTP 400 ErrorInvalidRecipients: At least one") != NULL);
	CHECK("400: address hidden", strstr(d, "kid@") == NULL && strstr(d, "<address>") != NULL);
	CHECK_INT("400 base64: permanent",
	          judge(400,
	                "{\"error\":{\"code\":\"ErrorMimeContentInvalidBase64String\",\"message\":\"Invalid base64 "
	                "string for MIME content.\"}}",
	                NULL, &wait, d),
	          GRAPH_PERMANENT);
	CHECK_INT("400 size: permanent",
	          judge(400, "{\"error\":{\"code\":\"ErrorMessageSizeExceeded\",\"message\":\"x\"}}", NULL, &wait, d),
	          GRAPH_PERMANENT);
	CHECK_INT("413: permanent", judge(413, NULL, NULL, &wait, d), GRAPH_PERMANENT);
	CHECK_INT("401: renew the token",
	          judge(401, "{\"error\":{\"code\":\"InvalidAuthenticationToken\"}}", NULL, &wait, d), GRAPH_TOKEN);
	CHECK_INT("403 access policy: refused",
	          judge(403,
	                "{\"error\":{\"code\":\"ErrorAccessDenied\",\"message\":\"Access to OData is disabled: "
	                "[RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.\"}}",
	                NULL, &wait, d),
	          GRAPH_REFUSED);
	CHECK("403: names New-ApplicationAccessPolicy and Mail.Send",
	      strstr(d, "New-ApplicationAccessPolicy") != NULL && strstr(d, "Mail.Send") != NULL);
	CHECK_INT("403 send-as: refused", judge(403, "{\"error\":{\"code\":\"ErrorSendAsDenied\"}}", NULL, &wait, d),
	          GRAPH_REFUSED);
	CHECK("403 send-as: names [smtp] from", strstr(d, "[smtp] from") != NULL);
	CHECK_INT("404: refused", judge(404, "{\"error\":{\"code\":\"ErrorInvalidUser\"}}", NULL, &wait, d), GRAPH_REFUSED);
	CHECK("404: names [smtp] username", strstr(d, "[smtp] username") != NULL);

	CHECK_INT("429: temporary", judge(429, NULL, "30", &wait, d), GRAPH_TEMPORARY);
	CHECK_INT("429: Retry-After seconds", wait, 30);
	CHECK("429: says how long", strstr(d, "asked to wait 30 s") != NULL);
	CHECK_INT("503: temporary", judge(503, "not json", NULL, &wait, d), GRAPH_TEMPORARY);
	CHECK_INT("503: no Retry-After, no wait", wait, 0);
	CHECK_INT("504: temporary", judge(504, NULL, "5", &wait, d), GRAPH_TEMPORARY);
	CHECK_INT("504: its Retry-After", wait, 5);
	CHECK_INT("500: temporary", judge(500, NULL, NULL, &wait, d), GRAPH_TEMPORARY);
	judge(429, NULL, "99999999999", &wait, d);
	CHECK_INT("429: a huge Retry-After is capped at a day", wait, 86400);
	/* now = 1000000 = Mon, 12 Jan 1970 13:46:40 GMT */
	judge(429, NULL, "Mon, 12 Jan 1970 13:47:40 GMT", &wait, d);
	CHECK_INT("429: Retry-After as an HTTP date", wait, 60);
	judge(429, NULL, "Mon, 12 Jan 1970 13:00:00 GMT", &wait, d);
	CHECK_INT("429: a date in the past: no wait", wait, 0);
	judge(429, NULL, "soon", &wait, d);
	CHECK_INT("429: an unreadable Retry-After: no wait", wait, 0);
}

static size_t addrs(const char *value, char ***list)
{
	size_t n = 0;
	*list = NULL;
	if (graph_address_list(value, list, &n) < 0)
		return (size_t)-1;
	return n;
}

static void free_addrs(char **list, size_t n)
{
	for (size_t i = 0; i < n && n != (size_t)-1; i++)
		free(list[i]);
	free(list);
}

static void test_address_list(void)
{
	char **l;
	size_t n = addrs(" adviser1@example.org, adviser2@example.org", &l);
	CHECK_INT("plain list: two", n, 2);
	if (n == 2) {
		CHECK_STR("plain list: first", l[0], "adviser1@example.org");
		CHECK_STR("plain list: second", l[1], "adviser2@example.org");
	}
	free_addrs(l, n);
	n = addrs(" \"Smith, Jo\" <jo@example.org>,\r\n (a comment, with a comma) Sam <Sam@Example.ORG>", &l);
	CHECK_INT("names, quotes, comments, folding: two", n, 2);
	if (n == 2) {
		CHECK_STR("display name with a comma", l[0], "jo@example.org");
		CHECK_STR("domain normalised", l[1], "Sam@example.org");
	}
	free_addrs(l, n);
	n = addrs("advisers: a@example.org, b@example.org;, c@example.org", &l);
	CHECK_INT("a group: three", n, 3);
	free_addrs(l, n);
	n = addrs("undisclosed-recipients:;", &l);
	CHECK_INT("an empty group: none", n, 0);
	free_addrs(l, n);
	n = addrs("\"a b\"@example.org", &l);
	CHECK_INT("a quoted local part: one", n, 1);
	free_addrs(l, n);
	n = addrs("<a@example.org", &l);
	CHECK_INT("unclosed <: unreadable", n, (size_t)-1);
	n = addrs("\"open@example.org", &l);
	CHECK_INT("unclosed quote: unreadable", n, (size_t)-1);
}

static char *decode(const struct buf *b64)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = calloc(b64->len, 1);
	size_t o = 0;
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < b64->len && b64->data[i] != '='; i++) {
		v = (v << 6) | (unsigned)(strchr(a, b64->data[i]) - a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((v >> bits) & 0xff);
		}
	}
	return out;
}

static const char MSG[] = "Date: Thu, 21 Nov 2024 10:00:00 +0000\r\n"
			  "From: R-U-Safe? <rusafe@example.org>\r\n"
			  "To: adviser1@example.org,\r\n adviser2@example.org\r\n"
			  "Message-ID: <abc.123@example.org>\r\n"
			  "Subject: [RUS-1] hello\r\n"
			  "\r\n"
			  "body\r\n";

static void test_mime(void)
{
	const char *same[] = { "adviser1@example.org", "ADVISER2@example.org" };
	const char *more[] = { "adviser1@example.org", "adviser2@example.org", "oncall@example.org", "oncall@example.org" };
	const char *fewer[] = { "adviser1@example.org" };
	struct smtp_outgoing o = { .mail_from = "", .data = MSG, .len = sizeof MSG - 1 };
	struct buf b;
	char err[256];
	char *got;

	buf_init(&b);
	o.rcpt = same;
	o.nrcpt = 2;
	CHECK_INT("envelope = To: sent as it is", graph_mime(&o, &b, err, sizeof err), 0);
	got = decode(&b);
	CHECK_STR("envelope = To: the message, byte for byte", got, MSG);
	CHECK("base64 without line breaks", !memchr(b.data, '\n', b.len));
	free(got);

	buf_reset(&b);
	o.rcpt = more;
	o.nrcpt = 4;
	CHECK_INT("envelope beyond To: sent", graph_mime(&o, &b, err, sizeof err), 0);
	got = decode(&b);
	CHECK("envelope beyond To: a Bcc header naming that recipient once, then the message",
	      !strncmp(got, "Bcc: oncall@example.org\r\nDate:", 30) && !strcmp(got + 25, MSG));
	free(got);

	buf_reset(&b);
	o.rcpt = fewer;
	o.nrcpt = 1;
	CHECK_INT("To beyond the envelope: refused", graph_mime(&o, &b, err, sizeof err), -1);
	CHECK("To beyond the envelope: says why, no address",
	      strstr(err, "envelope does not") != NULL && strchr(err, '@') == NULL);
	CHECK_INT("refused: nothing written", b.len, 0);

	o.data = "no header block";
	o.len = strlen(o.data);
	CHECK_INT("no header block: refused", graph_mime(&o, &b, err, sizeof err), -1);

	size_t big = GRAPH_MAX_REQUEST / 4 * 3 + 10;
	char *large = malloc(big + sizeof MSG);
	memcpy(large, MSG, sizeof MSG - 1);
	memset(large + sizeof MSG - 1, 'x', big);
	o.data = large;
	o.len = sizeof MSG - 1 + big;
	o.rcpt = same;
	o.nrcpt = 2;
	CHECK_INT("over 4 MB in base64: refused", graph_mime(&o, &b, err, sizeof err), -1);
	CHECK("over 4 MB: says so", strstr(err, "4 MB") != NULL);
	free(large);
	buf_free(&b);
}

int main(void)
{
	test_judge();
	test_address_list();
	test_mime();
	return check_done();
}
