/* fuzz_clean_history.c: clean_reply_with() and clean_known() on a reply and
 * the conversation's texts it is matched against. The input is the history
 * texts, separated by 0x1E, then 0x1D, then the reply; its first byte picks
 * hold_percent. Besides the promises of clean_reply() (fuzz_clean.c): the
 * result is held exactly when it is empty or when the share is over, every
 * line of it is a line of the reply (cleaning never writes words of its
 * own), and the counts add up. */
#include "clean.h"
#include "fuzz.h"

FUZZ_QUIET_INITIALIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = fuzz_string(data, size), *reply, *p;
	const char *history[16];
	size_t nhistory = 0;
	int percent = size ? 1 + data[0] % 100 : 50;
	struct clean_result res;

	reply = strchr(all, '\x1d');
	if (reply) {
		*reply++ = '\0';
		for (p = all; nhistory < 16;) {
			char *next = strchr(p, '\x1e');
			history[nhistory++] = p;
			if (!next)
				break;
			*next = '\0';
			p = next + 1;
		}
	} else {
		reply = all;
	}
	clean_reply_with(reply, history, nhistory, percent, &res);
	size_t n = strlen(res.text);
	fuzz_require(fuzz_valid_utf8(res.text));
	fuzz_require(!strchr(res.text, '\r'));
	fuzz_require(n == 0 || (res.text[0] != '\n' && res.text[n - 1] != '\n'));
	fuzz_require(!strstr(res.text, "\n\n\n"));
	fuzz_require((res.hold == CLEAN_HOLD_EMPTY) == str_is_blank(res.text));
	fuzz_require(res.hold != CLEAN_HOLD_SHARE ||
	             res.unsure_bytes * 100 > (size_t)percent * (res.kept_bytes + res.unsure_bytes));
	if (fuzz_valid_utf8(reply)) {
		/* each line of the result stands in the reply */
		for (char *line = res.text; *line;) {
			char *end = strchr(line, '\n');
			size_t len = end ? (size_t)(end - line) : strlen(line);
			char save = line[len];
			line[len] = '\0';
			fuzz_require(strstr(reply, line) != NULL);
			line[len] = save;
			line += len + (end != NULL);
		}
	}
	clean_result_free(&res);
	char *known = clean_known(reply, history, nhistory);
	fuzz_require(fuzz_valid_utf8(known));
	free(known);
	free(all);
	return 0;
}
