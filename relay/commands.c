/* commands.c: split an adviser's reply into the commands at its top and the
 * answer for the young person.
 *
 * The reply is read line by line once. While we are in the command block,
 * each line is classified (blank, command, text); the first text line that
 * does not continue a note starts the answer. Whenever the adviser's intent
 * is unclear we report an error rather than guess: a mistyped or misplaced
 * command must come back to the adviser, never reach a child. */
#include "commands.h"

#include "util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_DAYS_MAX 3650
#define QUOTE_MAX 40 /* bytes of the adviser's text quoted back in an error */

enum arg_kind { ARG_NONE, ARG_TEXT, ARG_DAYS };

static const struct known {
	const char *name;
	enum command_kind kind;
	enum arg_kind arg;
} knowns[] = {
	{ "note", COMMAND_NOTE, ARG_TEXT },     { "close", COMMAND_CLOSE, ARG_NONE },
	{ "reopen", COMMAND_REOPEN, ARG_NONE }, { "urgent", COMMAND_URGENT, ARG_NONE },
	{ "block", COMMAND_BLOCK, ARG_DAYS },   { "unblock", COMMAND_UNBLOCK, ARG_NONE },
};

#define KNOWN_LIST "#note, #close, #reopen, #urgent, #block and #unblock"

struct span {
	const char *s; /* into the caller's text; not NUL-terminated */
	size_t n;
};

enum line_kind { LINE_BLANK, LINE_TEXT, LINE_COMMAND };

struct command_line {
	struct span whole;         /* the line without surrounding blanks */
	struct span name;          /* after '#', up to a blank, ':' or the end */
	struct span arg;           /* after the name and ':', trimmed */
	const struct known *known; /* NULL: not a command we know */
	int spaced;                /* "# close": a known name after "# " */
};

struct parse {
	struct command *list; /* owned until handed to the caller */
	size_t n, cap;
	struct buf error;
	struct buf note; /* the open note's text so far */
	int in_note;
};

/* ---- blanks and lines ---------------------------------------------------- */

/* Length of the blank at s (space, tab, U+00A0, U+200B, U+FEFF), or 0.
 * Outlook turns typed spaces into no-break spaces, and phones and Windows
 * editors leave zero-width ones: "#note\u00A0text" is what the adviser typed
 * as "#note text". */
static size_t blank_at(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 1 && (u[0] == ' ' || u[0] == '\t'))
		return 1;
	if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && u[2] == 0x8B)
		return 3;
	if (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
		return 3;
	return 0;
}

/* Length of the blank (or stray '\r') that ends s[0..n), or 0. */
static size_t blank_before(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n >= 1 && (u[n - 1] == ' ' || u[n - 1] == '\t' || u[n - 1] == '\r'))
		return 1;
	if (n >= 2 && u[n - 2] == 0xC2 && u[n - 1] == 0xA0)
		return 2;
	if (n >= 3 && u[n - 3] == 0xE2 && u[n - 2] == 0x80 && u[n - 1] == 0x8B)
		return 3;
	if (n >= 3 && u[n - 3] == 0xEF && u[n - 2] == 0xBB && u[n - 1] == 0xBF)
		return 3;
	return 0;
}

static struct span skip_blanks(struct span t)
{
	size_t k;

	while ((k = blank_at(t.s, t.n)) > 0) {
		t.s += k;
		t.n -= k;
	}
	return t;
}

static struct span trim(struct span t)
{
	size_t k;

	t = skip_blanks(t);
	while ((k = blank_before(t.s, t.n)) > 0)
		t.n -= k;
	return t;
}

/* The line starting at p, without its "\n"; *next is where the next begins. */
static struct span next_line(const char *p, const char **next)
{
	const char *eol = strchr(p, '\n');
	struct span line = { p, eol ? (size_t)(eol - p) : strlen(p) };

	*next = eol ? eol + 1 : p + line.n;
	return line;
}

/* The word after '#': up to a blank, ':' or the end. */
static struct span name_at(struct span t)
{
	struct span name = { t.s, 0 };

	while (name.n < t.n && t.s[name.n] != ':' && !blank_at(t.s + name.n, t.n - name.n))
		name.n++;
	return name;
}

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive (ASCII only): does span equal word? */
static int span_is(struct span s, const char *word)
{
	size_t i;

	if (s.n != strlen(word))
		return 0;
	for (i = 0; i < s.n; i++)
		if (ascii_lower((unsigned char)s.s[i]) != word[i])
			return 0;
	return 1;
}

static const struct known *lookup(struct span name)
{
	size_t i;

	for (i = 0; i < sizeof knowns / sizeof knowns[0]; i++)
		if (span_is(name, knowns[i].name))
			return &knowns[i];
	return NULL;
}

/* Sorts a line of the command block. For LINE_COMMAND fills *cl. */
static enum line_kind classify(struct span line, struct command_line *cl)
{
	struct span t = trim(line), after;

	memset(cl, 0, sizeof *cl);
	if (t.n == 0)
		return LINE_BLANK;
	if (t.s[0] != '#')
		return LINE_TEXT;
	cl->whole = t;
	after = (struct span){ t.s + 1, t.n - 1 };
	if (after.n && after.s[0] >= '0' && after.s[0] <= '9')
		return LINE_TEXT; /* "#1 thing": a numbered point */
	if (after.n && blank_at(after.s, after.n)) {
		/* "# heading" is text; "# close" is a mistyped command. */
		if (!lookup(name_at(skip_blanks(after))))
			return LINE_TEXT;
		cl->spaced = 1;
		return LINE_COMMAND;
	}
	cl->name = name_at(after);
	cl->known = lookup(cl->name);
	after.s += cl->name.n;
	after.n -= cl->name.n;
	after = skip_blanks(after);
	if (after.n && after.s[0] == ':') {
		after.s++;
		after.n--;
	}
	cl->arg = trim(after);
	return LINE_COMMAND;
}

/* ---- results --------------------------------------------------------------- */

static void add_error(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_error(struct parse *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->error.len)
		buf_addc(&ps->error, '\n');
	va_start(ap, fmt);
	buf_vprintf(&ps->error, fmt, ap);
	va_end(ap);
}

/* How much of s to quote back: at most QUOTE_MAX bytes, cut between UTF-8
 * characters, so a pasted paragraph does not fill the adviser's screen. */
static int quote_len(struct span s)
{
	size_t n = s.n;

	if (n > QUOTE_MAX) {
		n = QUOTE_MAX;
		while (n > 0 && ((unsigned char)s.s[n] & 0xC0) == 0x80)
			n--;
	}
	return (int)n;
}

#define QUOTE(sp) quote_len(sp), (sp).s, ((size_t)quote_len(sp) < (sp).n ? "..." : "")

static struct command *add_command(struct parse *ps, enum command_kind kind)
{
	struct command *c;

	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 4;
		ps->list = xrealloc(ps->list, ps->cap * sizeof *ps->list);
	}
	c = &ps->list[ps->n++];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	return c;
}

static void finish_note(struct parse *ps)
{
	if (!ps->in_note)
		return;
	ps->in_note = 0;
	if (ps->note.len == 0) {
		add_error(ps, "#note needs the note written after it, e.g. \"#note Spoke to the school\".");
		return;
	}
	add_command(ps, COMMAND_NOTE)->text = buf_take(&ps->note);
}

static void add_note_line(struct parse *ps, struct span t)
{
	if (t.n == 0)
		return;
	if (ps->note.len)
		buf_addc(&ps->note, '\n');
	buf_add(&ps->note, t.s, t.n);
}

/* "7", "7 days", "1 day": 1-3650. Returns the days or -1. */
static int parse_days(struct span a)
{
	int days = 0;
	size_t i = 0;

	if (a.n == 0 || a.s[0] < '0' || a.s[0] > '9')
		return -1;
	for (; i < a.n && a.s[i] >= '0' && a.s[i] <= '9'; i++)
		if (days <= BLOCK_DAYS_MAX) /* stop growing: no overflow */
			days = days * 10 + (a.s[i] - '0');
	a.s += i;
	a.n -= i;
	a = skip_blanks(a);
	if (a.n && !span_is(a, "day") && !span_is(a, "days"))
		return -1;
	return days >= 1 && days <= BLOCK_DAYS_MAX ? days : -1;
}

static void read_command(struct parse *ps, const struct command_line *cl)
{
	const struct known *k = cl->known;
	int days;

	if (cl->spaced) {
		struct span name = name_at(skip_blanks((struct span){ cl->whole.s + 1, cl->whole.n - 1 }));
		add_command(ps, COMMAND_UNKNOWN)->text = xstrndup(cl->whole.s, cl->whole.n);
		add_error(ps, "\"%.*s%s\": write commands with no space after '#', e.g. \"#%s\".", QUOTE(cl->whole),
		          lookup(name)->name);
		return;
	}
	if (!k) {
		struct span as_written = cl->name.n ? (struct span){ cl->whole.s, cl->name.n + 1 } : cl->whole;
		add_command(ps, COMMAND_UNKNOWN)->text = xstrndup(cl->whole.s, cl->whole.n);
		add_error(ps, "\"%.*s%s\" is not a command. The commands are " KNOWN_LIST ".", QUOTE(as_written));
		return;
	}
	switch (k->arg) {
	case ARG_TEXT:
		ps->in_note = 1;
		buf_reset(&ps->note);
		add_note_line(ps, cl->arg);
		return;
	case ARG_NONE:
		if (cl->arg.n) {
			add_error(ps, "#%s takes nothing after it; found \"%.*s%s\".", k->name, QUOTE(cl->arg));
			return;
		}
		add_command(ps, k->kind);
		return;
	case ARG_DAYS:
		days = cl->arg.n ? parse_days(cl->arg) : 0;
		if (days < 0) {
			add_error(ps, "#%s: '%.*s%s' is not a number of days from 1 to %d (#%s alone has no end).", k->name,
			          QUOTE(cl->arg), BLOCK_DAYS_MAX, k->name);
			return;
		}
		add_command(ps, k->kind)->days = days;
		return;
	}
}

static int has(const struct parse *ps, enum command_kind kind)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->list[i].kind == kind)
			return 1;
	return 0;
}

/* Commands that contradict each other: we cannot know which one was meant. */
static void check_conflicts(struct parse *ps)
{
	size_t i;
	int days = -1;

	if (has(ps, COMMAND_CLOSE) && has(ps, COMMAND_REOPEN))
		add_error(ps, "#close and #reopen cannot go together: send the one you mean.");
	if (has(ps, COMMAND_BLOCK) && has(ps, COMMAND_UNBLOCK))
		add_error(ps, "#block and #unblock cannot go together: send the one you mean.");
	for (i = 0; i < ps->n; i++) {
		if (ps->list[i].kind != COMMAND_BLOCK)
			continue;
		if (days >= 0 && ps->list[i].days != days) {
			add_error(ps, "#block is given twice with different days: send the one you mean.");
			break;
		}
		days = ps->list[i].days;
	}
}

/* The answer from p on: "\r\n" made "\n", blanks trimmed from the end. A line
 * in it that starts with a known command is reported: the adviser put a
 * command below the answer, where it would be sent to the young person. */
static char *take_answer(struct parse *ps, const char *p)
{
	struct buf b;
	size_t k;

	buf_init(&b);
	while (p && *p) {
		const char *next;
		struct span line = next_line(p, &next), t = skip_blanks(line);

		if (line.n && line.s[line.n - 1] == '\r')
			line.n--;
		if (t.n > 1 && t.s[0] == '#') {
			const struct known *known = lookup(name_at((struct span){ t.s + 1, t.n - 1 }));
			if (known)
				add_error(ps,
				          "#%s must go on the first lines of the reply, above the answer; "
				          "it was not obeyed.",
				          known->name);
		}
		buf_add(&b, line.s, line.n);
		buf_addc(&b, '\n');
		p = next;
	}
	for (;;) {
		if (b.len && b.data[b.len - 1] == '\n')
			b.len--;
		else if ((k = blank_before(b.data, b.len)) > 0)
			b.len -= k;
		else
			break;
	}
	if (b.data)
		b.data[b.len] = '\0';
	return buf_take(&b);
}

/* ---- the public functions ------------------------------------------------------ */

int commands_parse(const char *reply, struct commands *out)
{
	struct parse ps;
	const char *p = reply ? reply : "", *next, *answer = NULL;
	struct command_line cl;

	memset(&ps, 0, sizeof ps);
	buf_init(&ps.error);
	buf_init(&ps.note);
	for (; *p; p = next) {
		struct span line = next_line(p, &next);

		switch (classify(line, &cl)) {
		case LINE_BLANK:
			finish_note(&ps);
			continue;
		case LINE_COMMAND:
			finish_note(&ps);
			read_command(&ps, &cl);
			continue;
		case LINE_TEXT:
			if (ps.in_note) {
				add_note_line(&ps, trim(line));
				continue;
			}
			break;
		}
		answer = p;
		break;
	}
	finish_note(&ps);
	check_conflicts(&ps);

	memset(out, 0, sizeof *out);
	out->answer = take_answer(&ps, answer);
	out->list = ps.list;
	out->n = ps.n;
	out->error = ps.error.len ? buf_take(&ps.error) : NULL;
	buf_free(&ps.error);
	buf_free(&ps.note);
	return 0;
}

void commands_free(struct commands *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		free(c->list[i].text);
	free(c->list);
	free(c->answer);
	free(c->error);
	memset(c, 0, sizeof *c);
}

const char *command_name(enum command_kind k)
{
	size_t i;

	for (i = 0; i < sizeof knowns / sizeof knowns[0]; i++)
		if (knowns[i].kind == k)
			return knowns[i].name;
	return "unknown";
}
