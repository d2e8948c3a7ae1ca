/* authres.c: the receiving server's Authentication-Results field (RFC 8601),
 * read to decide whether an adviser's reply is from the adviser's domain. */
#include "authres.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- reading a field's value --------------------------------------------- */

struct cursor {
	const char *p, *end;
};

static int is_lower_alpha(char ch)
{
	return ch >= 'a' && ch <= 'z';
}

static char lower_char(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static int is_keyword_char(char ch)
{
	ch = lower_char(ch);
	return is_lower_alpha(ch) || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* Spaces, folding and comments (nested, with quoted-pairs). */
static void skip_cfws(struct cursor *c)
{
	size_t depth = 0;
	while (c->p < c->end) {
		char ch = *c->p;
		if (depth) {
			if (ch == '\\' && c->p + 1 < c->end)
				c->p++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			c->p++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			c->p++;
		else if (ch == '(') {
			depth = 1;
			c->p++;
		} else
			break;
	}
}

/* Past what is left of one resinfo: to the next ';' (not consumed) outside
 * quoted strings and comments, or the end. */
static void skip_to_semicolon(struct cursor *c)
{
	while (c->p < c->end && *c->p != ';') {
		if (*c->p == '(') {
			skip_cfws(c);
			continue;
		}
		if (*c->p == '"') {
			for (c->p++; c->p < c->end && *c->p != '"'; c->p++)
				if (*c->p == '\\' && c->p + 1 < c->end)
					c->p++;
		}
		if (c->p < c->end)
			c->p++;
	}
}

/* A keyword (method, result, ptype, property), lower-cased into out. 1 read,
 * 0 none there or too long (then nothing usable). */
static int read_keyword(struct cursor *c, char *out, size_t outlen)
{
	size_t n = 0;
	int fits = 1;
	while (c->p < c->end && is_keyword_char(*c->p)) {
		if (n + 1 < outlen)
			out[n++] = lower_char(*c->p);
		else
			fits = 0;
		c->p++;
	}
	out[fits ? n : 0] = '\0';
	return n > 0 && fits;
}

/* A value: a quoted-string, or a run of characters up to a space, comment or
 * ';'. Returns 0 when there is none, 1 when read into out, 2 when read but
 * too long for out (out is then ""). */
static int read_value(struct cursor *c, char *out, size_t outlen)
{
	size_t n = 0;
	int fits = 1, any = 0;
	if (c->p < c->end && *c->p == '"') {
		any = 1;
		for (c->p++; c->p < c->end && *c->p != '"'; c->p++) {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			if (n + 1 < outlen)
				out[n++] = *c->p;
			else
				fits = 0;
		}
		if (c->p < c->end)
			c->p++;
	} else {
		while (c->p < c->end) {
			char ch = *c->p;
			if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '(' || ch == ';' || ch == '"' ||
			    ch == '\0')
				break;
			any = 1;
			if (n + 1 < outlen)
				out[n++] = ch;
			else
				fits = 0;
			c->p++;
		}
	}
	out[fits ? n : 0] = '\0';
	return !any ? 0 : fits ? 1 : 2;
}

/* dst gets val as a lower-case domain name, or "" when val is not one. */
static void set_domain(char dst[AUTHRES_DOMAIN_MAX], const char *val)
{
	size_t n = strlen(val);
	dst[0] = '\0';
	while (n && val[n - 1] == '.')
		n--;
	if (!n || n >= AUTHRES_DOMAIN_MAX || val[0] == '.')
		return;
	for (size_t i = 0; i < n; i++) {
		char ch = lower_char(val[i]);
		if (!is_lower_alpha(ch) && !(ch >= '0' && ch <= '9') && ch != '-' && ch != '.' && ch != '_')
			return;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = lower_char(val[i]);
	dst[n] = '\0';
}

int authres_parse(const char *value, size_t len, struct authres *out)
{
	struct cursor c = { value, value + len };
	char id[sizeof out->authserv_id];

	memset(out, 0, sizeof *out);
	skip_cfws(&c);
	/* "spf=pass ..." is a result, not an authserv-id (Exchange Online omits it). */
	if (read_value(&c, id, sizeof id) != 1 || !id[0] || strchr(id, '='))
		return -1;
	for (char *p = id; *p; p++)
		*p = lower_char(*p);
	memcpy(out->authserv_id, id, sizeof id);
	skip_cfws(&c);
	while (c.p < c.end && *c.p >= '0' && *c.p <= '9') /* authres-version */
		c.p++;
	for (;;) {
		struct authres_result r;
		char version[AUTHRES_NAME_MAX], have_d = 0;

		skip_cfws(&c);
		if (c.p >= c.end)
			break;
		if (*c.p != ';') {
			skip_to_semicolon(&c);
			continue;
		}
		c.p++;
		skip_cfws(&c);
		memset(&r, 0, sizeof r);
		if (!read_keyword(&c, r.method, sizeof r.method)) {
			skip_to_semicolon(&c);
			continue;
		}
		skip_cfws(&c);
		if (c.p < c.end && *c.p == '/') { /* method-version */
			c.p++;
			skip_cfws(&c);
			read_keyword(&c, version, sizeof version);
			skip_cfws(&c);
		}
		if (c.p >= c.end || *c.p != '=') { /* "none", or not a resinfo */
			skip_to_semicolon(&c);
			continue;
		}
		c.p++;
		skip_cfws(&c);
		if (!read_keyword(&c, r.result, sizeof r.result)) {
			skip_to_semicolon(&c);
			continue;
		}
		/* reason= and ptype.property=value, up to the next ';' */
		for (;;) {
			char ptype[AUTHRES_NAME_MAX], prop[AUTHRES_NAME_MAX], val[AUTHRES_DOMAIN_MAX * 2];
			skip_cfws(&c);
			if (c.p >= c.end || *c.p == ';')
				break;
			if (!read_keyword(&c, ptype, sizeof ptype)) {
				skip_to_semicolon(&c);
				break;
			}
			skip_cfws(&c);
			if (c.p < c.end && *c.p == '=') { /* reason (or another word we do not read) */
				c.p++;
				skip_cfws(&c);
				read_value(&c, val, sizeof val);
				continue;
			}
			if (c.p >= c.end || *c.p != '.') {
				skip_to_semicolon(&c);
				break;
			}
			c.p++;
			skip_cfws(&c);
			if (!read_keyword(&c, prop, sizeof prop)) {
				skip_to_semicolon(&c);
				break;
			}
			skip_cfws(&c);
			if (c.p >= c.end || *c.p != '=') {
				skip_to_semicolon(&c);
				break;
			}
			c.p++;
			skip_cfws(&c);
			if (read_value(&c, val, sizeof val) != 1)
				val[0] = '\0';
			if (strcmp(ptype, "header") != 0)
				continue;
			if (!strcmp(prop, "from")) {
				set_domain(r.header_from, val);
			} else if (!strcmp(prop, "d")) {
				set_domain(r.signer, val);
				have_d = 1;
			} else if (!strcmp(prop, "i") && !have_d) {
				const char *at = strrchr(val, '@');
				set_domain(r.signer, at ? at + 1 : val);
			}
		}
		if (out->nresults < AUTHRES_MAX_RESULTS)
			out->results[out->nresults++] = r;
	}
	return 0;
}

int authres_aligned(const char *signer, const char *from_domain)
{
	size_t s = signer ? strlen(signer) : 0, f = from_domain ? strlen(from_domain) : 0;
	/* A signature by a top-level name ("org") vouches for nobody. */
	if (!s || !f || !strchr(signer, '.') || signer[0] == '.')
		return 0;
	if (s == f)
		return strcasecmp(signer, from_domain) == 0;
	return f > s && from_domain[f - s - 1] == '.' && strcasecmp(from_domain + f - s, signer) == 0;
}

/* ---- the message's header --------------------------------------------------- */

struct field {
	const char *name, *value;
	size_t namelen, valuelen;
};

/* The next header field from *pos (folded lines joined); 0 at the header's end. */
static int next_field(const char *raw, size_t len, size_t *pos, struct field *f)
{
	size_t p = *pos;
	while (p < len) {
		if (raw[p] == '\n' || (raw[p] == '\r' && p + 1 < len && raw[p + 1] == '\n'))
			return 0; /* the empty line: the body follows */
		size_t e = p;
		for (;;) {
			while (e < len && raw[e] != '\n')
				e++;
			if (e + 1 < len && (raw[e + 1] == ' ' || raw[e + 1] == '\t')) {
				e++;
				continue;
			}
			break;
		}
		size_t next = e < len ? e + 1 : len;
		const char *colon = memchr(raw + p, ':', e - p);
		if (!colon) { /* not a field (an mbox "From " line, junk): skipped */
			p = next;
			continue;
		}
		f->name = raw + p;
		f->namelen = (size_t)(colon - (raw + p));
		while (f->namelen && (f->name[f->namelen - 1] == ' ' || f->name[f->namelen - 1] == '\t'))
			f->namelen--;
		f->value = colon + 1;
		f->valuelen = (size_t)(raw + e - (colon + 1));
		*pos = next;
		return 1;
	}
	*pos = p;
	return 0;
}

static int named(const struct field *f, const char *name)
{
	return f->namelen == strlen(name) && strncasecmp(f->name, name, f->namelen) == 0;
}

/* Fields a message's author writes and no receiving server adds on top. */
static int authors_field(const struct field *f)
{
	static const char *const names[] = { "From",     "To",         "Cc",           "Subject",
		                             "Date",     "Message-ID", "In-Reply-To",  "References",
		                             "Reply-To", "Sender",     "MIME-Version", "Content-Type" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (named(f, names[i]))
			return 1;
	return 0;
}

#define SAY(...)                                            \
	do {                                                \
		if (why && whylen)                          \
			snprintf(why, whylen, __VA_ARGS__); \
	} while (0)

/* Does the field ours prove domain dom: a DMARC pass for it, or a DKIM
 * pass aligned with it? 1, with why naming who found what; else 0. */
static int proves(const struct authres *ours, const char *dom, const char *who, char *why, size_t whylen)
{
	for (size_t i = 0; i < ours->nresults; i++) {
		const struct authres_result *r = &ours->results[i];
		if (strcmp(r->result, "pass") != 0)
			continue;
		if (!strcmp(r->method, "dmarc") && !strcmp(r->header_from, dom)) {
			SAY("%s found a DMARC pass for %s", who, dom);
			return 1;
		}
		if (!strcmp(r->method, "dkim") && authres_aligned(r->signer, dom)) {
			SAY("%s found a DKIM signature of %s", who, r->signer);
			return 1;
		}
	}
	return 0;
}

enum authres_verdict authres_verify(const char *raw, size_t len, const char *authserv_id, const char *from_domain, char *why,
                                    size_t whylen)
{
	struct authres ours, a;
	struct field f;
	size_t pos = 0;
	int found = 0, below = 0, froms = 0, authors = 0;
	char dom[AUTHRES_DOMAIN_MAX];

	if (why && whylen)
		why[0] = '\0';
	set_domain(dom, from_domain ? from_domain : "");
	while (raw && next_field(raw, len, &pos, &f)) {
		if (named(&f, "From"))
			froms++;
		if (named(&f, "Authentication-Results")) {
			if (found || below || !authserv_id || authres_parse(f.value, f.valuelen, &a) < 0 ||
			    strcasecmp(a.authserv_id, authserv_id) != 0)
				continue;
			if (authors)
				below = 1;
			else {
				ours = a;
				found = 1;
			}
		} else if (authors_field(&f)) {
			authors = 1;
		}
	}
	if (!found) {
		if (below)
			SAY("its only Authentication-Results header naming %s stands below the message's own header "
			    "fields, where the sender wrote it",
			    authserv_id);
		else
			SAY("the service's mail server (%s) wrote no Authentication-Results header on it",
			    authserv_id ? authserv_id : "?");
		return AUTHRES_MISSING;
	}
	if (froms != 1 || !dom[0]) {
		SAY("it has %d From header fields", froms);
		return AUTHRES_FAIL;
	}
	if (proves(&ours, dom, ours.authserv_id, why, whylen))
		return AUTHRES_PASS;
	/* What the server did find, for the advisers. */
	char found_text[400] = "";
	size_t k = 0;
	for (size_t i = 0; i < ours.nresults && k + 1 < sizeof found_text; i++) {
		const struct authres_result *r = &ours.results[i];
		if (strcmp(r->method, "dmarc") != 0 && strcmp(r->method, "dkim") != 0)
			continue;
		const char *d = !strcmp(r->method, "dmarc") ? r->header_from : r->signer;
		int n = snprintf(found_text + k, sizeof found_text - k, "%s%s=%s%s%s%s", k ? ", " : "", r->method, r->result,
		                 d[0] ? " (" : "", d, d[0] ? ")" : "");
		if (n < 0)
			break;
		k += (size_t)n;
	}
	if (k >= sizeof found_text)
		k = sizeof found_text - 1;
	found_text[k] = '\0';
	SAY("the service's mail server (%s) found no DMARC pass and no DKIM signature of %s; it reports: %s",
	    ours.authserv_id, dom, k ? found_text : "no DMARC or DKIM result");
	return AUTHRES_FAIL;
}

/* Exchange Online (authres.h, authres_verify_exchange). */
enum authres_verdict authres_verify_exchange(const char *raw, size_t len, const char *from_domain, char *why, size_t whylen)
{
	struct field f;
	size_t pos = 0;
	int froms = 0, authors = 0, internal = -1, have_ar = 0;
	struct authres ours;
	char dom[AUTHRES_DOMAIN_MAX];

	if (why && whylen)
		why[0] = '\0';
	set_domain(dom, from_domain ? from_domain : "");
	while (raw && next_field(raw, len, &pos, &f)) {
		if (named(&f, "From"))
			froms++;
		if (named(&f, "X-MS-Exchange-Organization-AuthAs") && internal < 0) {
			struct cursor c = { f.value, f.value + f.valuelen };
			char word[AUTHRES_NAME_MAX];
			skip_cfws(&c);
			internal = read_keyword(&c, word, sizeof word) && !strcmp(word, "internal");
		} else if (named(&f, "Authentication-Results") && !have_ar && !authors) {
			/* Exchange writes its field without an authserv-id: read it as
			 * if it had one. Only the topmost field, above the message's
			 * own, can be Exchange's. */
			char buf[4096];
			size_t n = f.valuelen < sizeof buf - 12 ? f.valuelen : sizeof buf - 12;
			memcpy(buf, "exchange; ", 10);
			memcpy(buf + 10, f.value, n);
			if (authres_parse(f.value, f.valuelen, &ours) < 0 && authres_parse(buf, n + 10, &ours) == 0)
				have_ar = 1;
			else
				have_ar = -1; /* topmost, but with an authserv-id: not Exchange's */
		} else if (authors_field(&f)) {
			authors = 1;
		}
	}
	if (internal != 1 && have_ar != 1) {
		SAY("it came from outside the organisation and Exchange Online's Authentication-Results header is not on it");
		return AUTHRES_MISSING;
	}
	if (froms != 1 || !dom[0]) {
		SAY("it has %d From header fields", froms);
		return AUTHRES_FAIL;
	}
	if (internal == 1) {
		SAY("Exchange Online says it was sent from a mailbox of the organisation (AuthAs: Internal)");
		return AUTHRES_PASS;
	}
	if (proves(&ours, dom, "Exchange Online", why, whylen))
		return AUTHRES_PASS;
	SAY("it came from outside the organisation and Exchange Online found no DMARC pass and no DKIM signature of %s",
	    dom);
	return AUTHRES_FAIL;
}
