/* mime.c: inbound email to plain data with libetpan's parsers. */
#include "mime.h"

#include <libetpan/libetpan.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "address.h"
#include "html.h"
#include "util.h"

static void lower(char *s)
{
	for (; s && *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Header text loses every control character (a folded header's CRLF, a NUL
 * smuggled into an encoded-word) so that it can never forge a line. */
static char *strip_controls(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		unsigned char c = (unsigned char)*r;
		if (c < 0x20 || c == 0x7f) {
			if (w > s && w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = (char)c;
	}
	*w = '\0';
	return str_trim(s);
}

char *mime_to_utf8(const char *charset, const char *data, size_t len)
{
	char *conv = NULL;
	size_t clen = 0;

	if (!charset || !*charset || !strcasecmp(charset, "us-ascii") || !strcasecmp(charset, "utf-8") ||
	    !strcasecmp(charset, "utf8"))
		return utf8_sanitize(data, len);
	if (charconv_buffer("utf-8", charset, data, len, &conv, &clen) == MAIL_CHARCONV_NO_ERROR) {
		char *s = utf8_sanitize(conv, clen);
		charconv_buffer_free(conv);
		return s;
	}
	/* Unknown label: Windows-1252 is what mislabelled mail nearly always is. */
	if (charconv_buffer("utf-8", "windows-1252", data, len, &conv, &clen) == MAIL_CHARCONV_NO_ERROR) {
		char *s = utf8_sanitize(conv, clen);
		charconv_buffer_free(conv);
		return s;
	}
	return utf8_sanitize(data, len);
}

/* What libetpan makes of a value of printable ASCII, spaces, tabs and proper
 * folds with no encoded-word: its words joined by single spaces. Most header lines
 * (Received, DKIM-Signature) are such, and the full parse with charset
 * conversion was a tenth of taking in a message. NULL when it does not apply. */
static char *plain_header(const char *value)
{
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c < 0x20 && c != '\t' && c != '\r') || c > 0x7e || (c == '=' && p[1] == '?'))
			return NULL;
		if (c == '\r') {
			/* only a proper fold: CRLF, white space, then more than white
			 * space (libetpan refuses an empty continuation line) */
			if (p[1] != '\n' || (p[2] != ' ' && p[2] != '\t'))
				return NULL;
			const char *q = p + 2;
			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '\r')
				return NULL;
			p = q - 1;
		}
	}
	char *out = xmalloc(strlen(value) + 1), *o = out;
	for (const char *p = value; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (o != out)
			*o++ = ' ';
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

char *mime_decode_header(const char *value)
{
	size_t idx = 0;
	char *out = NULL;

	if (!value)
		return xstrdup("");
	if ((out = plain_header(value)) != NULL)
		return out;
	/* libetpan stops at a malformed encoded-word and still reports success:
	 * only a parse that consumed the whole value is trusted, else the raw text. */
	if (mailmime_encoded_phrase_parse("windows-1252", value, strlen(value), &idx, "utf-8", &out) == MAILIMF_NO_ERROR &&
	    out && idx >= strlen(value)) {
		char *s = utf8_sanitize(out, strlen(out));
		free(out);
		return strip_controls(s);
	}
	free(out);
	return strip_controls(mime_to_utf8("windows-1252", value, strlen(value)));
}

static void add_string(char ***list, size_t *n, const char *s)
{
	if (!s || !*s || *n >= MAIL_MAX_ADDRESSES)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0)
			return;
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = xstrdup(s);
}

static void add_mailbox(struct mail *m, struct mailimf_mailbox *mb)
{
	if (!mb || !mb->mb_addr_spec)
		return;
	char *a = utf8_sanitize(mb->mb_addr_spec, strlen(mb->mb_addr_spec));
	strip_controls(a);
	lower(a);
	add_string(&m->recipients, &m->nrecipients, a);
	free(a);
}

static void add_address_list(struct mail *m, struct mailimf_address_list *al)
{
	if (!al)
		return;
	for (clistiter *it = clist_begin(al->ad_list); it; it = clist_next(it)) {
		struct mailimf_address *a = clist_content(it);
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX)
			add_mailbox(m, a->ad_data.ad_mailbox);
		else if (a->ad_type == MAILIMF_ADDRESS_GROUP && a->ad_data.ad_group->grp_mb_list)
			for (clistiter *g = clist_begin(a->ad_data.ad_group->grp_mb_list->mb_list); g; g = clist_next(g))
				add_mailbox(m, clist_content(g));
	}
}

static void add_ids(struct mail *m, clist *ids)
{
	for (clistiter *it = ids ? clist_begin(ids) : NULL; it; it = clist_next(it)) {
		const char *v = it->data;
		if (!v)
			continue;
		char *id = utf8_sanitize(v, strlen(v));
		strip_controls(id);
		add_string(&m->references, &m->nreferences, id);
		free(id);
	}
}

static long long date_to_unix(const struct mailimf_date_time *d)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (d->dt_year < 1970 || d->dt_year > 9999 || d->dt_month < 1 || d->dt_month > 12)
		return 0;
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	long long t = (long long)timegm(&tm);
	int z = d->dt_zone, sign = z < 0 ? -1 : 1;
	z = abs(z);
	return t - sign * ((z / 100) * 3600 + (z % 100) * 60);
}

static void add_field(struct mail *m, const char *name, const char *value)
{
	if (m->nfields >= MAIL_MAX_FIELDS)
		return;
	m->fields = xrealloc(m->fields, (m->nfields + 1) * sizeof *m->fields);
	char *n = utf8_sanitize(name, strlen(name));
	m->fields[m->nfields].name = strip_controls(n);
	m->fields[m->nfields].value = mime_decode_header(value);
	m->nfields++;
}

static void read_headers(struct mail *m, struct mailimf_fields *fields)
{
	clist *in_reply_to = NULL;

	for (clistiter *it = clist_begin(fields->fld_list); it; it = clist_next(it)) {
		struct mailimf_field *f = clist_content(it);
		switch (f->fld_type) {
		case MAILIMF_FIELD_RETURN_PATH:
			if (!m->return_path) {
				const char *a = f->fld_data.fld_return_path->ret_path->pt_addr_spec;
				m->return_path = a ? utf8_sanitize(a, strlen(a)) : xstrdup("");
				strip_controls(m->return_path);
				lower(m->return_path);
			}
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (!m->date)
				m->date = date_to_unix(f->fld_data.fld_orig_date->dt_date_time);
			break;
		case MAILIMF_FIELD_FROM:
			if (!m->from_address && f->fld_data.fld_from->frm_mb_list) {
				clist *l = f->fld_data.fld_from->frm_mb_list->mb_list;
				struct mailimf_mailbox *mb = clist_begin(l) ? clist_content(clist_begin(l)) : NULL;
				if (mb && mb->mb_addr_spec) {
					m->from_address = utf8_sanitize(mb->mb_addr_spec, strlen(mb->mb_addr_spec));
					strip_controls(m->from_address);
					lower(m->from_address);
					if (mb->mb_display_name)
						m->from_name = mime_decode_header(mb->mb_display_name);
				}
			}
			break;
		case MAILIMF_FIELD_TO:
			add_address_list(m, f->fld_data.fld_to->to_addr_list);
			break;
		case MAILIMF_FIELD_CC:
			add_address_list(m, f->fld_data.fld_cc->cc_addr_list);
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (!m->message_id && f->fld_data.fld_message_id->mid_value) {
				const char *v = f->fld_data.fld_message_id->mid_value;
				m->message_id = utf8_sanitize(v, strlen(v));
				strip_controls(m->message_id);
			}
			break;
		case MAILIMF_FIELD_IN_REPLY_TO:
			if (!in_reply_to)
				in_reply_to = f->fld_data.fld_in_reply_to->mid_list;
			break;
		case MAILIMF_FIELD_REFERENCES:
			add_ids(m, f->fld_data.fld_references->mid_list);
			break;
		case MAILIMF_FIELD_SUBJECT:
			if (!m->subject && f->fld_data.fld_subject->sbj_value) {
				m->subject = mime_decode_header(f->fld_data.fld_subject->sbj_value);
				add_field(m, "Subject", f->fld_data.fld_subject->sbj_value);
			}
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD: {
			struct mailimf_optional_field *o = f->fld_data.fld_optional_field;
			add_field(m, o->fld_name, o->fld_value);
			if (!strcasecmp(o->fld_name, "Delivered-To") || !strcasecmp(o->fld_name, "X-Original-To") ||
			    !strcasecmp(o->fld_name, "Envelope-To")) {
				char *v = mime_decode_header(o->fld_value);
				char *a = v, *lt = strchr(v, '<'), *gt;
				if (lt && (gt = strchr(lt, '>'))) {
					*gt = '\0';
					a = lt + 1;
				}
				lower(a);
				add_string(&m->recipients, &m->nrecipients, str_trim(a));
				free(v);
			}
			break;
		}
		default:
			break;
		}
	}
	if (in_reply_to) {
		clistiter *first = clist_begin(in_reply_to);
		if (first) {
			const char *v = clist_content(first);
			m->in_reply_to = utf8_sanitize(v, strlen(v));
			strip_controls(m->in_reply_to);
		}
		add_ids(m, in_reply_to);
	}
}

/* ---- body ---------------------------------------------------------------- */

/* The text of a message is its text parts in order, each shown as an email
 * program shows it: a part of a multipart/alternative is one version of the
 * same words, so only one counts (the first plain text that says anything,
 * else the first HTML); every other text part is more of the message. */
struct body_walk {
	struct mail *m;
	const struct mail_limits *lim;
	int *parts;      /* MIME parts seen, the whole message's */
	struct buf text; /* the text parts so far, HTML converted */
	int from_html;   /* some of text was HTML */
	int defer_html;  /* within an alternative: HTML is kept aside, converted only if chosen */
	char *html;      /* owned: with defer_html, the first HTML part, not converted */
};

static char *type_name(struct mailmime_content *ct)
{
	const char *major = "application";
	if (!ct || !ct->ct_type)
		return xstrdup("text/plain");
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		switch (ct->ct_type->tp_data.tp_discrete_type->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT:
			major = "text";
			break;
		case MAILMIME_DISCRETE_TYPE_IMAGE:
			major = "image";
			break;
		case MAILMIME_DISCRETE_TYPE_AUDIO:
			major = "audio";
			break;
		case MAILMIME_DISCRETE_TYPE_VIDEO:
			major = "video";
			break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			major = ct->ct_type->tp_data.tp_discrete_type->dt_extension;
			break;
		default:
			break;
		}
	} else if (ct->ct_type->tp_data.tp_composite_type) {
		switch (ct->ct_type->tp_data.tp_composite_type->ct_type) {
		case MAILMIME_COMPOSITE_TYPE_MESSAGE:
			major = "message";
			break;
		case MAILMIME_COMPOSITE_TYPE_MULTIPART:
			major = "multipart";
			break;
		case MAILMIME_COMPOSITE_TYPE_EXTENSION:
			major = ct->ct_type->tp_data.tp_composite_type->ct_token;
			break;
		default:
			break;
		}
	}
	char *s = xasprintf("%s/%s", major ? major : "application", ct->ct_subtype ? ct->ct_subtype : "octet-stream");
	lower(s);
	char *clean = utf8_sanitize(s, strlen(s));
	free(s);
	return strip_controls(clean);
}

/* Whether a part is an attachment, and its file name (owned, NULL when
 * none). Only a disposition of "attachment" makes one of a text part: a text
 * part marked inline, or not marked, is shown as text by Thunderbird, Apple
 * Mail and Gmail, and a file name does not change that (Apple Mail names the
 * text files it shows inline, and some programs name every part). Its words
 * are the young person's, and attachments are not forwarded: listed as one,
 * an adviser would never read them. */
static int part_is_attachment(struct mailmime *mime, char **filename)
{
	int attachment = 0;
	*filename = NULL;
	if (mime->mm_mime_fields) {
		for (clistiter *it = clist_begin(mime->mm_mime_fields->fld_list); it; it = clist_next(it)) {
			struct mailmime_field *f = clist_content(it);
			if (f->fld_type != MAILMIME_FIELD_DISPOSITION || !f->fld_data.fld_disposition)
				continue;
			struct mailmime_disposition *d = f->fld_data.fld_disposition;
			if (d->dsp_type && d->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
				attachment = 1;
			for (clistiter *p = d->dsp_parms ? clist_begin(d->dsp_parms) : NULL; p; p = clist_next(p)) {
				struct mailmime_disposition_parm *parm = clist_content(p);
				if (parm->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME && !*filename)
					*filename = mime_decode_header(parm->pa_data.pa_filename);
			}
		}
	}
	if (!*filename && mime->mm_content_type) {
		char *name = mailmime_content_param_get(mime->mm_content_type, "name");
		if (name)
			*filename = mime_decode_header(name);
	}
	return attachment;
}

/* Adds a part's text after what came before, a blank line between. */
static void add_text(struct body_walk *w, const char *text, int from_html)
{
	if (str_is_blank(text))
		return;
	if (w->text.len) {
		const char *nl = strstr(buf_str(&w->text), "\r\n") ? "\r\n" : "\n";
		if (w->text.data[w->text.len - 1] != '\n')
			buf_adds(&w->text, nl);
		buf_adds(&w->text, nl);
	}
	buf_adds(&w->text, text);
	if (from_html)
		w->from_html = 1;
}

/* Converts HTML to text and adds it. */
static void add_html(struct body_walk *w, const char *html)
{
	char *text = html_to_text(html, strlen(html));
	add_text(w, text, 1);
	free(text);
}

static int decode_part(struct mailmime *mime, char **out, size_t *outlen)
{
	struct mailmime_data *data = mime->mm_data.mm_single;
	size_t idx = 0;
	char *res = NULL;
	size_t rlen = 0;

	if (!data || data->dt_type != MAILMIME_DATA_TEXT)
		return -1;
	if (mailmime_part_parse(data->dt_data.dt_text.dt_data, data->dt_data.dt_text.dt_length, &idx, data->dt_encoding,
	                        &res, &rlen) != MAILIMF_NO_ERROR)
		return -1;
	*out = xmalloc(rlen + 1);
	memcpy(*out, res, rlen);
	(*out)[rlen] = '\0';
	*outlen = rlen;
	mmap_string_unref(res);
	return 0;
}

/* What an attachment's part decodes to, in bytes, without decoding it: only
 * its size is shown. Counted as libetpan's decoder would give it (test_mime
 * compares the two): base64, the usual case, is three bytes for every four
 * letters of its alphabet, anything else skipped, and a last one to three
 * letters one, one and two bytes; 7bit, 8bit and binary are as they stand.
 * Any other encoding is decoded. -1 when the part holds no text. */
static long long attachment_size(struct mailmime *mime)
{
	struct mailmime_data *data = mime->mm_data.mm_single;

	if (!data || data->dt_type != MAILMIME_DATA_TEXT)
		return -1;
	const unsigned char *p = (const unsigned char *)data->dt_data.dt_text.dt_data;
	size_t len = data->dt_data.dt_text.dt_length;
	switch (data->dt_encoding) {
	case MAILMIME_MECHANISM_BASE64: {
		size_t n = 0;
		for (size_t i = 0; i < len; i++)
			n += (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
			     p[i] == '+' || p[i] == '/';
		return (long long)(n / 4 * 3 + (n % 4 == 3 ? 2 : n % 4 ? 1 : 0));
	}
	case MAILMIME_MECHANISM_7BIT:
	case MAILMIME_MECHANISM_8BIT:
	case MAILMIME_MECHANISM_BINARY:
		return (long long)len;
	default: {
		char *out = NULL;
		size_t outlen = 0;
		if (decode_part(mime, &out, &outlen) < 0)
			return -1;
		free(out);
		return (long long)outlen;
	}
	}
}

static void add_attachment(struct mail *m, const char *filename, const char *type, size_t size)
{
	m->attachments = xrealloc(m->attachments, (m->nattachments + 1) * sizeof *m->attachments);
	m->attachments[m->nattachments].filename = xstrdup(filename ? filename : "");
	m->attachments[m->nattachments].content_type = xstrdup(type);
	m->attachments[m->nattachments].size = size;
	m->nattachments++;
}

static void walk_part(struct body_walk *w, struct mailmime *mime, int depth)
{
	if (!mime)
		return;
	if (depth > w->lim->max_depth) {
		if (!w->m->cut)
			w->m->cut = xasprintf("its MIME parts nest deeper than %d levels; the deeper ones were not read",
			                      w->lim->max_depth);
		return;
	}
	if (++*w->parts > w->lim->max_parts) {
		if (!w->m->cut)
			w->m->cut = xasprintf("it has more than %d MIME parts; only the first %d were read",
			                      w->lim->max_parts, w->lim->max_parts);
		return;
	}
	switch (mime->mm_type) {
	case MAILMIME_MULTIPLE: {
		const char *sub = mime->mm_content_type ? mime->mm_content_type->ct_subtype : NULL;
		if (!sub || strcasecmp(sub, "alternative")) {
			for (clistiter *it = clist_begin(mime->mm_data.mm_multipart.mm_mp_list); it; it = clist_next(it))
				walk_part(w, clist_content(it), depth + 1);
			return;
		}
		/* Versions of the same words: the first in plain text, else the
		 * first in HTML, converted only then (it costs a parse). */
		struct body_walk best = { w->m, w->lim, w->parts, { 0 }, 0, 1, NULL };
		char *html = NULL;
		for (clistiter *it = clist_begin(mime->mm_data.mm_multipart.mm_mp_list); it; it = clist_next(it)) {
			struct body_walk alt = { w->m, w->lim, w->parts, { 0 }, 0, 1, NULL };
			walk_part(&alt, clist_content(it), depth + 1);
			if (alt.text.len && (!best.text.len || (best.from_html && !alt.from_html))) {
				buf_free(&best.text);
				best.text = alt.text;
				best.from_html = alt.from_html;
			} else {
				buf_free(&alt.text);
			}
			if (!html)
				html = alt.html;
			else
				free(alt.html);
		}
		if (best.text.len && !best.from_html)
			add_text(w, buf_str(&best.text), 0);
		else if (html)
			add_html(w, html);
		else
			add_text(w, buf_str(&best.text), best.from_html);
		buf_free(&best.text);
		free(html);
		return;
	}
	case MAILMIME_MESSAGE:
		/* A forwarded email inside: recorded, not forwarded. */
		add_attachment(w->m, "forwarded message", "message/rfc822", mime->mm_length);
		return;
	case MAILMIME_SINGLE: {
		char *type = type_name(mime->mm_content_type);
		char *filename = NULL;
		int attachment = part_is_attachment(mime, &filename);
		int is_plain = !strcmp(type, "text/plain"), is_html = !strcmp(type, "text/html");

		if (!attachment && (is_plain || is_html)) {
			const char *cs = mime->mm_content_type ? mailmime_content_charset_get(mime->mm_content_type) : NULL;
			char *data = NULL;
			size_t len = 0;
			char *text = decode_part(mime, &data, &len) == 0 ? mime_to_utf8(cs, data, len) : xstrdup("");
			free(data);
			if (is_html && w->defer_html && !w->html)
				w->html = text;
			else if (is_html && !w->defer_html)
				add_html(w, text);
			else if (is_plain)
				add_text(w, text, 0);
			if (text != w->html)
				free(text);
		} else {
			long long size = attachment_size(mime);
			add_attachment(w->m, filename, type, size >= 0 ? (size_t)size : mime->mm_length);
		}
		free(filename);
		free(type);
		return;
	}
	default:
		return;
	}
}

/* Where the body starts: after the first empty line (CRLF or LF), or len. */
static size_t body_offset(const char *raw, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (raw[i] != '\n')
			continue;
		if (raw[i + 1] == '\n')
			return i + 2;
		if (raw[i + 1] == '\r' && i + 2 < len && raw[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* True when a line of body starts "--" boundary. Linear in len. */
static int boundary_used(const char *body, size_t len, const char *boundary)
{
	size_t b = strlen(boundary);
	for (size_t i = 0; i + 2 + b <= len; i++) {
		if ((i == 0 || body[i - 1] == '\n') && body[i] == '-' && body[i + 1] == '-' &&
		    !memcmp(body + i + 2, boundary, b))
			return 1;
	}
	return 0;
}

static int str_is_blank_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static void keep_raw(struct mail *m, const char *raw, size_t len, const char *why)
{
	free(m->parse_error);
	m->parse_error = why ? xstrdup(why) : NULL;
	free(m->text);
	m->text = utf8_sanitize(raw, len);
	m->text_from_html = 0;
}

/* An upper bound on the multipart and message parts a message declares: its
 * lines that start "Content-Type" with a value that is not plainly a leaf
 * (text, image, audio, video, application). Folded, commented or odd values
 * count, and so do such lines in a body: the bound errs high, never low.
 * libetpan parses nesting by recursion with no limit of its own, and a
 * multipart/digest part is a message by default, so nesting is at most
 * twice this plus two. */
static int declared_containers(const char *raw, size_t len)
{
	static const char *const leaves[] = { "text/", "image/", "audio/", "video/", "application/" };
	const char *p = raw, *end = raw + len;
	int n = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		if (eol - p >= 12 && !strncasecmp(p, "content-type", 12)) {
			const char *q = p + 12;
			int leaf = 0;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			if (q < eol && *q == ':') {
				q++;
				while (q < eol && (*q == ' ' || *q == '\t'))
					q++;
				for (size_t i = 0; i < sizeof leaves / sizeof leaves[0] && !leaf; i++) {
					size_t k = strlen(leaves[i]);
					leaf = (size_t)(eol - q) >= k && !strncasecmp(q, leaves[i], k);
				}
			}
			if (!leaf && n < INT_MAX)
				n++;
		}
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* libetpan 1.9.4 leaks the address of a Return-Path whose '<' is not closed
 * by '>' (mailimf_path_parse drops it on that error path): a hostile sender
 * could leak a megabyte with every message. Every '<' in a Return-Path of the
 * top header block that is not followed, within its line, by '>' before any
 * other character that ends an address is read as a space, so that libetpan
 * keeps the field as an unparsed one, as it would have anyway. Returns an
 * owned copy of raw when anything changed, else NULL. Linear time. */
static char *defuse_return_path(const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;
	char *copy = NULL;
	int in_field = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		if (eol == p || (eol - p == 1 && *p == '\r'))
			break; /* the end of the header block */
		if (*p != ' ' && *p != '\t')
			in_field = eol - p >= 11 && !strncasecmp(p, "return-path", 11);
		if (in_field) {
			char next = 0; /* the first address-ending character after q in this line */
			for (const char *q = eol; q-- > p;) {
				if (*q == '<' && next != '>') {
					if (!copy) {
						copy = xmalloc(len);
						memcpy(copy, raw, len);
					}
					copy[q - raw] = ' ';
				}
				if (memchr(">,\r():;", *q, 7))
					next = *q;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return copy;
}

/* The top-level type from the Content-Type header alone. Owned. */
static char *header_type(const struct mail *m)
{
	const char *v = mail_field_get(m, "Content-Type");
	struct mailmime_content *ct = NULL;
	size_t idx = 0;
	char *type;

	if (!v || mailmime_content_parse(v, strlen(v), &idx, &ct) != MAILIMF_NO_ERROR || !ct)
		return xstrdup("text/plain");
	type = type_name(ct);
	mailmime_content_free(ct);
	return type;
}

int mail_parse(const char *raw, size_t len, const struct mail_limits *lim, struct mail *m)
{
	static const struct mail_limits defaults = { MAIL_MAX_DEPTH, MAIL_MAX_PARTS, 0 };
	struct mailimf_fields *fields = NULL;
	struct mailmime *mime = NULL;
	size_t idx = 0;

	memset(m, 0, sizeof *m);
	if (!lim)
		lim = &defaults;
	if (lim->max_size && len > lim->max_size) {
		len = lim->max_size;
		m->cut = lim->max_size % 1024 ? xasprintf("it is larger than %zu bytes; only the first %zu were read",
		                                          lim->max_size, lim->max_size)
		                              : xasprintf("it is larger than %zu KiB; only the first %zu KiB were read",
		                                          lim->max_size / 1024, lim->max_size / 1024);
	}
	char *defused = defuse_return_path(raw, len);
	int r = mailimf_fields_parse(defused ? defused : raw, len, &idx, &fields);
	if (r != MAILIMF_NO_ERROR || !fields) {
		free(defused);
		m->text = xstrdup("");
		keep_raw(m, raw, len, "headers could not be parsed");
		return -1;
	}
	read_headers(m, fields);
	mailimf_fields_free(fields);
	free(defused);
	/* libetpan drops the spaces of a quoted local part and cannot read an
	 * IPv6 literal: such a From is read again by address.c. */
	if (!m->from_address || strchr(m->from_address, '"')) {
		char *a = address_from_header_block(raw, len);
		if (a && address_usable(a)) {
			free(m->from_address);
			m->from_address = a;
			lower(a);
		} else {
			free(a);
		}
	}

	if (declared_containers(raw, len) > lim->max_parts) {
		free(m->cut);
		m->cut = xasprintf("it declares more than %d multipart or message parts; it is shown raw", lim->max_parts);
		m->content_type = header_type(m);
		keep_raw(m, raw, len, NULL);
		return 0;
	}
	idx = 0;
	if (mailmime_parse(raw, len, &idx, &mime) != MAILIMF_NO_ERROR || !mime) {
		m->text = xstrdup("");
		keep_raw(m, raw, len, "MIME structure could not be parsed");
		return -1;
	}
	struct mailmime *top = mime->mm_type == MAILMIME_MESSAGE ? mime->mm_data.mm_message.mm_msg_mime : mime;
	m->content_type = top ? type_name(top->mm_content_type) : xstrdup("text/plain");
	char *boundary = top && top->mm_type == MAILMIME_MULTIPLE && top->mm_content_type
	                         ? mailmime_extract_boundary(top->mm_content_type)
	                         : NULL; /* owned (libetpan's malloc) */
	int parts = 0;
	struct body_walk w = { m, lim, &parts, { 0 }, 0, 0, NULL };
	walk_part(&w, top, 0);
	mailmime_free(mime);
	m->text = buf_take(&w.text);
	m->text_from_html = w.from_html;
	/* Cut before any words were found: the raw message is what remains. */
	if (m->cut && str_is_blank(m->text)) {
		free(boundary);
		keep_raw(m, raw, len, NULL);
		return 0;
	}
	/* A multipart whose body never uses the boundary it declares has no
	 * parts to read: whatever libetpan makes of it, the words would not reach
	 * the advisers. Its body is shown raw instead, without the header block
	 * (which holds the contact). */
	if (boundary) {
		size_t body = body_offset(raw, len);
		int used = boundary_used(raw + body, len - body, boundary);
		free(boundary);
		if (!used && !str_is_blank_n(raw + body, len - body)) {
			keep_raw(m, raw + body, len - body,
			         "its parts do not use the boundary it declares; its body is shown as it came");
			return -1;
		}
	}
	return 0;
}

const char *mail_field_get(const struct mail *m, const char *name)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (strcasecmp(m->fields[i].name, name) == 0)
			return m->fields[i].value;
	return NULL;
}

void mail_free(struct mail *m)
{
	if (!m)
		return;
	free(m->message_id);
	free(m->in_reply_to);
	for (size_t i = 0; i < m->nreferences; i++)
		free(m->references[i]);
	free(m->references);
	free(m->from_address);
	free(m->from_name);
	for (size_t i = 0; i < m->nrecipients; i++)
		free(m->recipients[i]);
	free(m->recipients);
	free(m->subject);
	free(m->return_path);
	free(m->content_type);
	for (size_t i = 0; i < m->nfields; i++) {
		free(m->fields[i].name);
		free(m->fields[i].value);
	}
	free(m->fields);
	free(m->text);
	for (size_t i = 0; i < m->nattachments; i++) {
		free(m->attachments[i].filename);
		free(m->attachments[i].content_type);
	}
	free(m->attachments);
	free(m->parse_error);
	free(m->cut);
	memset(m, 0, sizeof *m);
}
