/* clean.h: the adviser's own words from an email reply, before they are
 * relayed to a young person (email-safety.md, "Cleaning an adviser's
 * reply"). A pure function over text: no I/O, no library types. */
#ifndef RELAY_CLEAN_H
#define RELAY_CLEAN_H

/* Returns the adviser's own words from the plain text of a reply. The result
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
