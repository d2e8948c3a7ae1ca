/* util.c: memory helpers, buffers, small string and file helpers. */
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static void oom(void)
{
	static const char msg[] = "relay: out of memory\n";
	fwrite(msg, 1, sizeof msg - 1, stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_take(&b);
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_take(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");
	buf_init(b);
	return p;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	buf_init(b);
}

int str_casecmp_ascii(const char *a, const char *b)
{
	return strcasecmp(a, b);
}

int str_ncasecmp_ascii(const char *a, const char *b, size_t n)
{
	return strncasecmp(a, b, n);
}

int str_startswith_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

char *str_trim(char *s)
{
	char *p = s;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (p != s)
		memmove(s, p, strlen(p) + 1);
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

int str_is_blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 0;
	return 1;
}

int file_read(const char *path, size_t max, char **out, size_t *outlen, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b);
	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + n > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
			fclose(f);
			buf_free(&b);
			return -1;
		}
		buf_add(&b, chunk, n);
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		fclose(f);
		buf_free(&b);
		return -1;
	}
	fclose(f);
	if (outlen)
		*outlen = b.len;
	*out = buf_take(&b);
	return 0;
}

size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		if (n < 2 || (p[1] & 0xC0) != 0x80)
			return 0;
		*cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
		return 2;
	}
	if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0))
			return 0; /* overlong, surrogate */
		*cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
		return 3;
	}
	if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		if ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
			return 0; /* overlong, beyond U+10FFFF */
		*cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
		      (p[3] & 0x3F);
		return 4;
	}
	return 0;
}

char *utf8_sanitize(const char *s, size_t n)
{
	struct buf b;
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, keep = 0; /* p[keep..i) is valid and copied as it is */

	buf_init(&b);
	buf_add(&b, "", 0);
	while (i < n) {
		if (p[i] >= 0x01 && p[i] < 0x80) {
			i++; /* ASCII, the common case */
			continue;
		}
		uint32_t cp;
		size_t k = utf8_decode(p + i, n - i, &cp);
		if (k > 1) {
			i += k;
			continue;
		}
		buf_add(&b, p + keep, i - keep);
		if (k == 0)
			buf_adds(&b, "\xEF\xBF\xBD"); /* not UTF-8: U+FFFD */
		i++;                                  /* a NUL is dropped */
		keep = i;
	}
	buf_add(&b, p + keep, i - keep);
	return buf_take(&b);
}

/* Latin-1 Supplement and Latin Extended-A folded to lowercase ASCII, so that
 * "Réponse automatique" and "REPONSE AUTOMATIQUE" compare equal. */
const char *fold_latin_codepoint(unsigned cp)
{
	static const char *latin1[64] = {
		"a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
		"d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
		"a", "a", "a", "a", "a", "a", "ae", "c",  "e", "e", "e", "e", "i", "i", "i",  "i",
		"d", "n", "o", "o", "o", "o", "o",  NULL, "o", "u", "u", "u", "u", "y", "th", "y",
	};
	static const struct {
		unsigned lo, hi;
		const char *to;
	} exta[] = {
		{ 0x100, 0x105, "a" }, { 0x106, 0x10D, "c" },  { 0x10E, 0x111, "d" }, { 0x112, 0x11B, "e" },
		{ 0x11C, 0x123, "g" }, { 0x124, 0x127, "h" },  { 0x128, 0x131, "i" }, { 0x132, 0x133, "ij" },
		{ 0x134, 0x135, "j" }, { 0x136, 0x138, "k" },  { 0x139, 0x142, "l" }, { 0x143, 0x14B, "n" },
		{ 0x14C, 0x151, "o" }, { 0x152, 0x153, "oe" }, { 0x154, 0x159, "r" }, { 0x15A, 0x161, "s" },
		{ 0x162, 0x167, "t" }, { 0x168, 0x173, "u" },  { 0x174, 0x175, "w" }, { 0x176, 0x178, "y" },
		{ 0x179, 0x17E, "z" }, { 0x17F, 0x17F, "s" },
	};
	if (cp == 0xA0)
		return " ";
	if (cp >= 0xC0 && cp <= 0xFF)
		return latin1[cp - 0xC0];
	for (size_t i = 0; i < sizeof exta / sizeof exta[0]; i++)
		if (cp >= exta[i].lo && cp <= exta[i].hi)
			return exta[i].to;
	return NULL;
}
