/* html.h: readable plain text from an HTML mail part (libxml2's HTML parser). */
#ifndef RELAY_HTML_H
#define RELAY_HTML_H

#include <stddef.h>

/* Converts UTF-8 HTML to plain text: scripts and styles dropped, block
 * elements and <br> become line breaks, list items get "- ", and quoted
 * history (<blockquote>, Gmail's gmail_quote) is prefixed with "> " so that
 * reply cleaning can recognise it. Returns an owned string (never NULL). */
char *html_to_text(const char *html, size_t len);

#endif
