/* termsafe.c: text made safe for a terminal (see termsafe.h). */
#include "termsafe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The bidi controls: marks, embeddings, overrides and isolates. */
static int is_bidi(uint32_t cp)
{
	return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* How many bytes at p pass unchanged (0: the first must be escaped); *cp
 * is the code point decoded when that is why. */
static size_t clean_len(const unsigned char *p, size_t n, enum termsafe_mode mode, uint32_t *cp)
{
	*cp = 0xFFFFFFFFu;
	if (p[0] < 0x80) {
		if (p[0] == '\t' || (p[0] == '\n' && mode == TERMSAFE_TEXT))
			return 1;
		return p[0] >= 0x20 && p[0] < 0x7F ? 1 : 0;
	}
	size_t k = utf8_decode(p, n, cp);
	if (k == 0 || *cp < 0xA0 || is_bidi(*cp))
		return 0;
	return k;
}

void termsafe_append(struct buf *out, const char *s, size_t n, enum termsafe_mode mode)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, keep = 0; /* p[keep..i) passes and is copied as it is */
	uint32_t cp;

	buf_add(out, "", 0);
	while (i < n) {
		size_t k = clean_len(p + i, n - i, mode, &cp);
		if (k) {
			i += k;
			continue;
		}
		buf_add(out, p + keep, i - keep);
		if (p[i] == '\r' && mode == TERMSAFE_TEXT && i + 1 < n && p[i + 1] == '\n') {
			i++; /* CRLF shows as the newline it ends with */
		} else if (cp != 0xFFFFFFFFu && cp >= 0x80) {
			char u[16];
			snprintf(u, sizeof u, "<U+%04X>", (unsigned)cp);
			buf_adds(out, u);
			i += utf8_decode(p + i, n - i, &cp);
		} else {
			char x[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };
			buf_add(out, x, 4);
			i++;
		}
		keep = i;
	}
	buf_add(out, p + keep, i - keep);
}

char *termsafe_dup(const char *s, enum termsafe_mode mode)
{
	struct buf b;
	if (!s)
		return NULL;
	buf_init(&b);
	termsafe_append(&b, s, strlen(s), mode);
	return buf_take(&b);
}

int termsafe_is_clean(const char *s, size_t n, enum termsafe_mode mode)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	for (size_t i = 0, k; i < n; i += k)
		if ((k = clean_len(p + i, n - i, mode, &cp)) == 0)
			return 0;
	return 1;
}

int termsafe_vprintf(FILE *f, int escape, const char *fmt, va_list ap)
{
	struct buf raw, safe;
	int rc;
	buf_init(&raw);
	buf_vprintf(&raw, fmt, ap);
	if (!escape) {
		rc = fwrite(buf_str(&raw), 1, raw.len, f) == raw.len ? 0 : EOF;
		buf_free(&raw);
		return rc;
	}
	buf_init(&safe);
	termsafe_append(&safe, raw.data, raw.len, TERMSAFE_TEXT);
	rc = fwrite(buf_str(&safe), 1, safe.len, f) == safe.len ? 0 : EOF;
	buf_free(&raw);
	buf_free(&safe);
	return rc;
}

int termsafe_printf(FILE *f, int escape, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = termsafe_vprintf(f, escape, fmt, ap);
	va_end(ap);
	return rc;
}
