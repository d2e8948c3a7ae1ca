/* graph.c: sending through Microsoft Graph sendMail (see graph.h). */
#include "graph.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "address.h"
#include "http.h"
#include "jsonread.h"
#include "log.h"
#include "oauth.h"
#include "session.h"

#define DEFAULT_TIMEOUT 30
#define MAX_RETRY_AFTER 86400
#define TOKEN_MIN_VALID 300 /* seconds a session's token must still have */

/* ---- reading and writing the message ---------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_append(struct buf *out, const unsigned char *p, size_t n)
{
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64chars[(v >> 18) & 63];
		q[1] = b64chars[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64chars[v & 63] : '=';
		buf_add(out, q, 4);
	}
}

/* One mailbox's addr-spec as read so far. */
struct mailbox_tok {
	struct buf plain; /* outside <> and comments, white space dropped (quotes kept) */
	struct buf angle; /* inside <> */
	int has_angle;
};

static int tok_flush(struct mailbox_tok *t, char ***list, size_t *n)
{
	const struct buf *spec = t->has_angle ? &t->angle : &t->plain;
	int rc = 0;
	if (spec->len) {
		char *norm = NULL;
		if (address_normalise(buf_str(spec), &norm) != ADDRESS_OK) {
			rc = -1;
		} else {
			*list = xrealloc(*list, (*n + 1) * sizeof **list);
			(*list)[(*n)++] = norm;
		}
	}
	buf_reset(&t->plain);
	buf_reset(&t->angle);
	t->has_angle = 0;
	return rc;
}

int graph_address_list(const char *value, char ***list, size_t *n)
{
	struct mailbox_tok t = { .has_angle = 0 };
	int depth = 0, quoted = 0, in_angle = 0, rc = 0;

	buf_init(&t.plain);
	buf_init(&t.angle);
	for (const char *p = value; *p && rc == 0; p++) {
		char c = *p;
		struct buf *to = in_angle ? &t.angle : &t.plain;
		if (quoted) {
			buf_addc(to, c);
			if (c == '\\' && p[1])
				buf_addc(to, *++p);
			else if (c == '"')
				quoted = 0;
			continue;
		}
		if (depth) { /* a comment, perhaps nested */
			if (c == '\\' && p[1])
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		switch (c) {
		case '(':
			depth = 1;
			break;
		case '"':
			quoted = 1;
			buf_addc(to, c);
			break;
		case '<':
			if (in_angle)
				rc = -1;
			in_angle = t.has_angle = 1;
			buf_reset(&t.angle);
			break;
		case '>':
			in_angle = 0;
			break;
		case ':': /* a group's name, or a route in <>: what follows is the address */
			if (in_angle)
				buf_reset(&t.angle);
			else
				buf_reset(&t.plain);
			break;
		case ',':
		case ';':
			if (in_angle)
				rc = -1;
			else
				rc = tok_flush(&t, list, n);
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		default:
			buf_addc(to, c);
			break;
		}
	}
	if (rc == 0 && (quoted || depth || in_angle))
		rc = -1;
	if (rc == 0)
		rc = tok_flush(&t, list, n);
	buf_free(&t.plain);
	buf_free(&t.angle);
	return rc;
}

/* The header recipients (To and Cc fields, unfolded) of the header block
 * data[0..hlen). 0 or -1. */
static int header_recipients(const char *data, size_t hlen, char ***list, size_t *n)
{
	size_t i = 0;
	while (i < hlen) {
		size_t end = i;
		/* the field runs until a line that does not start with white space */
		for (;;) {
			const char *nl = memchr(data + end, '\n', hlen - end);
			end = nl ? (size_t)(nl - data) + 1 : hlen;
			if (end >= hlen || (data[end] != ' ' && data[end] != '\t'))
				break;
		}
		int to = end - i > 3 && str_ncasecmp_ascii(data + i, "to:", 3) == 0;
		int cc = end - i > 3 && str_ncasecmp_ascii(data + i, "cc:", 3) == 0;
		if (to || cc) {
			char *value = xstrndup(data + i + 3, end - i - 3);
			int rc = graph_address_list(value, list, n);
			free(value);
			if (rc < 0)
				return -1;
		}
		i = end;
	}
	return 0;
}

static int in_list(char *const *list, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (str_casecmp_ascii(list[i], addr) == 0)
			return 1;
	return 0;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int graph_mime(const struct smtp_outgoing *o, struct buf *out, char *err, size_t errlen)
{
	const char *data = o->data;
	size_t len = o->len, hlen = 0;
	char **hdr = NULL, **bcc = NULL;
	size_t nhdr = 0, nbcc = 0;
	int rc = -1;

	for (size_t i = 0; i + 3 < len; i++) {
		if (!memcmp(data + i, "\r\n\r\n", 4)) {
			hlen = i + 2;
			break;
		}
	}
	if (hlen == 0) {
		snprintf(err, errlen, "the message has no header block");
		return -1;
	}
	if (header_recipients(data, hlen, &hdr, &nhdr) < 0) {
		snprintf(err, errlen, "its To or Cc header cannot be read, so Graph's recipients are not known");
		goto out;
	}
	for (size_t i = 0; i < nhdr; i++) {
		if (!in_list((char *const *)o->rcpt, o->nrcpt, hdr[i])) {
			snprintf(err, errlen,
			         "its To or Cc header names a recipient (%zu of %zu) that its envelope does not; "
			         "Graph sends to every header recipient, so it is not sent",
			         i + 1, nhdr);
			goto out;
		}
	}
	for (size_t i = 0; i < o->nrcpt; i++) {
		if (in_list(hdr, nhdr, o->rcpt[i]) || in_list(bcc, nbcc, o->rcpt[i]))
			continue;
		bcc = xrealloc(bcc, (nbcc + 1) * sizeof *bcc);
		bcc[nbcc++] = xstrdup(o->rcpt[i]);
	}
	if (nhdr + nbcc == 0) {
		snprintf(err, errlen, "the message has no recipient");
		goto out;
	}
	struct buf mime;
	buf_init(&mime);
	if (nbcc) {
		/* one address a line: no line can reach 998 octets */
		buf_adds(&mime, "Bcc:");
		for (size_t i = 0; i < nbcc; i++)
			buf_printf(&mime, " %s%s\r\n", bcc[i], i + 1 < nbcc ? "," : "");
	}
	size_t total = mime.len + len;
	if ((total + 2) / 3 * 4 > GRAPH_MAX_REQUEST) {
		snprintf(err, errlen, "the message is %zu bytes: over Graph's 4 MB request limit once in base64", total);
		buf_free(&mime);
		goto out;
	}
	buf_add(&mime, data, len);
	base64_append(out, (const unsigned char *)mime.data, mime.len);
	buf_free(&mime);
	rc = 0;
out:
	free_list(hdr, nhdr);
	free_list(bcc, nbcc);
	return rc;
}

/* ---- judging an answer ------------------------------------------------------- */

/* Graph's message, made safe for a log line: one line, at most 160
 * characters, controls dropped, every word containing '@' replaced. */
static void scrub(const char *in, char *out, size_t outlen)
{
	struct buf b;
	buf_init(&b);
	const char *p = in ? in : "";
	while (*p && b.len < 160) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			if (b.len && b.data[b.len - 1] != ' ')
				buf_addc(&b, ' ');
			p++;
			continue;
		}
		size_t w = 0;
		while (p[w] && (unsigned char)p[w] > ' ' && p[w] != 0x7f)
			w++;
		if (memchr(p, '@', w))
			buf_adds(&b, "<address>");
		else
			buf_add(&b, p, w);
		p += w;
	}
	snprintf(out, outlen, "%s", str_trim((char *)buf_str(&b)));
	buf_free(&b);
}

static int parse_retry_after(const char *h, long long now)
{
	if (!h || !*h)
		return 0;
	long long secs;
	if (strspn(h, "0123456789") == strlen(h)) {
		secs = strlen(h) > 6 ? MAX_RETRY_AFTER : atoll(h);
	} else {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		const char *end = strptime(h, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (!end || *end)
			return 0;
		secs = (long long)timegm(&tm) - now;
	}
	if (secs < 0)
		secs = 0;
	return (int)(secs > MAX_RETRY_AFTER ? MAX_RETRY_AFTER : secs);
}

enum graph_verdict graph_judge(long status, const char *body, size_t len, const char *retry_after_header, long long now,
                               int *retry_after, char *detail, size_t detaillen)
{
	char code[80] = "", text[200] = "", what[320];
	*retry_after = 0;
	detail[0] = '\0';
	if (status == 202)
		return GRAPH_SENT;
	if (body && len) {
		char jerr[64];
		struct json_object *j = jsonread_parse(body, len, jerr, sizeof jerr), *e = NULL;
		if (j && json_object_object_get_ex(j, "error", &e) && json_object_is_type(e, json_type_object)) {
			scrub(jsonread_str(e, "code", NULL), code, sizeof code);
			scrub(jsonread_str(e, "message", NULL), text, sizeof text);
		}
		json_object_put(j);
	}
	snprintf(what, sizeof what, "Graph: HTTP %ld%s%s%s%s", status, code[0] ? " " : "", code, text[0] ? ": " : "", text);
	if (status >= 200 && status < 300) {
		snprintf(detail, detaillen, "Graph: HTTP %ld instead of 202 Accepted: not known to be sent", status);
		return GRAPH_TEMPORARY;
	}
	if (status == 401) {
		snprintf(detail, detaillen, "%s", what);
		return GRAPH_TOKEN;
	}
	if (status == 403) {
		if (!strcmp(code, "ErrorSendAsDenied"))
			snprintf(detail, detaillen,
			         "%s; the From address ([smtp] from) must be the mailbox's own address or "
			         "one it may send as",
			         what);
		else
			snprintf(
				detail, detaillen,
				"%s; grant the app registration the application permission Mail.Send (with "
				"admin consent), and make the application access policy include this mailbox (Exchange "
				"Online PowerShell: New-ApplicationAccessPolicy -AccessRight RestrictAccess -AppId CLIENT_ID "
				"-PolicyScopeGroupId GROUP_WITH_THE_MAILBOX; check with Test-ApplicationAccessPolicy)",
				what);
		return GRAPH_REFUSED;
	}
	if (status == 404) {
		snprintf(detail, detaillen,
		         "%s; Graph has no such mailbox: set [smtp] username to the mailbox's user "
		         "principal name",
		         what);
		return GRAPH_REFUSED;
	}
	if (status == 408 || status == 429 || status >= 500 || status < 400) {
		*retry_after = parse_retry_after(retry_after_header, now);
		if (*retry_after)
			snprintf(detail, detaillen, "%s (asked to wait %d s)", what, *retry_after);
		else
			snprintf(detail, detaillen, "%s", what);
		return GRAPH_TEMPORARY;
	}
	snprintf(detail, detaillen, "%s", what);
	return GRAPH_PERMANENT;
}

/* ---- the session in a child process (session.h) ------------------------------
 *
 * As smtp.c's: the requests run in a child, which writes each accepted
 * message's receipt and reports it; the parent takes the reports when it
 * likes, and never waits for Graph. */

/* The child's note to the parent (session_child_tell). */
enum { TOLD_TOKEN_REFUSED = 1 };

struct graph_session {
	const struct graph_settings *s; /* borrowed */
	struct smtp_outgoing *msgs;     /* borrowed */
	size_t *jobs;                   /* owned: the indexes offered */
	size_t njobs;
	char *token;          /* owned, wiped: the token the child starts with */
	struct session *core; /* owned: freed by session_end or session_abandon */
};

static void set_outcome(struct smtp_outgoing *o, enum smtp_outcome out, int retry_after, const char *detail)
{
	o->outcome = out;
	o->retry_after = retry_after;
	o->rcpt_accepted = out == SMTP_SENT ? o->nrcpt : 0;
	snprintf(o->detail, sizeof o->detail, "%.*s", (int)sizeof o->detail - 1, out == SMTP_SENT ? "" : detail);
}

/* http.c's words for a failure before the request could have gone out. */
static int nothing_sent(const char *err)
{
	static const char *const before[] = { "host name not found", "connection refused", "certificate",
		                              "TLS handshake",       "nothing was sent",   "must use https" };
	for (size_t i = 0; i < sizeof before / sizeof before[0]; i++)
		if (strstr(err, before[i]))
			return 1;
	return 0;
}

static char *send_path(const char *mailbox)
{
	char *m = http_urlencode(mailbox);
	char *path = xasprintf("/v1.0/users/%s/sendMail", m);
	free(m);
	return path;
}

static int open_http(const struct graph_settings *s, struct http **h, char *err, size_t errlen)
{
	struct http_settings hs = { .base_url = s->base_url,
		                    .ca_file = s->ca_file,
		                    .timeout = s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT,
		                    .max_body = 64 * 1024 };
	char herr[400];
	if (http_open(&hs, h, herr, sizeof herr) < 0) {
		snprintf(err, errlen, "Graph %s: %s", s->base_url, herr);
		return -1;
	}
	return 0;
}

/* In the child: every job, one request each, reported through c. */
static void child_run(struct session_child *c, void *arg)
{
	struct graph_session *gs = arg;
	const struct graph_settings *s = gs->s;
	struct http *h = NULL;
	char err[640], detail[640];
	char *path = send_path(s->mailbox);
	int renewed = 0, stop = 0, wait_for = 0;
	const char *stop_why = NULL;
	char why[300];

	if (open_http(s, &h, err, sizeof err) < 0) {
		session_child_failed(c, err);
		free(path);
		return;
	}
	http_set_bearer(h, gs->token);
	for (size_t k = 0; k < gs->njobs; k++) {
		size_t i = gs->jobs[k];
		struct smtp_outgoing *o = &gs->msgs[i];
		if (stop) {
			set_outcome(o, SMTP_TEMPORARY, wait_for, stop_why);
			session_child_outcome(c, i);
			continue;
		}
		struct buf body;
		buf_init(&body);
		if (graph_mime(o, &body, detail, sizeof detail) < 0) {
			set_outcome(o, SMTP_PERMANENT, 0, detail);
			session_child_outcome(c, i);
			buf_free(&body);
			continue;
		}
		for (;;) {
			struct http_response resp;
			char herr[400];
			if (http_request(h, "POST", path, "text/plain", body.data, body.len, &resp, herr, sizeof herr) < 0) {
				if (nothing_sent(herr)) {
					snprintf(err, sizeof err, "Graph: %s", herr);
					session_child_failed(c, err);
					stop = 2;
					break;
				}
				snprintf(detail, sizeof detail,
				         "Graph: %s; it may have been taken, so it is tried again (a "
				         "duplicate is possible)",
				         herr);
				set_outcome(o, SMTP_TEMPORARY, 0, detail);
				session_child_outcome(c, i);
				snprintf(why, sizeof why, "not offered: the request before it failed (%.200s)", herr);
				stop_why = why;
				stop = 1;
				break;
			}
			int ra = 0;
			long status = resp.status;
			enum graph_verdict v = graph_judge(status, resp.body, resp.len, resp.retry_after,
			                                   (long long)time(NULL), &ra, detail, sizeof detail);
			http_response_free(&resp);
			if (v == GRAPH_TOKEN && !renewed) {
				/* Forget it here and in the parent's source; ask once more. */
				const char *tok;
				renewed = 1;
				session_child_tell(c, TOLD_TOKEN_REFUSED);
				oauth_forget(s->oauth);
				tok = oauth_token(s->oauth, (long long)time(NULL), TOKEN_MIN_VALID, NULL, err, sizeof err);
				if (!tok) {
					snprintf(detail, sizeof detail,
					         "Graph refused the token (401) and no new one could be had: %.500s", err);
					session_child_failed(c, detail);
					stop = 2;
					break;
				}
				http_set_bearer(h, tok);
				continue;
			}
			if (v == GRAPH_TOKEN) {
				snprintf(err, sizeof err,
				         "%.400s, with a token just issued: check [oauth] tenant and client_id, and "
				         "that the token is for Microsoft Graph",
				         detail);
				session_child_failed(c, err);
				stop = 2;
			} else if (v == GRAPH_REFUSED) {
				session_child_failed(c, detail);
				stop = 2;
			} else if (v == GRAPH_SENT) {
				set_outcome(o, SMTP_SENT, 0, "");
				session_child_sent(c, i);
			} else {
				set_outcome(o, v == GRAPH_PERMANENT ? SMTP_PERMANENT : SMTP_TEMPORARY, ra, detail);
				session_child_outcome(c, i);
				if (v == GRAPH_TEMPORARY) {
					snprintf(why, sizeof why,
					         "not offered: Graph turned the one before it away (HTTP %ld)", status);
					stop_why = why;
					wait_for = ra;
					stop = 1;
				}
			}
			break;
		}
		explicit_bzero(body.data, body.len);
		buf_free(&body);
		if (stop == 2)
			break;
	}
	http_close(h);
	free(path);
}

/* Frees gs, not gs->core. */
static void graph_free(struct graph_session *gs)
{
	if (!gs)
		return;
	if (gs->token) {
		explicit_bzero(gs->token, strlen(gs->token));
		free(gs->token);
	}
	free(gs->jobs);
	free(gs);
}

/* The child's copy: its token wiped. */
static void child_exit(void *arg)
{
	graph_free(arg);
}

static void told(void *arg, int what)
{
	struct graph_session *gs = arg;
	if (what == TOLD_TOKEN_REFUSED)
		oauth_forget(gs->s->oauth); /* the next session asks for a new one */
}

static void child_broke(void *arg, int status, char *why, size_t whylen)
{
	const struct graph_session *gs = arg;
	snprintf(why, whylen, "Graph %s: the session %s; the messages it had not reported will be tried again",
	         gs->s->base_url,
	         WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "took too long and was cut off" : "broke off");
	log_warn("%s", why);
}

static const struct session_transport graph_transport = {
	.name = "Graph",
	.run = child_run,
	.child_exit = child_exit,
	.told = told,
	.broke = child_broke,
};

int graph_session_start(const struct graph_settings *s, struct smtp_outgoing *msgs, size_t n, int receipt_fd,
                        struct graph_session **out, char *err, size_t errlen)
{
	struct graph_session *gs = xcalloc(1, sizeof *gs);
	*out = NULL;
	gs->s = s;
	gs->msgs = msgs;
	gs->jobs = xcalloc(n ? n : 1, sizeof *gs->jobs);
	gs->core = session_new(msgs, n);
	if (!s->base_url || !s->mailbox || !s->oauth) {
		snprintf(err, errlen, "Graph: no URL, mailbox or token source is configured");
		goto fail;
	}
	/* What SMTP would refuse is refused here too, for good. */
	for (size_t i = 0; i < n; i++) {
		struct smtp_outgoing *o = &msgs[i];
		int eightbit, ok = o->nrcpt > 0 && o->rcpt != NULL;
		char detail[256];
		if (!ok)
			snprintf(detail, sizeof detail, "the message has no recipient");
		for (size_t k = 0; ok && k < o->nrcpt; k++)
			if (!smtp_address_ok(o->rcpt[k], 0)) {
				snprintf(detail, sizeof detail, "recipient %zu of %zu is not a usable address", k + 1,
				         o->nrcpt);
				ok = 0;
			}
		if (ok && smtp_message_check(o->data, o->len, &eightbit, detail, sizeof detail) < 0)
			ok = 0;
		if (ok)
			gs->jobs[gs->njobs++] = i;
		else
			set_outcome(o, SMTP_PERMANENT, 0, detail);
	}
	if (gs->njobs == 0) {
		*out = gs; /* over at once */
		return 0;
	}
	char terr[400];
	const char *tok = oauth_token(s->oauth, (long long)time(NULL), TOKEN_MIN_VALID, NULL, terr, sizeof terr);
	if (!tok) {
		snprintf(err, errlen, "Graph: no access token: %s", terr);
		goto fail;
	}
	gs->token = xstrdup(tok);
	int t = s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT;
	if (session_fork(gs->core, &graph_transport, gs, receipt_fd, (unsigned)(t * (4 + 2 * gs->njobs)), err, errlen) < 0)
		goto fail;
	*out = gs;
	return 0;
fail:
	session_abandon(gs->core, err);
	graph_free(gs);
	return -1;
}

int graph_session_take(struct graph_session *gs, int wait, smtp_sent_cb on_sent, void *arg)
{
	return session_take(gs->core, wait, on_sent, arg);
}

int graph_session_end(struct graph_session *gs, char *err, size_t errlen)
{
	if (!gs)
		return 0;
	int rc = session_end(gs->core, err, errlen);
	graph_free(gs);
	return rc;
}

int graph_send(const struct graph_settings *s, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen)
{
	struct graph_session *gs;
	if (graph_session_start(s, msgs, n, -1, &gs, err, errlen) < 0)
		return -1;
	return graph_session_end(gs, err, errlen);
}

int graph_check(const struct graph_settings *s, char *err, size_t errlen)
{
	/* '*' is not in base64's alphabet: this body can never be a message. */
	static const char probe[] = "*relay-check*";
	struct http *h = NULL;
	struct http_response resp;
	char terr[400], herr[400], detail[512];
	int rc = -1, ra;

	if (!s->base_url || !s->mailbox || !s->oauth) {
		snprintf(err, errlen, "Graph: no URL, mailbox or token source is configured");
		return -1;
	}
	const char *tok = oauth_token(s->oauth, (long long)time(NULL), 60, NULL, terr, sizeof terr);
	if (!tok) {
		snprintf(err, errlen, "no access token for Graph: %s", terr);
		return -1;
	}
	if (open_http(s, &h, err, errlen) < 0)
		return -1;
	http_set_bearer(h, tok);
	char *path = send_path(s->mailbox);
	if (http_request(h, "POST", path, "text/plain", probe, sizeof probe - 1, &resp, herr, sizeof herr) < 0) {
		snprintf(err, errlen, "Graph: %s", herr);
		goto out;
	}
	enum graph_verdict v = graph_judge(resp.status, resp.body, resp.len, resp.retry_after, (long long)time(NULL), &ra,
	                                   detail, sizeof detail);
	if (resp.status == 400 || v == GRAPH_SENT) {
		rc = 0;
	} else if (v == GRAPH_TOKEN) {
		oauth_forget(s->oauth);
		snprintf(err, errlen,
		         "%s: Graph refused a token just issued; check [oauth] tenant and client_id, and that "
		         "the app registration has the application permission Mail.Send with admin consent",
		         detail);
	} else {
		snprintf(err, errlen, "%s", detail);
	}
	http_response_free(&resp);
out:
	free(path);
	http_close(h);
	return rc;
}
