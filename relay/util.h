/* util.h: memory helpers and a growable text buffer used across the relay. */
#ifndef RELAY_UTIL_H
#define RELAY_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation that cannot fail: on exhaustion the process logs and aborts
 * (as OpenSMTPD's xmalloc does). A relay that half-handles OOM loses mail. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated. data is owned by the buf. */
struct buf {
	char *data; /* owned; NULL until first append */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);            /* len = 0, keeps memory */
const char *buf_str(const struct buf *b); /* "" when empty; valid until next change */
char *buf_take(struct buf *b);            /* caller owns result (never NULL); b is reset */
void buf_free(struct buf *b);             /* accepts a zeroed buf */

/* String helpers. */
int str_casecmp_ascii(const char *a, const char *b);
int str_ncasecmp_ascii(const char *a, const char *b, size_t n);
int str_startswith_ci(const char *s, const char *prefix);
char *str_trim(char *s); /* trims ASCII space in place; returns s */
int str_is_blank(const char *s);

/* The lowercase ASCII a Latin-1 Supplement or Latin Extended-A code point
 * folds to ("e" for U+00E9, "ss" for U+00DF, " " for U+00A0), or NULL for
 * anything else. Static strings. */
const char *fold_latin_codepoint(unsigned cp);

/* Read a whole file. Returns 0 and a NUL-terminated owned *out, or -1 with
 * a message in err. Refuses files bigger than max bytes. */
int file_read(const char *path, size_t max, char **out, size_t *outlen, char *err, size_t errlen);

/* Decodes one UTF-8 character at p (n > 0 bytes left): its length with *cp
 * set, or 0 for an invalid, overlong or surrogate sequence. */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* A UTF-8 sanity pass: returns a copy in which every invalid sequence is
 * replaced by U+FFFD. Caller frees. */
char *utf8_sanitize(const char *s, size_t n);

#endif
