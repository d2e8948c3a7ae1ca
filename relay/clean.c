/* clean.c: cut an adviser's email reply down to the adviser's own words.
 *
 * The reply is read line by line. Quoted lines are dropped wherever they are
 * (bottom-posting and inline answers keep the text around them); the first
 * line that opens the quoted history or a signature cuts the rest; then a
 * trailing disclaimer goes. Matching is done on a folded copy of each line
 * (lowercase, accents dropped, blanks collapsed) so that "a écrit :" and
 * "A ECRIT:" look alike; what is kept is always the adviser's original text. */
#include "clean.h"

#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct line {
	const char *s;  /* into the caller's text; not NUL-terminated */
	size_t len;     /* without the line end and trailing blanks */
};

struct reply {
	struct line *lines; /* owned */
	size_t n;
	struct buf fold;    /* scratch: a folded line */
	struct buf join;    /* scratch: lines joined before folding */
};

#define BLANK ((size_t)-1)  /* a paragraph break in the list of kept lines */

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
		if (rep == NULL) {
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

#define IN_LIST(s, list) in_list((s), (list), sizeof (list) / sizeof (list)[0])

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
	static const char *const names[] = {
		"original message", "ursprungliche nachricht", "originalnachricht", "message d'origine",
		"mensaje original", "oorspronkelijk bericht", "messaggio originale",
		"ursprungligt meddelande", "oprindelig meddelelse", "opprinnelig melding",
		"wiadomosc oryginalna", "mensagem original", "alkuperainen viesti",
		"forwarded message", "weitergeleitete nachricht", "message transfere",
		"mensaje reenviado", "doorgestuurd bericht", "messaggio inoltrato",
		"vidarebefordrat meddelande", "videresendt meddelelse", "videresendt melding",
		"wiadomosc przekazana", "mensagem encaminhada",
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
		"begin forwarded message", "anfang der weitergeleiteten nachricht",
		"debut du message reexpedie", "inicio del mensaje reenviado",
		"begin doorgestuurd bericht", "inizio messaggio inoltrato",
		"vidarebefordrat brev", "videresendt besked", "videresendt melding",
		"poczatek przekazywanej wiadomosci", "inicio da mensagem reencaminhada",
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
		"from", "von", "de", "van", "da", "fran", "fra", "od", "lahettaja",
	};
	static const char *const date[] = {
		"sent", "date", "gesendet", "datum", "envoye", "enviado", "fecha", "verzonden",
		"inviato", "data", "skickat", "sendt", "wyslano", "lahetetty", "enviada",
	};
	static const char *const to[] = {
		"to", "an", "a", "para", "aan", "till", "til", "do", "vastaanottaja",
	};
	static const char *const cc[] = { "cc", "kopie", "copie", "kopia", "kopio" };
	static const char *const subject[] = {
		"subject", "betreff", "objet", "asunto", "onderwerp", "oggetto", "amne", "emne",
		"temat", "aihe", "assunto",
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

/* A "From:" line followed by two more of the block's fields: "From:" in the
 * adviser's prose has no "Sent:" and "To:" under it. */
static int is_from_block(struct reply *r, size_t i)
{
	unsigned seen = 0;
	int kinds = 0;

	if (field_kind(fold_line(r, i)) != FIELD_FROM)
		return 0;
	for (size_t j = i + 1, looked = 0; j < r->n && looked < 8; j++) {
		if (is_blank(&r->lines[j]))
			continue;
		if (is_quoted(&r->lines[j]))
			break;
		looked++;
		seen |= field_kind(fold_line(r, j)) & ~(unsigned)FIELD_FROM;
	}
	for (unsigned b = FIELD_DATE; b <= FIELD_SUBJECT; b <<= 1)
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
		if (isdigit((unsigned char)f[0]) && (f[1] == ':' || f[1] == '.') &&
		    isdigit((unsigned char)f[2]) && isdigit((unsigned char)f[3]))
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
		"wrote", "a ecrit", "escribio", "ha scritto", "escreveu", "napisal", "napisal(a)",
		"schrieb", "schreef", "skrev", "kirjoitti", "scrisse",
	};
	/* verb-second languages put the name after the verb */
	static const char *const inner_verbs[] = { " schrieb ", " schreef ", " skrev ", " wrote on " };
	static const char *const openers[] = {
		"on ", "am ", "le ", "el ", "op ", "il ", "den ", "em ", "w dniu ", "pa ", "dne ",
	};
	size_t n = strlen(f), body;
	int verb = 0, opener = 0, at;

	if (n < 2 || n > 300 || f[n - 1] != ':')
		return ATTR_NONE;
	body = n - 1;
	while (body && f[body - 1] == ' ')
		body--;
	for (size_t i = 0; i < sizeof last_verbs / sizeof last_verbs[0] && !verb; i++)
		verb = ends_with_word(f, body, last_verbs[i]);
	for (size_t i = 0; i < sizeof inner_verbs / sizeof inner_verbs[0] && !verb; i++)
		verb = strstr(f, inner_verbs[i]) != NULL;
	if (!verb)
		return ATTR_NONE;
	for (size_t i = 0; i < sizeof openers / sizeof openers[0] && !opener; i++)
		opener = starts(f, openers[i]);
	at = strchr(f, '@') != NULL;
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

static int is_mobile_footer(const char *f)
{
	static const char *const prefixes[] = {
		"sent from my ", "sent from outlook", "sent from mail for windows", "sent from yahoo mail",
		"sent from samsung", "sent from proton", "sent with proton", "get outlook for ",
		"von meinem ", "gesendet von meinem ", "gesendet von outlook", "holen sie sich outlook",
		"envoye de mon ", "envoye depuis mon ", "envoye a partir de outlook", "telecharger outlook",
		"enviado desde mi ", "enviado desde outlook", "obtener outlook",
		"verzonden vanaf mijn ", "verstuurd vanaf mijn ", "outlook voor ",
		"inviato da ", "ottieni outlook", "skickat fran min ", "skickat fran outlook",
		"sendt fra min ", "sendt fra outlook", "wyslane z mojego ", "enviado do meu ",
	};
	if (strlen(f) > 80)
		return 0;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (starts(f, prefixes[i]))
			return 1;
	return 0;
}

static int is_disclaimer_opener(const struct line *l, const char *f)
{
	static const char *const openers[] = {
		"this email and any attachment", "this e-mail and any attachment",
		"this message and any attachment", "this email is confidential",
		"this e-mail is confidential", "this message is confidential",
		"this email may contain", "this e-mail may contain", "the information contained in this",
		"the information in this email", "the information in this e-mail",
		"disclaimer:", "disclaimer :", "confidentiality notice", "confidentiality note",
		"confidentiality statement", "confidentiality disclaimer",
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
		"confidential", "intended recipient", "intended solely", "intended only", "addressee",
		"privileged", "in error", "virus", "registered", "company number", "company no",
		"charity no", "charity number", "notify the sender", "delete", "disclaimer",
		"monitored", "unauthori", "liability", "prohibited", "legally",
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

/* ---- the whole reply ----------------------------------------------------- */

char *clean_reply(const char *text)
{
	struct reply r;
	struct buf out;
	size_t *kept, nkept = 0, cut;
	char *drop, *result;

	buf_init(&r.fold);
	buf_init(&r.join);
	buf_init(&out);
	split_lines(&r, text ? text : "");
	cut = r.n;
	drop = xcalloc(r.n + 1, 1);
	kept = xmalloc((r.n + 1) * sizeof *kept);

	for (size_t i = 0; i < r.n; i++) {
		const struct line *l = &r.lines[i];
		const char *f;
		size_t k;
		int quote_follows = 0;

		if (is_quoted(l)) {
			drop[i] = 1;
			continue;
		}
		if (is_blank(l))
			continue;
		if (is_signature(l)) {
			cut = i;
			break;
		}
		f = fold_line(&r, i);
		if (is_history_marker(f) || is_forward_header(f)) {
			cut = i;
			break;
		}
		if (is_separator(f)) {
			size_t next = next_nonblank(&r, i + 1);
			if (next < r.n && is_from_block(&r, next)) {
				cut = i;
				break;
			}
			continue;
		}
		if (is_from_block(&r, i)) {
			cut = i;
			break;
		}
		k = attribution_at(&r, i, &quote_follows);
		if (k > 0 && !quote_follows) {
			cut = i;
			break;
		}
		if (k > 0) {
			memset(drop + i, 1, k);
			i += k - 1;
			continue;
		}
		if (is_mobile_footer(fold_line(&r, i)))
			drop[i] = 1;
	}

	/* Removed lines and blank runs become one paragraph break. */
	for (size_t i = 0; i < cut; i++) {
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
		if (kept[j] != BLANK)
			buf_add(&out, r.lines[kept[j]].s, r.lines[kept[j]].len);
	}
	result = utf8_sanitize(out.data, out.len);

	buf_free(&out);
	buf_free(&r.fold);
	buf_free(&r.join);
	free(r.lines);
	free(drop);
	free(kept);
	return result;
}
