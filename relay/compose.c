/* compose.c: outgoing RFC 5322 messages that user text cannot escape from. */
#include "compose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "address.h"

#define FOLD_COLS 78      /* RFC 5322 "SHOULD" line length */
#define EW_MAX 75         /* RFC 2047 limit on one encoded-word */
#define EW_OVERHEAD 12    /* "=?UTF-8?Q?" + "?=" */
#define EW_MIN 24         /* a word with room for one 4-byte character in Q */
#define PLAIN_WORD_MAX 77 /* longer words could not be folded: encode them */
#define FIELD_NAME_MAX 76
#define MSGID_MAX 500
#define QP_COLS 75 /* plus '=' of a soft line break: 76 */

static const char hexdigits[] = "0123456789ABCDEF";

/* Headers compose_build writes itself, or that must never come from a caller. */
static const char *const reserved_names[] = {
	"Date",    "From",       "Sender",      "Reply-To",   "To",           "Cc",          "Bcc",
	"Subject", "Message-ID", "In-Reply-To", "References", "MIME-Version", "Return-Path", "Received",
};
static const char *const reserved_prefixes[] = { "Content-", "Resent-" };

/* Lead byte to sequence length; the text has been through utf8_sanitize(). */
static size_t u8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xE0)
		return 2;
	if (c < 0xF0)
		return 3;
	return 4;
}

static unsigned long u8_code(const unsigned char *p, size_t k)
{
	switch (k) {
	case 1:
		return p[0];
	case 2:
		return ((p[0] & 0x1FUL) << 6) | (p[1] & 0x3F);
	case 3:
		return ((p[0] & 0x0FUL) << 12) | ((p[1] & 0x3FUL) << 6) | (p[2] & 0x3F);
	default:
		return ((p[0] & 0x07UL) << 18) | ((p[1] & 0x3FUL) << 12) | ((p[2] & 0x3FUL) << 6) | (p[3] & 0x3F);
	}
}

/* Characters that could end a header line somewhere, or hide in one. */
static int is_header_space(unsigned long cp)
{
	return cp == ' ' || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

char *compose_header_text(const char *utf8)
{
	char *clean = utf8_sanitize(utf8 ? utf8 : "", utf8 ? strlen(utf8) : 0);
	const unsigned char *p = (const unsigned char *)clean;
	struct buf b;
	int space = 0;

	buf_init(&b);
	buf_add(&b, "", 0);
	while (*p) {
		size_t k = u8_len(*p);
		if (is_header_space(u8_code(p, k))) {
			space = 1;
		} else {
			if (space && b.len)
				buf_addc(&b, ' ');
			space = 0;
			buf_add(&b, p, k);
		}
		p += k;
	}
	free(clean);
	return buf_take(&b);
}

static int is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Narrower than RFC 5322's ftext on purpose: every header we write is
 * letters, digits and '-', and a line can then never start with '.'. */
static int field_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > FIELD_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

static int domain_valid(const char *d, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
			if (c == '-' && label == 0)
				return 0;
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && d[n - 1] != '-';
}

int compose_address_valid(const char *addr)
{
	char *normal = NULL;
	int ok = address_sendable(addr) && address_normalise(addr, &normal) == ADDRESS_OK && strcasecmp(normal, addr) == 0;

	free(normal);
	return ok;
}

/* A msg-id without <>: dot-atom-ish left, dot-atom-ish or [literal] right.
 * Looser than RFC 5322 about dots, as real mailers are, but nothing that
 * could break the header. */
static int msgid_valid(const char *id)
{
	const char *at, *r;
	size_t n;

	if (!id)
		return 0;
	n = strlen(id);
	at = strchr(id, '@');
	if (n > MSGID_MAX || !at || at == id || at[1] == '\0')
		return 0;
	for (const char *p = id; p < at; p++)
		if (*p != '.' && !is_atext((unsigned char)*p))
			return 0;
	r = at + 1;
	if (*r == '[') {
		if (id[n - 1] != ']' || id + n - 1 == r + 1)
			return 0;
		for (const char *p = r + 1; p < id + n - 1; p++)
			if ((unsigned char)*p < 33 || (unsigned char)*p > 126 || strchr("[]\\", *p))
				return 0;
		return 1;
	}
	for (const char *p = r; *p; p++)
		if (*p != '.' && !is_atext((unsigned char)*p))
			return 0;
	return 1;
}

char *compose_message_id(const char *domain, const char *unique)
{
	struct buf b;

	if (!domain || !unique || !*unique || !domain_valid(domain, strlen(domain)))
		return NULL;
	buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)unique; *p; p++) {
		int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		           *p == '_';
		/* a dot only where dot-atom-text allows one */
		if (*p == '.' && b.len && b.data[b.len - 1] != '.' && p[1] && p[1] != '.')
			keep = 1;
		if (keep) {
			buf_addc(&b, (char)*p);
		} else {
			buf_addc(&b, '=');
			buf_addc(&b, hexdigits[*p >> 4]);
			buf_addc(&b, hexdigits[*p & 15]);
		}
	}
	buf_printf(&b, "@%s", domain);
	return buf_take(&b);
}

/* ---- folding ------------------------------------------------------------ */

/* Writes tokens after "Name:", one space apart, folding before a token that
 * would pass FOLD_COLS. The first token never folds: a field whose first
 * line is empty upsets some readers. */
struct fold {
	struct buf *out;
	size_t col;
	int first;
};

static void fold_token(struct fold *f, const char *tok, size_t len)
{
	if (!f->first && f->col + 1 + len > FOLD_COLS) {
		buf_adds(f->out, "\r\n ");
		f->col = 1;
	} else {
		buf_addc(f->out, ' ');
		f->col++;
	}
	f->first = 0;
	buf_add(f->out, tok, len);
	f->col += len;
}

/* Longest encoded-word that may go next: what is left of this line, or a
 * whole one when too little is left (fold_token will then fold). */
static size_t fold_room(const struct fold *f)
{
	size_t avail = f->col + 1 < FOLD_COLS ? FOLD_COLS - f->col - 1 : 0;

	if (avail < EW_MIN)
		return f->first ? EW_MIN : EW_MAX;
	return avail < EW_MAX ? avail : EW_MAX;
}

/* Q may leave these literal in any context RFC 2047 allows, phrases included. */
static int q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '!' || c == '*' ||
	       c == '+' || c == '-' || c == '/';
}

static size_t q_cost(const unsigned char *s, size_t n)
{
	size_t cost = 0;
	for (size_t i = 0; i < n; i++)
		cost += (q_literal(s[i]) || s[i] == ' ') ? 1 : 3;
	return cost;
}

static size_t b_cost(size_t n)
{
	return (n + 2) / 3 * 4;
}

static void add_q(struct buf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ') {
			buf_addc(b, '_');
		} else if (q_literal(s[i])) {
			buf_addc(b, (char)s[i]);
		} else {
			buf_addc(b, '=');
			buf_addc(b, hexdigits[s[i] >> 4]);
			buf_addc(b, hexdigits[s[i] & 15]);
		}
	}
}

static void add_b64(struct buf *b, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		buf_addc(b, tab[(v >> 18) & 63]);
		buf_addc(b, tab[(v >> 12) & 63]);
		buf_addc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		buf_addc(b, i + 2 < n ? tab[v & 63] : '=');
	}
}

/* Writes s[0..n) (valid UTF-8) as encoded-words, cut between characters.
 * Whitespace between adjacent encoded-words is not displayed, so spaces
 * of the text travel inside the words. */
static void fold_encoded(struct fold *f, const unsigned char *s, size_t n)
{
	int q = q_cost(s, n) <= b_cost(n);
	struct buf word;
	size_t i = 0;

	buf_init(&word);
	while (i < n) {
		size_t room = fold_room(f) - EW_OVERHEAD;
		size_t j = i, qc = 0;
		while (j < n) {
			size_t k = u8_len(s[j]);
			size_t c = q ? qc + q_cost(s + j, k) : b_cost(j + k - i);
			if (c > room)
				break;
			qc = c;
			j += k;
		}
		buf_reset(&word);
		buf_adds(&word, q ? "=?UTF-8?Q?" : "=?UTF-8?B?");
		if (q)
			add_q(&word, s + i, j - i);
		else
			add_b64(&word, s + i, j - i);
		buf_adds(&word, "?=");
		fold_token(f, word.data, word.len);
		i = j;
	}
	buf_free(&word);
}

/* A word that may stand as itself in a header: printable ASCII that no
 * decoder could take for an encoded-word, short enough to fold around. */
static int plain_word(const char *w, size_t n)
{
	if (n > PLAIN_WORD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		if (c < 0x21 || c > 0x7E)
			return 0;
		if (c == '=' && i + 1 < n && w[i + 1] == '?')
			return 0;
	}
	return 1;
}

/* Unstructured text, already cleaned (single spaces, no controls): plain
 * words as they are, each maximal run of other words as encoded-words. */
static void fold_text(struct fold *f, const char *clean)
{
	const char *p = clean, *run = NULL, *run_end = NULL;

	while (*p) {
		const char *e = strchr(p, ' ');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		/* the first word cannot fold away from "Name:": a long one that
		 * does not fit is encoded, which can be cut */
		int fits = !f->first || run || f->col + 1 + n <= FOLD_COLS || n <= EW_MIN;
		if (plain_word(p, n) && fits) {
			if (run) {
				fold_encoded(f, (const unsigned char *)run, (size_t)(run_end - run));
				run = NULL;
			}
			fold_token(f, p, n);
		} else {
			if (!run)
				run = p;
			run_end = p + n;
		}
		p += n;
		if (*p == ' ')
			p++;
	}
	if (run)
		fold_encoded(f, (const unsigned char *)run, (size_t)(run_end - run));
}

static void field_start(struct fold *f, struct buf *out, const char *name)
{
	buf_adds(out, name);
	buf_addc(out, ':');
	f->out = out;
	f->col = strlen(name) + 1;
	f->first = 1;
}

int compose_header(struct buf *out, const char *name, const char *value_utf8)
{
	struct fold f;
	char *clean;

	if (!field_name_valid(name))
		return -1;
	clean = compose_header_text(value_utf8);
	field_start(&f, out, name);
	fold_text(&f, clean);
	buf_adds(out, "\r\n");
	free(clean);
	return 0;
}

/* ---- addresses and ids -------------------------------------------------- */

static void fold_mailbox(struct fold *f, const struct compose_address *a, int last)
{
	char *name = compose_header_text(a->name);
	size_t n = strlen(name);
	size_t room = f->first ? FOLD_COLS - f->col - 1 : FOLD_COLS - 1;
	struct buf tok;
	int quoted = 1;

	/* a quoted-string cannot be folded and hides no encoded-word */
	buf_init(&tok);
	buf_addc(&tok, '"');
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)name[i] > 0x7E || (name[i] == '=' && name[i + 1] == '?'))
			quoted = 0;
		if (name[i] == '"' || name[i] == '\\')
			buf_addc(&tok, '\\');
		buf_addc(&tok, name[i]);
	}
	buf_addc(&tok, '"');
	if (n && quoted && tok.len <= room)
		fold_token(f, tok.data, tok.len);
	else if (n)
		fold_encoded(f, (const unsigned char *)name, n);
	buf_reset(&tok);
	buf_printf(&tok, n ? "<%s>%s" : "%s%s", a->address, last ? "" : ",");
	fold_token(f, tok.data, tok.len);
	buf_free(&tok);
	free(name);
}

static void address_field(struct buf *out, const char *name, const struct compose_address *list, size_t n)
{
	struct fold f;

	field_start(&f, out, name);
	for (size_t i = 0; i < n; i++)
		fold_mailbox(&f, &list[i], i + 1 == n);
	buf_adds(out, "\r\n");
}

static void msgid_field(struct buf *out, const char *name, const char *const *ids, size_t n)
{
	struct fold f;
	struct buf tok;
	size_t valid = 0;

	for (size_t i = 0; i < n; i++)
		valid += msgid_valid(ids[i]);
	if (!valid)
		return;
	buf_init(&tok);
	field_start(&f, out, name);
	for (size_t i = 0; i < n; i++) {
		if (!msgid_valid(ids[i]))
			continue;
		buf_reset(&tok);
		buf_printf(&tok, "<%s>", ids[i]);
		fold_token(&f, tok.data, tok.len);
	}
	buf_adds(out, "\r\n");
	buf_free(&tok);
}

static int format_date(long long t, char *s, size_t n)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if ((long long)tt != t || !gmtime_r(&tt, &tm))
		return -1;
	if (tm.tm_year < 0 || tm.tm_year > 9999 - 1900)
		return -1;
	/* by hand, not strftime: the locale must not change a header */
	snprintf(s, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

static int name_reserved(const char *name)
{
	for (size_t i = 0; i < sizeof reserved_names / sizeof *reserved_names; i++)
		if (strcasecmp(name, reserved_names[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof reserved_prefixes / sizeof *reserved_prefixes; i++)
		if (strncasecmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
			return 1;
	return 0;
}

static int check_list(const char *what, const struct compose_address *list, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (!compose_address_valid(list[i].address)) {
			snprintf(err, errlen, "%s address %zu is not a valid address", what, i + 1);
			return -1;
		}
	}
	return 0;
}

/* Everything that can refuse the message, before a byte is written. */
static int check_message(const struct compose_message *m, char *date, size_t datelen, char *err, size_t errlen)
{
	if (check_list("From", &m->from, 1, err, errlen) == -1)
		return -1;
	if (m->nto == 0 || !m->to) {
		snprintf(err, errlen, "no To recipient");
		return -1;
	}
	if (check_list("To", m->to, m->nto, err, errlen) == -1)
		return -1;
	if (m->ncc && !m->cc) {
		snprintf(err, errlen, "Cc list missing");
		return -1;
	}
	if (check_list("Cc", m->cc, m->ncc, err, errlen) == -1)
		return -1;
	if (m->reply_to && check_list("Reply-To", m->reply_to, 1, err, errlen) == -1)
		return -1;
	if (!msgid_valid(m->message_id)) {
		snprintf(err, errlen, "Message-ID is not valid");
		return -1;
	}
	if (format_date(m->date, date, datelen) == -1) {
		snprintf(err, errlen, "date %lld cannot be written", m->date);
		return -1;
	}
	for (size_t i = 0; i < m->nextra; i++) {
		const char *name = m->extra[i].name;
		if (!field_name_valid(name)) {
			snprintf(err, errlen, "extra header %zu: name is not valid", i + 1);
			return -1;
		}
		if (name_reserved(name)) {
			snprintf(err, errlen, "extra header %s is reserved", name);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(name, m->extra[j].name) == 0) {
				snprintf(err, errlen, "extra header %s is repeated", name);
				return -1;
			}
		}
	}
	return 0;
}

int compose_build(const struct compose_message *m, struct buf *out, char *err, size_t errlen)
{
	char date[64];
	const char *irt[1];

	if (check_message(m, date, sizeof date, err, errlen) == -1)
		return -1;

	buf_printf(out, "Date: %s\r\n", date);
	address_field(out, "From", &m->from, 1);
	if (m->reply_to)
		address_field(out, "Reply-To", m->reply_to, 1);
	address_field(out, "To", m->to, m->nto);
	if (m->ncc)
		address_field(out, "Cc", m->cc, m->ncc);
	if (m->subject)
		compose_header(out, "Subject", m->subject);
	buf_printf(out, "Message-ID: <%s>\r\n", m->message_id);
	if (m->in_reply_to) {
		irt[0] = m->in_reply_to;
		msgid_field(out, "In-Reply-To", irt, 1);
	}
	if (m->nreferences && m->references)
		msgid_field(out, "References", m->references, m->nreferences);
	for (size_t i = 0; i < m->nextra; i++)
		compose_header(out, m->extra[i].name, m->extra[i].value);
	buf_adds(out, "MIME-Version: 1.0\r\n"
	              "Content-Type: text/plain; charset=utf-8\r\n"
	              "Content-Transfer-Encoding: quoted-printable\r\n"
	              "\r\n");
	compose_qp(out, m->body ? m->body : "");
	return 0;
}

/* ---- body --------------------------------------------------------------- */

/* The encoding of the character at p when it would start at column col. */
static size_t qp_char(const unsigned char *p, size_t col, char *tok)
{
	size_t k = u8_len(*p), n = 0;
	unsigned char c = *p;
	int literal = 0;

	if (k == 1) {
		int line_end = p[1] == '\0' || p[1] == '\r' || p[1] == '\n';
		if (c == ' ' || c == '\t')
			literal = !line_end;
		else if (c > 0x20 && c < 0x7F && c != '=')
			literal = 1;
		/* the transports' line-start hazards: SMTP end-of-data, mbox From_ */
		if (col == 0 && (c == '.' || (c == 'F' && strncmp((const char *)p, "From ", 5) == 0)))
			literal = 0;
	}
	if (literal) {
		tok[n++] = (char)c;
		return n;
	}
	for (size_t i = 0; i < k; i++) {
		tok[n++] = '=';
		tok[n++] = hexdigits[p[i] >> 4];
		tok[n++] = hexdigits[p[i] & 15];
	}
	return n;
}

void compose_qp(struct buf *out, const char *text_utf8)
{
	char *clean = utf8_sanitize(text_utf8 ? text_utf8 : "", text_utf8 ? strlen(text_utf8) : 0);
	const unsigned char *p = (const unsigned char *)clean;
	size_t col = 0;
	char tok[12];

	while (*p) {
		if (*p == '\r' || *p == '\n') {
			p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
			buf_adds(out, "\r\n");
			col = 0;
			continue;
		}
		size_t n = qp_char(p, col, tok);
		if (col + n > QP_COLS) {
			buf_adds(out, "=\r\n");
			col = 0;
			n = qp_char(p, col, tok);
		}
		buf_add(out, tok, n);
		col += n;
		p += u8_len(*p);
	}
	if (col)
		buf_adds(out, "\r\n");
	free(clean);
}
