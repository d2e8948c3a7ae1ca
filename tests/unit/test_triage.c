/* Unit tests for triage.c: the matching rules against the shipped list
 * (config/urgent.txt, read from the repository root where tests/run starts
 * us), the near-misses it must not flag, the ones it flags on purpose, list
 * errors, and the time a 100 kB message takes. */
#include "check.h"
#include "triage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define URGENT_LIST "config/urgent.txt"

/* Messages against the shipped list, and the phrase each must report
 * (NULL: not urgent). */
static const struct {
	const char *text;
	const char *want;
} cases[] = {
	/* direct, and at the start, middle and end */
	{ "kill myself", "kill myself" },
	{ "kill myself is all i think about", "kill myself" },
	{ "i just want to kill myself", "kill myself" },
	{ "i want to kill myself tonight", "kill myself" },
	{ "he's outside", "he's outside" },
	{ "can't get home", "can't get home" },
	{ "i think i'm being followed", "being followed" },
	/* case */
	{ "HE'S OUTSIDE", "he's outside" },
	{ "I Want To Die", "want to die" },
	{ "Kill MYSELF", "kill myself" },
	/* apostrophes: straight, curly, missing, split, spelt out */
	{ "hes outside", "he's outside" },
	{ "he s outside", "he's outside" },
	{ "he\xE2\x80\x99s outside", "he's outside" }, /* ’ */
	{ "he\xE2\x80\x98s outside", "he's outside" }, /* ‘ */
	{ "he\xCA\xBCs outside", "he's outside" },     /* ʼ */
	{ "he`s outside", "he's outside" },
	{ "he ' s outside", "he's outside" },
	{ "he is outside", "he's outside" },
	{ "theyre outside", "they're outside" },
	{ "they re outside", "they're outside" },
	{ "they are outside", "they're outside" },
	{ "i cant get home", "can't get home" },
	{ "i cannot get home", "can't get home" },
	{ "i can not get home", "can't get home" },
	{ "i can\xE2\x80\x99t get home", "can't get home" },
	{ "i can t get home", "can't get home" },
	{ "he wont let me leave", "won't let me leave" },
	{ "he will not let me leave", "won't let me leave" },
	{ "im not safe", "i'm not safe" },
	{ "i am not safe", "i'm not safe" },
	{ "i m not safe", "i'm not safe" },
	{ "i dont feel safe", "don't feel safe" },
	/* repeated letters */
	{ "im gonna hurrrt myself", "going to hurt myself" },
	{ "i wanna dieeee", "want to die" },
	{ "kiiiill myselffff", "kill myself" },
	{ "hellllp me nowwww", "help me now" },
	{ "pleeease he wont let me gooo", "won't let me go" },
	/* text-speak */
	{ "ur outside my house", "outside my house" },
	{ "why r u outside my house", "outside my house" },
	{ "im scared 4 my life", "scared for my life" },
	{ "he said hes comin 2nite", "he's coming" },
	{ "they r gonna share my pics", "share my pictures" },
	{ "hes sharing my photos", "sharing my pictures" },
	{ "my bf hit me", "boyfriend hit me" },
	{ "kms", "kill myself" },
	{ "i wanna kms", "kill myself" },
	{ "i want to selfharm again", "self harm" },
	{ "i want to self-harm", "self harm" },
	{ "I dont know where I am", "don't know where i am" },
	{ "i want to kill my self", "kill myself" },
	{ "he's waiting out side my house", "outside my house" },
	{ "your outside my house", "outside my house" },
	{ "i dont want to be here any more", "don't want to be here anymore" },
	/* accents and other encodings of the same letters */
	{ "k\xC3\xADll mys\xC3\xA9lf", "kill myself" },       /* kíll mysélf */
	{ "HE\xE2\x80\x99S \xC3\x96UTSIDE", "he's outside" }, /* HE’S ÖUTSIDE */
	{ "suici\xCC\x81"
	  "de",
	  "suicide" }, /* combining acute */
	{ "\xC5\x9E"
	  "uicide",
	  "suicide" }, /* Şuicide */
	{ "\xEF\xBD\x8B\xEF\xBD\x89\xEF\xBD\x8C\xEF\xBD\x8C \xEF\xBD\x8D\xEF\xBD\x99\xEF\xBD\x93\xEF\xBD\x85\xEF\xBD\x8C\xEF\xBD\x86",
	  "kill myself" }, /* fullwidth */
	{ "i\xC2\xA0"
	  "am\xC2\xA0"
	  "in\xC2\xA0"
	  "danger",
	  "i'm in danger" },                      /* no-break spaces */
	{ "ki\xC2\xADll myself", "kill myself" }, /* soft hyphen */
	/* punctuation, emoji and spacing between words */
	{ "kill...myself", "kill myself" },
	{ "kill,myself", "kill myself" },
	{ "kill \xF0\x9F\x98\xAD\xF0\x9F\x98\xAD myself", "kill myself" }, /* 😭😭 */
	{ "he's!!! outside!!!", "he's outside" },
	{ "help-me-now", "help me now" },
	{ "kill\xE2\x80\x8Bmyself", "kill myself" }, /* zero-width space */
	{ "kill\nmyself", "kill myself" },
	{ "kill   \r\n\t  myself", "kill myself" },
	{ "outside\n\nmy\nhouse", "outside my house" },
	{ "kill\xFFmyself", "kill myself" },                                /* invalid UTF-8 */
	{ "\xF0\x9F\x86\x98 help me now \xF0\x9F\x86\x98", "help me now" }, /* 🆘 */
	/* when several phrases match, the first listed is reported */
	{ "im going to hurt myself", "going to hurt myself" },
	{ "i want to die, i'll kill myself", "kill myself" },
	/* near-misses: not urgent */
	{ "i need to skill myself up", NULL },
	{ "he's an outsider", NULL },
	{ "what a killjoy", NULL },
	{ "i'm a die hard fan", NULL },
	{ "my mates were outside", NULL },
	{ "i can get home fine", NULL },
	{ "im going to the shop", NULL },
	{ "the ending of my life story book", NULL },
	{ "we're locked into a contract", NULL },
	{ "i'm safe now thanks", NULL },
	{ "is it dangerous", NULL },
	/* the service's own signposting, quoted back in a reply */
	{ "Re: If you are in danger, call 999 now", NULL },
	{ "> If you are in danger right now, call 999.", NULL },
	{ "RU-Safe: in danger call 999. Police 101.", NULL },
	{ "im in danger", "i'm in danger" },
	{ "my little sister is in danger", "is in danger" },
	{ "grape juice and drapes", NULL },
	{ "my therapist helps", NULL },
	{ "sharing my lunch", NULL },
	{ "i followed the instructions", NULL },
	{ "i feel a bit odd", NULL },
	{ "shhh dont tell", NULL },
	{ "he'll be there later", NULL },
	{ "hit me up on snap", NULL },
	{ "can you help me with my homework", NULL },
	{ "", NULL },
	{ "\xF0\x9F\x98\xAD\xF0\x9F\x98\xAD\xF0\x9F\x98\xAD", NULL },
	/* flagged on purpose: triage errs on the side of flagging */
	{ "i hurt myself playing football last year", "hurt myself" },
	{ "i can't get home screen to work", "can't get home" },
	{ "he's outside the shop", "he's outside" },
	{ "my mum is gonna kill me", "going to kill me" },
	{ "she keeps following me on insta", "following me" },
	{ "i got trapped in the lift for a minute", "trapped" },
};

static void test_cases(const struct triage *t)
{
	char name[160];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = (const char *)1;
		int rc = triage_match(t, cases[i].text, &got);
		snprintf(name, sizeof name, "match \"%.60s\"", cases[i].text);
		CHECK_INT(name, rc, cases[i].want != NULL);
		CHECK_STR(name, got, cases[i].want);
	}
}

/* Every shipped phrase matches itself, shouted, with curly apostrophes,
 * stretched and inside a sentence. */
static void test_self_match(const struct triage *t)
{
	FILE *f = fopen(URGENT_LIST, "r");
	char line[512], name[300];
	int n = 0;

	CHECK("open shipped list", f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *hash = strchr(line, '#'), variant[1024];
		const char *got;
		size_t len, j = 0;

		if (hash)
			*hash = '\0';
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		while (len > 0 && line[len - 1] == ' ')
			line[--len] = '\0';
		if (len == 0)
			continue;
		n++;
		snprintf(name, sizeof name, "self \"%.200s\"", line);
		CHECK(name, triage_match(t, line, &got) == 1);

		/* SHOUTED, ’ for ', every vowel tripled */
		for (size_t i = 0; i < len && j + 8 < sizeof variant; i++) {
			char c = line[i];
			if (c == '\'') {
				memcpy(variant + j, "\xE2\x80\x99", 3);
				j += 3;
			} else if (strchr("aeiou", c)) {
				for (int k = 0; k < 3; k++)
					variant[j++] = (char)(c - 32);
			} else {
				variant[j++] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
			}
		}
		variant[j] = '\0';
		snprintf(name, sizeof name, "variant \"%.200s\"", variant);
		CHECK(name, triage_match(t, variant, &got) == 1);

		snprintf(variant, sizeof variant, "sorry to bother you.\n%s!! pls reply x", line);
		snprintf(name, sizeof name, "in a sentence \"%.200s\"", line);
		CHECK(name, triage_match(t, variant, &got) == 1);
	}
	fclose(f);
	CHECK_INT("shipped list size", n, 79);
	CHECK_INT("shipped list count", triage_count(t), 79);
	CHECK("shipped list 40-80 phrases", n >= 40 && n <= 80);
}

static struct triage *compile_ok(const char *name, const char *text)
{
	struct triage *t = NULL;
	char err[256] = "";
	int rc = triage_compile(text, &t, err, sizeof err);

	CHECK_INT(name, rc, 0);
	if (rc != 0)
		printf("  error: %s\n", err);
	return t;
}

static void compile_fails(const char *name, const char *text, const char *want_err)
{
	struct triage *t = (struct triage *)1;
	char err[256] = "";

	CHECK_INT(name, triage_compile(text, &t, err, sizeof err), -1);
	CHECK_STR(name, err, want_err);
	CHECK(name, t == (struct triage *)1);
}

static int matches(const struct triage *t, const char *text)
{
	return triage_match(t, text, NULL);
}

static void test_lists(void)
{
	struct triage *t;
	const char *got;
	char long_phrase[TRIAGE_PHRASE_MAX * 2 + 8], err[256];

	/* empty lists match nothing */
	t = compile_ok("empty list", "");
	CHECK_INT("empty list count", triage_count(t), 0);
	got = "x";
	CHECK_INT("empty list matches nothing", triage_match(t, "kill myself", &got), 0);
	CHECK("empty list phrase NULL", got == NULL);
	triage_free(t);
	t = compile_ok("comments only", "# nothing yet\n\n   \n  # still nothing\r\n");
	CHECK_INT("comments only count", triage_count(t), 0);
	CHECK_INT("comments only match", matches(t, "anything at all"), 0);
	triage_free(t);
	t = compile_ok("NULL text", NULL);
	CHECK_INT("NULL text count", triage_count(t), 0);
	triage_free(t);

	/* NULL arguments */
	CHECK_INT("NULL list", triage_match(NULL, "kill myself", &got), 0);
	CHECK("NULL list phrase", got == NULL);
	CHECK_INT("NULL list count", triage_count(NULL), 0);
	triage_free(NULL);

	/* the phrase as written, trimmed, without its comment; first listed wins */
	t = compile_ok("as written", "\xEF\xBB\xBF  hurt myself  # self-harm\r\n"
	                             "  He\xE2\x80\x99s   OUTSIDE  # added after case 12\n"
	                             "going to hurt myself\n"
	                             "he is outside\n");
	CHECK_INT("as written count", triage_count(t), 4);
	CHECK_INT("as written match", triage_match(t, "hes outside!!", &got), 1);
	CHECK_STR("as written phrase", got, "He\xE2\x80\x99s   OUTSIDE");
	CHECK_INT("first listed match", triage_match(t, "going to hurt myself", &got), 1);
	CHECK_STR("first listed phrase", got, "hurt myself");
	CHECK_INT("NULL phrase pointer", matches(t, "he's outside"), 1);
	CHECK_INT("NULL text", triage_match(t, NULL, &got), 0);
	triage_free(t);

	/* phrases are normalised like messages */
	t = compile_ok("normalised phrases", "caf\xC3\xA9 now\npleeease help\nKILL  MYSELF\n"
	                                     "\xD0\x9F\xD0\xA0\xD0\x98\xD0\x92\xD0\x95\xD0\xA2\n"
	                                     "im scared\nwith him\nur outside\n");
	CHECK_INT("phrase accent", matches(t, "CAFE NOW"), 1);
	CHECK_INT("phrase stretched", matches(t, "please help"), 1);
	CHECK_INT("phrase capitals", matches(t, "kill myself"), 1);
	CHECK_INT("cyrillic capitals", matches(t, "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82"), 1);
	CHECK_INT("phrase text-speak", matches(t, "i am scared"), 1);
	CHECK_INT("phrase text-speak 2", matches(t, "I'm scared"), 1);
	CHECK_INT("wiv", matches(t, "im wiv him"), 1);
	/* a phrase takes a word's first reading: "ur" is "your" */
	CHECK_INT("ur phrase, your", matches(t, "your outside"), 1);
	CHECK_INT("ur phrase, you're", matches(t, "you're outside"), 1);
	CHECK_INT("ur phrase, you are", matches(t, "you are outside"), 0);
	triage_free(t);

	/* a phrase may start or end inside a word's reading */
	t = compile_ok("partial readings", "am scared\nwant to\n");
	CHECK_INT("starts inside im", matches(t, "im scared"), 1);
	CHECK_INT("ends inside wanna", matches(t, "i wanna"), 1);
	CHECK_INT("not across words", matches(t, "i am not scared"), 0);
	triage_free(t);

	/* errors name the line */
	compile_fails("nothing matchable", "kill myself\n\n  !!!  \n", "line 3: no words to match in \"!!!\"");
	compile_fails("emoji only", "# c\n\xF0\x9F\x98\xAD\n", "line 2: no words to match in \"\xF0\x9F\x98\xAD\"");
	compile_fails("apostrophes only", "'\n", "line 1: no words to match in \"'\"");
	compile_fails("invalid UTF-8", "ok\nbad \xC3\x28 byte\n", "line 2: not valid UTF-8");
	memset(long_phrase, 'a', TRIAGE_PHRASE_MAX + 1);
	long_phrase[TRIAGE_PHRASE_MAX + 1] = '\0';
	compile_fails("201 characters", long_phrase, "line 1: phrase longer than 200 characters");
	long_phrase[TRIAGE_PHRASE_MAX] = '\0';
	t = compile_ok("200 characters", long_phrase);
	triage_free(t);
	/* 200 two-byte characters are 200 characters */
	for (int i = 0; i < TRIAGE_PHRASE_MAX; i++)
		memcpy(long_phrase + 2 * i, "\xC3\xA9", 2);
	long_phrase[2 * TRIAGE_PHRASE_MAX] = '\0';
	t = compile_ok("200 accented characters", long_phrase);
	CHECK_INT("200 accented characters match", matches(t, "E"), 1);
	triage_free(t);

	/* triage_load names the file */
	t = (struct triage *)1;
	CHECK_INT("missing file", triage_load("/nonexistent/urgent.txt", &t, err, sizeof err), -1);
	CHECK("missing file names it", strstr(err, "/nonexistent/urgent.txt") == err);
	{
		char path[] = "/tmp/test_triage_XXXXXX";
		int fd = mkstemp(path);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
		char want[300];

		CHECK("temp file", f != NULL);
		if (f) {
			fputs("# list\nkill myself\n...\n", f);
			fclose(f);
			CHECK_INT("bad file", triage_load(path, &t, err, sizeof err), -1);
			snprintf(want, sizeof want, "%s:3: no words to match in \"...\"", path);
			CHECK_STR("bad file error", err, want);
			f = fopen(path, "w");
			fputs("kill myself\nhe's outside\n", f);
			fclose(f);
			CHECK_INT("good file", triage_load(path, &t, err, sizeof err), 0);
			CHECK_INT("good file count", triage_count(t), 2);
			CHECK_INT("good file match", matches(t, "HES OUTSIDE"), 1);
			triage_free(t);
			unlink(path);
		}
	}
}

static double ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* 100 kB messages: ordinary chatter with the danger at the very end, near
 * misses all the way, one endless word, and endless split contractions. */
static void test_big(const struct triage *t)
{
	static const char *const filler[] = {
		"hi ",   "im ",       "gonna ",     "go ",       "to ",
		"the ",  "shop ",     "wiv ",       "my ",       "bf ",
		"he's ", "outsider ", "skill ",     "myself ",   "can ",
		"get ",  "home ",     "2nite ",     "pleeease ", "\xF0\x9F\x98\x82 ",
		"r ",    "u ",        "ok?\n",      "going ",    "to ",
		"hurt ", "my ",       "knee ",      "dont ",     "let ",
		"me ",   "in ",       "dangerous ",
	};
	size_t size = 100 * 1024, n = 0, k = 0;
	char *msg = malloc(size + 64);
	const char *got;
	struct timespec t0;
	double ms;
	char name[80];

	while (n + 16 < size) {
		size_t len = strlen(filler[k % (sizeof filler / sizeof filler[0])]);
		memcpy(msg + n, filler[k % (sizeof filler / sizeof filler[0])], len);
		n += len;
		k++;
	}
	msg[n] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT("100 kB chatter", triage_match(t, msg, &got), 0);
	ms = ms_since(&t0);
	printf("100 kB chatter: %.2f ms\n", ms);
	snprintf(name, sizeof name, "100 kB chatter under 1 s (%.1f ms)", ms);
	CHECK(name, ms < 1000);

	strcpy(msg + n, " he s outside");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT("100 kB, danger at the end", triage_match(t, msg, &got), 1);
	CHECK_STR("100 kB, danger at the end phrase", got, "he's outside");
	ms = ms_since(&t0);
	printf("100 kB with match: %.2f ms\n", ms);

	memset(msg, 'a', size);
	msg[size] = '\0';
	CHECK_INT("100 kB one word", triage_match(t, msg, &got), 0);

	for (n = 0; n + 5 < size; n += 5)
		memcpy(msg + n, "he s ", 5);
	msg[n] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT("100 kB he s", triage_match(t, msg, &got), 0);
	ms = ms_since(&t0);
	snprintf(name, sizeof name, "100 kB he s under 1 s (%.1f ms)", ms);
	CHECK(name, ms < 1000);

	for (n = 0; n + 4 < size; n += 4)
		memcpy(msg + n, "\xF0\x9F\x98\xAD", 4);
	msg[n] = '\0';
	CHECK_INT("100 kB emoji", triage_match(t, msg, &got), 0);
	free(msg);
}

int main(int argc, char **argv)
{
	struct triage *t = NULL;
	char err[256];

	check_verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	if (triage_load(URGENT_LIST, &t, err, sizeof err) < 0) {
		printf("FAIL load %s: %s\n", URGENT_LIST, err);
		check_failed++;
		return check_done();
	}
	test_cases(t);
	test_self_match(t);
	test_lists();
	test_big(t);
	triage_free(t);
	return check_done();
}
