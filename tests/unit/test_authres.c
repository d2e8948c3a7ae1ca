/* Unit tests for authres.c: which Authentication-Results field is trusted,
 * and what in it proves an adviser's domain. */
#include "authres.h"
#include "check.h"

#include <stdio.h>
#include <string.h>

#define ID "mx.example.org"
#define BODY "From: Adviser <adviser1@example.org>\r\nTo: rusafe@example.org\r\nSubject: RE: x\r\n\r\nHello\r\n"

static enum authres_verdict verdict(const char *raw, const char *domain, char *why, size_t whylen)
{
	return authres_verify(raw, strlen(raw), ID, domain, why, whylen);
}

static void parsing(void)
{
	struct authres a;
	const char *v = " mx.example.org 1; (a comment (nested)) dkim=pass (good signature) header.d=Example.ORG "
			"header.i=@example.org header.s=sel;\r\n\tspf=pass smtp.mailfrom=example.org;\r\n"
			" dmarc = pass reason=\"aligned; ok\" (p=reject) header.from=example.org";
	CHECK_INT("parse: a full field", authres_parse(v, strlen(v), &a), 0);
	CHECK_STR("parse: authserv-id", a.authserv_id, "mx.example.org");
	CHECK_INT("parse: three results", a.nresults, 3);
	CHECK_STR("parse: dkim method", a.results[0].method, "dkim");
	CHECK_STR("parse: dkim result", a.results[0].result, "pass");
	CHECK_STR("parse: header.d lower-cased, before header.i", a.results[0].signer, "example.org");
	CHECK_STR("parse: spf", a.results[1].method, "spf");
	CHECK_STR("parse: dmarc with spaces and a quoted reason", a.results[2].result, "pass");
	CHECK_STR("parse: header.from", a.results[2].header_from, "example.org");

	v = "mx.example.org; dkim=pass header.i=adviser1@Sub.Example.org";
	authres_parse(v, strlen(v), &a);
	CHECK_STR("parse: header.i's domain when there is no header.d", a.results[0].signer, "sub.example.org");

	v = "\"mx.example.org\"; none";
	CHECK_INT("parse: quoted authserv-id and no result", authres_parse(v, strlen(v), &a), 0);
	CHECK_STR("parse: quoted id read", a.authserv_id, "mx.example.org");
	CHECK_INT("parse: none is no result", a.nresults, 0);

	v = "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.org; dmarc=pass action=none header.from=example.org";
	CHECK_INT("parse: Exchange Online's field has no authserv-id", authres_parse(v, strlen(v), &a), -1);

	v = "mx.example.org; dmarc=pass header.from=exa mple.org; dkim=pass header.d=\"bad<domain>\"";
	authres_parse(v, strlen(v), &a);
	CHECK_STR("parse: a domain cut by a space is only its first word", a.results[0].header_from, "exa");
	CHECK_STR("parse: a domain with other characters is unusable", a.results[1].signer, "");

	v = "mx.example.org; dkim=pass header.d=example.org (unclosed comment ; dmarc=pass header.from=example.org";
	authres_parse(v, strlen(v), &a);
	CHECK_INT("parse: an unclosed comment swallows the rest", a.nresults, 1);

	v = "mx.example.org; garbage here; =pass; dkim; dmarc=; dkim/1=pass header.d=example.org";
	authres_parse(v, strlen(v), &a);
	CHECK_INT("parse: broken resinfos skipped, the good one kept", a.nresults, 1);
	CHECK_STR("parse: method-version tolerated", a.results[0].signer, "example.org");

	char big[8192];
	size_t k = (size_t)snprintf(big, sizeof big, "mx.example.org");
	for (int i = 0; i < 100; i++)
		k += (size_t)snprintf(big + k, sizeof big - k, "; dkim=fail header.d=d%d.example", i);
	authres_parse(big, k, &a);
	CHECK_INT("parse: results beyond the limit are dropped", a.nresults, AUTHRES_MAX_RESULTS);

	char longdom[600];
	memset(longdom, 'a', sizeof longdom);
	memcpy(longdom, "mx.example.org; dmarc=pass header.from=", 39);
	authres_parse(longdom, sizeof longdom, &a);
	CHECK_STR("parse: an over-long domain is unusable, never cut", a.results[0].header_from, "");
}

static void alignment(void)
{
	CHECK("aligned: same domain", authres_aligned("example.org", "example.org"));
	CHECK("aligned: any case", authres_aligned("Example.ORG", "example.org"));
	CHECK("aligned: the From domain is a sub-domain of the signer", authres_aligned("example.org", "mail.example.org"));
	CHECK("not aligned: a sub-domain's signature does not vouch for its parent",
	      !authres_aligned("evil.example.org", "example.org"));
	CHECK("not aligned: another domain", !authres_aligned("example.com", "example.org"));
	CHECK("not aligned: a suffix that is not a label", !authres_aligned("ample.org", "example.org"));
	CHECK("not aligned: a top-level name", !authres_aligned("org", "example.org"));
	CHECK("not aligned: empty", !authres_aligned("", "example.org") && !authres_aligned("example.org", ""));
}

static void verdicts(void)
{
	char why[512];

	CHECK_INT("no field: missing", verdict(BODY, "example.org", why, sizeof why), AUTHRES_MISSING);
	CHECK("missing: says whose field is missing", strstr(why, ID) != NULL);

	CHECK_INT("dmarc pass: passes",
	          verdict("Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_PASS);
	CHECK_INT("dmarc pass under Received and Return-Path: passes",
	          verdict("Return-Path: <a@example.org>\r\nReceived: from a by b; x\r\nReceived: from c by d; y\r\n"
	                  "Authentication-Results: MX.Example.Org;\r\n dmarc=pass header.from=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_PASS);
	CHECK_INT("dmarc pass for another domain: fails",
	          verdict("Authentication-Results: mx.example.org; dmarc=pass header.from=example.com\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_FAIL);
	CHECK_INT("dmarc pass without header.from: fails",
	          verdict("Authentication-Results: mx.example.org; dmarc=pass\r\n" BODY, "example.org", why, sizeof why),
	          AUTHRES_FAIL);
	CHECK_INT("dmarc fail: fails",
	          verdict("Authentication-Results: mx.example.org; dmarc=fail header.from=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_FAIL);
	CHECK("fail: says what the server found", strstr(why, "dmarc=fail (example.org)") != NULL);
	CHECK_INT("dkim pass aligned: passes",
	          verdict("Authentication-Results: mx.example.org; dkim=pass header.d=example.org; dmarc=none\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_PASS);
	CHECK_INT("dkim pass not aligned: fails",
	          verdict("Authentication-Results: mx.example.org; dkim=pass header.d=example.com\r\n" BODY, "example.org",
	                  why, sizeof why),
	          AUTHRES_FAIL);
	CHECK("not aligned: names the signer", strstr(why, "dkim=pass (example.com)") != NULL);
	CHECK_INT("dkim fail of the right domain: fails",
	          verdict("Authentication-Results: mx.example.org; dkim=fail header.d=example.org\r\n" BODY, "example.org",
	                  why, sizeof why),
	          AUTHRES_FAIL);
	CHECK_INT("spf pass alone: fails",
	          verdict("Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_FAIL);

	/* Only ours, and only the topmost of ours. */
	CHECK_INT("another server's pass: missing",
	          verdict("Authentication-Results: mx.attacker.example; dmarc=pass header.from=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_MISSING);
	CHECK_INT("a forged pass below our own fail: fails",
	          verdict("Authentication-Results: mx.example.org; dmarc=fail header.from=example.org\r\n"
	                  "Received: from attacker by attacker; x\r\n"
	                  "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_FAIL);
	CHECK_INT("a forged pass below our own none: fails",
	          verdict("Authentication-Results: mx.example.org; none\r\n"
	                  "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_FAIL);
	CHECK_INT("other servers' fields above ours are passed over",
	          verdict("Authentication-Results: other.example; dmarc=fail header.from=example.org\r\n"
	                  "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_PASS);
	CHECK_INT("ours below the author's fields: missing",
	          verdict("From: Adviser <adviser1@example.org>\r\n"
	                  "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n"
	                  "Subject: x\r\n\r\nHello\r\n",
	                  "example.org", why, sizeof why),
	          AUTHRES_MISSING);
	CHECK("below: says the sender wrote it", strstr(why, "below the message's own header") != NULL);
	CHECK_INT("a field in the body: missing",
	          verdict(BODY "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n",
	                  "example.org", why, sizeof why),
	          AUTHRES_MISSING);
	CHECK_INT("two From fields: fails",
	          verdict("Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n"
	                  "From: a@example.org\r\n" BODY,
	                  "example.org", why, sizeof why),
	          AUTHRES_FAIL);
	CHECK_INT("LF line ends: passes",
	          verdict("Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\n"
	                  "From: adviser1@example.org\nSubject: x\n\nHello\n",
	                  "example.org", why, sizeof why),
	          AUTHRES_PASS);
	CHECK_INT("no From domain: fails",
	          verdict("Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n" BODY, "", why,
	                  sizeof why),
	          AUTHRES_FAIL);
	CHECK_INT("nothing at all: missing", authres_verify("", 0, ID, "example.org", NULL, 0), AUTHRES_MISSING);
	const char *good = "Authentication-Results: mx.example.org; dmarc=pass header.from=example.org\r\n" BODY;
	CHECK_INT("no authserv-id configured: missing",
	          authres_verify(good, strlen(good), NULL, "example.org", why, sizeof why), AUTHRES_MISSING);
	CHECK_INT("the header cut before its end: still read up to the cut",
	          authres_verify(good, 60, ID, "example.org", why, sizeof why), AUTHRES_FAIL);
	char tiny[8];
	verdict(BODY, "example.org", tiny, sizeof tiny);
	CHECK("why: cut to its buffer", strlen(tiny) == sizeof tiny - 1);
}

/* Exchange Online: no authserv-id, and nothing at all inside the tenant. */
static enum authres_verdict exo(const char *raw, char *why, size_t whylen)
{
	return authres_verify_exchange(raw, strlen(raw), "example.org", why, whylen);
}

#define EXO_AR                                                                                                  \
	"Authentication-Results: spf=pass (sender IP is 40.107.1.2)\r\n smtp.mailfrom=example.org; dkim=pass "  \
	"(signature was verified)\r\n header.d=example.org;dmarc=pass action=none\r\n header.from=example.org;" \
	"compauth=pass reason=100\r\n"
#define EXO_TAIL "X-MS-Exchange-Organization-AuthSource: AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\n"

static void exchange(void)
{
	char why[300];
	const char *internal =
		"Received: from AM0PR01MB1234 by AM0PR01MB5678 with HTTPS\r\n"
		"From: Adviser <adviser1@example.org>\r\nTo: rusafe@example.org\r\nSubject: RE: x\r\n"
		"X-MS-Exchange-Organization-AuthAs: Internal\r\nX-MS-Exchange-Organization-AuthMechanism: 04\r\n" EXO_TAIL
		"\r\nHello\r\n";
	CHECK_INT("exchange: sent inside the organisation (AuthAs: Internal, below the message's fields): pass",
	          exo(internal, why, sizeof why), AUTHRES_PASS);
	CHECK("exchange: why names AuthAs", strstr(why, "AuthAs: Internal") != NULL);
	const char *anonymous = "Received: from mail.example.org by AM0PR01MB5678\r\n" EXO_AR
				"From: Adviser <adviser1@example.org>\r\nTo: rusafe@example.org\r\nSubject: RE: x\r\n"
				"X-MS-Exchange-Organization-AuthAs: Anonymous\r\n" EXO_TAIL "\r\nHello\r\n";
	CHECK_INT("exchange: from outside with Exchange's DMARC pass for the domain: pass", exo(anonymous, why, sizeof why),
	          AUTHRES_PASS);
	const char *fail =
		"Authentication-Results: spf=fail (sender IP is 192.0.2.9) smtp.mailfrom=example.org; "
		"dkim=none (message not signed) header.d=none;dmarc=fail action=quarantine header.from=example.org;"
		"compauth=fail reason=000\r\n" BODY;
	CHECK_INT("exchange: DMARC fail: fail", exo(fail, why, sizeof why), AUTHRES_FAIL);
	CHECK_INT("exchange: nothing at all (a spoof with no AuthAs and no header): missing", exo(BODY, why, sizeof why),
	          AUTHRES_MISSING);
	const char *below =
		"Received: from x by y\r\nFrom: Adviser <adviser1@example.org>\r\nTo: rusafe@example.org\r\n" EXO_AR
		"Subject: RE: x\r\n\r\nHello\r\n";
	CHECK_INT("exchange: a pass written below the message's own fields (by the sender): missing",
	          exo(below, why, sizeof why), AUTHRES_MISSING);
	const char *second =
		"Authentication-Results: spf=none; dkim=none;dmarc=none action=none header.from=example.org\r\n" EXO_AR BODY;
	CHECK_INT("exchange: only the topmost field counts (a pass under Exchange's own none): fail",
	          exo(second, why, sizeof why), AUTHRES_FAIL);
	const char *other_id = "Authentication-Results: mx.evil.example; dmarc=pass header.from=example.org\r\n" BODY;
	CHECK_INT("exchange: a topmost field with an authserv-id is not Exchange's: missing", exo(other_id, why, sizeof why),
	          AUTHRES_MISSING);
	const char *anon_first = "From: Adviser <adviser1@example.org>\r\nX-MS-Exchange-Organization-AuthAs: Anonymous\r\n"
				 "X-MS-Exchange-Organization-AuthAs: Internal\r\n\r\nHello\r\n";
	CHECK_INT("exchange: the first AuthAs field decides (Anonymous, then a second saying Internal): missing",
	          exo(anon_first, why, sizeof why), AUTHRES_MISSING);
	const char *two_from =
		"From: a@example.org\r\nFrom: b@example.org\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\n"
		"\r\nHi\r\n";
	CHECK_INT("exchange: two From fields never pass", exo(two_from, why, sizeof why), AUTHRES_FAIL);
	const char *other_domain =
		"Authentication-Results: spf=pass smtp.mailfrom=evil.example; dkim=pass header.d=evil.example;"
		"dmarc=pass action=none header.from=evil.example\r\n" BODY;
	CHECK_INT("exchange: a pass for another domain: fail", exo(other_domain, why, sizeof why), AUTHRES_FAIL);
	CHECK_INT("exchange: nothing: missing", authres_verify_exchange("", 0, "example.org", NULL, 0), AUTHRES_MISSING);
}

int main(void)
{
	parsing();
	alignment();
	verdicts();
	exchange();
	return check_done();
}
