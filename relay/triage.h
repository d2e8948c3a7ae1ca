/* triage.h: is a young person's message urgent? It is when it contains any
 * phrase of a list the service edits (config/urgent.txt): "he's outside",
 * "can't get home", "going to hurt myself". A match marks the conversation
 * urgent, flags the forward, copies it to on-call and sends the 999 text at
 * once, so triage errs on the side of flagging: "I hurt myself playing
 * football" is flagged, because "hurt myself" is on the list.
 *
 * Phrases and messages go through the same normalising, then a phrase must
 * match a contiguous run of whole words of the message:
 * - letters are lower-cased and accents folded (é -> e, ç -> c, ß -> ss,
 *   æ -> ae, ł -> l, for Latin-1 and Latin Extended-A and the common letters
 *   of Extended-B); Greek and Cyrillic capitals are lower-cased; other
 *   scripts' letters are kept as they are; combining accents, zero-width
 *   joiners, variation selectors and soft hyphens are dropped; invalid
 *   UTF-8 is a separator, and so is a zero-width space;
 * - words are runs of letters and digits; spaces, line breaks, punctuation,
 *   symbols and emoji separate them, however many there are;
 * - apostrophes (' ’ ‘ ʼ ` ´) are dropped inside a word: "he’s" is "hes";
 *   a split contraction is joined back: "he s", "don t", "i m", "they re"
 *   (the next word is s, t, m, d, ll, re or ve and only spaces, apostrophes
 *   or hyphens come between), and so are "my self", "out side", "to night",
 *   "some one", "any more";
 * - a run of the same letter counts once in every word: "pleeease" is
 *   "please", "hurrrt" is "hurt", and "kill" and "kil" are one word (digits
 *   are not collapsed: "999" stays);
 * - text-speak and contractions are read as words (table below); a word with
 *   two readings matches either, and a phrase takes the first: write
 *   phrases in plain words;
 * - a word of four or more letters ending "in" also reads as "-ing":
 *   "comin", "followin", "hurtin".
 *
 *   word                       reads as
 *   u                          you
 *   r                          are
 *   n                          and
 *   b                          be
 *   ur, your                   your | you are   ("your outside" is often meant)
 *   youre                      you are | your
 *   im                         i am
 *   ive                        i have
 *   ill                        i will | ill
 *   hes / shes                 he is | he has / she is | she has
 *   theyre                     they are
 *   cant, cannot               can not          (so can't = cant = cannot = can not)
 *   dont, doesnt, didnt        do not, does not, did not
 *   wont, wouldnt, couldnt     will not, would not, could not
 *   isnt, wasnt, arent, havent is not, was not, are not, have not
 *   gonna, gunna               going to
 *   wanna                      want to
 *   gotta                      got to
 *   tonite, 2nite, 2night      tonight
 *   nite                       night
 *   2day                       today
 *   b4                         before
 *   pls, plz                   please
 *   bf, gf                     boyfriend, girlfriend
 *   ppl                        people
 *   cos, coz, cuz              because
 *   wiv, wid                   with
 *   wat, wot                   what
 *   2, 4                       2 | to, 4 | for  ("scared 4 my life")
 *   pic, pics, pix             picture, pictures
 *   photo, photos              photo | picture, photos | pictures
 *   vid, vids                  video, videos
 *   kms                        kill myself
 *   kys                        kill yourself
 *   selfharm                   self harm
 *
 * Not mapped, on purpose: "od" (collapsed, "odd" is "od"), "sh" ("shh"),
 * "there"/"their" for "they're" (too common), "hell"/"well"/"were"/"shed"
 * (he'll, we'll, we're, she'd are real words).
 *
 * Matching normalises the message once into a small graph of words (a word
 * with two readings, or a joinable pair, gives parallel paths), keeping only
 * words that occur in some phrase, then walks each phrase from every edge
 * that carries its first word: linear in the message, a 100 kB message takes
 * a few milliseconds. Pure, except triage_load, which reads one file. */
#ifndef RELAY_TRIAGE_H
#define RELAY_TRIAGE_H

#include <stddef.h>

#define TRIAGE_PHRASE_MAX 200         /* characters in one phrase, as written */
#define TRIAGE_FILE_MAX (1024 * 1024) /* bytes in a phrase list file */

struct triage; /* opaque: the compiled phrase list */

/* Loads phrases from path: one phrase per line; '#' starts a comment (a
 * whole line or the rest of one: '#' is never part of a phrase); blank lines
 * are ignored. Duplicates are allowed ("can't get home" and "cannot get
 * home" compile to the same words; the first listed is reported). On
 * success returns 0 and an owned *out (free with triage_free). On failure
 * returns -1, *out untouched, and err names the file and line: "path:12: ...".
 * Errors: the file cannot be read, is over TRIAGE_FILE_MAX or holds a NUL
 * byte; a line is not UTF-8; a phrase has nothing matchable after
 * normalising ("!!!", an emoji); a phrase is longer than TRIAGE_PHRASE_MAX
 * characters. */
int triage_load(const char *path, struct triage **out, char *err, size_t errlen);

/* The same from a string (for tests); errors read "line 12: ...". text may
 * be "" or NULL (an empty list, which matches nothing). */
int triage_compile(const char *text, struct triage **out, char *err, size_t errlen);

/* Accepts NULL. */
void triage_free(struct triage *t);

/* The number of phrases in the list. */
size_t triage_count(const struct triage *t);

/* Does text (UTF-8, need not be valid) contain any phrase? Returns 1 and,
 * when phrase is not NULL, the matched phrase as written in the list
 * (trimmed, without its comment; borrowed from t, valid until triage_free).
 * When several match, the one listed first is reported, so the service can
 * order its list. Returns 0 and *phrase = NULL when nothing matches, and for
 * a NULL t or text. */
int triage_match(const struct triage *t, const char *text, const char **phrase);

#endif
