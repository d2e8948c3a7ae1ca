/* fuzz_compose.c: compose_build() on what outgoing.c and alerts.c hand it:
 * a young person's subject and body, the service's display name, recipients
 * normalised from hostile addresses (or, now and then, not normalised, to
 * be refused), In-Reply-To and References from inbound mail, a Message-ID
 * from compose_message_id() and the extra headers. The input is those texts
 * separated by 0x1E (references by 0x1F); its first byte picks the options.
 *
 * The promises of compose.h, checked on every message built: nothing in the
 * text adds a header or ends the data (every line ends in CRLF, no bare CR
 * or LF, no NUL, no line over 998 octets; the header block is 7-bit
 * printable and holds exactly the expected fields in order; no line starts
 * with '.', no body line with "From "); the Subject and extra headers decode
 * back to exactly compose_header_text() of their value, in encoded-words of
 * at most 75 characters that split no UTF-8 character; the quoted-printable
 * body decodes back to the text (valid UTF-8, CRLF line ends) in lines of
 * at most 76; a refused message names no content and leaves out untouched;
 * a Message-ID gives its unique part back. */
#include <strings.h>

#include "address.h"
#include "compose.h"
#include "fuzz.h"
#include "../unit/reading.h"

FUZZ_QUIET_INITIALIZE

enum field {
	F_SUBJECT,
	F_BODY,
	F_FROM_NAME,
	F_TO,
	F_CC,
	F_IN_REPLY_TO,
	F_REFERENCES,
	F_UNIQUE,
	F_EXTRA_VALUE,
	F_EXTRA_NAME,
	F_COUNT
};

#define MAX_REFERENCES 12 /* as outgoing.c trims them */

/* The date: one the header can carry, or not (years 1900 to 9999 only). */
static const struct {
	long long t;
	int ok;
} dates[] = {
	{ 1764850000LL, 1 },   /* 2025 */
	{ 0, 1 },              /* 1970 */
	{ 253402300799LL, 1 }, /* 9999-12-31 23:59:59 */
	{ 253402300800LL, 0 }, /* 10000 */
	{ -2208988800LL, 1 },  /* 1900-01-01 00:00:00 */
	{ -2208988801LL, 0 },  /* 1899 */
	{ -1, 1 },             /* 1969 */
	{ 4102444800LL, 1 },   /* 2100 */
};


/* One encoded-word as compose must write it: sound, at most 75 characters,
 * whole UTF-8 characters inside. 0, or -1. */
static int ew_sound(const char *w, size_t n, struct buf *out)
{
	size_t start = out->len;
	if (n > 75 || ew_decode(w, n, out) < 0)
		return -1;
	return utf8_valid(out->data + start, out->len - start) ? 0 : -1;
}

/* An unstructured field's value (unfolded, after "Name:") read the way RFC
 * 2047 says: space between two encoded-words is not text. NULL when a token
 * holding "=?" is not a sound encoded-word. Caller frees. */
static char *unstructured_decode(const char *v)
{
	struct buf b;
	int last_ew = 0, first = 1;

	buf_init(&b);
	buf_add(&b, "", 0);
	while (*v == ' ')
		v++;
	while (*v) {
		size_t n = strcspn(v, " ");
		int ew = n >= 2 && v[0] == '=' && v[1] == '?';
		if (!first && !(ew && last_ew))
			buf_addc(&b, ' ');
		if (ew) {
			if (ew_sound(v, n, &b) < 0) {
				buf_free(&b);
				return NULL;
			}
		} else {
			buf_add(&b, v, n);
		}
		last_ew = ew;
		first = 0;
		v += n;
		if (*v == ' ')
			v++;
	}
	return buf_take(&b);
}


static void body_holds(const char *s, size_t n, const char *text)
{
	char *want = expected_body(text);
	size_t line = 0; /* where the current line starts */
	struct buf dec;

	buf_init(&dec);
	buf_add(&dec, "", 0);
	for (size_t i = 0; i < n; i++) {
		/* the transports' line-start hazards are encoded */
		if (i == line)
			fuzz_require(s[i] != '.' && (n - i < 5 || memcmp(s + i, "From ", 5) != 0));
		if (s[i] == '\r') {
			fuzz_require(i - line <= 76);
			buf_adds(&dec, "\r\n");
			line = ++i + 1;
		} else if (s[i] == '=' && i + 1 < n && s[i + 1] == '\r') {
			fuzz_require(i + 1 - line <= 76);
			i += 2;
			line = i + 1;
		} else if (s[i] == '=') {
			fuzz_require(i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
			buf_addc(&dec, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			/* printable ASCII, and white space only before more text */
			fuzz_require((s[i] > 0x20 && s[i] < 0x7F) ||
			             ((s[i] == ' ' || s[i] == '\t') && i + 1 < n && s[i + 1] != '\r'));
			buf_addc(&dec, s[i]);
		}
	}
	fuzz_require(dec.len == strlen(want) && !memcmp(dec.data, want, dec.len));
	free(want);
	buf_free(&dec);
}

/* The expected header fields in order; '?' marks one that may be left out. */
static void headers_hold(const char *s, size_t hlen, const char *const *names, size_t nnames,
                         const struct compose_message *m)
{
	size_t k = 0;
	const char *p = s, *end = s + hlen;

	for (size_t i = 0; i < hlen; i++)
		fuzz_require(((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] <= 0x7E) || s[i] == '\r' || s[i] == '\n');
	while (p < end) {
		/* one field: a line, then its continuation lines */
		struct buf value;
		const char *colon = memchr(p, ':', (size_t)(end - p));
		fuzz_require(*p != ' ' && colon);
		size_t nlen = (size_t)(colon - p);
		while (k < nnames && !(strlen(names[k]) - (names[k][0] == '?') == nlen &&
		                       !strncasecmp(names[k] + (names[k][0] == '?'), p, nlen)))
			fuzz_require(names[k++][0] == '?');
		fuzz_require(k < nnames);
		const char *name = names[k++];
		buf_init(&value);
		buf_add(&value, "", 0);
		for (p = colon + 1;;) {
			const char *eol = strstr(p, "\r\n");
			fuzz_require(eol && eol < end);
			buf_add(&value, p, (size_t)(eol - p));
			p = eol + 2;
			if (p >= end || *p != ' ')
				break;
		}
		if (name[0] == '?')
			name++;
		const char *raw = NULL;
		if (!strcmp(name, "Subject"))
			raw = m->subject;
		for (size_t i = 0; i < m->nextra; i++)
			if (!strcmp(name, m->extra[i].name))
				raw = m->extra[i].value;
		if (raw) {
			char *want = compose_header_text(raw);
			char *got = unstructured_decode(buf_str(&value));
			fuzz_require(got && !strcmp(got, want));
			free(got);
			free(want);
		}
		buf_free(&value);
	}
	while (k < nnames)
		fuzz_require(names[k++][0] == '?');
}

static void message_holds(const struct buf *out, const struct compose_message *m)
{
	const char *s = out->data;
	size_t n = out->len, start = 0;
	const char *names[32];
	size_t nnames = 0;

	/* CRLF everywhere, no NUL, no line over 998, no dot line */
	fuzz_require(n > 0 && !memchr(s, 0, n));
	for (size_t i = 0; i < n; i++) {
		fuzz_require(s[i] != '\r' || (i + 1 < n && s[i + 1] == '\n'));
		fuzz_require(s[i] != '\n' || (i > 0 && s[i - 1] == '\r'));
		if (s[i] == '\n') {
			fuzz_require(i - 1 - start <= 998);
			start = i + 1;
			fuzz_require(start == n || s[start] != '.');
		}
	}
	fuzz_require(start == n && s[0] != '.');
	const char *sep = memmem(s, n, "\r\n\r\n", 4);
	fuzz_require(sep != NULL);

	names[nnames++] = "Date";
	names[nnames++] = "From";
	if (m->reply_to)
		names[nnames++] = "Reply-To";
	names[nnames++] = "To";
	if (m->ncc)
		names[nnames++] = "Cc";
	if (m->subject)
		names[nnames++] = "Subject";
	names[nnames++] = "Message-ID";
	if (m->in_reply_to)
		names[nnames++] = "?In-Reply-To";
	if (m->nreferences)
		names[nnames++] = "?References";
	for (size_t i = 0; i < m->nextra; i++)
		names[nnames++] = m->extra[i].name;
	names[nnames++] = "MIME-Version";
	names[nnames++] = "Content-Type";
	names[nnames++] = "Content-Transfer-Encoding";
	headers_hold(s, (size_t)(sep - s) + 2, names, nnames, m);
	body_holds(sep + 4, n - (size_t)(sep + 4 - s), m->body ? m->body : "");
}

/* compose_header_text(): what a reader decodes back, so it must be clean. */
static void header_text_holds(const char *raw)
{
	char *t = compose_header_text(raw), *again = compose_header_text(t);
	size_t n = strlen(t);

	fuzz_require(fuzz_valid_utf8(t));
	fuzz_require(!strcmp(t, again));
	fuzz_require(n == 0 || (t[0] != ' ' && t[n - 1] != ' '));
	fuzz_require(!strstr(t, "  ") && !strstr(t, "\xE2\x80\xA8") && !strstr(t, "\xE2\x80\xA9"));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		fuzz_require(c >= 0x20 && c != 0x7F);
		fuzz_require(!(c == 0xC2 && (unsigned char)t[i + 1] >= 0x80 && (unsigned char)t[i + 1] <= 0x9F));
	}
	free(again);
	free(t);
}

/* compose_message_id(): "unique@domain", and unique comes back from it. */
static char *message_id_holds(const char *domain, const char *unique)
{
	char *id = compose_message_id(domain, unique);
	struct buf dec;

	if (!id) {
		fuzz_require(!*unique || strcmp(domain, "relay.example.org") != 0);
		return NULL;
	}
	const char *at = strrchr(id, '@');
	fuzz_require(at && !strcmp(at + 1, domain));
	buf_init(&dec);
	buf_add(&dec, "", 0);
	for (const char *p = id; p < at; p++) {
		if (*p == '=') {
			fuzz_require(hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
			buf_addc(&dec, (char)(hexval(p[1]) * 16 + hexval(p[2])));
			p += 2;
		} else {
			buf_addc(&dec, *p);
		}
	}
	fuzz_require(!strcmp(buf_str(&dec), unique));
	buf_free(&dec);
	return id;
}

static int name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 76 && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Up to max addresses separated by 0x1F: normalised as outgoing.c does
 * (one that will not normalise is left out, as outgoing.c refuses the
 * message before composing it), or as given when raw. */
static size_t addresses(char *field, int raw, char **own, struct compose_address *list, size_t max)
{
	size_t n = 0;

	for (char *p = field; p && n < max;) {
		char *next = strchr(p, '\x1f');
		if (next)
			*next++ = '\0';
		own[n] = NULL;
		if (raw)
			list[n].address = p;
		else if (address_normalise(p, &own[n]) == ADDRESS_OK)
			list[n].address = own[n];
		else
			list[n].address = "sam@example.org";
		list[n].name = NULL;
		n++;
		p = next;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags = size ? data[0] : 0;
	char *all = fuzz_string(size ? data + 1 : data, size ? size - 1 : 0);
	char *f[F_COUNT] = { NULL };
	char *own_to[3], *own_cc[2];
	const char *refs[MAX_REFERENCES];
	struct compose_address to[3], cc[2], reply_to;
	struct compose_header extra[4];
	struct compose_message m;
	char err[256] = "";
	struct buf out;
	size_t nrefs = 0, nextra = 0, nto, ncc = 0;
	int expect = 1;

	f[0] = all;
	for (int i = 1; i < F_COUNT && f[i - 1]; i++) {
		char *sep = strchr(f[i - 1], '\x1e');
		if (sep) {
			*sep = '\0';
			f[i] = sep + 1;
		}
	}
	for (int i = 0; i < F_COUNT; i++)
		if (f[i] && i != F_TO && i != F_CC && i != F_REFERENCES)
			header_text_holds(f[i]);
	for (char *p = f[F_REFERENCES]; p && nrefs < MAX_REFERENCES;) {
		char *next = strchr(p, '\x1f');
		if (next)
			*next++ = '\0';
		refs[nrefs++] = p;
		p = next;
	}

	nto = addresses(f[F_TO] ? f[F_TO] : "sam@example.org", flags & 4, own_to, to, 3);
	if (flags & 2)
		ncc = addresses(f[F_CC] ? f[F_CC] : "", flags & 4, own_cc, cc, 2);
	for (size_t i = 0; i < nto; i++)
		expect &= compose_address_valid(to[i].address);
	for (size_t i = 0; i < ncc; i++)
		expect &= compose_address_valid(cc[i].address);
	to[0].name = f[F_FROM_NAME];
	reply_to.name = f[F_FROM_NAME];
	reply_to.address = "relay+RUS-7K3F2.sig@relay.example.org";

	/* the extra headers of outgoing.c, or a name from the input */
	if (flags & 8)
		extra[nextra++] = (struct compose_header){ "Auto-Submitted", "auto-replied" };
	extra[nextra++] = (struct compose_header){ "X-Auto-Response-Suppress", "All" };
	extra[nextra++] = (struct compose_header){ "X-Relay-Loop", f[F_EXTRA_VALUE] ? f[F_EXTRA_VALUE] : "" };
	if (flags & 128 && f[F_EXTRA_NAME]) {
		extra[nextra++] = (struct compose_header){ f[F_EXTRA_NAME], "1" };
		expect = -1; /* whether the name is allowed is compose's to say */
	} else if (flags & 16) {
		extra[nextra++] = (struct compose_header){ "X-Priority", "1" };
	}

	char *msgid = message_id_holds("relay.example.org", f[F_UNIQUE] ? f[F_UNIQUE] : "RUS-7K3F2.forward.0123");
	free(message_id_holds(f[F_TO] ? f[F_TO] : "", "x"));
	if (!msgid)
		goto out;
	size_t date = (flags >> 5) & 7;
	/* compose_message_id() makes an id of any length; compose_build()
	 * takes one of at most 500 octets (outgoing.c's are under 100) */
	if (expect >= 0)
		expect &= dates[date].ok && strlen(msgid) <= 500;

	memset(&m, 0, sizeof m);
	m.from = (struct compose_address){ f[F_FROM_NAME], "relay@relay.example.org" };
	m.to = to;
	m.nto = nto;
	m.cc = cc;
	m.ncc = ncc;
	m.reply_to = flags & 1 ? &reply_to : NULL;
	m.subject = f[F_SUBJECT];
	m.message_id = msgid;
	m.in_reply_to = f[F_IN_REPLY_TO];
	m.references = nrefs ? refs : NULL;
	m.nreferences = nrefs;
	m.date = dates[date].t;
	m.extra = extra;
	m.nextra = nextra;
	m.body = f[F_BODY];

	buf_init(&out);
	buf_adds(&out, "kept");
	int rc = compose_build(&m, &out, err, sizeof err);
	fuzz_require(rc == 0 || rc == -1);
	if (expect >= 0)
		fuzz_require(rc == (expect ? 0 : -1));
	if (rc == 0) {
		struct buf msg = { out.data + 4, out.len - 4, 0 };
		message_holds(&msg, &m);
	} else {
		/* refused: out as it was, and err names a field, never its content */
		fuzz_require(!strcmp(buf_str(&out), "kept") && *err);
		for (const char *p = err; *p; p++)
			fuzz_require(*p >= 0x20 && *p <= 0x7E);
	}

	/* one header alone, with any name */
	if (f[F_EXTRA_NAME]) {
		buf_reset(&out);
		buf_adds(&out, "kept");
		rc = compose_header(&out, f[F_EXTRA_NAME], f[F_SUBJECT]);
		fuzz_require(rc == (name_valid(f[F_EXTRA_NAME]) ? 0 : -1));
		fuzz_require(rc == 0 || !strcmp(buf_str(&out), "kept"));
	}
	buf_free(&out);
	free(msgid);
out:
	for (size_t i = 0; i < nto; i++)
		free(own_to[i]);
	for (size_t i = 0; i < ncc; i++)
		free(own_cc[i]);
	free(all);
	return 0;
}
