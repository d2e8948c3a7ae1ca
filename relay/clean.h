/* clean.h: the adviser's own words from an email reply, before they are
 * relayed to a young person (email-safety.md, "Cleaning an adviser's
 * reply"). Pure functions over text: no I/O, no library types.
 *
 * The relay knows what the quoted history of a reply says: it is the text of
 * a message of the conversation (the forward it composed, the young person's
 * messages, earlier replies and receipts), re-wrapped, '>'-quoted, converted
 * from HTML or re-encoded by the adviser's mail client. clean_reply_with()
 * finds that text in the reply by its words (punctuation, quote marks,
 * entities, bidi marks and line breaks make no difference), removes it with
 * the attribution line or header block right above it, in whatever language,
 * and keeps any of the adviser's lines between (inline answers). The
 * heuristics of clean_reply() below are the second line, for history that
 * cannot be matched. A line is removed only with evidence; when what was
 * removed on a heuristic's word alone (text after a header that was never
 * matched) is more than hold_percent of what there was, or nothing is left,
 * the result says to hold the reply and give it back to the adviser. */
#ifndef RELAY_CLEAN_H
#define RELAY_CLEAN_H

#include <stddef.h>

#define CLEAN_HOLD_PERCENT 50 /* the default of [advisers] hold_cleaned_percent */

enum clean_hold {
	CLEAN_SEND = 0,   /* send res.text */
	CLEAN_HOLD_EMPTY, /* nothing is left */
	CLEAN_HOLD_SHARE, /* too much was removed without evidence */
};

struct clean_result {
	char *text; /* owned: what would be sent (the rules below); never NULL */
	enum clean_hold hold;
	size_t kept_bytes;   /* of the adviser's lines kept */
	size_t unsure_bytes; /* removed on a heuristic's word alone */
};

/* Cleans text (may be NULL) against the conversation's texts history[0..n)
 * (borrowed; entries may be NULL; history may be NULL when n is 0). Fills
 * *res; free it with clean_result_free(). hold_percent: 1 to 100. Runs in
 * time linear in the lengths of text and history. */
void clean_reply_with(const char *text, const char *const *history, size_t nhistory, int hold_percent,
                      struct clean_result *res);
void clean_result_free(struct clean_result *res); /* accepts NULL */

/* Why a reply is held, in words for the adviser ("" for CLEAN_SEND); static. */
const char *clean_hold_text(enum clean_hold hold);

/* For urgent triage, which reads all of a young person's message, quoted
 * parts and signatures included: text without the runs of lines that match
 * history (what the relay itself sent: its auto-replies and the advisers'
 * replies, whose signposting says "in danger"). Owned by the caller; lines
 * end "\n"; valid UTF-8. */
char *clean_known(const char *text, const char *const *history, size_t nhistory);

/* Returns the adviser's own words from the plain text of a reply, with the
 * heuristics alone (no history; never held). The result
 * is owned by the caller (free it); it is never NULL. text may be NULL
 * (yields "").
 *
 * Input: UTF-8 text, lines ending "\n" or "\r\n" (a lone "\r" also ends a
 * line). Output: valid UTF-8 (invalid bytes become U+FFFD), lines separated
 * by "\n" with no "\n" after the last line, trailing blanks (space, tab,
 * no-break space) removed from every line, no blank lines at the start or
 * end, and never two blank lines in a row. "" when nothing of the adviser's
 * is left.
 *
 * Removed:
 * - quoted lines (first non-blank character '>'), anywhere: a removed block
 *   between two pieces of the adviser's text leaves a paragraph break, so
 *   bottom-posted and inline replies keep the adviser's text;
 * - a quote header ("On <date>, <name> wrote:" and its German, French,
 *   Spanish, Dutch, Italian, Scandinavian, Portuguese and Polish forms, also
 *   wrapped over up to three lines). Followed by '>' lines, the header goes
 *   with them and the text after the quote is kept; not followed by '>'
 *   lines it cuts everything after it, but then it must look like a real
 *   header: start with "On"/"Am"/"Le"/... and carry an address or both a
 *   time and a four-digit year (or carry an address wherever it starts),
 *   and be at most 300 bytes. "On Monday we can..." and "On Monday at
 *   10:30 you wrote:" are the adviser's;
 * - everything from these on: "-----Original Message-----" and its
 *   translations, "---------- Forwarded message ---------", Outlook's
 *   "From:/Sent:/To:/Subject:" block (From:, Von:, De :, Van:, Da:, Från:...
 *   followed within eight lines by two of date, to, cc, subject fields; a
 *   "____" separator line just before it goes too), "Begin forwarded
 *   message:" and its translations, a signature line "-- " or "--";
 * - mobile footers on a line of their own ("Sent from my iPhone", "Get
 *   Outlook for Android", "Von meinem iPhone gesendet", ...);
 * - a confidentiality disclaimer at the end: a paragraph starting "This
 *   email and any attachments", "CONFIDENTIALITY", "Confidentiality
 *   notice", "Disclaimer:", "The information contained in this"... and
 *   whatever follows it, if every paragraph from there on reads like a
 *   disclaimer (confidential, intended recipient, in error, delete, ...).
 *   An adviser's closing paragraph "Confidentiality: what you tell us..."
 *   is kept because only the capitalised "CONFIDENTIALITY" is an opener.
 * Runs in time linear in the length of text. */
char *clean_reply(const char *text);

#endif
