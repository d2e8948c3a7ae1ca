/* html.c: HTML to plain text via libxml2's forgiving HTML parser. */
#include "html.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct walk {
	struct buf out;
	int quote; /* depth of quoted history */
	int at_line_start;
	int pending_space;
	int depth;
};

static int is_block(const char *n)
{
	static const char *blocks[] = { "p",      "div",     "tr",       "table",  "h1",     "h2",         "h3",
		                        "h4",     "h5",      "h6",       "ul",     "ol",     "blockquote", "pre",
		                        "hr",     "section", "article",  "header", "footer", "body",       "address",
		                        "center", "form",    "fieldset", NULL };
	for (int i = 0; blocks[i]; i++)
		if (strcasecmp(n, blocks[i]) == 0)
			return 1;
	return 0;
}

static void newline(struct walk *w)
{
	if (!w->at_line_start)
		buf_addc(&w->out, '\n');
	w->at_line_start = 1;
	w->pending_space = 0;
}

static void line_prefix(struct walk *w)
{
	if (w->at_line_start) {
		for (int i = 0; i < w->quote; i++)
			buf_adds(&w->out, "> ");
		w->at_line_start = 0;
	}
}

static void text(struct walk *w, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (!w->at_line_start)
				w->pending_space = 1;
			continue;
		}
		/* U+00A0 no-break space: a plain space in text. */
		if (c == 0xC2 && (unsigned char)s[1] == 0xA0) {
			s++;
			if (!w->at_line_start)
				w->pending_space = 1;
			continue;
		}
		line_prefix(w);
		if (w->pending_space) {
			buf_addc(&w->out, ' ');
			w->pending_space = 0;
		}
		buf_addc(&w->out, (char)c);
	}
}

static int is_quote(xmlNode *n)
{
	if (strcasecmp((const char *)n->name, "blockquote") == 0)
		return 1;
	xmlChar *cls = xmlGetProp(n, (const xmlChar *)"class");
	int q = cls && strstr((const char *)cls, "gmail_quote") != NULL;
	xmlFree(cls);
	return q;
}

static void walk(struct walk *w, xmlNode *n)
{
	for (; n; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			if (n->content)
				text(w, (const char *)n->content);
			continue;
		}
		if (n->type != XML_ELEMENT_NODE)
			continue;
		const char *name = (const char *)n->name;
		if (!strcasecmp(name, "script") || !strcasecmp(name, "style") || !strcasecmp(name, "head") ||
		    !strcasecmp(name, "title"))
			continue;
		if (w->depth > 200) /* hostile nesting: stop descending */
			continue;
		if (!strcasecmp(name, "br")) {
			line_prefix(w);
			w->at_line_start = 0;
			buf_addc(&w->out, '\n');
			w->at_line_start = 1;
			w->pending_space = 0;
			continue;
		}
		int block = is_block(name);
		int quote = is_quote(n);
		int li = !strcasecmp(name, "li");
		if (block || li)
			newline(w);
		if (quote)
			w->quote++;
		if (li) {
			line_prefix(w);
			buf_adds(&w->out, "- ");
		}
		w->depth++;
		walk(w, n->children);
		w->depth--;
		if (quote)
			w->quote--;
		if (block || li || !strcasecmp(name, "td"))
			newline(w);
		if (!strcasecmp(name, "p") && !w->quote)
			buf_addc(&w->out, '\n');
	}
}

char *html_to_text(const char *html, size_t len)
{
	struct walk w;
	memset(&w, 0, sizeof w);
	buf_init(&w.out);
	w.at_line_start = 1;

	if (len > (size_t)0x7fffffff)
		len = 0x7fffffff;
	htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
	                                HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
	                                        HTML_PARSE_NOBLANKS);
	if (doc) {
		walk(&w, xmlDocGetRootElement(doc));
		xmlFreeDoc(doc);
	}
	/* Collapse runs of blank lines to one and trim. */
	char *s = buf_take(&w.out);
	struct buf out;
	buf_init(&out);
	int blank = 0;
	for (char *line = s, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		size_t n = next ? (size_t)(next - line) : strlen(line);
		if (next)
			next++;
		while (n && line[n - 1] == ' ')
			n--;
		if (n == 0) {
			blank++;
			continue;
		}
		if (out.len && blank)
			buf_addc(&out, '\n');
		blank = 0;
		buf_add(&out, line, n);
		buf_addc(&out, '\n');
	}
	free(s);
	return buf_take(&out);
}
