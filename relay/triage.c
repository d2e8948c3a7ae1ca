/* triage.c: urgent-phrase matching. A phrase list compiles to word ids in a
 * small hash table (the vocabulary); a message normalises once into a graph
 * of word edges, and each phrase is walked along it. See triage.h for the
 * rules. */
#include "triage.h"

#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text-speak and contractions: each word's readings, the first being the
 * one a phrase takes. Written naturally; compiled with repeated letters
 * collapsed like every other word. Keep triage.h's table in step. */
#define READINGS_MAX 2
static const struct {
	const char *word;
	const char *reads[READINGS_MAX];
} speak[] = {
	{ "u", { "you" } },
	{ "r", { "are" } },
	{ "n", { "and" } },
	{ "b", { "be" } },
	{ "ur", { "your", "you are" } },
	{ "your", { "your", "you are" } },
	{ "youre", { "you are", "your" } },
	{ "im", { "i am" } },
	{ "ive", { "i have" } },
	{ "ill", { "i will", "ill" } },
	{ "hes", { "he is", "he has" } },
	{ "shes", { "she is", "she has" } },
	{ "theyre", { "they are" } },
	{ "cant", { "can not" } },
	{ "cannot", { "can not" } },
	{ "dont", { "do not" } },
	{ "doesnt", { "does not" } },
	{ "didnt", { "did not" } },
	{ "wont", { "will not" } },
	{ "wouldnt", { "would not" } },
	{ "couldnt", { "could not" } },
	{ "isnt", { "is not" } },
	{ "wasnt", { "was not" } },
	{ "arent", { "are not" } },
	{ "havent", { "have not" } },
	{ "gonna", { "going to" } },
	{ "gunna", { "going to" } },
	{ "wanna", { "want to" } },
	{ "gotta", { "got to" } },
	{ "tonite", { "tonight" } },
	{ "2nite", { "tonight" } },
	{ "2night", { "tonight" } },
	{ "nite", { "night" } },
	{ "2day", { "today" } },
	{ "b4", { "before" } },
	{ "pls", { "please" } },
	{ "plz", { "please" } },
	{ "bf", { "boyfriend" } },
	{ "gf", { "girlfriend" } },
	{ "ppl", { "people" } },
	{ "cos", { "because" } },
	{ "coz", { "because" } },
	{ "cuz", { "because" } },
	{ "wiv", { "with" } },
	{ "wid", { "with" } },
	{ "wat", { "what" } },
	{ "wot", { "what" } },
	{ "2", { "2", "to" } },
	{ "4", { "4", "for" } },
	{ "pic", { "picture" } },
	{ "pics", { "pictures" } },
	{ "pix", { "pictures" } },
	{ "photo", { "photo", "picture" } },
	{ "photos", { "photos", "pictures" } },
	{ "vid", { "video" } },
	{ "vids", { "videos" } },
	{ "kms", { "kill myself" } },
	{ "kys", { "kill yourself" } },
	{ "selfharm", { "self harm" } },
};
#define NSPEAK (sizeof speak / sizeof speak[0])
#define READ_WORDS_MAX 2 /* words in one reading */

/* The second word of a split contraction ("he s", "don t"; "ll" collapses
 * to "l"), and pairs that young people write apart. */
static const char *const suffixes[] = { "s", "t", "m", "d", "l", "re", "ve" };
static const struct {
	const char *a, *b;
} pairs[] = {
	{ "my", "self" }, { "out", "side" }, { "to", "night" }, { "some", "one" }, { "any", "more" },
};

struct word {
	char *text; /* owned, normalised */
	size_t len;
	int reading; /* index into speak[], or -1 */
	int first;   /* first phrase (list order) that starts with this word, or -1 */
	int last;    /* last phrase on that chain, for appending */
};

struct reading { /* speak[i]'s readings as word ids; -1: in no phrase */
	int n;
	int len[READINGS_MAX];
	int id[READINGS_MAX][READ_WORDS_MAX];
};

struct phrase {
	char *text; /* owned: as written, trimmed */
	int *ids;   /* owned */
	size_t n;
	int next; /* next phrase with the same first word, or -1 */
};

struct triage {
	struct phrase *phrases; /* owned */
	size_t nphrases, phrases_cap;
	struct word *words; /* owned: the vocabulary */
	size_t nwords, words_cap;
	int *slots;    /* owned: open addressing into words, -1 empty */
	size_t nslots; /* a power of two */
	struct reading readings[NSPEAK];
};

/* ---- characters ---------------------------------------------------------- */

enum cclass { C_LETTER, C_DIGIT, C_APOS, C_SPACE, C_HYPHEN, C_IGNORE, C_SEP };

/* The class of cp; for letters and digits, its folded form in out[] (one or
 * two code points, *nout). */
static enum cclass classify(uint32_t cp, uint32_t out[2], int *nout)
{
	char f = 0;

	*nout = 1;
	out[0] = cp;
	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z') {
			out[0] = cp + 32;
			return C_LETTER;
		}
		if (cp >= 'a' && cp <= 'z')
			return C_LETTER;
		if (cp >= '0' && cp <= '9')
			return C_DIGIT;
		if (cp == '\'' || cp == '`')
			return C_APOS;
		if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
			return C_SPACE;
		if (cp == '-')
			return C_HYPHEN;
		return C_SEP;
	}
	if (cp == 0xA0)
		return C_SPACE;
	if (cp == 0xAD)
		return C_IGNORE; /* soft hyphen */
	if (cp == 0xB4)
		return C_APOS;
	if (cp < 0xC0)
		return C_SEP;
	if (cp <= 0x17F) {
		/* Latin-1 and Extended-A: the relay's one folding table (util.c). */
		const char *fold = fold_latin_codepoint(cp);
		if (!fold)
			return C_SEP; /* multiplication and division signs */
		out[0] = (unsigned char)fold[0];
		if (fold[1]) {
			out[1] = (unsigned char)fold[1];
			*nout = 2;
		}
		return C_LETTER;
	}
	if (cp == 0x192)
		f = 'f';
	else if (cp == 0x1A0 || cp == 0x1A1)
		f = 'o';
	else if (cp == 0x1AF || cp == 0x1B0)
		f = 'u';
	else if (cp >= 0x1CD && cp <= 0x1DC)
		f = "aaiioouuuuuuuuuu"[cp - 0x1CD];
	else if (cp >= 0x218 && cp <= 0x21B)
		f = "sstt"[cp - 0x218];
	if (f) {
		out[0] = (unsigned char)f;
		return C_LETTER;
	}
	if (cp == 0x2BC || cp == 0x2018 || cp == 0x2019 || cp == 0x2032 || cp == 0xFF07)
		return C_APOS;
	if (cp >= 0x2B0 && cp <= 0x2FF)
		return C_SEP; /* modifier letters: stress marks and the like */
	if (cp >= 0x300 && cp <= 0x36F)
		return C_IGNORE; /* combining accents: "e" + U+0301 is "e" */
	if (cp >= 0x391 && cp <= 0x3A9) {
		out[0] = cp + 0x20;
		return C_LETTER;
	}
	if (cp >= 0x400 && cp <= 0x40F) {
		out[0] = cp + 0x50;
		return C_LETTER;
	}
	if (cp >= 0x410 && cp <= 0x42F) {
		out[0] = cp + 0x20;
		return C_LETTER;
	}
	if (cp == 0x200B)
		return C_SPACE; /* zero-width space: a word break */
	if ((cp >= 0x200C && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF || (cp >= 0xFE00 && cp <= 0xFE0F) ||
	    (cp >= 0xE0000 && cp <= 0xE01EF))
		return C_IGNORE; /* zero-width, joiners, variation selectors, tags */
	if ((cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
		return C_SPACE;
	if (cp >= 0x2010 && cp <= 0x2015)
		return C_HYPHEN;
	if (cp >= 0xFF21 && cp <= 0xFF3A) {
		out[0] = cp - 0xFF21 + 'a';
		return C_LETTER;
	}
	if (cp >= 0xFF41 && cp <= 0xFF5A) {
		out[0] = cp - 0xFF41 + 'a';
		return C_LETTER;
	}
	if (cp >= 0xFF10 && cp <= 0xFF19) {
		out[0] = cp - 0xFF10 + '0';
		return C_DIGIT;
	}
	if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x2E00 && cp <= 0x2E7F) || (cp >= 0x3000 && cp <= 0x303F) ||
	    (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFE10 && cp <= 0xFE6F) || (cp >= 0xFF00 && cp <= 0xFFFF) ||
	    (cp >= 0x1F000 && cp <= 0x1FBFF) || cp >= 0xF0000)
		return C_SEP; /* punctuation, symbols, emoji, private use */
	return C_LETTER;      /* other scripts' letters, as they are */
}

static void buf_add_utf8(struct buf *b, uint32_t cp)
{
	char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xC0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xE0 | cp >> 12);
		s[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		s[0] = (char)(0xF0 | cp >> 18);
		s[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		s[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		s[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	buf_add(b, s, n);
}

/* ---- words --------------------------------------------------------------- */

struct token {
	size_t off, len; /* in the word list's chars, NUL-terminated there */
	int soft;        /* only spaces, apostrophes or hyphens since the previous word */
};

struct wordlist {
	struct buf chars;
	struct token *tok; /* owned */
	size_t n, cap;
};

static const char *tok_text(const struct wordlist *wl, size_t i)
{
	return wl->chars.data + wl->tok[i].off;
}

/* Splits s into normalised words: folded, lower-cased, apostrophes dropped,
 * runs of one letter collapsed. */
static void tokenise(const char *s, size_t n, struct wordlist *wl)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int in_word = 0, soft = 1;
	uint32_t last = 0;

	buf_init(&wl->chars);
	buf_add(&wl->chars, "", 0);
	wl->tok = NULL;
	wl->n = wl->cap = 0;
	while (i <= n) {
		uint32_t cp = 0, out[2];
		int nout = 0;
		enum cclass c = C_SEP;
		size_t k = 1;

		if (i < n) {
			k = utf8_decode(p + i, n - i, &cp);
			if (k == 0)
				k = 1; /* invalid: a separator */
			else
				c = classify(cp, out, &nout);
		}
		i += k;
		if (c == C_LETTER || c == C_DIGIT) {
			if (!in_word) {
				if (wl->n == wl->cap) {
					wl->cap = wl->cap ? wl->cap * 2 : 64;
					wl->tok = xrealloc(wl->tok, wl->cap * sizeof *wl->tok);
				}
				wl->tok[wl->n].off = wl->chars.len;
				wl->tok[wl->n].soft = soft && wl->n > 0;
				in_word = 1;
				last = 0;
			}
			for (int j = 0; j < nout; j++) {
				if (out[j] == last && c == C_LETTER)
					continue;
				buf_add_utf8(&wl->chars, out[j]);
				last = c == C_LETTER ? out[j] : 0;
			}
			continue;
		}
		if (c == C_IGNORE || (c == C_APOS && in_word))
			continue;
		if (in_word) {
			wl->tok[wl->n].len = wl->chars.len - wl->tok[wl->n].off;
			buf_addc(&wl->chars, '\0');
			wl->n++;
			in_word = 0;
			soft = 1;
		}
		if (c == C_SEP)
			soft = 0;
	}
}

static void wordlist_free(struct wordlist *wl)
{
	buf_free(&wl->chars);
	free(wl->tok);
}

/* Collapses runs of one letter in an ASCII table word into out. */
static void collapse_ascii(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++)
		if (i == 0 || s[i] != s[i - 1] || (s[i] >= '0' && s[i] <= '9'))
			buf_addc(out, s[i]);
}

/* Do words a and b read as one: "he" "s", "my" "self"? */
static int joinable(const char *a, const char *b)
{
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
		if (strcmp(b, suffixes[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (strcmp(a, pairs[i].a) == 0 && strcmp(b, pairs[i].b) == 0)
			return 1;
	return 0;
}

/* a and b as one word, collapsing a letter run across the seam. */
static void join(const char *a, size_t alen, const char *b, size_t blen, struct buf *out)
{
	buf_reset(out);
	buf_add(out, a, alen);
	if (alen > 0 && blen > 0 && a[alen - 1] == b[0] && !(b[0] >= '0' && b[0] <= '9')) {
		b++;
		blen--;
	}
	buf_add(out, b, blen);
}

/* ---- the vocabulary ------------------------------------------------------ */

static size_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static int vocab_find(const struct triage *t, const char *s, size_t n)
{
	size_t mask = t->nslots - 1;

	for (size_t i = hash(s, n) & mask;; i = (i + 1) & mask) {
		int w = t->slots[i];
		if (w < 0)
			return -1;
		if (t->words[w].len == n && memcmp(t->words[w].text, s, n) == 0)
			return w;
	}
}

static void vocab_rehash(struct triage *t, size_t nslots)
{
	free(t->slots);
	t->nslots = nslots;
	t->slots = xmalloc(nslots * sizeof *t->slots);
	for (size_t i = 0; i < nslots; i++)
		t->slots[i] = -1;
	for (size_t w = 0; w < t->nwords; w++) {
		size_t i = hash(t->words[w].text, t->words[w].len) & (nslots - 1);
		while (t->slots[i] >= 0)
			i = (i + 1) & (nslots - 1);
		t->slots[i] = (int)w;
	}
}

/* The id of word s, adding it when new. */
static int vocab_add(struct triage *t, const char *s, size_t n)
{
	int w = vocab_find(t, s, n);

	if (w >= 0)
		return w;
	if (t->nwords == t->words_cap) {
		t->words_cap = t->words_cap ? t->words_cap * 2 : 128;
		t->words = xrealloc(t->words, t->words_cap * sizeof *t->words);
	}
	w = (int)t->nwords++;
	t->words[w].text = xstrndup(s, n);
	t->words[w].len = n;
	t->words[w].reading = -1;
	t->words[w].first = t->words[w].last = -1;
	if (t->nwords * 2 > t->nslots)
		vocab_rehash(t, t->nslots * 2);
	else {
		size_t i = hash(s, n) & (t->nslots - 1);
		while (t->slots[i] >= 0)
			i = (i + 1) & (t->nslots - 1);
		t->slots[i] = w;
	}
	return w;
}

/* ---- compiling ----------------------------------------------------------- */

static int valid_utf8(const char *s, size_t n, size_t *chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	*chars = 0;
	while (i < n) {
		size_t k = utf8_decode(p + i, n - i, &cp);
		if (k == 0)
			return 0;
		i += k;
		++*chars;
	}
	return 1;
}

struct ids {
	int *v; /* owned */
	size_t n, cap;
};

static void ids_push(struct ids *ids, int id)
{
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 8;
		ids->v = xrealloc(ids->v, ids->cap * sizeof *ids->v);
	}
	ids->v[ids->n++] = id;
}

/* Appends word w of a phrase to ids, as its first reading when it has one. */
static void phrase_word(struct triage *t, const char *w, size_t n, struct ids *ids)
{
	int id = vocab_find(t, w, n);
	struct buf one;
	const char *r;

	if (id < 0 || t->words[id].reading < 0) {
		ids_push(ids, vocab_add(t, w, n));
		return;
	}
	buf_init(&one);
	for (r = speak[t->words[id].reading].reads[0]; *r;) {
		size_t len = strcspn(r, " ");
		buf_reset(&one);
		collapse_ascii(r, len, &one);
		ids_push(ids, vocab_add(t, buf_str(&one), one.len));
		r += len;
		r += *r == ' ';
	}
	buf_free(&one);
}

/* Compiles one trimmed phrase; 0, or -1 when nothing in it is matchable. */
static int phrase_add(struct triage *t, const char *text)
{
	struct wordlist wl;
	struct buf joined;
	struct ids ids = { NULL, 0, 0 };
	struct phrase *p;
	struct word *first;

	tokenise(text, strlen(text), &wl);
	if (wl.n == 0) {
		wordlist_free(&wl);
		return -1;
	}
	buf_init(&joined);
	for (size_t i = 0; i < wl.n; i++) {
		/* Greedy joins: the message graph holds both paths, so either
		 * choice here is found there. */
		if (i + 1 < wl.n && wl.tok[i + 1].soft && joinable(tok_text(&wl, i), tok_text(&wl, i + 1))) {
			join(tok_text(&wl, i), wl.tok[i].len, tok_text(&wl, i + 1), wl.tok[i + 1].len, &joined);
			phrase_word(t, buf_str(&joined), joined.len, &ids);
			i++;
		} else {
			phrase_word(t, tok_text(&wl, i), wl.tok[i].len, &ids);
		}
	}
	buf_free(&joined);
	wordlist_free(&wl);

	if (t->nphrases == t->phrases_cap) {
		t->phrases_cap = t->phrases_cap ? t->phrases_cap * 2 : 64;
		t->phrases = xrealloc(t->phrases, t->phrases_cap * sizeof *t->phrases);
	}
	p = &t->phrases[t->nphrases];
	p->text = xstrdup(text);
	p->ids = ids.v;
	p->n = ids.n;
	p->next = -1;
	first = &t->words[ids.v[0]];
	if (first->first < 0)
		first->first = (int)t->nphrases;
	else
		t->phrases[first->last].next = (int)t->nphrases;
	first->last = (int)t->nphrases;
	t->nphrases++;
	return 0;
}

static struct triage *triage_new(void)
{
	struct triage *t = xcalloc(1, sizeof *t);
	struct buf w;

	vocab_rehash(t, 256);
	buf_init(&w);
	for (size_t i = 0; i < NSPEAK; i++) {
		int id;
		buf_reset(&w);
		collapse_ascii(speak[i].word, strlen(speak[i].word), &w);
		id = vocab_add(t, buf_str(&w), w.len);
		if (t->words[id].reading < 0)
			t->words[id].reading = (int)i;
	}
	buf_free(&w);
	return t;
}

/* Once every phrase is in: the readings as ids, for the message side. */
static void resolve_readings(struct triage *t)
{
	struct buf one;

	buf_init(&one);
	for (size_t i = 0; i < NSPEAK; i++) {
		struct reading *rd = &t->readings[i];
		rd->n = 0;
		for (int j = 0; j < READINGS_MAX && speak[i].reads[j]; j++) {
			const char *r = speak[i].reads[j];
			int k = 0;
			while (*r && k < READ_WORDS_MAX) {
				size_t len = strcspn(r, " ");
				buf_reset(&one);
				collapse_ascii(r, len, &one);
				rd->id[j][k++] = vocab_find(t, buf_str(&one), one.len);
				r += len;
				r += *r == ' ';
			}
			rd->len[j] = k;
			rd->n++;
		}
	}
	buf_free(&one);
}

/* "path:12: why", or "line 12: why" for a string. */
static void __attribute__((format(printf, 5, 6)))
line_error(char *err, size_t errlen, const char *name, size_t lineno, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	if (name)
		buf_printf(&b, "%s:%zu: ", name, lineno);
	else
		buf_printf(&b, "line %zu: ", lineno);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s", buf_str(&b));
	buf_free(&b);
}

static int compile(const char *text, const char *name, struct triage **out, char *err, size_t errlen)
{
	struct triage *t = triage_new();
	const char *line = text;
	char *copy = NULL;
	size_t lineno = 0;

	if (strncmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3;
	while (*line) {
		size_t len = strcspn(line, "\n"), chars;
		char *hash_at, *phrase;

		lineno++;
		free(copy);
		copy = xstrndup(line, len);
		line += len + (line[len] == '\n');
		if ((hash_at = strchr(copy, '#')))
			*hash_at = '\0';
		phrase = str_trim(copy);
		if (!*phrase)
			continue;
		if (!valid_utf8(phrase, strlen(phrase), &chars)) {
			line_error(err, errlen, name, lineno, "not valid UTF-8");
			goto fail;
		}
		if (chars > TRIAGE_PHRASE_MAX) {
			line_error(err, errlen, name, lineno, "phrase longer than %d characters", TRIAGE_PHRASE_MAX);
			goto fail;
		}
		if (phrase_add(t, phrase) < 0) {
			line_error(err, errlen, name, lineno, "no words to match in \"%s\"", phrase);
			goto fail;
		}
	}
	free(copy);
	resolve_readings(t);
	*out = t;
	return 0;

fail:
	free(copy);
	triage_free(t);
	return -1;
}

int triage_compile(const char *text, struct triage **out, char *err, size_t errlen)
{
	return compile(text ? text : "", NULL, out, err, errlen);
}

int triage_load(const char *path, struct triage **out, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	if (file_read(path, TRIAGE_FILE_MAX, &text, &len, err, errlen) < 0)
		return -1;
	if (strlen(text) != len) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return -1;
	}
	rc = compile(text, path, out, err, errlen);
	free(text);
	return rc;
}

void triage_free(struct triage *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nphrases; i++) {
		free(t->phrases[i].text);
		free(t->phrases[i].ids);
	}
	free(t->phrases);
	for (size_t i = 0; i < t->nwords; i++)
		free(t->words[i].text);
	free(t->words);
	free(t->slots);
	free(t);
}

size_t triage_count(const struct triage *t)
{
	return t ? t->nphrases : 0;
}

/* ---- matching ------------------------------------------------------------ */

struct edge {
	int from, to, id;
};

/* The message as a graph: nodes between words, an edge per reading of a word
 * that some phrase uses. Node i precedes token i; multi-word readings pass
 * through nodes numbered after the tokens'. */
struct graph {
	struct edge *e; /* owned; sorted by from once built */
	size_t ne, cap;
	int nnodes;
	int *start; /* owned: edges of node v are e[start[v] .. start[v+1]) */
};

static void edge_add(struct graph *g, int from, int to, int id)
{
	if (id < 0)
		return;
	if (g->ne == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->e = xrealloc(g->e, g->cap * sizeof *g->e);
	}
	g->e[g->ne].from = from;
	g->e[g->ne].to = to;
	g->e[g->ne].id = id;
	g->ne++;
}

/* Edges for word w spanning nodes from..to. */
static void word_edges(const struct triage *t, struct graph *g, struct buf *scratch, const char *w, size_t n, int from,
                       int to)
{
	int id = vocab_find(t, w, n);

	if (id >= 0 && t->words[id].reading >= 0) {
		const struct reading *rd = &t->readings[t->words[id].reading];
		for (int j = 0; j < rd->n; j++) {
			int at = from;
			for (int k = 0; k < rd->len[j]; k++) {
				int next = k == rd->len[j] - 1 ? to : g->nnodes++;
				edge_add(g, at, next, rd->id[j][k]);
				at = next;
			}
		}
	} else {
		edge_add(g, from, to, id);
	}
	/* Dropped g: "comin" also reads "coming". */
	if (n >= 4 && w[n - 2] == 'i' && w[n - 1] == 'n') {
		buf_reset(scratch);
		buf_add(scratch, w, n);
		buf_addc(scratch, 'g');
		edge_add(g, from, to, vocab_find(t, buf_str(scratch), scratch->len));
	}
}

static void graph_build(const struct triage *t, const struct wordlist *wl, struct graph *g)
{
	struct buf joined, scratch;
	struct edge *sorted;
	int *count;

	memset(g, 0, sizeof *g);
	g->nnodes = (int)wl->n + 1;
	buf_init(&joined);
	buf_init(&scratch);
	for (size_t i = 0; i < wl->n; i++) {
		word_edges(t, g, &scratch, tok_text(wl, i), wl->tok[i].len, (int)i, (int)i + 1);
		if (i + 1 < wl->n && wl->tok[i + 1].soft && joinable(tok_text(wl, i), tok_text(wl, i + 1))) {
			join(tok_text(wl, i), wl->tok[i].len, tok_text(wl, i + 1), wl->tok[i + 1].len, &joined);
			word_edges(t, g, &scratch, buf_str(&joined), joined.len, (int)i, (int)i + 2);
		}
	}
	buf_free(&joined);
	buf_free(&scratch);

	/* Counting sort by from. */
	g->start = xcalloc((size_t)g->nnodes + 1, sizeof *g->start);
	for (size_t i = 0; i < g->ne; i++)
		g->start[g->e[i].from + 1]++;
	for (int v = 0; v < g->nnodes; v++)
		g->start[v + 1] += g->start[v];
	count = xcalloc((size_t)g->nnodes, sizeof *count);
	sorted = xmalloc((g->ne ? g->ne : 1) * sizeof *sorted);
	for (size_t i = 0; i < g->ne; i++) {
		int v = g->e[i].from;
		sorted[g->start[v] + count[v]++] = g->e[i];
	}
	free(count);
	free(g->e);
	g->e = sorted;
}

static void graph_free(struct graph *g)
{
	free(g->e);
	free(g->start);
}

/* Does phrase p, from its word k on, follow a path from node v? */
static int walk(const struct graph *g, int v, const struct phrase *p, size_t k)
{
	if (k == p->n)
		return 1;
	for (int i = g->start[v]; i < g->start[v + 1]; i++)
		if (g->e[i].id == p->ids[k] && walk(g, g->e[i].to, p, k + 1))
			return 1;
	return 0;
}

int triage_match(const struct triage *t, const char *text, const char **phrase)
{
	struct wordlist wl;
	struct graph g;
	size_t best;

	if (phrase)
		*phrase = NULL;
	if (!t || !text || t->nphrases == 0)
		return 0;
	tokenise(text, strlen(text), &wl);
	graph_build(t, &wl, &g);
	best = t->nphrases;
	for (size_t i = 0; i < g.ne && best > 0; i++) {
		for (int p = t->words[g.e[i].id].first; p >= 0 && (size_t)p < best; p = t->phrases[p].next) {
			if (walk(&g, g.e[i].to, &t->phrases[p], 1)) {
				best = (size_t)p;
				break;
			}
		}
	}
	graph_free(&g);
	wordlist_free(&wl);
	if (best == t->nphrases)
		return 0;
	if (phrase)
		*phrase = t->phrases[best].text;
	return 1;
}
