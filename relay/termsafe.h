/* termsafe.h: text from outside (a young person's message, a subject, a
 * server's error) made safe to print on an operator's terminal.
 *
 * A terminal obeys what it is sent: ESC starts a control sequence (clear the
 * screen, move the cursor, OSC 52 writes the clipboard), BEL rings, BS and CR
 * overwrite what was printed, C1 codes (U+0080-U+009F, or a raw byte 0x9B on
 * an 8-bit terminal) act as ESC does, and the bidi controls reorder what
 * follows. Each of those is shown escaped instead, so that a transcript on
 * screen is what was written:
 *
 *   a C0 byte or DEL            \x1b  (two lowercase hex digits)
 *   a byte that is not UTF-8    \xff  (each byte of an invalid sequence)
 *   a C1 code point             <U+009B>
 *   a bidi control              <U+202E>  (U+061C, U+200E, U+200F,
 *                                          U+202A-U+202E, U+2066-U+2069)
 *
 * Everything else (printable ASCII, any other valid UTF-8, the backslash
 * itself) passes unchanged. In TERMSAFE_TEXT, newline and tab pass and a CR
 * just before a newline is dropped (it overwrites nothing); in TERMSAFE_LINE
 * (one field on one line) newline and CR are escaped too, tab passes.
 * Pure functions: JSON and exports written to files keep the exact text and
 * never come here. */
#ifndef RELAY_TERMSAFE_H
#define RELAY_TERMSAFE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

enum termsafe_mode {
	TERMSAFE_TEXT, /* many lines: newline and tab kept */
	TERMSAFE_LINE, /* one line: newline and CR escaped */
};

/* Appends the n bytes at s (any bytes, NUL included) to out, escaped. */
void termsafe_append(struct buf *out, const char *s, size_t n, enum termsafe_mode mode);

/* s escaped, as an owned string (free it); NULL in, NULL out. */
char *termsafe_dup(const char *s, enum termsafe_mode mode);

/* True when s (n bytes) would pass unchanged in mode. */
int termsafe_is_clean(const char *s, size_t n, enum termsafe_mode mode);

/* Formats as printf does and writes the result to f, escaped in
 * TERMSAFE_TEXT when escape is set, as it is otherwise. Our own format
 * strings hold only newlines and printable text, so only what the arguments
 * bring is ever escaped. Returns what fputs returns. */
int termsafe_printf(FILE *f, int escape, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int termsafe_vprintf(FILE *f, int escape, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

#endif
