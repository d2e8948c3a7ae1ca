/* fuzz_triage.c: triage_match() on what a young person writes, as policy.c
 * calls it on every message's text and subject, against the shipped list
 * (config/urgent.txt, read from the repository root where tests/fuzz/run
 * starts us); and triage_compile() on a phrase list, then matching against
 * it. The input is the message alone, or a phrase list, 0x1D, the message.
 *
 * Besides never crashing, triage must keep the promises of triage.h for any
 * text: a match reports a phrase of the list, no match reports none; letter
 * case, straight or curly apostrophes, runs of one letter, runs of spaces
 * and separators around the message change nothing; a message that matches
 * still matches with more text after it; and every phrase of a list that
 * compiles matches itself, reporting a phrase listed no later. */
#include "fuzz.h"
#include "triage.h"

static struct triage *shipped;

static void cleanup(void)
{
	triage_free(shipped);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (triage_load("config/urgent.txt", &shipped, err, sizeof err) < 0) {
		fprintf(stderr, "fuzz_triage: %s (run from the repository root)\n", err);
		exit(1);
	}
	atexit(cleanup);
	return 0;
}

/* The phrase reported for text, or NULL; the return value agrees with it. */
static const char *match(const struct triage *t, const char *text)
{
	const char *phrase = (const char *)"unset";
	int rc = triage_match(t, text, &phrase);

	fuzz_require(rc == 0 || rc == 1);
	fuzz_require((rc == 1) == (phrase != NULL));
	fuzz_require(triage_match(t, text, NULL) == rc);
	return phrase;
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* text with every byte for which pick() is true replaced by with. */
static char *rewrite(const char *text, int (*pick)(unsigned char), const char *with)
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (pick(*p))
			buf_adds(&b, with);
		else
			buf_addc(&b, (char)*p);
	}
	return buf_take(&b);
}

static int is_apostrophe(unsigned char c)
{
	return c == '\'';
}

static int is_space(unsigned char c)
{
	return c == ' ';
}

static char *upper_ascii(const char *text)
{
	char *s = xstrdup(text);

	for (char *p = s; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return s;
}

static char *double_letters(const char *text)
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (const char *p = text; *p; p++) {
		buf_addc(&b, *p);
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			buf_addc(&b, *p);
	}
	return buf_take(&b);
}

/* The promises that hold for any list and any text. */
static void message_holds(const struct triage *t, const char *text, const char *tail)
{
	const char *want = match(t, text);
	char *s;

	s = upper_ascii(text);
	fuzz_require(same(match(t, s), want));
	free(s);
	s = rewrite(text, is_apostrophe, "\xE2\x80\x99"); /* ’ */
	fuzz_require(same(match(t, s), want));
	free(s);
	s = double_letters(text);
	fuzz_require(same(match(t, s), want));
	free(s);
	s = rewrite(text, is_space, " \t\r\n\xC2\xA0 ");
	fuzz_require(same(match(t, s), want));
	free(s);
	s = xasprintf("!! %s ?", text);
	fuzz_require(same(match(t, s), want));
	free(s);
	/* more words after a full stop can only add a match */
	if (want) {
		s = xasprintf("%s. %s", text, tail);
		fuzz_require(match(t, s) != NULL);
		free(s);
	}
}

/* Compiles list; when it compiles, every phrase in it matches itself. */
static void list_holds(const char *list, const char *text)
{
	struct triage *t = NULL;
	char err[256] = "";
	char **phrases = NULL;
	size_t n = 0;

	if (triage_compile(list, &t, err, sizeof err) < 0) {
		fuzz_require(t == NULL && strncmp(err, "line ", 5) == 0);
		return;
	}
	fuzz_require(t != NULL);
	/* the phrases as triage.h says a list is read */
	const char *line = strncmp(list, "\xEF\xBB\xBF", 3) == 0 ? list + 3 : list;
	while (*line) {
		size_t len = strcspn(line, "\n");
		char *copy = xstrndup(line, len);
		char *hash = strchr(copy, '#');
		if (hash)
			*hash = '\0';
		str_trim(copy);
		if (*copy) {
			phrases = xrealloc(phrases, (n + 1) * sizeof *phrases);
			phrases[n++] = xstrdup(copy);
		}
		free(copy);
		line += len + (line[len] == '\n');
	}
	fuzz_require(triage_count(t) == n);
	for (size_t i = 0; i < n; i++) {
		const char *got = match(t, phrases[i]);
		size_t k = 0;
		fuzz_require(got != NULL);
		while (k < n && strcmp(phrases[k], got) != 0)
			k++;
		fuzz_require(k <= i);
	}
	const char *got = match(t, text);
	if (got) {
		size_t k = 0;
		while (k < n && strcmp(phrases[k], got) != 0)
			k++;
		fuzz_require(k < n);
	}
	message_holds(t, text, n ? phrases[0] : "");
	for (size_t i = 0; i < n; i++)
		free(phrases[i]);
	free(phrases);
	triage_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = fuzz_string(data, size);
	char *text = strchr(all, '\x1d');

	if (text) {
		*text++ = '\0';
		list_holds(all, text);
	} else {
		text = all;
	}
	/* what policy.c does with a message's text and its subject */
	message_holds(shipped, text, "kill myself");
	fuzz_require(match(NULL, text) == NULL);
	free(all);
	return 0;
}
