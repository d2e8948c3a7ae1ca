/* sms_esendex.c: the Esendex provider. The inbox is read in pages; every
 * unread inbound text has its full body fetched (the inbox gives only a
 * truncated summary) and is marked read only after the relay has committed
 * it, so Esendex's read flag is the cursor. libxml2 is used here and nowhere
 * else in the SMS code. */
#include "sms_esendex.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "http.h"
#include "log.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* Reading answers                                                          */

/* Parses an answer. Refusing any DTD before libxml2 sees the bytes means no
 * entity can be declared, so none is expanded (billion laughs) or fetched
 * (XXE), whatever libxml2's own limits. The encoding is forced to UTF-8: a
 * document claiming another one cannot smuggle a DTD past the byte scan. */
static xmlDoc *xml_open(const char *xml, size_t len, const char *root, xmlNode **rootp, char *err, size_t errlen)
{
	xmlParserCtxt *ctxt = NULL;
	xmlDoc *doc = NULL;
	xmlNode *r;

	*rootp = NULL;
	if (!xml || len == 0) {
		snprintf(err, errlen, "empty answer");
		return NULL;
	}
	if (len > INT_MAX) {
		snprintf(err, errlen, "answer too large");
		return NULL;
	}
	if (memmem(xml, len, "<!DOCTYPE", 9) || memmem(xml, len, "<!ENTITY", 8)) {
		snprintf(err, errlen, "answer carries a DTD (refused)");
		return NULL;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		snprintf(err, errlen, "cannot start the XML parser");
		return NULL;
	}
	/* NOERROR/NOWARNING: otherwise libxml2 prints the offending line, which
	 * may be a young person's text, on stderr. No NOENT, DTDLOAD, DTDATTR,
	 * XINCLUDE or HUGE: nothing is substituted, loaded or unbounded. */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, "UTF-8",
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		xmlError *e = xmlCtxtGetLastError(ctxt);
		snprintf(err, errlen, "malformed XML (libxml2 error %d at line %d)", e ? e->code : 0, e ? e->line : 0);
		goto fail;
	}
	if (doc->intSubset || doc->extSubset) {
		snprintf(err, errlen, "answer carries a DTD (refused)");
		goto fail;
	}
	r = xmlDocGetRootElement(doc);
	if (!r || !r->name || strcmp((const char *)r->name, root) != 0 ||
	    (r->ns && r->ns->href && strcmp((const char *)r->ns->href, ESENDEX_NS) != 0)) {
		snprintf(err, errlen, "not an Esendex <%s> answer", root);
		goto fail;
	}
	xmlFreeParserCtxt(ctxt);
	*rootp = r;
	return doc;
fail:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return NULL;
}

/* An element with this local name, in the Esendex namespace or none. */
static int is_element(const xmlNode *n, const char *name)
{
	if (!n || n->type != XML_ELEMENT_NODE || !n->name || strcmp((const char *)n->name, name) != 0)
		return 0;
	return !n->ns || !n->ns->href || strcmp((const char *)n->ns->href, ESENDEX_NS) == 0;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
	if (!n)
		return NULL;
	for (xmlNode *c = n->children; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

/* The element's own text (text and CDATA children). Deliberately not
 * xmlNodeGetContent, which would follow entity references. Owned; NULL when
 * n is NULL. */
static char *text_of(const xmlNode *n)
{
	struct buf b;

	if (!n)
		return NULL;
	buf_init(&b);
	buf_add(&b, "", 0);
	for (xmlNode *c = n->children; c; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
			buf_adds(&b, (const char *)c->content);
	return buf_take(&b);
}

/* Trimmed text; NULL when absent or blank. */
static char *word_of(const xmlNode *n)
{
	char *s = text_of(n);

	if (s && *str_trim(s) == '\0') {
		free(s);
		s = NULL;
	}
	return s;
}

/* Trimmed attribute without namespace; NULL when absent or blank. */
static char *attr_of(xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s;

	if (!v)
		return NULL;
	s = xstrdup((const char *)v);
	xmlFree(v);
	if (*str_trim(s) == '\0') {
		free(s);
		s = NULL;
	}
	return s;
}

/* A non-negative decimal attribute: 0 and *out (-1 when absent), or -1. */
static int count_attr(xmlNode *n, const char *name, long long *out)
{
	char *s = attr_of(n, name);
	long long v = 0;
	int rc = 0;

	*out = -1;
	if (!s)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (LLONG_MAX - (*p - '0')) / 10) {
			rc = -1;
			break;
		}
		v = v * 10 + (*p - '0');
	}
	if (rc == 0)
		*out = v;
	free(s);
	return rc;
}

static char *phone_of(const xmlNode *n)
{
	return word_of(child(n, "phonenumber"));
}

static void header_free(struct esendex_header *h)
{
	free(h->id);
	free(h->from);
	free(h->to);
	free(h->summary);
}

void esendex_page_free(struct esendex_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n; i++)
		header_free(&page->headers[i]);
	free(page->headers);
	memset(page, 0, sizeof *page);
	page->startindex = page->count = page->totalcount = -1;
}

static void read_header(xmlNode *m, struct esendex_header *h)
{
	xmlNode *dir = child(m, "direction"), *readat = child(m, "readat");
	char *s;

	memset(h, 0, sizeof *h);
	h->id = attr_of(m, "id");
	h->from = phone_of(child(m, "from"));
	h->to = phone_of(child(m, "to"));
	h->summary = text_of(child(m, "summary"));
	s = word_of(child(m, "receivedat"));
	if (!s || esendex_parse_time(s, &h->received_at) < 0)
		h->received_at = 0;
	free(s);
	s = word_of(child(m, "submittedat"));
	if (!s || esendex_parse_time(s, &h->submitted_at) < 0)
		h->submitted_at = 0;
	free(s);
	/* The inbox holds only received texts: a header without a direction is
	 * still one, and dropping it would lose a young person's message. */
	s = word_of(dir);
	h->inbound = !dir || (s && str_casecmp_ascii(s, "Inbound") == 0);
	free(s);
	/* An empty readat, or .NET's DateTime.MinValue, means never read. */
	s = word_of(readat);
	h->read = s && strncmp(s, "0001-", 5) != 0;
	free(s);
}

int esendex_parse_inbox(const char *xml, size_t len, struct esendex_page *page, char *err, size_t errlen)
{
	xmlNode *root;
	xmlDoc *doc;
	size_t n = 0;

	memset(page, 0, sizeof *page);
	page->startindex = page->count = page->totalcount = -1;
	doc = xml_open(xml, len, "messageheaders", &root, err, errlen);
	if (!doc)
		return -1;
	if (count_attr(root, "startindex", &page->startindex) < 0 || count_attr(root, "count", &page->count) < 0 ||
	    count_attr(root, "totalcount", &page->totalcount) < 0) {
		snprintf(err, errlen, "inbox page counts are not numbers");
		xmlFreeDoc(doc);
		esendex_page_free(page);
		return -1;
	}
	for (xmlNode *c = root->children; c; c = c->next)
		if (is_element(c, "messageheader"))
			n++;
	page->headers = xcalloc(n, sizeof *page->headers);
	for (xmlNode *c = root->children; c; c = c->next)
		if (is_element(c, "messageheader"))
			read_header(c, &page->headers[page->n++]);
	xmlFreeDoc(doc);
	return 0;
}

int esendex_next_page(const struct esendex_page *p, long long start, long long asked, long long *next)
{
	long long after;

	if (!p || p->n == 0 || start < 0)
		return 0;
	/* A server answering some other page than the one asked for would
	 * have us read the same headers over and over. */
	if (p->startindex >= 0 && p->startindex != start)
		return 0;
	after = start + (long long)p->n;
	if (after >= ESENDEX_MAX_HEADERS)
		return 0;
	if (p->totalcount >= 0 ? after >= p->totalcount : (long long)p->n < asked)
		return 0;
	*next = after;
	return 1;
}

int esendex_parse_body(const char *xml, size_t len, char **text, char *err, size_t errlen)
{
	xmlNode *root, *t;
	xmlDoc *doc;

	*text = NULL;
	doc = xml_open(xml, len, "messagebody", &root, err, errlen);
	if (!doc)
		return -1;
	t = child(root, "bodytext");
	if (!t) {
		snprintf(err, errlen, "message body has no bodytext");
		xmlFreeDoc(doc);
		return -1;
	}
	*text = text_of(t);
	xmlFreeDoc(doc);
	return 0;
}

int esendex_parse_dispatch(const char *xml, size_t len, char **id, char *err, size_t errlen)
{
	xmlNode *root;
	xmlDoc *doc;

	*id = NULL;
	doc = xml_open(xml, len, "messageheaders", &root, err, errlen);
	if (!doc)
		return -1;
	for (xmlNode *c = root->children; c && !*id; c = c->next)
		if (is_element(c, "messageheader"))
			*id = attr_of(c, "id");
	xmlFreeDoc(doc);
	if (!*id) {
		snprintf(err, errlen, "dispatcher answer has no message id");
		return -1;
	}
	return 0;
}

int esendex_parse_status(const char *xml, size_t len, enum sms_delivery *d, char **reason, char *err, size_t errlen)
{
	xmlNode *root, *fr;
	xmlDoc *doc;
	char *status;

	*d = SMS_DELIVERY_UNKNOWN;
	if (reason)
		*reason = NULL;
	doc = xml_open(xml, len, "messageheader", &root, err, errlen);
	if (!doc)
		return -1;
	status = word_of(child(root, "status"));
	if (!status) {
		snprintf(err, errlen, "message header has no status");
		xmlFreeDoc(doc);
		return -1;
	}
	*d = esendex_delivery(status);
	free(status);
	fr = child(root, "failurereason");
	if (reason && fr)
		*reason = child(fr, "description") ? word_of(child(fr, "description")) : word_of(fr);
	xmlFreeDoc(doc);
	return 0;
}

enum sms_delivery esendex_delivery(const char *status)
{
	static const struct {
		const char *name;
		enum sms_delivery d;
	} map[] = {
		{ "Submitted", SMS_DELIVERY_QUEUED },
		{ "Queued", SMS_DELIVERY_QUEUED },
		{ "Scheduled", SMS_DELIVERY_QUEUED },
		{ "Processing", SMS_DELIVERY_QUEUED },
		{ "Authorised", SMS_DELIVERY_QUEUED },
		{ "Sent", SMS_DELIVERY_SENT },
		{ "Dispatched", SMS_DELIVERY_SENT },
		{ "Connecting", SMS_DELIVERY_SENT },
		{ "Delivered", SMS_DELIVERY_DELIVERED },
		{ "Acknowledged", SMS_DELIVERY_DELIVERED },
		/* Final, and the young person did not get the whole text. */
		{ "PartiallyDelivered", SMS_DELIVERY_UNDELIVERED },
		{ "Expired", SMS_DELIVERY_UNDELIVERED },
		{ "Failed", SMS_DELIVERY_FAILED },
		{ "FailedAuthorisation", SMS_DELIVERY_FAILED },
		{ "Rejected", SMS_DELIVERY_FAILED },
		{ "Cancelled", SMS_DELIVERY_FAILED },
	};

	if (!status)
		return SMS_DELIVERY_UNKNOWN;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (str_casecmp_ascii(status, map[i].name) == 0)
			return map[i].d;
	return SMS_DELIVERY_UNKNOWN;
}

/* n decimal digits at *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int esendex_parse_time(const char *s, long long *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	struct tm tm;
	time_t t;

	if (!s || digits(&s, 4, &y) < 0 || *s++ != '-' || digits(&s, 2, &mo) < 0 || *s++ != '-' || digits(&s, 2, &d) < 0 ||
	    (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if (digits(&s, 2, &h) < 0 || *s++ != ':' || digits(&s, 2, &mi) < 0 || *s++ != ':' || digits(&s, 2, &sec) < 0)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) < 0)
			return -1;
		if (*s == ':')
			s++;
		if (digits(&s, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
	}
	if (*s || y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm quietly rolls 31 February into March: refuse that. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -1;
	*out = (long long)t - sign * (oh * 3600LL + om * 60LL);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing the dispatcher request                                           */

void esendex_xml_escape(struct buf *b, const char *s)
{
	char *clean = utf8_sanitize(s ? s : "", s ? strlen(s) : 0);
	const unsigned char *p = (const unsigned char *)clean;

	for (; *p; p++) {
		switch (*p) {
		case '&':
			buf_adds(b, "&amp;");
			break;
		case '<':
			buf_adds(b, "&lt;");
			break;
		case '>':
			buf_adds(b, "&gt;");
			break; /* also breaks any "]]>" */
		case '"':
			buf_adds(b, "&quot;");
			break;
		case '\'':
			buf_adds(b, "&apos;");
			break;
		case '\r':
			buf_adds(b, "&#13;");
			break; /* a raw CR would be normalised away */
		case '\t':
		case '\n':
			buf_addc(b, (char)*p);
			break;
		default:
			if (*p < 0x20) {
				buf_addc(b, ' '); /* not even &#N; is allowed for these in XML 1.0 */
			} else if (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
				buf_addc(b, ' '); /* U+FFFE, U+FFFF: not XML characters */
				p += 2;
			} else {
				buf_addc(b, (char)*p);
			}
		}
	}
	free(clean);
}

char *esendex_build_dispatch(const char *account, const char *to, const char *text, int unicode, char *err, size_t errlen)
{
	struct buf b;
	const char *digits_to;
	size_t nd;

	if (!account || !*account) {
		snprintf(err, errlen, "esendex: no account reference configured");
		return NULL;
	}
	digits_to = to && to[0] == '+' ? to + 1 : to;
	nd = digits_to ? strspn(digits_to, "0123456789") : 0;
	if (nd == 0 || nd > 20 || digits_to[nd] != '\0') {
		snprintf(err, errlen, "esendex: the recipient is not a phone number in E.164 form");
		return NULL;
	}
	buf_init(&b);
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<messages>\n<accountreference>");
	esendex_xml_escape(&b, account);
	buf_printf(&b, "</accountreference>\n<message>\n<to>%s</to>\n<body>", digits_to);
	esendex_xml_escape(&b, text);
	/* Without a characterset Esendex assumes GSM and mangles anything else. */
	buf_printf(&b, "</body>\n<characterset>%s</characterset>\n</message>\n</messages>\n", unicode ? "Unicode" : "Auto");
	return buf_take(&b);
}

char *esendex_reason_safe(const char *reason)
{
	struct buf b;
	size_t run;

	if (!reason)
		return NULL;
	buf_init(&b);
	buf_add(&b, "", 0);
	for (const unsigned char *p = (const unsigned char *)reason; *p && b.len <= 120;) {
		if (*p >= '0' && *p <= '9') {
			run = strspn((const char *)p, "0123456789");
			if (run >= 5)
				buf_addc(&b, '#');
			else
				buf_add(&b, p, run);
			p += run;
		} else {
			if (*p >= 0x20 && *p != 0x7F)
				buf_addc(&b, (char)*p);
			p++;
		}
	}
	/* Cut at 120 bytes without splitting a UTF-8 sequence. */
	if (b.len > 120) {
		b.len = 120;
		while (b.len > 0 && ((unsigned char)b.data[b.len] & 0xC0) == 0x80)
			b.len--;
		b.data[b.len] = '\0';
	}
	return buf_take(&b);
}

int esendex_reason_opted_out(const char *reason)
{
	static const char *const says[] = { "opted out", "opted-out", "opt out", "opt-out", "optout", "optedout" };

	for (size_t i = 0; reason && i < sizeof says / sizeof says[0]; i++)
		if (strcasestr(reason, says[i]))
			return 1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The provider                                                             */

static const char *account_of(const struct sms_gateway *g)
{
	const char *a = g->settings.account;
	return a && *a ? a : NULL;
}

/* One request; err names what was asked for and the HTTP status, never a
 * body (it may hold a text) or a credential. */
static enum sms_result call(struct sms_gateway *g, const char *method, const char *path, const char *body, const char *what,
                            struct http_response *resp, char *err, size_t errlen)
{
	char herr[256] = "";
	enum sms_result r;

	memset(resp, 0, sizeof *resp);
	if (http_request(g->http, method, path, body ? "application/xml" : NULL, body, body ? strlen(body) : 0, resp, herr,
	                 sizeof herr) < 0) {
		snprintf(err, errlen, "esendex %s: %s", what, herr);
		return SMS_TEMPORARY;
	}
	r = sms_classify_status(resp->status);
	if (r == SMS_AUTH)
		snprintf(err, errlen, "esendex %s: HTTP %ld: the username, password or account reference was refused", what,
		         resp->status);
	else if (r == SMS_TEMPORARY && resp->status == 429)
		snprintf(err, errlen, "esendex %s: HTTP 429: rate limited, will retry", what);
	else if (r != SMS_OK)
		snprintf(err, errlen, "esendex %s: HTTP %ld", what, resp->status);
	return r;
}

/* Frees a response and leaves it empty, so a later free is harmless. */
static void response_done(struct http_response *resp)
{
	http_response_free(resp);
	memset(resp, 0, sizeof *resp);
}

static char *inbox_path(const struct sms_gateway *g, long long start, long long count)
{
	const char *account = account_of(g);
	char *acct, *path;

	if (!account)
		return xasprintf("/v1.0/inbox/messages?startindex=%lld&count=%lld", start, count);
	acct = http_urlencode(account);
	path = xasprintf("/v1.0/inbox/%s/messages?startindex=%lld&count=%lld", acct, start, count);
	free(acct);
	return path;
}

/* A text found unread in the inbox, before its body is fetched. */
struct unread {
	struct sms_text t;
	char *summary; /* owned: the fallback when the full body cannot be had */
	size_t order;  /* position in the inbox listing */
	int keep;      /* 0: neither body nor summary could be had */
};

static void unread_free(struct unread *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].t.id);
		free(u[i].t.from);
		free(u[i].t.to);
		free(u[i].t.body);
		free(u[i].t.ack);
		free(u[i].summary);
	}
	free(u);
}

/* Oldest first. The inbox lists newest first, so of two texts received in
 * the same second the one listed later is the older. */
static int oldest_first(const void *a, const void *b)
{
	const struct unread *x = a, *y = b;

	if (x->t.received_at != y->t.received_at)
		return x->t.received_at < y->t.received_at ? -1 : 1;
	return x->order > y->order ? -1 : x->order < y->order ? 1 : 0;
}

/* Fills u->t.body from the body resource. A body that is gone or unreadable
 * falls back to the summary rather than wedging the whole inbox behind one
 * text; with no summary either, *keep is 0. Transport, auth and server
 * failures fail the fetch (nothing is acknowledged, the next poll retries). */
static enum sms_result fetch_body(struct sms_gateway *g, struct unread *u, int *keep, char *err, size_t errlen)
{
	struct http_response resp;
	char e[256];
	char *id = http_urlencode(u->t.id), *path = xasprintf("/v1.0/messageheaders/%s/body", id);
	enum sms_result r = call(g, "GET", path, NULL, "message body", &resp, e, sizeof e);

	free(id);
	free(path);
	*keep = 1;
	if (r == SMS_OK && esendex_parse_body(resp.body, resp.len, &u->t.body, e, sizeof e) == 0)
		goto done;
	if (r != SMS_OK && r != SMS_PERMANENT) {
		snprintf(err, errlen, "%s", e);
		goto done;
	}
	if (u->summary) {
		log_warn("esendex: text %s: full body unavailable (%s); keeping the inbox summary", u->t.id, e);
		u->t.body = u->summary;
		u->summary = NULL;
	} else {
		log_warn("esendex: text %s: no body and no summary (%s); skipped", u->t.id, e);
		*keep = 0;
	}
	r = SMS_OK;
done:
	http_response_free(&resp);
	return r;
}

static enum sms_result esendex_fetch(struct sms_gateway *g, const char *cursor, struct sms_text **texts, size_t *n,
                                     char **next_cursor, char *err, size_t errlen)
{
	struct esendex_page page = { 0 };
	struct http_response resp = { 0 };
	struct unread *u = NULL;
	size_t nu = 0, cap = 0, listed = 0, k = 0;
	int pages = 0;
	long long start = 0, next = 0;
	long long asked = g->settings.page_size > 0 ? g->settings.page_size : ESENDEX_PAGE_DEFAULT;
	enum sms_result r = SMS_OK;
	char e[256];

	(void)cursor; /* Esendex's read flag is the cursor */
	*texts = NULL;
	*n = 0;
	if (next_cursor)
		*next_cursor = NULL;
	if (asked > ESENDEX_PAGE_MAX)
		asked = ESENDEX_PAGE_MAX;

	for (;;) {
		char *path = inbox_path(g, start, asked);
		int more;

		r = call(g, "GET", path, NULL, "inbox", &resp, err, errlen);
		free(path);
		if (r != SMS_OK)
			goto fail;
		if (esendex_parse_inbox(resp.body, resp.len, &page, e, sizeof e) < 0) {
			snprintf(err, errlen, "esendex inbox: %s", e);
			r = SMS_TEMPORARY;
			goto fail;
		}
		response_done(&resp);
		for (size_t i = 0; i < page.n; i++) {
			struct esendex_header *h = &page.headers[i];
			int dup = 0;

			if (!h->id || !h->inbound || h->read)
				continue;
			/* A text arriving while we page shifts the listing: the
			 * same header can turn up on two pages. */
			for (size_t j = 0; j < nu && !dup; j++)
				dup = strcmp(u[j].t.id, h->id) == 0;
			if (dup)
				continue;
			if (nu == cap) {
				cap = cap ? cap * 2 : 16;
				u = xrealloc(u, cap * sizeof *u);
			}
			memset(&u[nu], 0, sizeof u[nu]);
			u[nu].t.id = h->id;
			u[nu].t.ack = xstrdup(h->id);
			u[nu].t.from = h->from ? h->from : xstrdup("");
			u[nu].t.to = h->to;
			u[nu].t.received_at = h->received_at;
			u[nu].summary = h->summary;
			u[nu].order = listed + i;
			h->id = h->from = h->to = h->summary = NULL;
			nu++;
		}
		listed += page.n;
		more = esendex_next_page(&page, start, asked, &next) && ++pages < ESENDEX_MAX_PAGES;
		if (!more && page.totalcount > start + (long long)page.n)
			log_warn("esendex: inbox claims %lld texts; stopped after %zu this poll", page.totalcount, listed);
		esendex_page_free(&page);
		if (!more)
			break;
		start = next;
	}

	for (size_t i = 0; i < nu; i++) {
		int keep = 1;

		r = fetch_body(g, &u[i], &keep, err, errlen);
		if (r != SMS_OK)
			goto fail;
		u[i].keep = keep;
	}
	if (nu > 1)
		qsort(u, nu, sizeof *u, oldest_first);
	*texts = xcalloc(nu, sizeof **texts);
	for (size_t i = 0; i < nu; i++) {
		if (!u[i].keep)
			continue;
		(*texts)[k++] = u[i].t;
		memset(&u[i].t, 0, sizeof u[i].t);
	}
	*n = k;
	if (k == 0) {
		free(*texts);
		*texts = NULL;
	}
	unread_free(u, nu);
	return SMS_OK;
fail:
	esendex_page_free(&page);
	response_done(&resp);
	unread_free(u, nu);
	return r;
}

static enum sms_result esendex_acknowledge(struct sms_gateway *g, const struct sms_text *t, char *err, size_t errlen)
{
	struct http_response resp;
	const char *handle = t->ack ? t->ack : t->id;
	char *id, *path;
	enum sms_result r;

	if (!handle || !*handle) {
		snprintf(err, errlen, "esendex: text has no message id to mark read");
		return SMS_PERMANENT;
	}
	id = http_urlencode(handle);
	path = xasprintf("/v1.0/inbox/messages/%s?action=read", id);
	r = call(g, "PUT", path, NULL, "mark read", &resp, err, errlen);
	/* Already gone from the inbox: it will not come back, which is all
	 * marking it read was for. */
	if (r == SMS_PERMANENT && resp.status == 404) {
		log_debug("esendex: text %s was no longer in the inbox", handle);
		r = SMS_OK;
	}
	free(id);
	free(path);
	http_response_free(&resp);
	return r;
}

static enum sms_result esendex_send(struct sms_gateway *g, const char *to, const char *text, int unicode, char **id,
                                    char *err, size_t errlen)
{
	struct http_response resp;
	char *doc, e[256];
	enum sms_result r;

	*id = NULL;
	doc = esendex_build_dispatch(account_of(g), to, text, unicode, err, errlen);
	if (!doc)
		return SMS_PERMANENT;
	r = call(g, "POST", "/v1.0/messagedispatcher", doc, "send", &resp, err, errlen);
	free(doc);
	/* Accepted is accepted: retrying because the answer was odd would send
	 * the young person the text twice. Without an id, status() is not possible. */
	if (r == SMS_OK && esendex_parse_dispatch(resp.body, resp.len, id, e, sizeof e) < 0)
		log_warn("esendex: dispatcher accepted a text but its answer was unreadable (%s)", e);
	http_response_free(&resp);
	return r;
}

static enum sms_result esendex_status(struct sms_gateway *g, const char *msgid, enum sms_delivery *d, char *err,
                                      size_t errlen)
{
	struct http_response resp;
	char *id, *path, *reason = NULL, *safe, e[256];
	enum sms_result r;

	*d = SMS_DELIVERY_UNKNOWN;
	if (!msgid || !*msgid) {
		snprintf(err, errlen, "esendex: no message id");
		return SMS_PERMANENT;
	}
	id = http_urlencode(msgid);
	path = xasprintf("/v1.0/messageheaders/%s", id);
	r = call(g, "GET", path, NULL, "status", &resp, err, errlen);
	free(id);
	free(path);
	if (r == SMS_OK && esendex_parse_status(resp.body, resp.len, d, &reason, e, sizeof e) < 0) {
		snprintf(err, errlen, "esendex status: %s", e);
		r = SMS_TEMPORARY;
	}
	/* Why it failed, for the adviser; err is otherwise untouched on success. */
	if (r == SMS_OK && reason && (*d == SMS_DELIVERY_FAILED || *d == SMS_DELIVERY_UNDELIVERED)) {
		safe = esendex_reason_safe(reason);
		snprintf(err, errlen, "esendex: %s: %s", sms_delivery_name(*d), safe);
		free(safe);
		/* Esendex takes the text and only then fails it for an opted-out
		 * recipient: that is a STOP, as Twilio's 21610 is at send time. */
		if (*d == SMS_DELIVERY_FAILED && esendex_reason_opted_out(reason))
			r = SMS_OPTED_OUT;
	}
	free(reason);
	http_response_free(&resp);
	return r;
}

static enum sms_result esendex_check(struct sms_gateway *g, char *err, size_t errlen)
{
	struct esendex_page page;
	struct http_response resp;
	char *path = inbox_path(g, 0, 1), e[256];
	enum sms_result r = call(g, "GET", path, NULL, "inbox", &resp, err, errlen);

	free(path);
	if (r == SMS_OK) {
		if (esendex_parse_inbox(resp.body, resp.len, &page, e, sizeof e) < 0) {
			snprintf(err, errlen, "esendex: the URL answered, but not as the Esendex inbox (%s)", e);
			r = SMS_PERMANENT;
		}
		esendex_page_free(&page);
	}
	http_response_free(&resp);
	return r;
}

/* Pages of the sent messages read when looking for one text. */
#define LOOKUP_MAX_PAGES 20

/* Sent texts to `to`, newest first, until the listing reaches before since.
 * Only a header whose summary (the text's start) could be `text` costs a
 * request for its full body. */
static enum sms_result esendex_list_sent(struct sms_gateway *g, const char *to, const char *text, long long since,
                                         struct sms_text **texts, size_t *n, char *err, size_t errlen)
{
	struct esendex_page page = { 0 };
	struct http_response resp = { 0 };
	struct sms_text *all = NULL;
	size_t count = 0;
	long long start = 0, next = 0;
	long long asked = g->settings.page_size > 0 ? g->settings.page_size : ESENDEX_PAGE_DEFAULT;
	enum sms_result r = SMS_OK;
	char e[256];
	const char *want = to && *to == '+' ? to + 1 : to;

	*texts = NULL;
	*n = 0;
	if (asked > ESENDEX_PAGE_MAX)
		asked = ESENDEX_PAGE_MAX;
	for (int pages = 0; pages < LOOKUP_MAX_PAGES; pages++) {
		char *path = xasprintf("/v1.0/messageheaders?startindex=%lld&count=%lld", start, asked);
		int older = 0, more;

		r = call(g, "GET", path, NULL, "sent messages", &resp, err, errlen);
		free(path);
		if (r != SMS_OK)
			goto fail;
		if (esendex_parse_inbox(resp.body, resp.len, &page, e, sizeof e) < 0) {
			snprintf(err, errlen, "esendex sent messages: %s", e);
			r = SMS_TEMPORARY;
			goto fail;
		}
		response_done(&resp);
		for (size_t i = 0; i < page.n; i++) {
			struct esendex_header *h = &page.headers[i];
			struct unread u;
			int keep = 1;

			older |= h->submitted_at && h->submitted_at < since;
			if (!h->id || h->inbound || !h->to || !want || strcmp(h->to, want) != 0 ||
			    (h->submitted_at && h->submitted_at < since))
				continue;
			if (h->summary && strncmp(text, h->summary, strlen(h->summary)) != 0)
				continue;
			memset(&u, 0, sizeof u);
			u.t.id = h->id;
			r = fetch_body(g, &u, &keep, err, errlen);
			if (r != SMS_OK)
				goto fail;
			if (!keep || !u.t.body)
				continue;
			all = xrealloc(all, (count + 1) * sizeof *all);
			memset(&all[count], 0, sizeof *all);
			all[count].id = h->id;
			all[count].from = h->from;
			all[count].to = h->to;
			all[count].body = u.t.body;
			all[count].received_at = h->submitted_at ? h->submitted_at : since;
			h->id = h->from = h->to = NULL;
			count++;
		}
		more = esendex_next_page(&page, start, asked, &next);
		esendex_page_free(&page);
		if (!more || older)
			break;
		start = next;
	}
	*texts = all;
	*n = count;
	return SMS_OK;
fail:
	esendex_page_free(&page);
	response_done(&resp);
	sms_texts_free(all, count);
	return r;
}

const struct sms_provider sms_esendex = {
	.name = "esendex",
	.fetch = esendex_fetch,
	.acknowledge = esendex_acknowledge,
	.send = esendex_send,
	.status = esendex_status,
	.check = esendex_check,
	.list_sent = esendex_list_sent,
};
