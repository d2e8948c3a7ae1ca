/* automatic.c: the rules that recognise automatic mail (email-safety.md).
 * Every rule errs towards "not automatic" only where a young person's own
 * mail could look like it (an odd address, a subject about being absent). */
#include "automatic.h"

#include "util.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>


/* Fold a subject for matching: lowercase ASCII, accents dropped, '-', '_',
 * tabs and no-break spaces as single spaces, trimmed. Other characters are
 * copied unchanged (they never match a pattern). */
static void fold_subject(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	buf_reset(out);
	buf_add(out, "", 0);
	while (*p) {
		const char *rep = NULL;
		char one[2] = { 0, 0 };
		size_t adv = 1;

		if (*p < 0x80) {
			unsigned char c = *p;
			if (c == '-' || c == '_' || isspace(c))
				c = ' ';
			one[0] = (char)tolower(c);
			rep = one;
		} else if ((*p & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80) {
			unsigned cp = ((unsigned)(*p & 0x1F) << 6) | (p[1] & 0x3F);
			adv = 2;
			rep = fold_latin_codepoint(cp);
		} else if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0x93 || p[2] == 0x94 || p[2] == 0xAF)) {
			adv = 3; /* en dash, em dash, narrow no-break space */
			rep = " ";
		}
		if (!rep) {
			buf_addc(out, (char)*p);
			p++;
			continue;
		}
		for (; *rep; rep++)
			if (*rep != ' ' || (out->len && out->data[out->len - 1] != ' '))
				buf_addc(out, *rep);
		/* never step past the NUL of a truncated sequence */
		for (size_t i = 0; i < adv && *p; i++)
			p++;
	}
	while (out->len && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
}

/* The value without surrounding blanks: *start and its length. */
static size_t trimmed(const char *v, const char **start)
{
	size_t n;

	if (!v)
		v = "";
	while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	*start = v;
	return n;
}

/* Does the first token of a header value (before ';', '(' or a blank) equal
 * word, case-insensitively? */
static int first_token_is(const char *value, const char *word)
{
	const char *v;
	size_t n = trimmed(value, &v), k = 0;

	while (k < n && v[k] != ';' && v[k] != '(' && v[k] != ' ' && v[k] != '\t')
		k++;
	return k == strlen(word) && strncasecmp(v, word, k) == 0;
}

static int first_token_empty(const char *value)
{
	const char *v;
	size_t n = trimmed(value, &v);
	return n == 0 || v[0] == ';' || v[0] == '(';
}

/* X-Auto-Response-Suppress is a comma list, e.g. "DR, RN, NRN, OOF". */
static int suppress_lists_all_or_oof(const char *value)
{
	const char *p = value ? value : "";

	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
			n--;
		if ((n == 3 && strncasecmp(p, "all", 3) == 0) || (n == 3 && strncasecmp(p, "oof", 3) == 0))
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int is_address_char(char c)
{
	return isalnum((unsigned char)c) || (c && strchr(".!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Does value name addr as a whole address ("relay@x.org" inside
 * "<relay@x.org>" yes, inside "notrelay@x.org" or "relay@x.org.uk" no)? */
static int names_address(const char *value, const char *addr)
{
	size_t n = addr ? strlen(addr) : 0;

	if (!value || n == 0)
		return 0;
	for (const char *p = value; *p; p++) {
		if (strncasecmp(p, addr, n) != 0)
			continue;
		if (p > value && is_address_char(p[-1]))
			continue;
		if (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '.' || p[n] == '-' || p[n] == '_'))
			continue;
		return 1;
	}
	return 0;
}

/* s starts with word (case-insensitively) and the next character is not a
 * letter: "noreply", "noreply-x", "noreply2" yes; "noreplyhelp" no. */
static int starts_with_word(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);
	return n >= k && strncasecmp(s, word, k) == 0 && (n == k || !isalpha((unsigned char)s[k]));
}

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

/* Senders that are machines, judged by the local part of the address. */
static int is_system_sender(const char *address)
{
	static const char *const exact[] = {
		"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "listserv", "majordomo",
	};
	static const char *const words[] = {
		"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "bounce", "bounces",
	};
	const char *a, *at;
	size_t n = trimmed(address, &a), local;

	if (n && a[0] == '<') {
		a++;
		n--;
	}
	if (n && a[n - 1] == '>')
		n--;
	at = NULL;
	for (size_t i = 0; i < n; i++)
		if (a[i] == '@')
			at = a + i;
	local = at ? (size_t)(at - a) : n;
	if (local == 0)
		return 0;
	/* a "+detail" is routing, not identity: bounces+1234@ is a bounce */
	for (size_t i = 0; i < local; i++)
		if (a[i] == '+') {
			local = i;
			break;
		}
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (local == strlen(exact[i]) && strncasecmp(a, exact[i], local) == 0)
			return 1;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (starts_with_word(a, local, words[i]))
			return 1;
	if (local > 6 && strncasecmp(a, "owner-", 6) == 0)
		return 1;
	if (local > 8 && ends_with_ci(a, local, "-request"))
		return 1;
	if ((local > 8 && ends_with_ci(a, local, "-bounces")) || (local > 7 && ends_with_ci(a, local, "-bounce")))
		return 1;
	return 0;
}

static int is_null_sender(const char *return_path)
{
	const char *v;
	size_t n;

	if (!return_path)
		return 0;
	n = trimmed(return_path, &v);
	return n == 0 || (n == 2 && v[0] == '<' && v[1] == '>');
}

static int is_report(const char *content_type)
{
	const char *v;
	size_t n = trimmed(content_type, &v), k = 0;

	while (k < n && v[k] != ';' && v[k] != ' ' && v[k] != '\t')
		k++;
	return k == 16 && strncasecmp(v, "multipart/report", 16) == 0;
}

/* Skip "Re:", "AW:", "Fwd[2]:", "[RUS-7K3F2]" and similar at the start of a
 * folded subject; returns what follows. */
static const char *skip_subject_prefixes(const char *s)
{
	static const char *const prefixes[] = {
		"re",  "aw", "sv",  "vs",  "fw",  "fwd", "wg", "tr", "rv", "antw",   "antwort",
		"odp", "r",  "rif", "enc", "res", "ref", "fs", "vl", "pd", "doorst", "ynt",
	};
	for (;;) {
		const char *p = s;
		size_t w = 0;
		int found = 0;

		while (*s == ' ')
			s++;
		if (*s == '[') {
			const char *close = strchr(s, ']');
			if (close && close - s <= 80) {
				s = close + 1;
				continue;
			}
			return s;
		}
		while (s[w] >= 'a' && s[w] <= 'z')
			w++;
		for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0] && !found; i++)
			found = w == strlen(prefixes[i]) && strncmp(s, prefixes[i], w) == 0;
		if (!found)
			return s;
		p = s + w;
		if (*p == '[' || *p == '(') { /* reply counters: Re[2]:, AW(3): */
			char close = *p == '[' ? ']' : ')';
			p++;
			while (isdigit((unsigned char)*p))
				p++;
			if (*p != close)
				return s;
			p++;
		}
		if (*p == ' ')
			p++;
		if (*p != ':')
			return s;
		s = p + 1;
	}
}

/* Phrases only an autoresponder puts at the start of a subject. */
static const char *const ooo_phrases[] = {
	"automatic reply",
	"automatic response",
	"auto reply",
	"autoreply",
	"auto response",
	"autoresponse",
	"auto:",
	"out of office",
	"out of the office",
	"away from my desk",
	"away from the office",
	"abwesenheitsnotiz",
	"automatische antwort",
	"automatische abwesenheitsnotiz",
	"nicht im buro",
	"reponse automatique",
	"absent du bureau",
	"absente du bureau",
	"respuesta automatica",
	"fuera de la oficina",
	"fuera de oficina",
	"risposta automatica",
	"fuori ufficio",
	"fuori sede",
	"automatisch antwoord",
	"afwezigheidsbericht",
	"autosvar",
	"automatiskt svar",
	"automatisk svar",
	"automatisk besked",
	"fravaersmelding",
	"poza biurem",
	"odpowiedz automatyczna",
	"automatyczna odpowiedz",
	"resposta automatica",
	"fora do escritorio",
	"automaattinen vastaus",
};

/* Ordinary words that autoresponders also use on their own: a young person
 * may write "Absence from school", so these count only as the whole subject
 * or followed by ':' or '('. */
static const char *const ooo_words[] = {
	"absence", "abwesenheit", "abwesend", "afwezig", "franvaro", "fravaer", "fravaerende", "ausente", "assente", "ooo",
};

static int is_ooo_subject(const char *subject)
{
	struct buf f;
	const char *s;
	int hit = 0;

	if (!subject)
		return 0;
	buf_init(&f);
	fold_subject(&f, subject);
	s = skip_subject_prefixes(buf_str(&f));
	while (*s == ' ')
		s++;
	for (size_t i = 0; i < sizeof ooo_phrases / sizeof ooo_phrases[0] && !hit; i++) {
		size_t k = strlen(ooo_phrases[i]);
		if (strncmp(s, ooo_phrases[i], k) != 0)
			continue;
		if (ooo_phrases[i][k - 1] != ':' && isalnum((unsigned char)s[k]))
			continue; /* "autoreplying", "out of officers" */
		/* "Out of office hours" is a young person asking when we are open */
		if (strncmp(ooo_phrases[i], "out of", 6) == 0 && strncmp(s + k, " hours", 6) == 0)
			continue;
		hit = 1;
	}
	for (size_t i = 0; i < sizeof ooo_words / sizeof ooo_words[0] && !hit; i++) {
		size_t k = strlen(ooo_words[i]);
		const char *rest = s + k;
		if (strncmp(s, ooo_words[i], k) != 0)
			continue;
		while (*rest == ' ')
			rest++;
		hit = *rest == '\0' || *rest == ':' || *rest == '(';
	}
	buf_free(&f);
	return hit;
}

/* What mailers put at the start of a delivery failure's subject: Postfix,
 * Exim, sendmail, qmail, Gmail, Exchange/Outlook in the common European
 * languages (folded: lowercase, no accents). */
static const char *const bounce_phrases[] = {
	"undelivered mail returned to sender",
	"undelivered mail",
	"undeliverable:",
	"undeliverable mail",
	"undeliverable message",
	"delivery status notification",
	"mail delivery failed",
	"mail delivery failure",
	"delivery failure",
	"delivery has failed",
	"failure notice",
	"returned mail:",
	"message not delivered",
	"nondeliverable mail",
	"mail system error returned mail",
	"unzustellbar",
	"nicht zustellbar",
	"fehler bei der nachrichtenzustellung",
	"non remis",
	"echec de la remise",
	"no se puede entregar",
	"mensaje no entregado",
	"non recapitabile",
	"impossibile recapitare",
	"onbestelbaar",
	"niet bezorgd",
	"kan ikke leveres",
	"ikke leveret",
	"olevererbart",
	"kunde inte levereras",
	"nie mozna dostarczyc",
	"nao e possivel entregar",
	"nao foi possivel entregar",
	"ei voitu toimittaa",
};

static int is_bounce_subject(const char *subject)
{
	struct buf f;
	const char *s;
	int hit = 0;

	if (!subject)
		return 0;
	buf_init(&f);
	fold_subject(&f, subject);
	s = skip_subject_prefixes(buf_str(&f));
	while (*s == ' ')
		s++;
	for (size_t i = 0; i < sizeof bounce_phrases / sizeof bounce_phrases[0] && !hit; i++) {
		size_t k = strlen(bounce_phrases[i]);
		if (strncmp(s, bounce_phrases[i], k) != 0)
			continue;
		hit = bounce_phrases[i][k - 1] == ':' || !isalnum((unsigned char)s[k]);
	}
	buf_free(&f);
	return hit;
}

int automatic_forwarded(enum automatic_reason r)
{
	return r == AUTOMATIC_BOUNCE_SUBJECT;
}

enum automatic_reason automatic_classify(const struct automatic_input *in)
{
	/* found[r] is set when rule r holds; the first in enum order wins */
	int found[AUTOMATIC_BOUNCE_SUBJECT + 1] = { 0 };

	if (!in)
		return AUTOMATIC_NONE;
	for (size_t i = 0; in->headers && i < in->nheaders; i++) {
		const char *name = in->headers[i].name, *value = in->headers[i].value;
		if (!name)
			continue;
		if (in->loop_stamp && *in->loop_stamp && strcasecmp(name, in->loop_stamp) == 0)
			found[AUTOMATIC_LOOP] = 1;
		else if (strcasecmp(name, "X-Loop") == 0 && names_address(value, in->own_address))
			found[AUTOMATIC_LOOP] = 1;
		else if (strcasecmp(name, "Auto-Submitted") == 0) {
			if (first_token_empty(value) || !first_token_is(value, "no"))
				found[AUTOMATIC_SUBMITTED] = 1;
		} else if (strcasecmp(name, "X-Autoreply") == 0 || strcasecmp(name, "X-Autorespond") == 0 ||
		           strcasecmp(name, "X-Autoresponder") == 0)
			found[AUTOMATIC_AUTOREPLY_HEADER] = 1;
		else if (strcasecmp(name, "X-Auto-Response-Suppress") == 0) {
			if (suppress_lists_all_or_oof(value))
				found[AUTOMATIC_SUPPRESS] = 1;
		} else if (strcasecmp(name, "Precedence") == 0) {
			if (first_token_is(value, "bulk") || first_token_is(value, "junk") ||
			    first_token_is(value, "list") || first_token_is(value, "auto_reply"))
				found[AUTOMATIC_PRECEDENCE] = 1;
		} else if (strncasecmp(name, "List-", 5) == 0 || strcasecmp(name, "Mailing-List") == 0 ||
		           strcasecmp(name, "X-Mailing-List") == 0)
			found[AUTOMATIC_LIST] = 1;
	}
	found[AUTOMATIC_NULL_SENDER] = is_null_sender(in->return_path);
	found[AUTOMATIC_REPORT] = is_report(in->content_type);
	found[AUTOMATIC_SYSTEM_SENDER] = is_system_sender(in->from_address) || is_system_sender(in->return_path);
	found[AUTOMATIC_OOO_SUBJECT] = is_ooo_subject(in->subject);
	found[AUTOMATIC_BOUNCE_SUBJECT] = is_bounce_subject(in->subject);

	for (int r = AUTOMATIC_LOOP; r <= AUTOMATIC_BOUNCE_SUBJECT; r++)
		if (found[r])
			return (enum automatic_reason)r;
	return AUTOMATIC_NONE;
}

const char *automatic_reason_text(enum automatic_reason r)
{
	switch (r) {
	case AUTOMATIC_NONE:
		return "not automatic";
	case AUTOMATIC_LOOP:
		return "our own loop stamp";
	case AUTOMATIC_NULL_SENDER:
		return "empty envelope sender";
	case AUTOMATIC_REPORT:
		return "delivery or read report";
	case AUTOMATIC_SUBMITTED:
		return "Auto-Submitted header";
	case AUTOMATIC_AUTOREPLY_HEADER:
		return "X-Autoreply header";
	case AUTOMATIC_SUPPRESS:
		return "X-Auto-Response-Suppress header";
	case AUTOMATIC_PRECEDENCE:
		return "bulk or list precedence";
	case AUTOMATIC_LIST:
		return "mailing list header";
	case AUTOMATIC_SYSTEM_SENDER:
		return "system sender";
	case AUTOMATIC_OOO_SUBJECT:
		return "out-of-office subject";
	case AUTOMATIC_BOUNCE_SUBJECT:
		return "delivery failure subject";
	}
	return "unknown";
}
