/* test_address.c: the address grammar (address.c) — every form a young
 * person's mail system may use, and hostile ones. */
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "check.h"
#include "compose.h"
#include "smtp.h"
#include "util.h"

static char *repeat(const char *s, size_t n)
{
	struct buf b;
	buf_init(&b);
	buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++)
		buf_adds(&b, s);
	return buf_take(&b);
}

/* What every normal form must be: printable ASCII, usable by compose and
 * smtp as it is, and its own normal form. */
static void check_normal_form(const char *name, const char *normal)
{
	char label[200], *again = NULL;
	int clean = 1;

	for (const unsigned char *p = (const unsigned char *)normal; *p; p++)
		if (*p < 0x20 || *p > 0x7E)
			clean = 0;
	snprintf(label, sizeof label, "%s: printable ASCII", name);
	CHECK(label, clean);
	snprintf(label, sizeof label, "%s: at most 254 octets", name);
	CHECK(label, strlen(normal) <= ADDRESS_MAX);
	snprintf(label, sizeof label, "%s: sendable", name);
	CHECK_INT(label, address_sendable(normal), 1);
	snprintf(label, sizeof label, "%s: a header may carry it", name);
	CHECK_INT(label, compose_address_valid(normal), 1);
	snprintf(label, sizeof label, "%s: smtp takes it", name);
	CHECK_INT(label, smtp_address_ok(normal, 0), 1);
	snprintf(label, sizeof label, "%s: idempotent", name);
	CHECK_INT(label, address_normalise(normal, &again), ADDRESS_OK);
	CHECK_STR(label, again, normal);
	free(again);
}

static void test_usable(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "sam@example.org", "sam@example.org" },
		{ "Sam@Example.ORG", "Sam@example.org" }, /* the local part keeps its case */
		{ "sam.young+help@example.org", "sam.young+help@example.org" },
		{ "!#$%&'*+-/=?^_`{|}~@example.org", "!#$%&'*+-/=?^_`{|}~@example.org" },
		/* quoted local parts */
		{ "\"sam young\"@example.org", "\"sam young\"@example.org" },
		{ "\"sam\"@example.org", "sam@example.org" }, /* needless quotes go */
		{ "\"sam.young\"@example.org", "sam.young@example.org" },
		{ "\"sam..young\"@example.org", "\"sam..young\"@example.org" },
		{ "\".sam\"@example.org", "\".sam\"@example.org" },
		{ "\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org" },
		{ "\"a\\b\"@example.org", "ab@example.org" }, /* a needless quoted-pair */
		{ "\"a\\\\b\"@example.org", "\"a\\\\b\"@example.org" },
		{ "\"a@b\"@example.org", "\"a@b\"@example.org" },
		{ "\"a,b;c:<d>\"@example.org", "\"a,b;c:<d>\"@example.org" },
		{ "\"\"@example.org", "\"\"@example.org" },
		{ "\" \"@example.org", "\" \"@example.org" },
		/* domains */
		{ "sam@example.org.", "sam@example.org" }, /* trailing dot */
		{ "sam@localhost", "sam@localhost" },
		{ "sam@b\xC3\xBC"
		  "cher.example",
		  "sam@xn--bcher-kva.example" },
		{ "sam@B\xC3\x9C"
		  "CHER.example",
		  "sam@xn--bcher-kva.example" },
		{ "sam@b\xC3\xBC"
		  "cher.example.",
		  "sam@xn--bcher-kva.example" },
		{ "sam@m\xC3\xBCnchen.de", "sam@xn--mnchen-3ya.de" },
		{ "sam@fa\xC3\x9F.de", "sam@xn--fa-hia.de" }, /* IDNA2008: sharp s stays */
		{ "sam@\xE4\xBE\x8B\xE3\x81\x88.\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88", "sam@xn--r8jz45g.xn--zckzah" },
		{ "sam@xn--bcher-kva.example", "sam@xn--bcher-kva.example" },
		/* address literals */
		{ "sam@[192.0.2.1]", "sam@[192.0.2.1]" },
		{ "sam@[IPv6:2001:DB8:0:0::1]", "sam@[IPv6:2001:db8::1]" },
		{ "sam@[ipv6:::1]", "sam@[IPv6:::1]" },
		{ "sam@[IPv6:::ffff:192.0.2.1]", "sam@[IPv6:::ffff:192.0.2.1]" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[120], *out = NULL;
		snprintf(name, sizeof name, "usable %zu (%s)", i, cases[i].want);
		CHECK_INT(name, address_normalise(cases[i].in, &out), ADDRESS_OK);
		CHECK_STR(name, out, cases[i].want);
		CHECK_INT(name, address_usable(cases[i].in), 1);
		if (out)
			check_normal_form(name, out);
		free(out);
	}
}

static void test_long_local_parts(void)
{
	char *l64 = repeat("l", 64), *l65 = repeat("l", 65), *l242 = repeat("l", 242), *l243 = repeat("l", 243);
	char *a = xasprintf("%s@example.org", l64), *b = xasprintf("%s@example.org", l65);
	char *c = xasprintf("%s@example.org", l242), *d = xasprintf("%s@example.org", l243);
	char *q = xasprintf("\"%s x\"@example.org", l64);
	char *out = NULL;

	CHECK_INT("local 64", address_usable(a), 1);
	/* outside RFC 5321, delivered by Postfix and others: usable (address.h) */
	CHECK_INT("local 65 usable", address_normalise(b, &out), ADDRESS_OK);
	CHECK_STR("local 65 kept whole", out, b);
	free(out);
	CHECK_INT("quoted local over 64 usable", address_usable(q), 1);
	CHECK_INT("254 octets in all", address_usable(c), 1);
	CHECK_INT("255 octets in all", address_normalise(d, NULL), ADDRESS_TOO_LONG);
	free(l64), free(l65), free(l242), free(l243), free(a), free(b), free(c), free(d), free(q);

	/* labels and names */
	char *lab63 = repeat("d", 63), *lab64 = repeat("d", 64), *u64 = repeat("\xC3\xBC", 64);
	char *e = xasprintf("a@%s.org", lab63), *f = xasprintf("a@%s.org", lab64), *g = xasprintf("a@%s.org", u64);
	CHECK_INT("label 63", address_usable(e), 1);
	CHECK_INT("label 64", address_normalise(f, NULL), ADDRESS_SYNTAX);
	CHECK_INT("U-label too long as A-label", address_normalise(g, NULL), ADDRESS_BAD_DOMAIN);
	free(lab63), free(lab64), free(u64), free(e), free(f), free(g);
}

static void test_refused(void)
{
	static const struct {
		const char *in;
		enum address_problem want;
	} cases[] = {
		{ "", ADDRESS_MISSING },
		/* header and SMTP command injection */
		{ "sam@example.org\r\nBcc: x@example.net", ADDRESS_CONTROL },
		{ "sam@example.org\n", ADDRESS_CONTROL },
		{ "sam\r@example.org", ADDRESS_CONTROL },
		{ "\"sam\r\nRCPT TO:<x@example.net>\"@example.org", ADDRESS_CONTROL },
		{ "\"sam\tyoung\"@example.org", ADDRESS_CONTROL },
		{ "\"sam\\\n\"@example.org", ADDRESS_CONTROL },
		{ "sam\x7f@example.org", ADDRESS_CONTROL },
		{ "sam@example.org\x1b", ADDRESS_CONTROL },
		/* not ASCII before the @: needs SMTPUTF8 */
		{ "s\xC3\xA4m@example.org", ADDRESS_UTF8_LOCAL },
		{ "\"s\xC3\xA4m young\"@example.org", ADDRESS_UTF8_LOCAL },
		{ "\xE5\xA4\xAA\xE9\x83\x8E@\xE4\xBE\x8B\xE3\x81\x88.jp", ADDRESS_UTF8_LOCAL },
		{ "s\xFFm@example.org", ADDRESS_SYNTAX }, /* not even UTF-8 */
		{ "s\xC3@example.org", ADDRESS_SYNTAX },
		/* domains */
		{ "sam@b\xFF"
		  "cher.example",
		  ADDRESS_SYNTAX },
		{ "sam@ex\xE2\x80\xA8mple.org", ADDRESS_BAD_DOMAIN }, /* U+2028 */
		{ "sam@\xE2\x80\x8B.org", ADDRESS_BAD_DOMAIN },       /* zero width space alone */
		{ "sam@", ADDRESS_SYNTAX },
		{ "sam@.", ADDRESS_SYNTAX },
		{ "sam@example..org", ADDRESS_SYNTAX },
		{ "sam@example.org..", ADDRESS_SYNTAX },
		{ "sam@.example.org", ADDRESS_SYNTAX },
		{ "sam@-example.org", ADDRESS_SYNTAX },
		{ "sam@example-.org", ADDRESS_SYNTAX },
		{ "sam@exa_mple.org", ADDRESS_SYNTAX },
		{ "sam@exa mple.org", ADDRESS_SYNTAX },
		{ "sam@example.org>", ADDRESS_SYNTAX },
		{ "sam@example.org> SIZE=1", ADDRESS_SYNTAX },
		/* address literals */
		{ "sam@[192.0.2]", ADDRESS_BAD_LITERAL },
		{ "sam@[192.0.2.256]", ADDRESS_BAD_LITERAL },
		{ "sam@[0300.0.2.1]", ADDRESS_BAD_LITERAL },
		{ "sam@[IPv6:2001:db8::zz]", ADDRESS_BAD_LITERAL },
		{ "sam@[IPv6:192.0.2.1]", ADDRESS_BAD_LITERAL },
		{ "sam@[x400:c=gb]", ADDRESS_BAD_LITERAL },
		{ "sam@[192.0.2.1", ADDRESS_BAD_LITERAL },
		{ "sam@[]", ADDRESS_BAD_LITERAL },
		{ "sam@[192.0.2.1]]", ADDRESS_BAD_LITERAL },
		/* local parts */
		{ "sam", ADDRESS_SYNTAX },
		{ "@example.org", ADDRESS_SYNTAX },
		{ "sam@@example.org", ADDRESS_SYNTAX },
		{ "sam@example.org@example.net", ADDRESS_SYNTAX },
		{ ".sam@example.org", ADDRESS_SYNTAX },
		{ "sam.@example.org", ADDRESS_SYNTAX },
		{ "sa..m@example.org", ADDRESS_SYNTAX },
		{ "sam young@example.org", ADDRESS_SYNTAX },
		{ "\"sam young@example.org", ADDRESS_SYNTAX }, /* unterminated */
		{ "\"sam\"young@example.org", ADDRESS_SYNTAX },
		{ "\"sam\\\"@example.org", ADDRESS_SYNTAX }, /* the quote is escaped */
		{ "<sam@example.org>", ADDRESS_SYNTAX },
		{ "sam(comment)@example.org", ADDRESS_SYNTAX },
		{ "sam,x@example.org", ADDRESS_SYNTAX },
		{ "sam\\x@example.org", ADDRESS_SYNTAX },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[120], *out = (char *)"untouched";
		snprintf(name, sizeof name, "refused %zu", i);
		CHECK_INT(name, address_normalise(cases[i].in, &out), cases[i].want);
		CHECK(name, out == NULL);
		CHECK_INT(name, address_usable(cases[i].in), 0);
		CHECK_INT(name, address_sendable(cases[i].in), 0);
		CHECK_INT(name, compose_address_valid(cases[i].in), 0);
		CHECK_INT(name, smtp_address_ok(cases[i].in, 0), 0);
	}
	CHECK_INT("NULL", address_normalise(NULL, NULL), ADDRESS_MISSING);
	CHECK_INT("NULL usable", address_usable(NULL), 0);
	CHECK_INT("NULL sendable", address_sendable(NULL), 0);
}

static void test_sendable(void)
{
	/* usable but not written as we would: smtp passes them on, compose wants the normal form */
	CHECK_INT("trailing dot sendable", address_sendable("sam@example.org."), 1);
	CHECK_INT("trailing dot not for headers", compose_address_valid("sam@example.org."), 0);
	CHECK_INT("needless quotes sendable", address_sendable("\"sam\"@example.org"), 1);
	CHECK_INT("needless quotes not for headers", compose_address_valid("\"sam\"@example.org"), 0);
	CHECK_INT("U-label usable",
	          address_usable("sam@b\xC3\xBC"
	                         "cher.example"),
	          1);
	CHECK_INT("U-label not sendable",
	          address_sendable("sam@b\xC3\xBC"
	                           "cher.example"),
	          0);
	CHECK_INT("U-label not for headers",
	          compose_address_valid("sam@b\xC3\xBC"
	                                "cher.example"),
	          0);
	CHECK_INT("smtp postmaster", smtp_address_ok("Postmaster", 0), 1);
	CHECK_INT("smtp null sender", smtp_address_ok("", 1), 1);
	CHECK_INT("smtp quoted with space", smtp_address_ok("\"sam young\"@example.org", 0), 1);
}

static void test_buf(void)
{
	char small[8], big[ADDRESS_MAX + 1];

	CHECK_INT("buf fits", address_normalise_buf("sam@example.org.", big, sizeof big), ADDRESS_OK);
	CHECK_STR("buf fits", big, "sam@example.org");
	CHECK_INT("buf too small", address_normalise_buf("sam@example.org", small, sizeof small), ADDRESS_TOO_LONG);
	CHECK_STR("buf too small: empty", small, "");
	CHECK_INT("buf refused", address_normalise_buf("s\xC3\xA4m@example.org", big, sizeof big), ADDRESS_UTF8_LOCAL);
	CHECK_STR("buf refused: empty", big, "");
	CHECK_INT("buf NULL", address_normalise_buf(NULL, big, sizeof big), ADDRESS_MISSING);
}

static void test_problem_text(void)
{
	for (int p = ADDRESS_OK; p <= ADDRESS_TOO_LONG; p++) {
		const char *t = address_problem_text((enum address_problem)p);
		char name[64];
		snprintf(name, sizeof name, "problem text %d", p);
		CHECK(name, t && *t && !strchr(t, '@') && !strchr(t, '\n'));
	}
}

static void test_from_header(void)
{
	static const struct {
		const char *raw, *want;
	} cases[] = {
		{ "From: \"sam young\"@example.org\r\nTo: help@example.net\r\n\r\nbody", "\"sam young\"@example.org" },
		{ "From: Sam Young <\"sam young\"@example.org>\r\n\r\n", "\"sam young\"@example.org" },
		{ "from:   \"sam  young\"@example.org  \r\n\r\n", "\"sam  young\"@example.org" },
		{ "From: (her phone) sam@[IPv6:2001:db8::1] (home)\r\n\r\n", "sam@[IPv6:2001:db8::1]" },
		{ "From: <sam@[IPv6:2001:db8::1]>\r\n\r\n", "sam@[IPv6:2001:db8::1]" },
		{ "From: Sam\r\n <sam@example.org>\r\n\r\n", "sam@example.org" },
		{ "From: \"Young, Sam\" <sam@example.org>, other@example.net\r\n\r\n", "sam@example.org" },
		{ "From: sam@example.org, other@example.net\r\n\r\n", "sam@example.org" },
		{ "From: Friends: sam@example.org, other@example.net;\r\n\r\n", "sam@example.org" },
		{ "From: <@relay.example,@b.example:sam@example.org>\r\n\r\n", "sam@example.org" },
		{ "From: (a \\) (nested) b) sam@example.org\r\n\r\n", "sam@example.org" },
		{ "From: \"a\\\"b\" <\"a\\\" b\"@example.org>\r\n\r\n", "\"a\\\" b\"@example.org" },
		{ "Subject: x\nFrom: sam@example.org\n\n", "sam@example.org" },
		{ "From: sam@example.org\r\nBcc: x@example.net\r\n\r\n", "sam@example.org" },
		{ "From: =?utf-8?q?S=C3=A4m?= <sam@b\xC3\xBC"
		  "cher.example>\r\n\r\n",
		  "sam@b\xC3\xBC"
		  "cher.example" },
		{ "From: a@example.org\r\nFrom: b@example.org\r\n\r\n", "a@example.org" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[64];
		char *got = address_from_header_block(cases[i].raw, strlen(cases[i].raw));
		snprintf(name, sizeof name, "from header %zu", i);
		CHECK_STR(name, got, cases[i].want);
		free(got);
	}
	static const char *const none[] = {
		"To: help@example.net\r\n\r\nFrom: sam@example.org\r\n", /* in the body */
		"X-From: sam@example.org\r\n\r\n",
		"From: nobody\r\n\r\n",
		"From:\r\n\r\n",
		"From: Sam <>\r\n\r\n",
		"",
	};
	for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
		char name[64];
		char *got = address_from_header_block(none[i], strlen(none[i]));
		snprintf(name, sizeof name, "from header none %zu", i);
		CHECK_STR(name, got, NULL);
		free(got);
	}
	CHECK_STR("from header NULL", address_from_header_block(NULL, 0), NULL);
	/* the length bounds the reading: no From beyond len */
	const char *raw = "Subject: x\r\nFrom: sam@example.org\r\n\r\n";
	char *cut = address_from_header_block(raw, 10);
	CHECK_STR("from header beyond len", cut, NULL);
	free(cut);
}

int main(int argc, char **argv)
{
	check_verbose = argc > 1 && !strcmp(argv[1], "-v");
	test_usable();
	test_long_local_parts();
	test_refused();
	test_sendable();
	test_buf();
	test_problem_text();
	test_from_header();
	return check_done();
}
