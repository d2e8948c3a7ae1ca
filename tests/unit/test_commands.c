/* Unit tests for commands.c: the commands on the first lines of an adviser's
 * reply, and the answer that is left for the young person. Each case gives
 * the reply, the commands as "name(arg)|...", the answer, and a piece of the
 * error (NULL: no error). */
#include "check.h"
#include "commands.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define EMOJI "\xF0\x9F\x98\x8A" /* U+1F60A */
#define NBSP "\xC2\xA0"

struct tcase {
	const char *name;
	const char *in;
	const char *cmds; /* rendered by render() */
	const char *answer;
	const char *error; /* a substring of the error, or NULL for none */
};

static const struct tcase cases[] = {
	/* --- each command alone ------------------------------------------------ */
	{ "close alone", "#close", "close", "", NULL },
	{ "reopen alone", "#reopen\n", "reopen", "", NULL },
	{ "urgent alone", "#urgent", "urgent", "", NULL },
	{ "unblock alone", "#unblock", "unblock", "", NULL },
	{ "block alone is indefinite", "#block", "block(0)", "", NULL },
	{ "block 7", "#block 7", "block(7)", "", NULL },
	{ "note alone: answer empty", "#note Spoke to the school nurse", "note(Spoke to the school nurse)", "", NULL },

	/* --- commands and an answer ------------------------------------------------ */
	{ "close then answer", "#close\nThanks Sam, take care.", "close", "Thanks Sam, take care.", NULL },
	{ "close, blank, answer", "#close\n\nThanks Sam,\n\nJo", "close", "Thanks Sam,\n\nJo", NULL },
	{ "note, blank, answer", "#note Called the school\n\nHi Sam,\nWe spoke today.", "note(Called the school)",
	  "Hi Sam,\nWe spoke today.", NULL },
	{ "several commands then answer", "#urgent\n#note Dad again\n#block 30\n\nHi Sam",
	  "urgent|note(Dad again)|block(30)", "Hi Sam", NULL },
	{ "blank lines between commands", "#close\n\n\n#note x\n\n  \n#urgent\n\nBye", "close|note(x)|urgent", "Bye", NULL },
	{ "two notes", "#note one\n#note two\n\nHi", "note(one)|note(two)", "Hi", NULL },
	{ "no commands at all", "Hi Sam,\n\nCall us any time.", "", "Hi Sam,\n\nCall us any time.", NULL },
	{ "empty reply", "", "", "", NULL },
	{ "answer indentation kept", "#close\n   1. breathe\n   2. call", "close", "   1. breathe\n   2. call", NULL },

	/* --- case, colons, blanks ------------------------------------------------------ */
	{ "title case", "#Close\nOk", "close", "Ok", NULL },
	{ "upper case", "#CLOSE\n#URGENT\nOk", "close|urgent", "Ok", NULL },
	{ "mixed case note", "#NoTe: Mum called\n\nOk", "note(Mum called)", "Ok", NULL },
	{ "note with colon", "#note: Spoke to Sam's teacher", "note(Spoke to Sam's teacher)", "", NULL },
	{ "note with colon and no space", "#note:text here", "note(text here)", "", NULL },
	{ "blanks around colon", "  #note  :  spaced out  \n\nOk", "note(spaced out)", "Ok", NULL },
	{ "close with colon", "#close:\nOk", "close", "Ok", NULL },
	{ "block with colon", "#Block: 14\nOk", "block(14)", "Ok", NULL },
	{ "indented command and tabs", "\t #urgent\t\nOk", "urgent", "Ok", NULL },
	{ "no-break space after name", "#note" NBSP "from Outlook\n\nOk", "note(from Outlook)", "Ok", NULL },
	{ "byte order mark before command", "\xEF\xBB\xBF#close\nOk", "close", "Ok", NULL },

	/* --- leading blank lines ----------------------------------------------------------- */
	{ "leading blank lines before commands", "\n\n  \n#close\nOk", "close", "Ok", NULL },
	{ "leading blank lines before answer", "\n \n\nHi Sam", "", "Hi Sam", NULL },
	{ "no-break space line is blank", NBSP "\n#close\n" NBSP "\nOk", "close", "Ok", NULL },

	/* --- #block days --------------------------------------------------------------------- */
	{ "block 1", "#block 1", "block(1)", "", NULL },
	{ "block 3650", "#block 3650", "block(3650)", "", NULL },
	{ "block 7 days", "#block 7 days\nOk", "block(7)", "Ok", NULL },
	{ "block 1 day", "#block 1 DAY", "block(1)", "", NULL },
	{ "block leading zeros", "#block 007", "block(7)", "", NULL },
	{ "block ten", "#block ten\nOk", "", "Ok", "#block: 'ten' is not a number of days" },
	{ "block 0", "#block 0", "", "", "'0' is not a number of days from 1 to 3650" },
	{ "block 3651", "#block 3651", "", "", "'3651' is not" },
	{ "block 99999", "#block 99999", "", "", "'99999' is not" },
	{ "block huge number", "#block 99999999999999999999999", "", "", "is not a number of days" },
	{ "block negative", "#block -5", "", "", "'-5' is not" },
	{ "block fraction", "#block 1.5", "", "", "'1.5' is not" },
	{ "block 7 weeks", "#block 7 weeks", "", "", "'7 weeks' is not" },

	/* --- problems that go back to the adviser ------------------------------------------ */
	{ "unknown clsoe", "#clsoe\nThanks Sam", "unknown(#clsoe)", "Thanks Sam", "\"#clsoe\" is not a command" },
	{ "unknown keeps the line as written", "#Nots: dad was here\n\nHi", "unknown(#Nots: dad was here)", "Hi",
	  "\"#Nots\" is not a command" },
	{ "unknown with the known ones", "#close\n#ugrent\n#block 2\nHi", "close|unknown(#ugrent)|block(2)", "Hi",
	  "#note, #close, #reopen, #urgent, #block and #unblock" },
	{ "name glued to more", "#note-to-self call back\n\nHi", "unknown(#note-to-self call back)", "Hi",
	  "\"#note-to-self\" is not" },
	{ "hash alone", "#\nHi", "unknown(#)", "Hi", "\"#\" is not a command" },
	{ "double hash", "## Update\nHi", "unknown(## Update)", "Hi", "\"##\" is not" },
	{ "hash and a letter beyond ASCII", "#\xC3\xA9tat\nHi", "unknown(#\xC3\xA9tat)", "Hi", "is not a command" },
	{ "space after hash before a command name", "# note dad was here\n\nHi", "unknown(# note dad was here)", "Hi",
	  "no space after '#', e.g. \"#note\"" },
	{ "note without text", "#note\n\nHi Sam", "", "Hi Sam", "#note needs the note" },
	{ "note with only a colon", "#note:   \nHi", "note(Hi)", "", NULL },
	{ "close with words after it", "#close now please\nOk", "", "Ok",
	  "#close takes nothing after it; found \"now please\"" },
	{ "close and reopen together", "#close\n#reopen\nOk", "close|reopen", "Ok",
	  "#close and #reopen cannot go together" },
	{ "block and unblock together", "#block\n#unblock", "block(0)|unblock", "", "#block and #unblock cannot go" },
	{ "block twice with different days", "#block 2\n#block 5", "block(2)|block(5)", "", "given twice" },
	{ "block twice the same is fine", "#block 2\n#BLOCK 2", "block(2)|block(2)", "", NULL },
	{ "command under the answer", "Take care, Sam.\n#close", "", "Take care, Sam.\n#close",
	  "#close must go on the first lines" },
	{ "note under the answer", "Hi Sam\n\n#note: Dad is the worry", "", "Hi Sam\n\n#note: Dad is the worry",
	  "#note must go on the first lines" },
	{ "two problems, two lines", "#clsoe\n#block ten", "unknown(#clsoe)", "",
	  "\"#clsoe\" is not a command. The commands are #note, #close, #reopen, #urgent, #block and #unblock.\n"
	  "#block: 'ten' is not a number of days from 1 to 3650 (#block alone has no end)." },
	{ "long unknown is quoted short", "#aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, "",
	  "\"#aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not" },

	/* --- '#' that is the answer's ----------------------------------------------------------- */
	{ "hashtag later in the answer", "#close\nStay strong #StaySafe\n#StaySafe", "close",
	  "Stay strong #StaySafe\n#StaySafe", NULL },
	{ "hashtag at the top is a mistake", "#StaySafe\nHi", "unknown(#StaySafe)", "Hi", "is not a command" },
	{ "numbered point at the top", "#1 thing to do: call 999\n#2 call Childline", "",
	  "#1 thing to do: call 999\n#2 call Childline", NULL },
	{ "numbered point after a command", "#urgent\n#1 call 999", "urgent", "#1 call 999", NULL },
	{ "heading at the top", "# What to do now\nCall 999.", "", "# What to do now\nCall 999.", NULL },
	{ "a command after the answer started is not one", "Hi\n#1 x\n# close", "", "Hi\n#1 x\n# close", NULL },

	/* --- notes over several lines ------------------------------------------------------- */
	{ "wrapped note stays a note", "#note Mum rang at 4, worried about the\nolder boyfriend again\n\nHi Sam",
	  "note(Mum rang at 4, worried about the\nolder boyfriend again)", "Hi Sam", NULL },
	{ "note text on the line below", "#note\nCalled school\n\nHi", "note(Called school)", "Hi", NULL },
	{ "note without a blank line keeps the text", "#note Called school\nHi Sam, we spoke.",
	  "note(Called school\nHi Sam, we spoke.)", "", NULL },
	{ "note ended by a command", "#note one\n  two  \n#close\nBye", "note(one\ntwo)|close", "Bye", NULL },
	{ "note with words and emoji", "#note Sam said \"thank you " EMOJI "\" and Zoë — résumé " EMOJI EMOJI "\n\nOk",
	  "note(Sam said \"thank you " EMOJI "\" and Zoë — résumé " EMOJI EMOJI ")", "Ok", NULL },

	/* --- line ends and blanks ----------------------------------------------------------------- */
	{ "CRLF", "#close\r\n#block 3\r\n\r\nHi Sam,\r\nBye\r\n", "close|block(3)", "Hi Sam,\nBye", NULL },
	{ "CRLF note", "#note: a b\r\nc\r\n\r\nOk\r\n", "note(a b\nc)", "Ok", NULL },
	{ "whitespace-only answer after commands", "#close\n   \n\t\n" NBSP "\n", "close", "", NULL },
	{ "trailing blank lines dropped", "#close\nOk\n\n  \n", "close", "Ok", NULL },
	{ "only blanks", " \n\t\n", "", "", NULL },
};

/* "note(text)|close|block(7)|unknown(#x)" */
static char *render(const struct commands *c)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < c->n; i++) {
		const struct command *x = &c->list[i];
		if (i)
			buf_addc(&b, '|');
		buf_adds(&b, command_name(x->kind));
		if (x->kind == COMMAND_BLOCK)
			buf_printf(&b, "(%d)", x->days);
		else if (x->text)
			buf_printf(&b, "(%s)", x->text);
	}
	return buf_take(&b);
}

static void run_case(const struct tcase *t)
{
	struct commands c;
	char name[200], *got;
	size_t i;
	int ok_texts = 1, ok_unknown = 1;

	CHECK_INT(t->name, commands_parse(t->in, &c), 0);
	got = render(&c);
	if (t->cmds) {
		snprintf(name, sizeof name, "%s: commands", t->name);
		CHECK_STR(name, got, t->cmds);
	}
	snprintf(name, sizeof name, "%s: answer", t->name);
	CHECK_STR(name, c.answer, t->answer);
	snprintf(name, sizeof name, "%s: error", t->name);
	if (t->error == NULL)
		CHECK_STR(name, c.error, NULL);
	else if (!c.error || !strstr(c.error, t->error))
		CHECK_STR(name, c.error, t->error);
	else
		CHECK(name, 1);
	/* Invariants: text only where documented; an unknown always brings an error. */
	for (i = 0; i < c.n; i++) {
		int wants_text = c.list[i].kind == COMMAND_NOTE || c.list[i].kind == COMMAND_UNKNOWN;
		if (wants_text != (c.list[i].text != NULL) || (c.list[i].text && !*c.list[i].text))
			ok_texts = 0;
		if (c.list[i].kind == COMMAND_UNKNOWN && !c.error)
			ok_unknown = 0;
		if (c.list[i].kind != COMMAND_BLOCK && c.list[i].days != 0)
			ok_texts = 0;
	}
	snprintf(name, sizeof name, "%s: texts as documented", t->name);
	CHECK(name, ok_texts);
	snprintf(name, sizeof name, "%s: unknown brings an error", t->name);
	CHECK(name, ok_unknown);
	free(got);
	commands_free(&c);
}

static void test_names(void)
{
	CHECK_STR("name note", command_name(COMMAND_NOTE), "note");
	CHECK_STR("name close", command_name(COMMAND_CLOSE), "close");
	CHECK_STR("name reopen", command_name(COMMAND_REOPEN), "reopen");
	CHECK_STR("name urgent", command_name(COMMAND_URGENT), "urgent");
	CHECK_STR("name block", command_name(COMMAND_BLOCK), "block");
	CHECK_STR("name unblock", command_name(COMMAND_UNBLOCK), "unblock");
	CHECK_STR("name unknown", command_name(COMMAND_UNKNOWN), "unknown");
}

static void test_edges(void)
{
	struct commands c;

	CHECK_INT("NULL reply", commands_parse(NULL, &c), 0);
	CHECK_STR("NULL reply: answer", c.answer, "");
	CHECK_INT("NULL reply: no commands", c.n, 0);
	CHECK("NULL reply: no list", c.list == NULL);
	commands_free(&c);
	CHECK("free zeroes", c.answer == NULL && c.error == NULL && c.n == 0);
	commands_free(&c); /* twice: harmless */
	commands_free(NULL);
	CHECK("free NULL", 1);
}

/* A long reply: many commands and a big answer, in linear time. */
static void test_big(void)
{
	struct buf b;
	struct commands c;
	int i;

	buf_init(&b);
	for (i = 0; i < 2000; i++)
		buf_printf(&b, "#note line %d\n", i);
	buf_adds(&b, "\n");
	for (i = 0; i < 20000; i++)
		buf_adds(&b, "Some words for Sam with a #hashtag.\n");
	commands_parse(buf_str(&b), &c);
	CHECK_INT("big: notes", c.n, 2000);
	CHECK_STR("big: last note", c.n ? c.list[c.n - 1].text : NULL, "line 1999");
	CHECK_INT("big: answer length", strlen(c.answer), 20000 * 36 - 1);
	CHECK("big: no error", c.error == NULL);
	commands_free(&c);
	buf_free(&b);
}

int main(int argc, char **argv)
{
	size_t i;

	check_verbose = argc > 1 && !strcmp(argv[1], "-v");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
	test_names();
	test_edges();
	test_big();
	return check_done();
}
