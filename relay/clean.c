/* clean.c: cut an adviser's email reply down to the adviser's own words.
 *
 * First, with the conversation's texts: each line's words are looked up in
 * them, runs of lines that follow on in one text are history, and the first
 * run with a header above it (or quoted, or ending the reply under the
 * adviser's words) starts the history; from there matched lines, quotes,
 * headers and footers go and anything else stays (inline answers), up to a
 * signature or to older history that matched nothing.
 *
 * Then, above that (or in all of a reply with nothing matched), the
 * heuristics: quoted lines are dropped wherever they are; the first line that
 * opens quoted history or a signature cuts the rest; then a trailing
 * disclaimer goes. Matching is done on a folded copy of each line
 * (lowercase, accents dropped, blanks collapsed) so that "a écrit :" and
 * "A ECRIT:" look alike; what is kept is always the adviser's original text.
 * What a heuristic alone removed is counted, for the hold (clean.h). */
#include "clean.h"

#include "util.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct line {
	const char *s; /* into the caller's text; not NUL-terminated */
	size_t len;    /* without the line end and trailing blanks */
};

struct reply {
	struct line *lines; /* owned */
	size_t n;
	struct buf fold; /* scratch: a folded line */
	struct buf join; /* scratch: lines joined before folding */
};

#define BLANK ((size_t)-1) /* a paragraph break in the list of kept lines */

/* ---- splitting and folding -------------------------------------------- */

static void split_lines(struct reply *r, const char *text)
{
	size_t cap = 64;
	const char *p = text;

	r->lines = xmalloc(cap * sizeof *r->lines);
	r->n = 0;
	while (*p) {
		const char *end = p;
		size_t len;

		while (*end && *end != '\n' && *end != '\r')
			end++;
		len = (size_t)(end - p);
		/* Outlook's HTML-to-text leaves no-break spaces on "empty" lines */
		for (;;) {
			if (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
				len--;
			else if (len >= 2 && (unsigned char)p[len - 2] == 0xC2 && (unsigned char)p[len - 1] == 0xA0)
				len -= 2;
			else
				break;
		}
		if (r->n == cap) {
			cap *= 2;
			r->lines = xrealloc(r->lines, cap * sizeof *r->lines);
		}
		r->lines[r->n].s = p;
		r->lines[r->n].len = len;
		r->n++;
		if (*end == '\r' && end[1] == '\n')
			end += 2;
		else if (*end)
			end++;
		p = end;
	}
}


/* Fold n bytes of s into out: lowercase ASCII, accents dropped, curly
 * apostrophes straight, tabs and no-break spaces as spaces, runs of blanks
 * as one, trimmed. Returns the folded string (valid until out changes). */
static const char *fold(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	buf_reset(out);
	buf_add(out, "", 0);
	while (p < end) {
		const char *rep = NULL;
		char one[2] = { 0, 0 };
		size_t adv = 1;

		if (*p < 0x80) {
			one[0] = (char)(*p == '\t' ? ' ' : tolower(*p));
			rep = one;
		} else if ((*p & 0xE0) == 0xC0 && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
			adv = 2;
			rep = fold_latin_codepoint(((unsigned)(*p & 0x1F) << 6) | (p[1] & 0x3F));
		} else if (*p == 0xE2 && end - p >= 3 && p[1] == 0x80) {
			adv = 3;
			if (p[2] == 0x98 || p[2] == 0x99)
				rep = "'";
			else if (p[2] == 0xAF || p[2] == 0x89 || p[2] == 0x8A)
				rep = " "; /* narrow no-break, thin and hair spaces */
		}
		if (!rep) {
			buf_add(out, p, adv);
		} else {
			for (; *rep; rep++)
				if (*rep != ' ' || (out->len && out->data[out->len - 1] != ' '))
					buf_addc(out, *rep);
		}
		p += adv;
	}
	while (out->len && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	return out->data;
}

static const char *fold_line(struct reply *r, size_t i)
{
	return fold(&r->fold, r->lines[i].s, r->lines[i].len);
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

#define IN_LIST(s, list) in_list((s), (list), sizeof(list) / sizeof(list)[0])

/* ---- what a line is ------------------------------------------------------ */

static int is_blank(const struct line *l)
{
	return l->len == 0;
}

static int is_quoted(const struct line *l)
{
	size_t i = 0;
	while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	return i < l->len && l->s[i] == '>';
}

/* "-- " is the signature delimiter; "--" is what it becomes after editors
 * and gateways strip trailing blanks. */
static int is_signature(const struct line *l)
{
	return l->len == 2 && l->s[0] == '-' && l->s[1] == '-';
}

/* "-----Original Message-----", "---------- Forwarded message ---------". */
static int is_history_marker(const char *f)
{
	size_t len = strlen(f);
	/* Zoho: "---- On <date> <name> <addr> wrote ----" */
	if (starts(f, "---- ") && len > 14 && !strcmp(f + len - 11, " wrote ----") && strchr(f, '@'))
		return 1;
	static const char *const names[] = {
		"original message",
		"ursprungliche nachricht",
		"originalnachricht",
		"message d'origine",
		"mensaje original",
		"oorspronkelijk bericht",
		"messaggio originale",
		"ursprungligt meddelande",
		"oprindelig meddelelse",
		"opprinnelig melding",
		"wiadomosc oryginalna",
		"mensagem original",
		"alkuperainen viesti",
		"forwarded message",
		"weitergeleitete nachricht",
		"message transfere",
		"mensaje reenviado",
		"doorgestuurd bericht",
		"messaggio inoltrato",
		"vidarebefordrat meddelande",
		"videresendt meddelelse",
		"videresendt melding",
		"wiadomosc przekazana",
		"mensagem encaminhada",
		"neges wreiddiol",
		"oryginalna wiadomosc",
		"mesaj original",
		"mesaj redirectionat",
		"\xd8\xa7\xd9\x84\xd8\xb1\xd8\xb3\xd8\xa7\xd9\x84\xd8\xa9 \xd8\xa7\xd9\x84\xd8\xa3\xd8\xb5\xd9\x84\xd9\x8a\xd8\xa9", /* الرسالة الأصلية */
		"\xd8\xa7\xd8\xb5\xd9\x84 \xd9\xbe\xdb\x8c\xd8\xba\xd8\xa7\xd9\x85", /* اصل پیغام */
	};
	char name[64];
	size_t lead = 0, n = strlen(f);

	while (f[lead] == '-')
		lead++;
	if (lead < 2)
		return 0;
	while (n > lead && (f[n - 1] == '-' || f[n - 1] == ' '))
		n--;
	while (lead < n && f[lead] == ' ')
		lead++;
	if (n - lead >= sizeof name)
		return 0;
	memcpy(name, f + lead, n - lead);
	name[n - lead] = '\0';
	return IN_LIST(name, names);
}

/* Apple Mail's "Begin forwarded message:" and its translations. */
static int is_forward_header(const char *f)
{
	static const char *const names[] = {
		"begin forwarded message",
		"anfang der weitergeleiteten nachricht",
		"debut du message reexpedie",
		"inicio del mensaje reenviado",
		"begin doorgestuurd bericht",
		"inizio messaggio inoltrato",
		"vidarebefordrat brev",
		"videresendt besked",
		"videresendt melding",
		"poczatek przekazywanej wiadomosci",
		"inicio da mensagem reencaminhada",
	};
	char name[64];
	size_t n = strlen(f);

	if (n == 0 || f[n - 1] != ':')
		return 0;
	n--;
	while (n && f[n - 1] == ' ')
		n--;
	if (n >= sizeof name)
		return 0;
	memcpy(name, f, n);
	name[n] = '\0';
	return IN_LIST(name, names);
}

/* Outlook's "________________________________" before its header block. */
static int is_separator(const char *f)
{
	size_t n = 0;
	while (f[n] == '_')
		n++;
	return n >= 10 && f[n] == '\0';
}

enum field { FIELD_NONE = 0, FIELD_FROM = 1, FIELD_DATE = 2, FIELD_TO = 4, FIELD_CC = 8, FIELD_SUBJECT = 16 };

/* The header field a line of an Outlook block starts with ("From:",
 * "*Von:*", "De :", "Envoyé :", "À :"...), or FIELD_NONE. */
static enum field field_kind(const char *f)
{
	static const char *const from[] = {
		"from",
		"von",
		"de",
		"van",
		"da",
		"fran",
		"fra",
		"od",
		"lahettaja",
		"oddi wrth",
		"de la",
		"\xd9\x85\xd9\x86",                                 /* من */
		"\xd9\x85\xd9\x86\xd8\xac\xd8\xa7\xd9\x86\xd8\xa8", /* منجانب */
	};
	static const char *const date[] = {
		"sent",
		"date",
		"gesendet",
		"datum",
		"envoye",
		"enviado",
		"fecha",
		"verzonden",
		"inviato",
		"data",
		"skickat",
		"sendt",
		"wyslano",
		"lahetetty",
		"enviada",
		"enviado el",
		"anfonwyd",
		"dyddiad",
		"trimis",
		"\xd8\xaa\xd9\x85 \xd8\xa7\xd9\x84\xd8\xa5\xd8\xb1\xd8\xb3\xd8\xa7\xd9\x84", /* تم الإرسال */
		"\xd8\xa7\xd9\x84\xd8\xaa\xd8\xa7\xd8\xb1\xd9\x8a\xd8\xae",                  /* التاريخ */
		"\xd8\xaa\xd8\xa7\xd8\xb1\xdb\x8c\xd8\xae",                                  /* تاریخ */
		"\xd8\xa8\xda\xbe\xdb\x8c\xd8\xac\xd8\xa7 \xda\xaf\xdb\x8c\xd8\xa7",         /* بھیجا گیا */
	};
	static const char *const to[] = {
		"to",
		"an",
		"a",
		"para",
		"aan",
		"till",
		"til",
		"do",
		"vastaanottaja",
		"at",
		"catre",
		"\xd8\xa5\xd9\x84\xd9\x89",         /* إلى */
		"\xd8\xa8\xd9\x86\xd8\xa7\xd9\x85", /* بنام */
	};
	static const char *const cc[] = { "cc", "kopie", "copie", "kopia", "kopio" };
	static const char *const subject[] = {
		"subject",
		"betreff",
		"objet",
		"asunto",
		"onderwerp",
		"oggetto",
		"amne",
		"emne",
		"temat",
		"aihe",
		"assunto",
		"pwnc",
		"subiect",
		"\xd8\xa7\xd9\x84\xd9\x85\xd9\x88\xd8\xb6\xd9\x88\xd8\xb9", /* الموضوع */
		"\xd9\x85\xd9\x88\xd8\xb6\xd9\x88\xd8\xb9",                 /* موضوع */
	};
	char name[24];
	const char *colon;
	size_t n;

	while (*f == '*' || *f == ' ')
		f++;
	colon = strchr(f, ':');
	if (!colon || colon - f >= (long)sizeof name)
		return FIELD_NONE;
	n = (size_t)(colon - f);
	while (n && (f[n - 1] == ' ' || f[n - 1] == '*'))
		n--;
	memcpy(name, f, n);
	name[n] = '\0';
	if (IN_LIST(name, from))
		return FIELD_FROM;
	if (IN_LIST(name, date))
		return FIELD_DATE;
	if (IN_LIST(name, to))
		return FIELD_TO;
	if (IN_LIST(name, cc))
		return FIELD_CC;
	if (IN_LIST(name, subject))
		return FIELD_SUBJECT;
	return FIELD_NONE;
}

/* A "From:" (or "Date:") line followed by two more of the block's fields:
 * "From:" in the adviser's prose has no "Sent:" and "To:" under it. */
static int is_from_block(struct reply *r, size_t i)
{
	unsigned seen = 0;
	int kinds = 0;
	enum field first = field_kind(fold_line(r, i));

	/* Outlook.com and Hotmail start theirs with "Date:" */
	if (first != FIELD_FROM && first != FIELD_DATE)
		return 0;
	for (size_t j = i + 1, looked = 0; j < r->n && looked < 8; j++) {
		if (is_blank(&r->lines[j]))
			continue;
		if (is_quoted(&r->lines[j]))
			break;
		looked++;
		seen |= field_kind(fold_line(r, j)) & ~(unsigned)first;
	}
	if (first == FIELD_DATE && !(seen & FIELD_FROM))
		return 0;
	for (unsigned b = FIELD_FROM; b <= FIELD_SUBJECT; b <<= 1)
		kinds += (seen & b) != 0;
	return kinds >= 2;
}

/* Index of the first non-blank line from i, looking past at most three
 * blank lines; r->n if there is none. */
static size_t next_nonblank(const struct reply *r, size_t i)
{
	for (size_t skipped = 0; i < r->n; i++) {
		if (!is_blank(&r->lines[i]))
			return i;
		if (++skipped > 3)
			break;
	}
	return r->n;
}

/* ---- quote headers ------------------------------------------------------- */

enum attribution { ATTR_NONE, ATTR_LOOSE, ATTR_STRICT };

static int ends_with_word(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);
	return n > k && s[n - k - 1] == ' ' && memcmp(s + n - k, word, k) == 0;
}

/* 09:14, 9.14 (and dates like 21.11, which come with a time anyway) */
static int has_time(const char *f)
{
	for (; f[0]; f++)
		if (isdigit((unsigned char)f[0]) && (f[1] == ':' || f[1] == '.') && isdigit((unsigned char)f[2]) &&
		    isdigit((unsigned char)f[3]))
			return 1;
	return 0;
}

/* a year 19xx or 20xx standing alone */
static int has_year(const char *f)
{
	for (size_t i = 0; f[i]; i++) {
		const char *p = f + i;
		if ((i == 0 || !isdigit((unsigned char)p[-1])) && (starts(p, "19") || starts(p, "20")) &&
		    isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) && !isdigit((unsigned char)p[4]))
			return 1;
	}
	return 0;
}

/* Is the folded text f a quote header ("On ... wrote:", "Am ... schrieb
 * ...:", "Le ... a écrit :")? ATTR_LOOSE: it has the shape, which is enough
 * right above a '>' block. ATTR_STRICT: it also looks like a client wrote
 * it, which is needed to cut everything after it. */
static enum attribution attribution_kind(const char *f)
{
	static const char *const last_verbs[] = {
		"wrote",   "a ecrit", "escribio",  "ha scritto", "escreveu",     "napisal", "napisal(a)", "schrieb",
		"schreef", "skrev",   "kirjoitti", "scrisse",    "ysgrifennodd", "pisze",   "a scris",    "wrote ----",
	};
	/* verb-second languages put the name after the verb */
	static const char *const inner_verbs[] = { " schrieb ", " schreef ", " skrev ", " wrote on " };
	static const char *const openers[] = {
		"on ",     "am ", "le ",  "el ", "op ", "il ",   "den ",     "em ",
		"w dniu ", "pa ", "dne ", "ar ", "pe ", "dnia ", "---- on ",
	};
	size_t n = strlen(f), body;
	int verb = 0, opener = 0, at, colon;

	/* bidi marks (Arabic and Urdu clients) after the colon */
	while (n >= 3 && (unsigned char)f[n - 3] == 0xE2 && (unsigned char)f[n - 2] == 0x80)
		n -= 3;
	while (n && f[n - 1] == ' ')
		n--;
	if (n < 2 || n > 300)
		return ATTR_NONE;
	colon = f[n - 1] == ':';
	body = colon ? n - 1 : n;
	while (body && f[body - 1] == ' ')
		body--;
	at = memchr(f, '@', n) != NULL;
	/* "... <addr> wrote" with no colon, "<addr>wrote:" with no space */
	if (!colon && !(at && ends_with_word(f, body, "wrote")))
		return ATTR_NONE;
	if (at && body > 6 && !memcmp(f + body - 6, ">wrote", 6))
		return ATTR_STRICT;
	/* no verb at all: "2014-03-20 8:48 GMT+01:00 Name <addr>:", "11:00 AM,
	 * November 17, 2021, "John" <addr>:", mail.ru's "... от Name <addr>:" */
	if (colon && body > 1 && f[body - 1] == '>' && at && has_time(f))
		return ATTR_STRICT;
	for (size_t i = 0; i < sizeof last_verbs / sizeof last_verbs[0] && !verb; i++)
		verb = ends_with_word(f, body, last_verbs[i]);
	for (size_t i = 0; i < sizeof inner_verbs / sizeof inner_verbs[0] && !verb; i++)
		verb = strstr(f, inner_verbs[i]) != NULL;
	if (!verb)
		return ATTR_NONE;
	for (size_t i = 0; i < sizeof openers / sizeof openers[0] && !opener; i++)
		opener = starts(f, openers[i]);
	if ((opener || at) && (at || (has_time(f) && has_year(f))))
		return ATTR_STRICT;
	return ATTR_LOOSE;
}

/* Does a quote header start at line i? Returns how many lines it takes
 * (Gmail wraps long ones), 0 if none; *quote_follows says whether '>' lines
 * come right after it. */
static size_t attribution_at(struct reply *r, size_t i, int *quote_follows)
{
	size_t total = 0;

	for (size_t k = 1; k <= 3 && i + k - 1 < r->n; k++) {
		const struct line *l = &r->lines[i + k - 1];
		enum attribution kind;
		size_t next;

		if (is_blank(l) || is_quoted(l))
			break;
		total += l->len + 1;
		if (total > 400)
			break;
		if (k == 2) {
			/* a sentence that ends a line is not half of a header */
			char last = r->lines[i].s[r->lines[i].len - 1];
			if (last == '.' || last == '!' || last == '?')
				break;
		}
		buf_reset(&r->join);
		for (size_t j = i; j < i + k; j++) {
			if (j > i)
				buf_addc(&r->join, ' ');
			buf_add(&r->join, r->lines[j].s, r->lines[j].len);
		}
		kind = attribution_kind(fold(&r->fold, r->join.data, r->join.len));
		/* a wrapped header must be unmistakable on its own */
		if (kind == ATTR_NONE || (k > 1 && kind != ATTR_STRICT))
			continue;
		next = next_nonblank(r, i + k);
		*quote_follows = next < r->n && is_quoted(&r->lines[next]);
		if (*quote_follows || kind == ATTR_STRICT)
			return k;
	}
	return 0;
}

/* ---- footers and disclaimers --------------------------------------------- */

/* A phone or app footer on a line of its own ("Sent from my iPhone", "Get
 * Outlook for Android", "Von meinem iPhone gesendet"). Strict: after the
 * known opening at most four more words and no punctuation inside a
 * sentence, so "Sent from my desk, is much easier than my mobile phone." is
 * the adviser's. */
static int is_mobile_footer(const char *f)
{
	static const char *const prefixes[] = {
		"sent from my ",
		"sent from outlook",
		"sent from mail for windows",
		"sent from yahoo mail",
		"sent from samsung",
		"sent from proton",
		"sent with proton",
		"get outlook for ",
		"von meinem ",
		"gesendet von meinem ",
		"gesendet von outlook",
		"holen sie sich outlook",
		"outlook fur ios",
		"outlook fur android",
		"envoye de mon ",
		"envoye depuis mon ",
		"envoye a partir de outlook",
		"telecharger outlook",
		"enviado desde mi ",
		"enviado desde outlook",
		"obtener outlook",
		"verzonden vanaf mijn ",
		"verstuurd vanaf mijn ",
		"outlook voor ",
		"inviato da ",
		"ottieni outlook",
		"skickat fran min ",
		"skickat fran outlook",
		"sendt fra min ",
		"sendt fra outlook",
		"wyslane z mojego ",
		"wyslane z iphone",
		"enviado do meu ",
		"pobierz aplikacje outlook",
		"anfonwyd o fy ",
		"cael outlook ar gyfer ",
		"trimis de pe ",
		"otpravleno iz ",
		"\xd0\xbe\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe \xd0\xb8\xd0\xb7 ", /* отправлено из */
		"\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe \xd0\xb8\xd0\xb7 ", /* Отправлено из */
		"\xd8\xaa\xd9\x85 \xd8\xa7\xd9\x84\xd8\xa5\xd8\xb1\xd8\xb3\xd8\xa7\xd9\x84 \xd9\x85\xd9\x86 ", /* تم الإرسال من */
		"\xd8\xa3\xd9\x8f\xd8\xb1\xd8\xb3\xd9\x84\xd8\xaa \xd9\x85\xd9\x86 ", /* أُرسلت من */
		"\xd9\x85\xdb\x8c\xd8\xb1\xdb\x92 ", /* میرے (Urdu: "from my ... sent") */
	};
	static const char *const whole[] = {
		"sent from my android device with k-9 mail. please excuse my brevity.",
		"sent from my samsung galaxy smartphone.",
	};
	size_t n = strlen(f), words = 0;

	if (n > 80)
		return 0;
	if (IN_LIST(f, whole))
		return 1;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t k = strlen(prefixes[i]);
		if (!starts(f, prefixes[i]))
			continue;
		for (const char *p = f + k; *p; p++) {
			if (*p == ',' || *p == ';' || *p == '!' || *p == '?' || (*p == ':' && p[1] != '/') ||
			    (*p == '.' && p[1] == ' '))
				return 0;
			if (*p == ' ')
				words++;
		}
		return words <= 4;
	}
	return 0;
}

static int is_disclaimer_opener(const struct line *l, const char *f)
{
	static const char *const openers[] = {
		"this email and any attachment",
		"this e-mail and any attachment",
		"this message and any attachment",
		"this email is confidential",
		"this e-mail is confidential",
		"this message is confidential",
		"this email may contain",
		"this e-mail may contain",
		"the information contained in this",
		"the information in this email",
		"the information in this e-mail",
		"disclaimer:",
		"disclaimer :",
		"confidentiality notice",
		"confidentiality note",
		"confidentiality statement",
		"confidentiality disclaimer",
	};
	if (l->len >= 15 && memcmp(l->s, "CONFIDENTIALITY", 15) == 0)
		return 1;
	for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++)
		if (starts(f, openers[i]))
			return 1;
	return 0;
}

static int reads_like_disclaimer(const char *f)
{
	static const char *const words[] = {
		"confidential", "intended recipient", "intended solely", "intended only",     "addressee",
		"privileged",   "in error",           "virus",           "registered",        "company number",
		"company no",   "charity no",         "charity number",  "notify the sender", "delete",
		"disclaimer",   "monitored",          "unauthori",       "liability",         "prohibited",
		"legally",
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strstr(f, words[i]))
			return 1;
	return 0;
}

/* kept[0..*n) lists kept lines with BLANK between paragraphs; drop the
 * trailing disclaimer, if any, by shortening *n. */
static void drop_disclaimer(struct reply *r, const size_t *kept, size_t *n)
{
	size_t end = *n, cut = *n;

	while (end > 0) {
		size_t start = end, opener;
		int disclaimer;

		while (start > 0 && kept[start - 1] != BLANK)
			start--;
		opener = is_disclaimer_opener(&r->lines[kept[start]], fold_line(r, kept[start]));
		buf_reset(&r->join);
		for (size_t j = start; j < end; j++) {
			buf_add(&r->join, r->lines[kept[j]].s, r->lines[kept[j]].len);
			buf_addc(&r->join, ' ');
		}
		disclaimer = opener || reads_like_disclaimer(fold(&r->fold, r->join.data, r->join.len));
		if (!disclaimer)
			break;
		if (opener)
			cut = start;
		end = start ? start - 1 : 0; /* step over the BLANK */
	}
	while (cut > 0 && kept[cut - 1] == BLANK)
		cut--;
	*n = cut;
}

/* ---- what the relay knows: the conversation's texts ---------------------- *
 *
 * Every text is read as a stream of words: letters and digits, lowercased,
 * accents dropped; punctuation, quote marks, HTML entities, bidi marks and
 * line ends are all just gaps. A line of the reply "matches" when its words
 * stand next to each other, in order, somewhere in one text: re-wrapping,
 * '>' quoting, HTML conversion and entities change none of that. */

#define NO_POS ((size_t)-1)
#define CHAIN_LOOK 64 /* occurrences of one word tried per line */
#define RUN_GAP 64    /* words a client may leave out between matched lines */

struct history {
	uint64_t *words; /* owned: every text's words, hashed (never 0); 0 between texts */
	unsigned *text;  /* owned: which text each word is from */
	size_t n, cap;
	size_t *next;   /* owned: the next position of the same word, NO_POS */
	uint64_t *keys; /* owned: hash table of words, 0 empty */
	size_t *first;  /* owned: the first position of that word */
	size_t *last;   /* owned: its last position (to append in order) */
	size_t *count;  /* owned: how often it occurs */
	size_t slots;   /* a power of two */
};

static uint64_t hash_word(const char *w, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)w[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
}

/* The length of the UTF-8 sequence at p that is a gap between words (no-break
 * space, general punctuation, bidi marks, Arabic punctuation, byte-order
 * mark), or 0 when p starts a letter. */
static size_t gap_len(const unsigned char *p, const unsigned char *end)
{
	if (end - p >= 2 && p[0] == 0xC2 && (p[1] == 0xA0 || p[1] == 0xAB || p[1] == 0xBB || p[1] == 0xAD))
		return 2;
	if (end - p >= 2 &&
	    ((p[0] == 0xD8 && (p[1] == 0x8C || p[1] == 0x9B || p[1] == 0x9F)) || (p[0] == 0xDB && p[1] == 0x94)))
		return 2;
	if (end - p >= 3 && p[0] == 0xE2 && (p[1] == 0x80 || p[1] == 0x81))
		return 3;
	if (end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		return 3;
	return 0;
}

/* An HTML entity ("&amp;", "&#39;", "&#x2019;") at p: its length, or 0. */
static size_t entity_len(const unsigned char *p, const unsigned char *end)
{
	size_t i = 1;
	if (p[0] != '&')
		return 0;
	if (p + 1 < end && p[1] == '#')
		i++;
	while (p + i < end && i < 10 && isalnum(p[i]))
		i++;
	return p + i < end && p[i] == ';' && i > 1 ? i + 1 : 0;
}

/* Calls add(arg, hash) for each word of s[0..n). */
static void each_word(const char *s, size_t n, struct buf *w, void (*add)(void *, uint64_t), void *arg)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	buf_reset(w);
	while (p <= end) {
		size_t skip = 0;
		int letter = 0;
		const char *rep = NULL;
		char one[2] = { 0, 0 };

		if (p < end) {
			if (*p < 0x80) {
				if ((skip = entity_len(p, end)) == 0) {
					skip = 1;
					letter = isalnum(*p);
					one[0] = (char)tolower(*p);
					rep = one;
				}
			} else if ((skip = gap_len(p, end)) == 0) {
				size_t k = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 1;
				if (p + k > end)
					k = 1;
				skip = k;
				letter = 1;
				if (k == 2)
					rep = fold_latin_codepoint(((unsigned)(*p & 0x1F) << 6) | (p[1] & 0x3F));
				if (rep && *rep == ' ')
					letter = 0;
			}
		}
		if (letter) {
			if (rep)
				buf_adds(w, rep);
			else
				buf_add(w, p, skip);
		} else if (w->len) {
			add(arg, hash_word(w->data, w->len));
			buf_reset(w);
		}
		if (p == end)
			break;
		p += skip;
	}
}

static void history_push(void *arg, uint64_t h)
{
	struct history *hi = arg;
	if (hi->n == hi->cap) {
		hi->cap = hi->cap ? hi->cap * 2 : 256;
		hi->words = xrealloc(hi->words, hi->cap * sizeof *hi->words);
		hi->text = xrealloc(hi->text, hi->cap * sizeof *hi->text);
	}
	hi->words[hi->n] = h;
	hi->text[hi->n] = hi->text[hi->n ? hi->n - 1 : 0];
	hi->n++;
}

static size_t slot_of(const struct history *hi, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 29)) & (hi->slots - 1);
	while (hi->keys[i] && hi->keys[i] != h)
		i = (i + 1) & (hi->slots - 1);
	return i;
}

static void history_build(struct history *hi, const char *const *texts, size_t ntexts, struct buf *scratch)
{
	memset(hi, 0, sizeof *hi);
	for (size_t t = 0; t < ntexts; t++) {
		if (!texts[t])
			continue;
		history_push(hi, 0);
		hi->text[hi->n - 1] = (unsigned)t;
		each_word(texts[t], strlen(texts[t]), scratch, history_push, hi);
	}
	hi->slots = 64;
	while (hi->slots < hi->n * 2)
		hi->slots *= 2;
	hi->keys = xcalloc(hi->slots, sizeof *hi->keys);
	hi->first = xmalloc(hi->slots * sizeof *hi->first);
	hi->last = xmalloc(hi->slots * sizeof *hi->last);
	hi->count = xcalloc(hi->slots, sizeof *hi->count);
	hi->next = xmalloc((hi->n + 1) * sizeof *hi->next);
	for (size_t i = 0; i < hi->n; i++) {
		size_t s;
		hi->next[i] = NO_POS;
		if (!hi->words[i])
			continue;
		s = slot_of(hi, hi->words[i]);
		if (!hi->keys[s]) {
			hi->keys[s] = hi->words[i];
			hi->first[s] = i;
		} else {
			hi->next[hi->last[s]] = i;
		}
		hi->last[s] = i;
		hi->count[s]++;
	}
}

static void history_free(struct history *hi)
{
	free(hi->words);
	free(hi->text);
	free(hi->next);
	free(hi->keys);
	free(hi->first);
	free(hi->last);
	free(hi->count);
}

struct words {
	uint64_t *w; /* owned */
	size_t n, cap;
};

static void words_push(void *arg, uint64_t h)
{
	struct words *ws = arg;
	if (ws->n == ws->cap) {
		ws->cap = ws->cap ? ws->cap * 2 : 64;
		ws->w = xrealloc(ws->w, ws->cap * sizeof *ws->w);
	}
	ws->w[ws->n++] = h;
}

/* Where w[0..k) stands in the history, preferring a place just after
 * prefer (NO_POS: anywhere). Returns its start, or NO_POS. */
static size_t history_find(const struct history *hi, const uint64_t *w, size_t k, size_t prefer, size_t look)
{
	size_t pivot = 0, best = NO_POS, fewest = NO_POS, tried = 0;

	if (!hi->n || !k)
		return NO_POS;
	for (size_t j = 0; j < k && j < 8; j++) {
		size_t s = slot_of(hi, w[j]);
		if (!hi->keys[s])
			return NO_POS;
		if (hi->count[s] < fewest) {
			fewest = hi->count[s];
			pivot = j;
		}
	}
	for (size_t p = hi->first[slot_of(hi, w[pivot])]; p != NO_POS && tried < look; p = hi->next[p], tried++) {
		size_t start, i;
		if (p < pivot || p - pivot + k > hi->n)
			continue;
		start = p - pivot;
		for (i = 0; i < k && hi->words[start + i] == w[i]; i++)
			;
		if (i < k)
			continue;
		if (prefer == NO_POS || (start >= prefer && start <= prefer + RUN_GAP))
			return start;
		if (best == NO_POS)
			best = start;
	}
	return best;
}

/* ---- the reply against the history ------------------------------------- */

struct lineinfo {
	unsigned char words;   /* the line has words */
	unsigned char matched; /* they (or the line's end) stand in the history */
	unsigned char header;  /* the attribution or header block above matched history */
	unsigned char history; /* in a run taken for quoted history (not the adviser's repeated words) */
	size_t start, end;     /* where, when matched */
	unsigned text;         /* which text */
};

static void match_lines(struct reply *r, const struct history *hi, struct lineinfo *li)
{
	struct words ws = { 0 };
	size_t prefer = NO_POS;

	for (size_t i = 0; i < r->n; i++) {
		size_t start = NO_POS, skip = 0;

		ws.n = 0;
		each_word(r->lines[i].s, r->lines[i].len, &r->join, words_push, &ws);
		li[i].words = ws.n > 0;
		if (!ws.n || !hi || !hi->n)
			continue;
		start = history_find(hi, ws.w, ws.n, prefer, CHAIN_LOOK);
		/* Yahoo's phones put the attribution and the whole history on one line */
		for (size_t j = 1; start == NO_POS && ws.n >= 9 && j <= ws.n - 8 && j <= 48; j++)
			if ((start = history_find(hi, ws.w + j, ws.n - j, prefer, 16)) != NO_POS)
				skip = j;
		if (start == NO_POS)
			continue;
		li[i].matched = 1;
		li[i].start = start;
		li[i].end = start + ws.n - skip;
		li[i].text = hi->text[start];
		prefer = li[i].end;
	}
	free(ws.w);
}

/* "Name: value" with a short label of letters: a line of a header block in
 * any language ("From:", "De :", "Oddi wrth:", "Wysłano:", "من:"). */
static int is_field_shape(const char *f)
{
	const char *colon = strchr(f, ':');
	size_t n, words = 1;

	while (*f == '*' || *f == ' ')
		f++;
	if (!colon || colon == f || colon - f > 32)
		return 0;
	n = (size_t)(colon - f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c == ' ')
			words += i + 1 < n && f[i + 1] != ' ' && f[i + 1] != '*';
		else if (isdigit(c) || (c < 0x80 && !isalpha(c) && c != '*' && c != '-' && c != '\''))
			return 0;
	}
	return words <= 3;
}

/* Ends with a sentence's end: the adviser's, not half of an attribution. */
static int ends_sentence(const struct line *l)
{
	char c = l->len ? l->s[l->len - 1] : 0;
	return c == '.' || c == '!' || c == '?';
}

/* An attribution line in any language: an address in it, or a date and a
 * closing colon, or a known verb and a closing colon. */
static int is_attribution_shape(const struct line *l, const char *f)
{
	size_t n = strlen(f);
	int digit = 0;

	/* bidi marks and blanks after the colon */
	while (n >= 3 && (unsigned char)f[n - 3] == 0xE2 && (unsigned char)f[n - 2] == 0x80)
		n -= 3;
	while (n && f[n - 1] == ' ')
		n--;
	if (n == 0 || n > 400 || ends_sentence(l))
		return 0;
	for (size_t i = 0; i < n; i++)
		digit |= isdigit((unsigned char)f[i]) != 0;
	if (memchr(f, '@', n))
		return 1;
	if (f[n - 1] != ':')
		return 0;
	return digit || attribution_kind(f) != ATTR_NONE;
}

static int is_dash_marker(const char *f)
{
	size_t n = strlen(f);
	return n >= 6 && starts(f, "--") && f[n - 1] == '-' && f[n - 2] == '-';
}

/* The first line of the attribution or header block right above line s
 * (blank lines, separators, footers, markers included); s when none. */
static size_t header_above(struct reply *r, const struct lineinfo *li, size_t s)
{
	size_t c = s, top_field = NO_POS, fields = 0, blanks = 0, attr_lines = 0;
	int fields_open = 1, in_attr = 0;

	for (size_t i = s; i-- > 0;) {
		const struct line *l = &r->lines[i];
		const char *f;

		if (is_blank(l)) {
			if (++blanks > 4)
				break;
			in_attr = 0;
			continue;
		}
		f = fold_line(r, i);
		if (li[i].matched && !(fields_open && is_field_shape(f)))
			break;
		if (in_attr && attr_lines < 3 && !ends_sentence(l) && (strpbrk(f, "0123456789<@") != NULL)) {
			/* a wrapped attribution's first line */
			attr_lines++;
			c = i;
			continue;
		}
		in_attr = 0;
		if (fields_open && is_field_shape(f) && (blanks <= 1 || field_kind(f) != FIELD_NONE)) {
			fields++;
			top_field = i;
		} else if (!li[i].words || is_history_marker(f) || is_forward_header(f) || is_dash_marker(f) ||
		           is_separator(f) || is_mobile_footer(f) || is_signature(l)) {
			fields_open = 0;
		} else if (attr_lines == 0 && is_attribution_shape(l, f)) {
			fields_open = 0;
			in_attr = 1;
			attr_lines = 1;
		} else {
			break;
		}
		blanks = 0;
		c = i;
	}
	if (fields && top_field != NO_POS) {
		/* the block starts with who sent it or when, or names an address */
		size_t t = top_field;
		while (t < s) {
			const char *f = fold_line(r, t);
			enum field k = field_kind(f);
			if (is_blank(&r->lines[t])) {
				t++;
				continue;
			}
			if (!is_field_shape(f) || strchr(f, '@') || k == FIELD_FROM || k == FIELD_DATE)
				break;
			t++;
		}
		if (t > top_field && c <= top_field)
			c = t;
	}
	while (c < s && is_blank(&r->lines[c]))
		c++;
	return c;
}

/* ---- the whole reply ----------------------------------------------------- */

enum drop { KEEP = 0, DROP_SURE, DROP_UNSURE };

/* A run of lines whose words follow on in one text of the history, with
 * line breaks, blank lines and marks between them. Big enough to be
 * history, not a phrase the adviser happens to repeat. */
struct run {
	size_t first, last, words, lines;
};

static int substantial(const struct run *u)
{
	return u->words >= 8 || (u->lines >= 2 && u->words >= 4);
}

static size_t find_runs(struct reply *r, const struct lineinfo *li, struct run **out)
{
	struct run cur = { 0 }, *runs = NULL;
	size_t n = 0, cap = 0, last_end = 0, between = 0;
	unsigned last_text = 0;
	int open = 0;

	for (size_t i = 0; i <= r->n; i++) {
		int close = i == r->n, extend = 0;

		if (!close && (is_blank(&r->lines[i]) || !li[i].words))
			continue;
		if (!close && li[i].matched) {
			extend = open && li[i].text == last_text && li[i].start + 8 >= last_end &&
			         li[i].start <= last_end + RUN_GAP;
			close = open && !extend;
		} else if (!close) {
			/* an adviser's answers between the lines of unquoted history */
			close = open && ++between > 20;
			if (!close)
				continue;
		} else {
			close = open;
		}
		if (close && open && substantial(&cur)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				runs = xrealloc(runs, cap * sizeof *runs);
			}
			runs[n++] = cur;
		}
		if (close)
			open = 0;
		if (i < r->n && li[i].matched) {
			if (!extend) {
				memset(&cur, 0, sizeof cur);
				cur.first = i;
				open = 1;
			}
			cur.last = i;
			between = 0;
			cur.lines++;
			cur.words += li[i].end - li[i].start;
			last_end = li[i].end;
			last_text = li[i].text;
		}
	}
	*out = runs;
	return n;
}

/* Is line i text that might be the adviser's (not removed for what it is)? */
static int is_text(struct reply *r, const struct lineinfo *li, size_t i)
{
	const struct line *l = &r->lines[i];
	return !is_blank(l) && li[i].words && !(li[i].matched && li[i].history) && !li[i].header && !is_quoted(l) &&
	       !is_mobile_footer(fold_line(r, i));
}

/* The start of the history that matching found (r->n if none). A
 * substantial run is history when it has an attribution, header block,
 * separator or phone footer above it, or is made of quoted lines, or ends
 * the reply under words of the adviser's; its lines and their header are
 * marked. */
static size_t history_start(struct reply *r, struct lineinfo *li)
{
	struct run *runs;
	size_t n = find_runs(r, li, &runs), start = r->n;

	for (size_t k = 0; k < n; k++) {
		size_t c = header_above(r, li, runs[k].first);
		int quoted = 1, tail = 1, above = 0;
		for (size_t i = runs[k].first; i <= runs[k].last; i++)
			if (li[i].words && !is_quoted(&r->lines[i]))
				quoted = 0;
		/* With no header above, only history that ends the reply, under
		 * words of the adviser's: their own words repeated from an
		 * earlier reply, above quoted history or alone, stay. */
		for (size_t i = runs[k].last + 1; i < r->n && tail; i++)
			tail = is_blank(&r->lines[i]) || !li[i].words ||
			       (!li[i].matched && !li[i].header && !is_quoted(&r->lines[i]) &&
			        is_mobile_footer(fold_line(r, i)));
		for (size_t i = 0; i < runs[k].first && !above; i++)
			above = is_text(r, li, i);
		/* (after history already found, unheaded text is an answer) */
		if (c < runs[k].first || quoted || (tail && above && start == r->n)) {
			for (size_t i = c; i < runs[k].first; i++)
				li[i].header = 1;
			for (size_t i = runs[k].first; i <= runs[k].last; i++)
				li[i].history = 1;
			if (start == r->n)
				start = c;
		}
	}
	free(runs);
	return start;
}

/* Is line i (not quoted, not blank) where older history of some other
 * message starts: a marker, a header block, an attribution with no quote
 * under it? */
static int opens_history(struct reply *r, size_t i, int *sure)
{
	const char *f = fold_line(r, i);
	int quote_follows = 0;

	*sure = 1;
	if (is_history_marker(f) || is_forward_header(f))
		return 1;
	*sure = 0;
	if (is_separator(f)) {
		size_t next = next_nonblank(r, i + 1);
		return next < r->n && is_from_block(r, next);
	}
	if (is_from_block(r, i))
		return 1;
	return attribution_at(r, i, &quote_follows) > 0 && !quote_follows;
}

static void clean(const char *text, const struct history *hi, int hold_percent, struct clean_result *res)
{
	struct reply r;
	struct buf out;
	struct lineinfo *li;
	size_t *kept, nkept = 0, start, limit, kept_bytes = 0, unsure_bytes = 0;
	char *drop;
	int older = 0, cut = 0;

	buf_init(&r.fold);
	buf_init(&r.join);
	buf_init(&out);
	split_lines(&r, text ? text : "");
	drop = xcalloc(r.n + 1, 1);
	kept = xmalloc((r.n + 1) * sizeof *kept);
	li = xcalloc(r.n + 1, sizeof *li);

	match_lines(&r, hi, li);
	start = history_start(&r, li);

	/* Before the history (or in all of a reply with none found): the
	 * heuristics, which must not look past it. */
	limit = r.n;
	r.n = start;
	for (size_t i = 0; i < r.n; i++) {
		const struct line *l = &r.lines[i];
		size_t k;
		int quote_follows = 0, sure = 0;

		if (cut) {
			if (!is_blank(l))
				drop[i] = is_text(&r, li, i) && !is_field_shape(fold_line(&r, i)) &&
				                          !is_attribution_shape(l, fold_line(&r, i)) && cut != DROP_SURE
				                  ? DROP_UNSURE
				                  : DROP_SURE;
			continue;
		}
		if (is_quoted(l)) {
			drop[i] = DROP_SURE;
			continue;
		}
		if (is_blank(l))
			continue;
		if (is_signature(l)) {
			cut = DROP_SURE;
			drop[i] = DROP_SURE;
			continue;
		}
		if (opens_history(&r, i, &sure)) {
			cut = sure ? DROP_SURE : DROP_UNSURE;
			drop[i] = DROP_SURE;
			continue;
		}
		k = attribution_at(&r, i, &quote_follows);
		if (k > 0) {
			memset(drop + i, DROP_SURE, k);
			i += k - 1;
			continue;
		}
		if (is_mobile_footer(fold_line(&r, i)))
			drop[i] = DROP_SURE;
	}
	r.n = limit;

	/* The history and after: what matched goes, and the adviser's inline
	 * answers stay, up to a signature or to older history that did not
	 * match. */
	for (size_t i = start; i < r.n; i++) {
		const struct line *l = &r.lines[i];
		int sure = 0;

		if (is_blank(l))
			continue;
		if (cut) {
			drop[i] = is_text(&r, li, i) && !is_field_shape(fold_line(&r, i)) ? (char)cut : DROP_SURE;
			continue;
		}
		if (is_signature(l)) {
			cut = DROP_SURE;
			drop[i] = DROP_SURE;
			continue;
		}
		if (!is_text(&r, li, i)) {
			drop[i] = DROP_SURE;
			continue;
		}
		if (older) {
			const char *f = fold_line(&r, i);
			drop[i] = is_field_shape(f) || is_attribution_shape(l, f) ? DROP_SURE : DROP_UNSURE;
			continue;
		}
		if (opens_history(&r, i, &sure)) {
			older = 1;
			drop[i] = DROP_SURE;
			cut = sure ? DROP_SURE : 0;
		}
	}

	/* Removed lines and blank runs become one paragraph break. */
	for (size_t i = 0; i < r.n; i++) {
		if (drop[i] == DROP_UNSURE)
			unsure_bytes += r.lines[i].len;
		if (drop[i] || is_blank(&r.lines[i])) {
			if (nkept && kept[nkept - 1] != BLANK)
				kept[nkept++] = BLANK;
		} else {
			kept[nkept++] = i;
		}
	}
	while (nkept && kept[nkept - 1] == BLANK)
		nkept--;
	drop_disclaimer(&r, kept, &nkept);

	buf_add(&out, "", 0);
	for (size_t j = 0; j < nkept; j++) {
		if (j)
			buf_addc(&out, '\n');
		if (kept[j] != BLANK) {
			buf_add(&out, r.lines[kept[j]].s, r.lines[kept[j]].len);
			kept_bytes += r.lines[kept[j]].len;
		}
	}
	res->text = utf8_sanitize(out.data, out.len);
	res->kept_bytes = kept_bytes;
	res->unsure_bytes = unsure_bytes;
	if (str_is_blank(res->text))
		res->hold = CLEAN_HOLD_EMPTY;
	else if (unsure_bytes * 100 > (size_t)hold_percent * (kept_bytes + unsure_bytes))
		res->hold = CLEAN_HOLD_SHARE;
	else
		res->hold = CLEAN_SEND;

	buf_free(&out);
	buf_free(&r.fold);
	buf_free(&r.join);
	free(r.lines);
	free(drop);
	free(kept);
	free(li);
}

void clean_reply_with(const char *text, const char *const *history, size_t nhistory, int hold_percent,
                      struct clean_result *res)
{
	struct history hi;
	struct buf scratch;

	buf_init(&scratch);
	history_build(&hi, history, history ? nhistory : 0, &scratch);
	clean(text, &hi, hold_percent, res);
	history_free(&hi);
	buf_free(&scratch);
}

char *clean_reply(const char *text)
{
	struct clean_result res;
	clean(text, NULL, 100, &res);
	return res.text;
}

void clean_result_free(struct clean_result *res)
{
	if (res) {
		free(res->text);
		res->text = NULL;
	}
}

const char *clean_hold_text(enum clean_hold hold)
{
	switch (hold) {
	case CLEAN_SEND:
		return "";
	case CLEAN_HOLD_EMPTY:
		return "after removing the quoted history, signature and footers, nothing was left to send";
	case CLEAN_HOLD_SHARE:
		return "removing the quoted history took away text that could not be matched to this conversation's "
		       "messages, so it may have been yours";
	}
	return "";
}

char *clean_known(const char *text, const char *const *history, size_t nhistory)
{
	struct reply r;
	struct history hi;
	struct buf scratch, out;
	struct lineinfo *li;
	struct run *runs;
	char *drop, *result;
	size_t n;

	buf_init(&scratch);
	buf_init(&out);
	buf_init(&r.fold);
	buf_init(&r.join);
	history_build(&hi, history, history ? nhistory : 0, &scratch);
	split_lines(&r, text ? text : "");
	li = xcalloc(r.n + 1, sizeof *li);
	drop = xcalloc(r.n + 1, 1);
	match_lines(&r, &hi, li);
	n = find_runs(&r, li, &runs);
	for (size_t k = 0; k < n; k++)
		for (size_t i = runs[k].first; i <= runs[k].last; i++)
			drop[i] = li[i].matched;
	buf_add(&out, "", 0);
	for (size_t i = 0; i < r.n; i++) {
		if (drop[i])
			continue;
		buf_add(&out, r.lines[i].s, r.lines[i].len);
		buf_addc(&out, '\n');
	}
	result = utf8_sanitize(out.data, out.len);
	free(runs);
	free(li);
	free(drop);
	free(r.lines);
	history_free(&hi);
	buf_free(&scratch);
	buf_free(&out);
	buf_free(&r.fold);
	buf_free(&r.join);
	return result;
}
