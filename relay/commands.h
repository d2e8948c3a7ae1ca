/* commands.h: the commands an adviser writes on the first lines of an email
 * reply (#close, #note ..., #block 7), split from the answer meant for the
 * young person. A pure function over text: no I/O, no database. */
#ifndef RELAY_COMMANDS_H
#define RELAY_COMMANDS_H

#include <stddef.h>

enum command_kind {
	COMMAND_NOTE,    /* #note TEXT: a note on the conversation for the advisers */
	COMMAND_CLOSE,   /* #close */
	COMMAND_REOPEN,  /* #reopen */
	COMMAND_URGENT,  /* #urgent */
	COMMAND_BLOCK,   /* #block [DAYS] */
	COMMAND_UNBLOCK, /* #unblock */
	COMMAND_UNKNOWN  /* a line in the command block that is no command we know */
};

struct command {
	enum command_kind kind;
	char *text; /* owned: COMMAND_NOTE: the note, never empty (lines joined by
	              * "\n"); COMMAND_UNKNOWN: the whole line as written, without
	              * surrounding blanks; NULL for every other kind */
	int days;   /* COMMAND_BLOCK: 1-3650, or 0 = indefinitely; 0 otherwise */
};

struct commands {
	struct command *list; /* owned, in the order written; NULL when n == 0 */
	size_t n;
	char *answer; /* owned, never NULL: what is left for the young
	                        * person; "" when nothing is */
	char *error;  /* owned: what to tell the adviser, one problem per
	                        * line; NULL when there is none */
};

/* Splits an adviser's reply into commands and the answer for the young
 * person. reply is the output of clean_reply() (UTF-8, lines ending "\n";
 * "\r\n" is also accepted); NULL reads as "". Fills *out, which the caller
 * releases with commands_free(); *out is not freed first.
 *
 * The command block is the top of the reply: blank lines are skipped, and it
 * ends at the first line that is neither blank nor a command line (nor the
 * continuation of a note). Everything from that line on is the answer, with
 * "\r\n" turned into "\n" and blank lines and blanks trimmed from both ends
 * (the first line's indentation is kept). A '#' in the answer stays text.
 *
 * A command line starts with '#' (blanks before it allowed), then the name
 * in any case, then an optional ':' (blanks either side allowed), then the
 * argument. Blanks are space, tab, U+00A0, U+200B and U+FEFF (Outlook and
 * phones put the last three where a space was typed).
 *   #note TEXT   TEXT is the rest of the line and every following line up to
 *                a blank line or the next command line: a long note that a
 *                mail client hard-wrapped must not spill into the answer. So
 *                a note must be followed by a blank line before the answer.
 *                The text may also start on the line below "#note".
 *   #close, #reopen, #urgent, #unblock   nothing may follow the name.
 *   #block [DAYS] a whole number 1-3650, optionally followed by "day(s)";
 *                without one the block is indefinite (days = 0).
 * A line at the top that starts with '#' is a command line unless the '#' is
 * followed by a digit ("#1 thing"), or by a blank and then a word that is no
 * command name ("# heading"): those start the answer. Any other command line
 * whose name we do not know ("#clsoe", "#", "##", "# close") becomes
 * COMMAND_UNKNOWN, so a mistyped command goes back to the adviser and never
 * to the young person.
 *
 * error is set (and the caller should send nothing and change nothing, but
 * tell the adviser) when: there is a COMMAND_UNKNOWN; a #note has no text;
 * #block's days are not a whole number 1-3650; something follows a command
 * that takes nothing; #close comes with #reopen, #block with #unblock, or two
 * #block with different days; or a line of the answer starts with a known
 * command ("Take care\n#close"), which is left in the answer and not obeyed,
 * because commands go at the top. A command whose own line has a problem is
 * left out of list (an unknown one is in it); contradicting ones stay in it.
 *
 * Returns 0. (-1 is kept for allocation trouble, which aborts instead.)
 * Runs in time linear in the length of reply. */
int commands_parse(const char *reply, struct commands *out);

/* Frees everything in c and zeroes it. Accepts NULL and a zeroed struct. */
void commands_free(struct commands *c);

/* The command's name as written after '#': "note", "close", "reopen",
 * "urgent", "block", "unblock"; "unknown" for COMMAND_UNKNOWN. Static. */
const char *command_name(enum command_kind k);

#endif
