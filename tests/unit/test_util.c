/* Unit tests for util.c: buffers and UTF-8 sanitising. */
#include "check.h"
#include "util.h"

#include <stdlib.h>

int main(void)
{
	struct buf b;
	buf_init(&b);
	CHECK_STR("buf empty", buf_str(&b), "");
	buf_adds(&b, "abc");
	buf_printf(&b, "-%d-", 42);
	buf_addc(&b, 'z');
	CHECK_STR("buf append", buf_str(&b), "abc-42-z");
	CHECK_INT("buf len", b.len, 8);
	char *t = buf_take(&b);
	CHECK_STR("buf take", t, "abc-42-z");
	CHECK("buf reset after take", b.data == NULL && b.len == 0);
	free(t);
	buf_free(&b);

	char *s = utf8_sanitize("ok \xC3\xA9 \xFF end", 11);
	CHECK_STR("utf8 invalid byte replaced", s, "ok \xC3\xA9 \xEF\xBF\xBD end");
	free(s);
	s = utf8_sanitize("a\0b", 3);
	CHECK_STR("utf8 NUL dropped", s, "ab");
	free(s);
	s = utf8_sanitize("\xED\xA0\x80", 3);
	CHECK_STR("utf8 surrogate replaced", s, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	free(s);
	s = utf8_sanitize("\xF0\x9F\x98\x80", 4);
	CHECK_STR("utf8 emoji kept", s, "\xF0\x9F\x98\x80");
	free(s);
	s = utf8_sanitize("\xFF\0\xC3\xA9x\xE2\x82", 7);
	CHECK_STR("utf8 bad first, NUL, good, cut short at the end", s, "\xEF\xBF\xBD\xC3\xA9x\xEF\xBF\xBD\xEF\xBF\xBD");
	free(s);
	s = utf8_sanitize("", 0);
	CHECK_STR("utf8 empty", s, "");
	free(s);
	s = utf8_sanitize("plain ASCII only", 16);
	CHECK_STR("utf8 ASCII as it is", s, "plain ASCII only");
	free(s);
	s = utf8_sanitize("\0\0", 2);
	CHECK_STR("utf8 only NULs", s, "");
	free(s);

	char trim[] = "  x y \r\n";
	CHECK_STR("trim", str_trim(trim), "x y");
	CHECK("blank", str_is_blank(" \t\r\n") && !str_is_blank(" a "));
	return check_done();
}
