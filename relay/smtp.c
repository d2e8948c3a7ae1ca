/* smtp.c: one SMTP session per batch of messages, through libESMTP 1.1.0.
 *
 * libESMTP drives the protocol; this file decides what counts as sent and
 * keeps the password safe. What libESMTP does not do for us, and how we make
 * up for it (read in its source, protocol.c, smtp-tls.c, smtp-auth.c):
 *
 * - smtp_start_session() returns 1 when the session ran but nothing was
 *   sent: each message is judged from its own MAIL, RCPT and DATA replies.
 * - connect() has no timeout (about two minutes on a silent network): we
 *   probe the address ourselves with one and hand libESMTP the address that
 *   answered.
 * - Without our own SSL_CTX it trusts $HOME/.config/libesmtp/ca.pem or the
 *   system store, checks the name against the resolver's canonical name and
 *   frees a context shared by every session. We pass a context per session
 *   that verifies the chain (ca_file or the system store) and the configured
 *   host name during the handshake; its own name check, which cannot match
 *   an IP address, is answered by our event callback with our own check.
 *   (Its checks run after the handshake and refuse only because the event
 *   callback leaves *ok at 0; its name check reads DNS names and the CN of
 *   the host given to smtp_set_server, never IP addresses; it sends no SNI.)
 * - OpenSSL's reasons ("self-signed certificate", "hostname mismatch") are
 *   not the words used for IMAP and HTTPS: the refused chain goes through
 *   tls_verify_chain() for the message, so all three say the same.
 * - A refused AUTH (or a server offering none) does not stop it: it carries
 *   on to MAIL FROM unauthenticated. Our protocol monitor sees every command
 *   before it is written; with credentials configured, a MAIL FROM before a
 *   235 reply makes us shut the socket down, so no message leaves.
 * - It dot-stuffs and ends the data itself (DATA), or sends it as is in
 *   BDAT chunks when the server offers CHUNKING (Postfix does): the caller
 *   never dot-stuffs. It adds Date, From and a Message-Id naming our host
 *   when they are missing: smtp_message_check() insists the message has its own.
 * - Under TLS 1.3 its loop can wait for a reply to a command it has not sent
 *   yet (see tls_context): we speak TLS 1.2. */
#include "smtp.h"
#include "smtp_p.h"
#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
/* auth-client.h first: libesmtp.h declares smtp_auth_set_context only then;
 * openssl/ssl.h first: likewise for smtp_starttls_set_ctx. */
#include <auth-client.h>
#include <libesmtp.h>

#include "address.h"
#include "log.h"
#include "tlsverify.h"
#include "util.h"

#define DEFAULT_TIMEOUT 60
#define MAX_LINE 998
#define MAX_CHAIN 16

/* --- pure helpers ---------------------------------------------------------- */

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void smtp_describe(const struct smtp_reply *r, const char *where, char *out, size_t outlen)
{
	struct buf b;
	const char *p, *end, *w;
	size_t room;

	if (outlen == 0)
		return;
	if (r == NULL || r->code == 0) {
		snprintf(out, outlen, "no reply (%s)", where);
		return;
	}
	buf_init(&b);
	buf_printf(&b, "%d", r->code);
	if (r->enh_class > 0)
		buf_printf(&b, " %d.%d.%d", r->enh_class, r->enh_subject, r->enh_detail);
	/* The first line only; a word holding '@' is an address a log must not see. */
	p = r->text ? r->text : "";
	end = p + strcspn(p, "\r\n");
	while (p < end) {
		while (p < end && is_space((unsigned char)*p))
			p++;
		if (p == end)
			break;
		for (w = p; w < end && !is_space((unsigned char)*w); w++)
			;
		buf_addc(&b, ' ');
		if (memchr(p, '@', (size_t)(w - p)) != NULL) {
			buf_adds(&b, "<address>");
		} else {
			for (; p < w; p++)
				if ((unsigned char)*p >= 0x20 && *p != 0x7f)
					buf_addc(&b, *p);
		}
		p = w;
	}
	/* Cut the reply, never the "(where)" that says whose reply it is. */
	room = outlen > strlen(where) + 4 ? outlen - strlen(where) - 4 : 0;
	if (b.len > room && room > 0) {
		b.len = room;
		while (b.len > 0 && ((unsigned char)b.data[b.len - 1] & 0xc0) == 0x80)
			b.len--;   /* do not split a UTF-8 sequence */
		if (b.len > 0 && (unsigned char)b.data[b.len - 1] >= 0xc0)
			b.len--;
		b.data[b.len] = '\0';
	}
	snprintf(out, outlen, "%s (%s)", buf_str(&b), where);
	buf_free(&b);
}

/* 0 accepted, 1 temporary, 2 permanent. No reply and odd codes are temporary:
 * a retry is the safe answer when we do not know. */
static int reply_class(int code, int accept_code)
{
	if (accept_code ? code == accept_code : code / 100 == 2)
		return 0;
	return code / 100 == 5 ? 2 : 1;
}

enum smtp_outcome smtp_judge(const struct smtp_reply *mail, const struct smtp_reply *rcpt,
                             size_t nrcpt, const struct smtp_reply *data,
                             size_t *accepted, char *detail, size_t detaillen)
{
	const struct smtp_reply *first[3] = { NULL, NULL, NULL };
	char where[3][64];
	struct smtp_reply nodata = { 0, 0, 0, 0, NULL };
	size_t i, ok = 0;
	int c;

	*accepted = 0;
	if (detaillen > 0)
		detail[0] = '\0';

	/* After a refused MAIL FROM the recipients were never offered. */
	c = reply_class(mail->code, 0);
	if (c != 0) {
		first[c] = mail;
		snprintf(where[c], sizeof where[c], "MAIL FROM");
	} else {
		for (i = 0; i < nrcpt; i++) {
			c = reply_class(rcpt[i].code, 0);
			if (c == 0) {
				ok++;
			} else if (first[c] == NULL) {
				first[c] = &rcpt[i];
				snprintf(where[c], sizeof where[c], "recipient %zu of %zu", i + 1, nrcpt);
			}
		}
		/* With no recipient accepted the DATA reply only repeats that. */
		if (ok > 0) {
			c = reply_class(data->code, 250);
			if (c == 0) {
				*accepted = ok;
			} else if (first[c] == NULL) {
				/* 354 and nothing after: the connection broke during the data. */
				first[c] = data->code / 100 == 3 ? &nodata : data;
				snprintf(where[c], sizeof where[c], "DATA");
			}
		} else if (nrcpt == 0 && first[1] == NULL) {
			first[1] = &nodata;
			snprintf(where[1], sizeof where[1], "no recipients");
		}
	}
	if (first[1] != NULL) {
		smtp_describe(first[1], where[1], detail, detaillen);
		return SMTP_TEMPORARY;
	}
	if (first[2] != NULL) {
		smtp_describe(first[2], where[2], detail, detaillen);
		return SMTP_PERMANENT;
	}
	return SMTP_SENT;
}

static int header_is(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && line[k] == ':' && str_ncasecmp_ascii(line, name, k) == 0;
}

int smtp_message_check(const char *data, size_t len, int *eightbit, char *err, size_t errlen)
{
	size_t i, start = 0, lineno = 1;
	int in_header = 1, has_date = 0, has_from = 0, has_id = 0;

	*eightbit = 0;
	if (data == NULL || len == 0) {
		snprintf(err, errlen, "the message is empty");
		return -1;
	}
	if (len > INT_MAX / 2) {   /* libESMTP counts in int */
		snprintf(err, errlen, "the message is too large (%zu octets)", len);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\0') {
			snprintf(err, errlen, "line %zu contains a NUL octet", lineno);
			return -1;
		}
		if (c >= 0x80)
			*eightbit = 1;
		if (c == '\r' && (i + 1 == len || data[i + 1] != '\n')) {
			snprintf(err, errlen, "line %zu contains a CR not followed by LF", lineno);
			return -1;
		}
		if (c != '\n')
			continue;
		if (i == 0 || data[i - 1] != '\r') {
			snprintf(err, errlen, "line %zu ends in a bare LF", lineno);
			return -1;
		}
		if (i - 1 - start > MAX_LINE) {
			snprintf(err, errlen, "line %zu is longer than %d octets", lineno, MAX_LINE);
			return -1;
		}
		if (in_header) {
			const char *line = data + start;
			size_t n = i - 1 - start;

			if (n == 0)
				in_header = 0;
			else if (header_is(line, n, "Date"))
				has_date = 1;
			else if (header_is(line, n, "From"))
				has_from = 1;
			else if (header_is(line, n, "Message-ID"))
				has_id = 1;
			else if (header_is(line, n, "Bcc")) {
				snprintf(err, errlen, "the message has a Bcc header (line %zu), which libESMTP "
				         "would pass to every recipient", lineno);
				return -1;
			}
		}
		start = i + 1;
		lineno++;
	}
	if (start != len) {
		snprintf(err, errlen, "the message does not end with CRLF");
		return -1;
	}
	if (!has_date || !has_from || !has_id) {
		snprintf(err, errlen, "the message has no %s header (libESMTP would invent one)",
		         !has_date ? "Date" : !has_from ? "From" : "Message-ID");
		return -1;
	}
	return 0;
}

int smtp_address_ok(const char *addr, int null_ok)
{
	if (addr == NULL)
		return 0;
	if (*addr == '\0')
		return null_ok;
	/* libESMTP writes it raw inside <> and has no SMTPUTF8: printable ASCII
	 * in the grammar of address.h, which has no control character. RFC 5321
	 * also lets a recipient be the bare "Postmaster". */
	if (!null_ok && strcasecmp(addr, "postmaster") == 0)
		return 1;
	return address_sendable(addr);
}

/* --- the session ----------------------------------------------------------- */

/* What we saw of one session, filled by libESMTP's callbacks. */
struct watch {
	const struct smtp_settings *s;
	int port;
	int timeout;
	int want_auth;
	int is_ip;              /* host is an IPv4 literal */

	int fd;                 /* the socket, known once TLS is up; -1 before */
	int connected;
	int tls_ok;             /* STARTTLS done, certificate and name verified */
	int no_starttls;        /* STARTTLS needed but not offered */
	long verify_error;      /* X509_V_ERR_* seen in the handshake; 0 none */
	unsigned char *chain[MAX_CHAIN];  /* owned: DER of the refused chain, leaf first */
	size_t chainlen[MAX_CHAIN];
	size_t nchain;
	int wrong_name;         /* certificate not issued for host */
	int weak_cipher;
	int client_cert;        /* libESMTP found an unusable client cert under $HOME */
	int no_8bitmime;
	int auth_sent, auth_ok, auth_refused;
	int blocked;            /* we cut the line before MAIL FROM */

	char phase[12];         /* last command written: "greeting", "EHLO", ... */
	int awaiting_auth;      /* the next final reply answers AUTH */
	struct smtp_reply refusal;  /* last 4xx/5xx reply, but to QUIT */
	char refusal_text[200];
	char refusal_phase[12];
	struct smtp_reply auth_reply;
	char auth_text[200];
	char line[512];         /* reply line being assembled */
	size_t linelen;

	struct smtp_outgoing *msgs;   /* the caller's array, for report indexes */
	struct job *jobs;       /* the session's messages, for per-message reports */
	size_t njobs;
	struct session_child *child;  /* in the session's child: where reports go; NULL otherwise */
};

/* One message as libESMTP reads it. */
struct job {
	struct smtp_outgoing *out;
	smtp_message_t msg;
	smtp_recipient_t *rcpt;     /* owned array of nrcpt handles */
	int given;                  /* data handed over since the last rewind */
	int abort;                  /* smtp_check: never hand over any data */
	int reported;               /* session_child_sent already called for it */
};

void smtp_reply_set(struct smtp_reply *r, char *store, size_t storelen, int code, const char *text)
{
	const char *p = text;

	memset(r, 0, sizeof *r);
	r->code = code;
	/* Enhanced code "X.Y.Z " at the start, when the server sends one. */
	if (code >= 200 && p[0] >= '2' && p[0] <= '5' && p[1] == '.') {
		int a, b, c, n = 0;

		if (sscanf(p, "%d.%d.%d%n", &a, &b, &c, &n) == 3 && n > 0) {
			r->enh_class = a;
			r->enh_subject = b;
			r->enh_detail = c;
			p += n;
		}
	}
	snprintf(store, storelen, "%s", p);
	r->text = store;
}

/* Shut the connection so that the command in libESMTP's buffer never leaves. */
static void cut_line(struct watch *w)
{
	if (w->fd >= 0)
		shutdown(w->fd, SHUT_RDWR);
	w->blocked = 1;
}

static void watch_reply_line(struct watch *w)
{
	char *l = w->line;
	int code;

	if (w->linelen < 4 || l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || l[3] == '-')
		return;   /* not a reply, or not its last line */
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (code >= 400 && strcmp(w->phase, "QUIT") != 0) {
		smtp_reply_set(&w->refusal, w->refusal_text, sizeof w->refusal_text, code, l + 4);
		snprintf(w->refusal_phase, sizeof w->refusal_phase, "%s", w->phase);
	}
	if (!w->awaiting_auth)
		return;
	if (code == 235) {
		w->auth_ok = 1;
		w->awaiting_auth = 0;
	} else if (code != 334) {
		w->auth_refused = 1;
		w->awaiting_auth = 0;
		smtp_reply_set(&w->auth_reply, w->auth_text, sizeof w->auth_text, code, l + 4);
	}
}

/* libESMTP shows us every command before writing it and every reply after
 * reading it (never the message data: it turns the monitor off for that).
 * A write may hold a password (AUTH PLAIN): only command names are looked at. */
static void monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct watch *w = arg;
	static const char *const verbs[] = {
		"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "QUIT",
	};
	size_t i, k;

	if (len <= 0)
		return;
	if (writing == SMTP_CB_WRITING) {
		/* MAIL FROM may share a buffer with other commands when pipelining. */
		if (w->want_auth && !w->auth_ok &&
		    ((len >= 5 && str_ncasecmp_ascii(buf, "MAIL ", 5) == 0) ||
		     memmem(buf, (size_t)len, "\r\nMAIL FROM:", 12) != NULL))
			cut_line(w);
		for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
			k = strlen(verbs[i]);
			if ((size_t)len > k && str_ncasecmp_ascii(buf, verbs[i], k) == 0 &&
			    (buf[k] == ' ' || buf[k] == '\r'))
				break;
		}
		if (i == sizeof verbs / sizeof verbs[0])
			return;   /* an AUTH continuation, or data */
		snprintf(w->phase, sizeof w->phase, "%s", verbs[i]);
		if (strcmp(verbs[i], "AUTH") == 0) {
			w->auth_sent = 1;
			w->awaiting_auth = 1;
			if (!w->tls_ok)
				cut_line(w);   /* never reached: TLS is required with credentials */
		}
		return;
	}
	if (writing != SMTP_CB_READING)
		return;
	for (i = 0; i < (size_t)len; i++) {
		char c = buf[i];

		if (c == '\n') {
			w->line[w->linelen] = '\0';
			if (w->linelen > 0 && w->line[w->linelen - 1] == '\r')
				w->line[--w->linelen] = '\0';
			watch_reply_line(w);
			w->linelen = 0;
		} else if (w->linelen + 1 < sizeof w->line) {
			w->line[w->linelen++] = c;
		}
	}
}

static int host_matches(const struct watch *w, SSL *ssl)
{
	X509 *cert;
	int ok;

	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL)
		return 0;
	if (w->is_ip)
		ok = X509_check_ip_asc(cert, w->s->host, 0) == 1;
	else
		ok = X509_check_host(cert, w->s->host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
	X509_free(cert);
	return ok;
}

static void judge_job(struct job *j);

/* The server took a message: report it now, so that the caller can commit it
 * before the next one is offered. A crash then duplicates at most this one. */
static void message_sent(struct watch *w, smtp_message_t m)
{
	for (size_t i = 0; i < w->njobs; i++) {
		struct job *j = &w->jobs[i];
		if (j->msg != m || j->reported)
			continue;
		judge_job(j);
		if (j->out->outcome == SMTP_SENT && w->child) {
			j->reported = 1;
			session_child_sent(w->child, (size_t)(j->out - w->msgs));
		}
		return;
	}
}

static void event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct watch *w = arg;
	va_list ap;
	int *ok;
	SSL *ssl;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		w->connected = 1;
		break;
	case SMTP_EV_STARTTLS_OK:
		ssl = va_arg(ap, SSL *);
		w->fd = SSL_get_fd(ssl);
		w->tls_ok = 1;
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		w->no_starttls = 1;
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		/* Cannot happen with SSL_VERIFY_PEER (the handshake fails first). */
		w->verify_error = va_arg(ap, long);
		ok = va_arg(ap, int *);
		*ok = 0;
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 0;
		w->verify_error = X509_V_ERR_UNSPECIFIED;
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		/* libESMTP compares with the canonical name (or the bare IP we
		 * gave it); the configured host name is what counts. */
		ok = va_arg(ap, int *);
		(void)va_arg(ap, const char *);
		ssl = va_arg(ap, SSL *);
		*ok = host_matches(w, ssl);
		if (!*ok)
			w->wrong_name = 1;
		break;
	case SMTP_EV_WEAK_CIPHER:
		(void)va_arg(ap, int);
		ok = va_arg(ap, int *);
		*ok = 0;
		w->weak_cipher = 1;
		break;
	case SMTP_EV_NO_CLIENT_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 0;
		w->client_cert = 1;
		break;
	case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
	case SMTP_EV_UNUSABLE_CA_LIST:
		w->client_cert = 1;
		break;
	case SMTP_EV_EXTNA_8BITMIME:
		w->no_8bitmime = 1;
		break;
	case SMTP_EV_MESSAGESENT:
		message_sent(w, va_arg(ap, smtp_message_t));
		break;
	default:
		break;
	}
	va_end(ap);
}

static void keep_cert(struct watch *w, X509 *x)
{
	unsigned char *p;
	int n;

	if (x == NULL || w->nchain == MAX_CHAIN || (n = i2d_X509(x, NULL)) <= 0)
		return;
	w->chain[w->nchain] = xmalloc((size_t)n);
	p = w->chain[w->nchain];
	if (i2d_X509(x, &p) != n) {
		free(w->chain[w->nchain]);
		return;
	}
	w->chainlen[w->nchain++] = (size_t)n;
}

static void forget_chain(struct watch *w)
{
	for (size_t i = 0; i < w->nchain; i++)
		free(w->chain[i]);
	w->nchain = 0;
}

/* Remembers the first verification error of the handshake, and the chain
 * the server sent, for the message (see session_failure). */
static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	STACK_OF(X509) *sent;
	X509 *leaf;
	SSL *ssl;
	struct watch *w;
	int i;

	if (preverify_ok)
		return 1;
	ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	w = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	if (w != NULL && w->verify_error == 0) {
		w->verify_error = X509_STORE_CTX_get_error(xs);
		leaf = X509_STORE_CTX_get0_cert(xs);
		sent = X509_STORE_CTX_get0_untrusted(xs);
		keep_cert(w, leaf);
		for (i = 0; sent != NULL && i < sk_X509_num(sent); i++)
			if (leaf == NULL || X509_cmp(sk_X509_value(sent, i), leaf) != 0)
				keep_cert(w, sk_X509_value(sent, i));
	}
	return 0;
}

/* libESMTP sends no SNI and makes the SSL itself; the handshake start is the
 * last moment we can name the server for hosts that serve several certificates. */
static void info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	struct watch *w;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START))
		return;
	w = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (w != NULL && !w->is_ip && SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) == NULL)
		SSL_set_tlsext_host_name(ssl, w->s->host);
}

static SSL_CTX *tls_context(struct watch *w, char *err, size_t errlen)
{
	const struct smtp_settings *s = w->s;
	X509_VERIFY_PARAM *param;
	SSL_CTX *ctx;
	int ok;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "cannot set up TLS: %s", ERR_reason_error_string(ERR_get_error()));
		return NULL;
	}
	/* TLS 1.2 only. Under 1.3 the server's session tickets arrive after the
	 * handshake; libESMTP's loop then sees the socket readable and waits for
	 * the EHLO reply before it has sent EHLO, until the timeout (seen on
	 * every loopback session with Postfix). 1.2 sends its ticket inside the
	 * handshake. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	if (s->ca_file != NULL)
		ok = SSL_CTX_load_verify_locations(ctx, s->ca_file, NULL) == 1;
	else
		ok = SSL_CTX_set_default_verify_paths(ctx) == 1;
	if (!ok) {
		unsigned long e = ERR_get_error();

		snprintf(err, errlen, "cannot load the CA certificates from %s: %s",
		         s->ca_file ? s->ca_file : "the system store",
		         e ? ERR_reason_error_string(e) : "unknown error");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	ok = w->is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, s->host)
	              : X509_VERIFY_PARAM_set1_host(param, s->host, 0);
	if (ok != 1) {
		snprintf(err, errlen, "cannot check certificates for host %s", s->host);
		goto fail;
	}
	SSL_CTX_set_app_data(ctx, w);
	SSL_CTX_set_info_callback(ctx, info_cb);
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

static int settings_check(const struct smtp_settings *s, struct watch *w, char *err, size_t errlen)
{
	struct in_addr a;

	memset(w, 0, sizeof *w);
	w->s = s;
	w->fd = -1;
	snprintf(w->phase, sizeof w->phase, "greeting");
	if (s->host == NULL || *s->host == '\0') {
		snprintf(err, errlen, "no SMTP host is configured");
		return -1;
	}
	if (strchr(s->host, ':') != NULL) {
		snprintf(err, errlen, "SMTP host %s: IPv6 addresses cannot be used with libESMTP; "
		         "give a host name", s->host);
		return -1;
	}
	if (s->security == NET_SECURITY_TLS) {
		snprintf(err, errlen, "SMTP security \"tls\" (implicit TLS, port 465) is not supported "
		         "by libESMTP; use \"starttls\" (usually port 587)");
		return -1;
	}
	if (s->security != NET_SECURITY_STARTTLS && s->security != NET_SECURITY_NONE) {
		snprintf(err, errlen, "unknown SMTP security setting");
		return -1;
	}
	if (s->port < 0 || s->port > 65535) {
		snprintf(err, errlen, "SMTP port %d is out of range", s->port);
		return -1;
	}
	if (s->username != NULL && s->password == NULL && s->token == NULL) {
		snprintf(err, errlen, "%s", s->no_token ? s->no_token : "an SMTP user name is configured without a password");
		return -1;
	}
	if (s->username != NULL && s->token != NULL && s->security == NET_SECURITY_NONE) {
		snprintf(err, errlen, "refusing to send the OAuth2 token without TLS: set SMTP security to \"starttls\"");
		return -1;
	}
	if (s->username != NULL && s->security == NET_SECURITY_NONE) {
		snprintf(err, errlen, "refusing to send the SMTP password without TLS: "
		         "set SMTP security to \"starttls\"");
		return -1;
	}
	w->port = s->port ? s->port : s->security == NET_SECURITY_STARTTLS ? 587 : 25;
	w->timeout = s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT;
	w->want_auth = s->username != NULL;
	w->is_ip = inet_pton(AF_INET, s->host, &a) == 1;
	return 0;
}

/* connect() in libESMTP waits as long as the kernel does. Try each address
 * with our timeout and give libESMTP the IPv4 address that answered (it
 * cannot take an IPv6 literal: then the name, and it resolves alike). */
static int probe(const struct watch *w, char *server, size_t serverlen, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8], addr[INET6_ADDRSTRLEN];
	const char *why = "no address";
	int rc, fd;

	snprintf(port, sizeof port, "%d", w->port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(w->s->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot find SMTP host %s: %s", w->s->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof soerr;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			why = strerror(errno);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			why = strerror(errno);
			close(fd);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		do
			rc = poll(&pfd, 1, w->timeout * 1000);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			why = "no answer (timed out)";
		} else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			why = strerror(errno);
		} else if (soerr != 0) {
			why = strerror(soerr);
		} else {
			close(fd);
			if (ai->ai_family == AF_INET &&
			    inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, addr, sizeof addr))
				snprintf(server, serverlen, "%s:%d", addr, w->port);
			else
				snprintf(server, serverlen, "%s:%d", w->s->host, w->port);
			freeaddrinfo(res);
			return 0;
		}
		close(fd);
	}
	snprintf(err, errlen, "cannot connect to SMTP host %s port %d: %s", w->s->host, w->port, why);
	freeaddrinfo(res);
	return -1;
}

static int interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	const struct smtp_settings *s = arg;
	int i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)s->username;
		else if (req[i].flags & AUTH_PASS)
			result[i] = (char *)s->password;
		else
			return 0;   /* a realm or the like: we have none */
	}
	return 1;
}

/* Hands libESMTP the whole message at once; NULL len means start again. */
static const char *data_cb(void **ctx, int *len, void *arg)
{
	struct job *j = arg;

	(void)ctx;   /* libESMTP free()s whatever we put there */
	if (len == NULL) {
		j->given = 0;
		return NULL;
	}
	if (j->abort) {
		errno = ECANCELED;   /* makes libESMTP drop the line before the final dot */
		*len = 0;
		return NULL;
	}
	if (j->given) {
		*len = 0;
		return NULL;
	}
	j->given = 1;
	*len = (int)j->out->len;
	return j->out->data;
}

/* Why the session never reached MAIL FROM, in words a person can act on. */
static void session_failure(const struct watch *w, char *err, size_t errlen)
{
	const char *host = w->s->host;
	char reply[200], lib[128], why[512];
	int e = smtp_errno();

	if (smtp_strerror(e, lib, sizeof lib) == NULL)
		snprintf(lib, sizeof lib, "error %d", e);
	if (!w->connected) {
		snprintf(err, errlen, "cannot connect to SMTP host %s port %d: %s", host, w->port, lib);
	} else if (w->verify_error != 0 && w->nchain > 0 &&
	           tls_verify_chain((const unsigned char *const *)w->chain, w->chainlen, w->nchain, host,
	                            w->s->ca_file, why, sizeof why) < 0) {
		/* OpenSSL refused it; GnuTLS says why in the words used for IMAP. */
		snprintf(err, errlen, "SMTP host %s port %d: %s; nothing was sent", host, w->port, why);
	} else if (w->verify_error != 0) {
		snprintf(err, errlen, "the TLS certificate of SMTP host %s was not accepted: %s "
		         "(trusting %s); nothing was sent", host,
		         X509_verify_cert_error_string(w->verify_error),
		         w->s->ca_file ? w->s->ca_file : "the system CA store");
	} else if (w->wrong_name) {
		snprintf(err, errlen, "the TLS certificate of SMTP host %s is not issued for that name; "
		         "nothing was sent", host);
	} else if (w->weak_cipher) {
		snprintf(err, errlen, "SMTP host %s offered only a weak TLS cipher; nothing was sent", host);
	} else if (w->client_cert) {
		snprintf(err, errlen, "libESMTP found an unusable client certificate or CA file under "
		         "$HOME/.config/libesmtp (files there must be the user's own, mode 0600)");
	} else if (w->no_starttls) {
		snprintf(err, errlen, "SMTP host %s port %d does not offer STARTTLS; refusing to go on "
		         "without TLS", host, w->port);
	} else if (strcmp(w->phase, "STARTTLS") == 0 && !w->tls_ok && e == SMTP_ERR_CLIENT_ERROR) {
		snprintf(err, errlen, "the TLS handshake with SMTP host %s failed; nothing was sent", host);
	} else if (w->auth_refused) {
		smtp_describe(&w->auth_reply, "AUTH", reply, sizeof reply);
		snprintf(err, errlen, "SMTP host %s refused the login: %s; check the user name and "
		         "password", host, reply);
	} else if (w->want_auth && !w->auth_sent && w->blocked) {
		snprintf(err, errlen, "SMTP host %s offered no login this client can use (PLAIN, LOGIN "
		         "or CRAM-MD5) after STARTTLS; nothing was sent", host);
	} else if (w->no_8bitmime) {
		snprintf(err, errlen, "SMTP host %s does not accept 8-bit messages (no 8BITMIME)", host);
	} else if (w->refusal.code != 0) {
		smtp_describe(&w->refusal, w->refusal_phase, reply, sizeof reply);
		snprintf(err, errlen, "SMTP host %s refused the session: %s", host, reply);
	} else if (e == SMTP_ERR_DROPPED_CONNECTION) {
		snprintf(err, errlen, "SMTP host %s closed the connection or did not answer within %d s "
		         "(at %s)", host, w->timeout, w->phase);
	} else {
		snprintf(err, errlen, "the session with SMTP host %s ended at %s before any message: %s",
		         host, w->phase, lib);
	}
}

static void copy_reply(struct smtp_reply *r, const smtp_status_t *st)
{
	memset(r, 0, sizeof *r);
	if (st == NULL)
		return;
	r->code = st->code;
	r->enh_class = st->enh_class;
	r->enh_subject = st->enh_subject;
	r->enh_detail = st->enh_detail;
	r->text = st->text;
}

static void judge_job(struct job *j)
{
	struct smtp_outgoing *o = j->out;
	struct smtp_reply mail, data, *rcpt;
	size_t i;

	rcpt = xcalloc(o->nrcpt ? o->nrcpt : 1, sizeof *rcpt);
	copy_reply(&mail, smtp_reverse_path_status(j->msg));
	copy_reply(&data, smtp_message_transfer_status(j->msg));
	for (i = 0; i < o->nrcpt; i++)
		copy_reply(&rcpt[i], smtp_recipient_status(j->rcpt[i]));
	o->outcome = smtp_judge(&mail, rcpt, o->nrcpt, &data, &o->rcpt_accepted,
	                        o->detail, sizeof o->detail);
	free(rcpt);
}

/* In the session of a token login: a message taken, reported as libESMTP's
 * are (message_sent). */
static void etpan_taken(void *arg, struct smtp_outgoing *o)
{
	struct watch *w = arg;

	for (size_t i = 0; i < w->njobs; i++) {
		if (w->jobs[i].out == o && !w->jobs[i].reported && w->child) {
			w->jobs[i].reported = 1;
			session_child_sent(w->child, (size_t)(o - w->msgs));
		}
	}
}

/* A login with a token: libetpan's client carries the session (smtp_etpan.c,
 * for why). A check (one job that never gives its data) only logs in. */
static int run_etpan(struct watch *w, struct job *jobs, size_t n, char *err, size_t errlen)
{
	int check = n == 1 && jobs[0].abort;
	struct smtp_outgoing **outs = xcalloc(n ? n : 1, sizeof *outs);
	int rc;

	for (size_t i = 0; i < n; i++)
		outs[i] = jobs[i].out;
	rc = smtp_etpan_session(w->s, w->port, w->timeout, outs, check ? 0 : n, etpan_taken, w, err, errlen);
	free(outs);
	if (rc == 0) {
		w->tls_ok = w->s->security == NET_SECURITY_STARTTLS;
		w->auth_ok = 1;
	}
	return rc;
}

/* Runs one session over jobs[0..n-1] (n >= 1). Returns 0 when it reached
 * MAIL FROM for the first message, else -1 with err. */
static int run_session(struct watch *w, struct job *jobs, size_t n, int require_all,
                       char *err, size_t errlen)
{
	static const int phases[] = {
		Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA, Timeout_TRANSFER, Timeout_DATA2,
	};
	const struct smtp_settings *s = w->s;
	smtp_session_t session = NULL;
	auth_context_t auth = NULL;
	SSL_CTX *ctx = NULL;
	char server[INET6_ADDRSTRLEN + 300];
	size_t i, k;
	int rc = -1;

	if (s->username != NULL && s->token != NULL)
		return run_etpan(w, jobs, n, err, errlen);
	if (probe(w, server, sizeof server, err, errlen) < 0)
		return -1;
	session = smtp_create_session();
	if (session == NULL || !smtp_set_server(session, server)) {
		snprintf(err, errlen, "libESMTP cannot create a session");
		goto fail;
	}
	if (s->helo != NULL && !smtp_set_hostname(session, s->helo)) {
		snprintf(err, errlen, "libESMTP refused the HELO name");
		goto fail;
	}
	for (i = 0; i < sizeof phases / sizeof phases[0]; i++)
		smtp_set_timeout(session, phases[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, w->timeout * 1000L);
	if (s->security == NET_SECURITY_STARTTLS) {
		ctx = tls_context(w, err, errlen);
		if (ctx == NULL)
			goto fail;
		smtp_starttls_set_ctx(session, ctx);   /* takes its own reference */
		smtp_starttls_enable(session, Starttls_REQUIRED);
	} else {
		smtp_starttls_enable(session, Starttls_DISABLED);
	}
	if (w->want_auth) {
		auth = auth_create_context();
		if (auth == NULL) {
			snprintf(err, errlen, "libESMTP cannot create a login context");
			goto fail;
		}
		/* PLAIN and LOGIN are off unless asked for; TLS is required above. */
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, interact_cb, (void *)s);
		smtp_auth_set_context(session, auth);
	}
	smtp_set_eventcb(session, event_cb, w);
	smtp_set_monitorcb(session, monitor_cb, w, 0);
	if (require_all)
		smtp_option_require_all_recipients(session, 1);

	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		int eightbit = 0;
		char tmp[8];

		j->msg = smtp_add_message(session);
		if (j->msg == NULL || !smtp_set_reverse_path(j->msg, j->out->mail_from) ||
		    !smtp_set_messagecb(j->msg, data_cb, j)) {
			snprintf(err, errlen, "libESMTP cannot add a message");
			goto fail;
		}
		j->rcpt = xcalloc(j->out->nrcpt ? j->out->nrcpt : 1, sizeof *j->rcpt);
		for (k = 0; k < j->out->nrcpt; k++) {
			j->rcpt[k] = smtp_add_recipient(j->msg, j->out->rcpt[k]);
			if (j->rcpt[k] == NULL) {
				snprintf(err, errlen, "libESMTP cannot add a recipient");
				goto fail;
			}
		}
		if (!j->abort && smtp_message_check(j->out->data, j->out->len, &eightbit, tmp, sizeof tmp) == 0 &&
		    eightbit)
			smtp_8bitmime_set_body(j->msg, E8bitmime_8BITMIME);
	}

	log_debug("smtp: session with %s port %d for %zu message(s)", s->host, w->port, n);
	smtp_start_session(session);   /* its result says nothing about delivery */
	if (smtp_reverse_path_status(jobs[0].msg)->code == 0) {
		session_failure(w, err, errlen);
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (!jobs[i].reported)
			judge_job(&jobs[i]);
	rc = 0;
fail:
	if (session != NULL)
		smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	SSL_CTX_free(ctx);
	forget_chain(w);
	ERR_clear_error();   /* libESMTP leaves OpenSSL's error queue as it was */
	return rc;
}

/* ---- the session in a child process (session.h) ----------------------------
 *
 * libESMTP 1.1.0 calls a NULL handler (protocol_states[-1]) when the server
 * drops the connection while three or more pipelined replies are still
 * awaited, e.g. during the RCPTs of a forward to two advisers: the whole
 * relay would die. So the session runs in a child process, and a crash
 * costs only the messages it had not reported. */

struct smtp_session {
	struct watch w;
	struct job *jobs;       /* owned */
	size_t njobs;
	struct session *core;   /* owned: freed by session_end or session_abandon */
};

/* Frees ss, not ss->core. */
static void smtp_session_free(struct smtp_session *ss)
{
	if (!ss)
		return;
	for (size_t i = 0; i < ss->njobs; i++)
		free(ss->jobs[i].rcpt);
	free(ss->jobs);
	free(ss);
}

/* In the child: run_session(), each message reported as the server takes it,
 * then every outcome. */
static void child_run(struct session_child *c, void *arg)
{
	struct smtp_session *ss = arg;
	char cerr[512] = "";

	ss->w.child = c;
	int rc = run_session(&ss->w, ss->jobs, ss->njobs, 0, cerr, sizeof cerr);
	for (size_t i = 0; i < ss->njobs; i++)
		session_child_outcome(c, (size_t)(ss->jobs[i].out - ss->w.msgs));
	if (rc < 0)
		session_child_failed(c, cerr);
}

static void child_exit(void *arg)
{
	smtp_session_free(arg);
}

/* The child is gone without saying it was done. */
static void child_broke(void *arg, int status, char *why, size_t whylen)
{
	const struct smtp_session *ss = arg;

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		snprintf(why, whylen, "SMTP host %s port %d: the session took too long and was cut off", ss->w.s->host,
		         ss->w.port);
	else
		snprintf(why, whylen, "SMTP host %s port %d: the session broke off (the server dropped the "
		         "connection, and libESMTP failed%s)", ss->w.s->host, ss->w.port,
		         WIFSIGNALED(status) ? " with a crash" : "");
	log_warn("%s; the messages it had not taken will be tried again", why);
}

static const struct session_transport smtp_transport = {
	.name = "SMTP", .run = child_run, .child_exit = child_exit, .broke = child_broke,
};

int smtp_session_start(const struct smtp_settings *s, struct smtp_outgoing *msgs, size_t n, int receipt_fd,
                       struct smtp_session **out, char *err, size_t errlen)
{
	struct smtp_session *ss = xcalloc(1, sizeof *ss);
	size_t i, k;

	*out = NULL;
	ss->core = session_new(msgs, n);
	if (settings_check(s, &ss->w, err, errlen) < 0)
		goto fail;
	/* A message that cannot be offered safely is refused here, for good. */
	ss->jobs = xcalloc(n ? n : 1, sizeof *ss->jobs);
	for (i = 0; i < n; i++) {
		struct smtp_outgoing *o = &msgs[i];
		int eightbit;

		if (!smtp_address_ok(o->mail_from, 1)) {
			snprintf(o->detail, sizeof o->detail, "the envelope sender is not a usable address");
		} else if (o->nrcpt == 0 || o->rcpt == NULL) {
			snprintf(o->detail, sizeof o->detail, "the message has no recipient");
		} else if (smtp_message_check(o->data, o->len, &eightbit, o->detail, sizeof o->detail) == 0) {
			for (k = 0; k < o->nrcpt && smtp_address_ok(o->rcpt[k], 0); k++)
				;
			if (k == o->nrcpt) {
				ss->jobs[ss->njobs++].out = o;
				continue;
			}
			snprintf(o->detail, sizeof o->detail, "recipient %zu of %zu is not a usable address",
			         k + 1, o->nrcpt);
		}
		o->outcome = SMTP_PERMANENT;
	}
	ss->w.msgs = msgs;
	ss->w.jobs = ss->jobs;
	ss->w.njobs = ss->njobs;
	/* A session has a bound: every phase's timeout, for each message. */
	if (ss->njobs > 0 && session_fork(ss->core, &smtp_transport, ss, receipt_fd,
	                                  (unsigned)(ss->w.timeout * (4 + 3 * ss->njobs)), err, errlen) < 0)
		goto fail;
	*out = ss;
	return 0;
fail:
	session_abandon(ss->core, err);
	smtp_session_free(ss);
	return -1;
}

int smtp_session_take(struct smtp_session *ss, int wait, smtp_sent_cb on_sent, void *arg)
{
	return session_take(ss->core, wait, on_sent, arg);
}

int smtp_session_end(struct smtp_session *ss, char *err, size_t errlen)
{
	if (!ss)
		return 0;
	int rc = session_end(ss->core, err, errlen);
	smtp_session_free(ss);
	return rc;
}

int smtp_send(const struct smtp_settings *s, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen)
{
	struct smtp_session *ss;
	if (smtp_session_start(s, msgs, n, -1, &ss, err, errlen) < 0)
		return -1;
	return smtp_session_end(ss, err, errlen);
}

int smtp_check(const struct smtp_settings *s, char *err, size_t errlen)
{
	/* MAIL FROM:<> and RCPT TO:<>: a recipient every server refuses, so the
	 * session ends with QUIT after the login without any message. */
	static const char *const nobody[] = { "" };
	struct smtp_outgoing probe_msg;
	struct job job;
	struct watch w;
	int rc;

	if (settings_check(s, &w, err, errlen) < 0)
		return -1;
	memset(&probe_msg, 0, sizeof probe_msg);
	probe_msg.mail_from = "";
	probe_msg.rcpt = nobody;
	probe_msg.nrcpt = 1;
	probe_msg.data = "";
	memset(&job, 0, sizeof job);
	job.out = &probe_msg;
	job.abort = 1;
	rc = run_session(&w, &job, 1, 1, err, errlen);
	free(job.rcpt);
	if (rc < 0)
		return -1;
	if (s->security == NET_SECURITY_STARTTLS && !w.tls_ok) {
		snprintf(err, errlen, "SMTP host %s: TLS was not established", s->host);
		return -1;
	}
	if (w.want_auth && !w.auth_ok) {
		snprintf(err, errlen, "SMTP host %s: the login did not succeed", s->host);
		return -1;
	}
	log_debug("smtp: check of %s port %d passed", s->host, w.port);
	return 0;
}
