/* address.c: parse, normalise and check mailbox addresses (RFC 5321). */
#include "address.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define LABEL_MAX 63
#define DOMAIN_MAX 253 /* without the trailing dot */

static int is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_atext(unsigned char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* s[0..n) is a Dot-string: atoms of atext joined by single dots. */
static int dot_string(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Any byte >= 0x80 in s[0..n): well-formed UTF-8 says "non-ASCII", else syntax. */
static enum address_problem non_ascii(const char *s, size_t n, enum address_problem utf8_problem)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = p[i] < 0x80 ? 1 : utf8_decode(p + i, n - i, &cp);
		if (k == 0)
			return ADDRESS_SYNTAX;
		i += k;
	}
	return utf8_problem;
}

/* The local part at the start of addr: its unquoted content into *content
 * (owned) and the offset of the '@' after it. */
static enum address_problem read_local(const char *addr, char **content, size_t *at)
{
	struct buf b;
	size_t i = 0;

	*content = NULL;
	buf_init(&b);
	buf_add(&b, "", 0);
	if (addr[0] == '"') {
		int ascii = 1;
		for (i = 1; addr[i] && addr[i] != '"'; i++) {
			if (addr[i] == '\\') {
				i++;
				if (!addr[i])
					break;
			}
			if ((unsigned char)addr[i] >= 0x80)
				ascii = 0;
			buf_addc(&b, addr[i]);
		}
		if (addr[i] != '"' || addr[i + 1] != '@') {
			buf_free(&b);
			return ADDRESS_SYNTAX;
		}
		if (!ascii) {
			enum address_problem p = non_ascii(b.data, b.len, ADDRESS_UTF8_LOCAL);
			buf_free(&b);
			return p;
		}
		*at = i + 1;
	} else {
		const char *a = strchr(addr, '@');
		if (!a) {
			buf_free(&b);
			return ADDRESS_SYNTAX;
		}
		*at = (size_t)(a - addr);
		buf_add(&b, addr, *at);
		for (i = 0; i < *at; i++) {
			if ((unsigned char)addr[i] >= 0x80) {
				buf_free(&b);
				return non_ascii(addr, *at, ADDRESS_UTF8_LOCAL);
			}
		}
		if (!dot_string(b.data, b.len)) {
			buf_free(&b);
			return ADDRESS_SYNTAX;
		}
	}
	*content = buf_take(&b);
	return ADDRESS_OK;
}

/* The local part as we write it: bare when it is a Dot-string, else a
 * Quoted-string with only '"' and '\' escaped. */
static void write_local(struct buf *out, const char *content)
{
	size_t n = strlen(content);

	if (dot_string(content, n)) {
		buf_adds(out, content);
		return;
	}
	buf_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		if (content[i] == '"' || content[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, content[i]);
	}
	buf_addc(out, '"');
}

static enum address_problem write_literal(struct buf *out, const char *d, size_t n)
{
	char inner[64], text[INET6_ADDRSTRLEN];
	unsigned char bin[16];

	if (n < 3 || d[n - 1] != ']' || n - 2 >= sizeof inner)
		return ADDRESS_BAD_LITERAL;
	memcpy(inner, d + 1, n - 2);
	inner[n - 2] = '\0';
	if (strncasecmp(inner, "IPv6:", 5) == 0) {
		if (inet_pton(AF_INET6, inner + 5, bin) != 1 || !inet_ntop(AF_INET6, bin, text, sizeof text))
			return ADDRESS_BAD_LITERAL;
		buf_printf(out, "[IPv6:%s]", text);
		return ADDRESS_OK;
	}
	/* inet_pton takes only the dotted quad: no octal, no short forms */
	if (inet_pton(AF_INET, inner, bin) != 1)
		return ADDRESS_BAD_LITERAL;
	buf_printf(out, "[%s]", inner);
	return ADDRESS_OK;
}

/* LDH labels of 1-63, no hyphen at either end, at most DOMAIN_MAX octets. */
static int host_name(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
		} else if (is_alnum(c) || c == '-') {
			if (c == '-' && label == 0)
				return 0;
			if (++label > LABEL_MAX)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && d[n - 1] != '-';
}

static enum address_problem write_domain(struct buf *out, const char *d)
{
	size_t n = strlen(d);
	char *name, *alabels = NULL;
	int ascii = 1;

	if (n && d[0] == '[')
		return write_literal(out, d, n);
	if (n && d[n - 1] == '.')
		n--;
	if (n == 0)
		return ADDRESS_SYNTAX;
	name = xstrndup(d, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] >= 0x80)
			ascii = 0;
	if (!ascii) {
		enum address_problem p = non_ascii(name, n, ADDRESS_BAD_DOMAIN);
		if (p != ADDRESS_BAD_DOMAIN ||
		    idn2_to_ascii_8z(name, &alabels, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
			free(name);
			idn2_free(alabels);
			return p == ADDRESS_BAD_DOMAIN ? ADDRESS_BAD_DOMAIN : ADDRESS_SYNTAX;
		}
		free(name);
		name = xstrdup(alabels);
		idn2_free(alabels);
		/* the mapping may leave a trailing dot of its own (U+3002) */
		if (name[0] && name[strlen(name) - 1] == '.')
			name[strlen(name) - 1] = '\0';
	}
	for (char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (!host_name(name)) {
		free(name);
		return ascii ? ADDRESS_SYNTAX : ADDRESS_BAD_DOMAIN;
	}
	buf_adds(out, name);
	free(name);
	return ADDRESS_OK;
}

enum address_problem address_normalise(const char *addr, char **out)
{
	enum address_problem p;
	char *content = NULL;
	size_t at = 0;
	struct buf b;

	if (out)
		*out = NULL;
	if (!addr || !*addr)
		return ADDRESS_MISSING;
	for (const unsigned char *q = (const unsigned char *)addr; *q; q++)
		if (*q < 0x20 || *q == 0x7F)
			return ADDRESS_CONTROL;
	p = read_local(addr, &content, &at);
	if (p != ADDRESS_OK)
		return p;
	if (strchr(addr + at + 1, '@')) {
		free(content);
		return ADDRESS_SYNTAX;
	}
	buf_init(&b);
	write_local(&b, content);
	free(content);
	buf_addc(&b, '@');
	p = write_domain(&b, addr + at + 1);
	if (p == ADDRESS_OK && b.len > ADDRESS_MAX)
		p = ADDRESS_TOO_LONG;
	if (p != ADDRESS_OK) {
		buf_free(&b);
		return p;
	}
	if (out)
		*out = buf_take(&b);
	else
		buf_free(&b);
	return ADDRESS_OK;
}

enum address_problem address_normalise_buf(const char *addr, char *out, size_t outlen)
{
	char *normal = NULL;
	enum address_problem p = address_normalise(addr, &normal);

	if (outlen)
		out[0] = '\0';
	if (p == ADDRESS_OK && strlen(normal) >= outlen)
		p = ADDRESS_TOO_LONG;
	if (p == ADDRESS_OK)
		memcpy(out, normal, strlen(normal) + 1);
	free(normal);
	return p;
}

const char *address_problem_text(enum address_problem p)
{
	switch (p) {
	case ADDRESS_OK:
		return "the address is usable";
	case ADDRESS_MISSING:
		return "there is no sender address";
	case ADDRESS_CONTROL:
		return "the address contains control characters";
	case ADDRESS_SYNTAX:
		return "the address is not written as an email address can be";
	case ADDRESS_UTF8_LOCAL:
		return "its local part (before the at sign) is not plain ASCII, and the relay cannot send "
		       "such mail (SMTPUTF8)";
	case ADDRESS_BAD_DOMAIN:
		return "the domain of the address is not a valid internationalised domain name";
	case ADDRESS_BAD_LITERAL:
		return "the address names a server by something other than an IPv4 or IPv6 address";
	case ADDRESS_TOO_LONG:
		return "the address is longer than mail servers accept (254 characters)";
	}
	return "the address cannot be used";
}

int address_usable(const char *addr)
{
	return address_normalise(addr, NULL) == ADDRESS_OK;
}

int address_sendable(const char *addr)
{
	if (!addr || !*addr || strlen(addr) > ADDRESS_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p < 0x20 || *p > 0x7E)
			return 0;
	return address_usable(addr);
}

/* ---- reading a From field ourselves --------------------------------------- */

/* The unfolded value of the first From field of the header block, owned. */
static char *from_field(const char *raw, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t e = i;
		while (e < len && raw[e] != '\n')
			e++;
		size_t end = e > i && raw[e - 1] == '\r' ? e - 1 : e;
		if (end == i)
			return NULL; /* the empty line: end of the header block */
		if (end - i >= 5 && strncasecmp(raw + i, "From:", 5) == 0) {
			struct buf b;
			buf_init(&b);
			buf_add(&b, raw + i + 5, end - i - 5);
			/* continuation lines start with white space */
			for (i = e + 1; i < len && (raw[i] == ' ' || raw[i] == '\t'); i = e + 1) {
				for (e = i; e < len && raw[e] != '\n'; e++)
					;
				end = e > i && raw[e - 1] == '\r' ? e - 1 : e;
				buf_add(&b, raw + i, end - i);
			}
			return buf_take(&b);
		}
		i = e + 1;
	}
	return NULL;
}

char *address_from_header_block(const char *raw, size_t len)
{
	char *v = raw ? from_field(raw, len) : NULL;
	struct buf spec;
	int quoted = 0, literal = 0, angle = 0, depth = 0, had_angle = 0;

	if (!v)
		return NULL;
	/* one pass: comments dropped, the first mailbox only; inside <> only
	 * the addr-spec; white space kept only inside quotes */
	buf_init(&spec);
	buf_add(&spec, "", 0);
	for (char *p = v; *p; p++) {
		char c = *p;
		if (quoted) {
			buf_addc(&spec, c);
			if (c == '\\' && p[1]) {
				buf_addc(&spec, *++p);
			} else if (c == '"') {
				quoted = 0;
			}
			continue;
		}
		if (depth) {
			if (c == '\\' && p[1])
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (c == '(') {
			depth = 1;
		} else if (c == '"') {
			quoted = 1;
			buf_addc(&spec, c);
		} else if (literal) {
			if (c != ' ' && c != '\t')
				buf_addc(&spec, c);
			if (c == ']')
				literal = 0;
		} else if (c == '[') {
			literal = 1;
			buf_addc(&spec, c);
		} else if (c == '<' && !angle) {
			/* what came before was the display name */
			buf_reset(&spec);
			buf_add(&spec, "", 0);
			angle = had_angle = 1;
		} else if (c == '>' && angle) {
			break;
		} else if ((c == ',' || c == ';') && !angle) {
			break;
		} else if (c == ':' && !angle && !had_angle) {
			/* a group's name: its first mailbox follows */
			buf_reset(&spec);
			buf_add(&spec, "", 0);
		} else if (c != ' ' && c != '\t') {
			buf_addc(&spec, c);
		}
	}
	free(v);
	/* an obsolete source route (<@a,@b:local@domain>) is dropped */
	char *s = buf_take(&spec);
	if (s[0] == '@' && strchr(s, ':')) {
		char *rest = xstrdup(strchr(s, ':') + 1);
		free(s);
		s = rest;
	}
	if (!strchr(s, '@')) {
		free(s);
		return NULL;
	}
	return s;
}
