/* imap.c: the inbox over IMAP, with libetpan kept behind imap.h.
 *
 * libetpan does the protocol; we do what it does not: the TCP connect (so a
 * refused or silent server gets a precise message), certificate verification
 * before any password leaves (its GnuTLS build verifies nothing), SNI, the
 * STARTTLS checks, and the IDLE wait (our own poll, so a signal can wake it). */
#include "imap.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "log.h"
#include "tlsverify.h"
#include "util.h"

#define DEFAULT_TIMEOUT 60
#define IDLE_MAX_SECONDS (25 * 60) /* RFC 2177: re-issue IDLE within 29 minutes */
#define FETCH_BATCH_COUNT 64
/* libetpan holds a whole response in memory: bodies come in runs of at most
 * this many bytes (a larger message alone), so a run of phone photos does
 * not take megabytes at once. 64 average messages are about 560 KiB. */
#define FETCH_BATCH_BYTES (512u << 10)
#define SET_MAX_RANGES 200   /* keeps command lines short */
#define SEARCH_WINDOW 10000u /* UIDs a SEARCH covers (see search()) */
#define SERVER_TEXT_MAX 200

struct imap {
	mailimap *session; /* owned */
	char label[300];   /* "imap HOST:PORT", starts every error */
	char mailbox[256];
	int port;
	int timeout;
	int broken; /* connection unusable: never wait on it again */
	int has_idle;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t exists_searched; /* messages in the mailbox as the last search saw it */
	int looked_again;         /* idle() polled again for an unchanged count; not twice in a row */
	long long renew_at;       /* the token's renewal time (unix seconds); 0: no token */
	int token_expired;        /* the server ended the session: its token expired */
	sigset_t outside;         /* the caller's signal mask, during a call */
};

/* Signals are held during every libetpan call: libetpan treats an EINTR
 * from poll() as a dead connection, and poll() is never restarted, so a
 * SIGHUP or SIGCHLD mid-command would cost the session. They are let through
 * while we wait in IDLE (ppoll) and while a fetch callback runs. */
static void hold_signals(sigset_t *outside)
{
	sigset_t held;

	sigemptyset(&held);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGQUIT);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGCHLD);
	sigaddset(&held, SIGALRM);
	sigaddset(&held, SIGUSR1);
	sigaddset(&held, SIGUSR2);
	sigaddset(&held, SIGWINCH);
	sigprocmask(SIG_BLOCK, &held, outside);
}

static void release_signals(const sigset_t *outside)
{
	sigprocmask(SIG_SETMASK, outside, NULL);
}

/* Self-pipe for imap_wake(): a signal handler can only write to a file
 * descriptor, and poll() in imap_idle() watches the other end. */
static int wake_pipe[2] = { -1, -1 };

static void *need(void *p)
{
	if (!p) {
		log_error("imap: out of memory");
		abort();
	}
	return p;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_err(const struct imap *im, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_err(const struct imap *im, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int used;

	if (errlen == 0)
		return;
	used = snprintf(err, errlen, "%s: ", im->label);
	if (used < 0 || (size_t)used >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
	va_end(ap);
}

/* The server's own words about the last command, made safe for a log line. */
static const char *server_text(const struct imap *im, char *out, size_t outlen)
{
	const char *t = im->session ? im->session->imap_response : NULL;
	size_t i;

	if (!t || *t == '\0')
		return "(no reason given)";
	for (i = 0; t[i] && i + 1 < outlen && i < SERVER_TEXT_MAX; i++)
		out[i] = (t[i] >= 0x20 && t[i] < 0x7f) ? t[i] : '?';
	out[i] = '\0';
	return out;
}

/* Exchange Online ends a session whose token ran out with an untagged
 * "* BYE Session invalidated - AccessTokenExpired", then closes: libetpan
 * reports the close, and the line is left in its buffer or taken as the
 * server's last words. */
static int saw_token_expired(const struct imap *im)
{
	const mailimap *m = im->session;

	if (!m)
		return 0;
	if (m->imap_response && strstr(m->imap_response, "AccessTokenExpired"))
		return 1;
	return m->imap_stream_buffer && m->imap_stream_buffer->str &&
	       memmem(m->imap_stream_buffer->str, m->imap_stream_buffer->len, "AccessTokenExpired", 18) != NULL;
}

/* Explain a failed libetpan command. `doing` completes "while ...". */
static void command_failed(struct imap *im, int r, const char *doing, double started, char *err, size_t errlen)
{
	char text[SERVER_TEXT_MAX + 1];

	if (im->renew_at && r != MAILIMAP_ERROR_MEMORY && saw_token_expired(im)) {
		im->broken = 1;
		im->token_expired = 1;
		set_err(im, err, errlen,
		        "the server ended the session while %s: its access token expired "
		        "(AccessTokenExpired); reconnecting with a new one",
		        doing);
		return;
	}
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
		im->broken = 1;
		if (now_seconds() - started >= im->timeout - 0.5)
			set_err(im, err, errlen, "timed out after %d s while %s", im->timeout, doing);
		else
			set_err(im, err, errlen, "connection lost while %s", doing);
		break;
	case MAILIMAP_ERROR_PARSE:
		im->broken = 1;
		/* libetpan reports a connection closed mid-reply this way too */
		set_err(im, err, errlen, "connection closed or reply not understood while %s", doing);
		break;
	case MAILIMAP_ERROR_FATAL:
		im->broken = 1;
		set_err(im, err, errlen, "server ended the session while %s: %s", doing, server_text(im, text, sizeof text));
		break;
	case MAILIMAP_ERROR_PROTOCOL:
		/* BAD, or a reply with the wrong tag: we are out of step. */
		im->broken = 1;
		set_err(im, err, errlen, "server rejected the command while %s: %s", doing,
		        server_text(im, text, sizeof text));
		break;
	case MAILIMAP_ERROR_MEMORY:
		set_err(im, err, errlen, "out of memory while %s", doing);
		break;
	case MAILIMAP_ERROR_BAD_STATE:
		im->broken = 1;
		set_err(im, err, errlen, "session in the wrong state while %s", doing);
		break;
	default:
		set_err(im, err, errlen, "server refused while %s: %s", doing, server_text(im, text, sizeof text));
		break;
	}
}

static int is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* libetpan 1.9.4 reads a literal (a message body in a FETCH answer) in a
 * loop that takes a read of 0 bytes, the server closing the connection, for
 * "nothing yet" and spins for ever at full CPU: a server gone mid-FETCH would
 * hang the relay. Our streams get a copy of their driver whose read reports
 * the close as the error it is. */
static mailstream_low_driver socket_closing, tls_closing;

/* Exported by libetpan, declared by its header only under its build's USE_SSL. */
extern mailstream_low_driver *mailstream_ssl_driver;

static ssize_t socket_read(mailstream_low *s, void *buf, size_t n)
{
	ssize_t r = mailstream_socket_driver->mailstream_read(s, buf, n);
	return r == 0 && n > 0 ? -1 : r;
}

static ssize_t tls_read(mailstream_low *s, void *buf, size_t n)
{
	ssize_t r = mailstream_ssl_driver->mailstream_read(s, buf, n);
	return r == 0 && n > 0 ? -1 : r;
}

static void close_is_an_error(mailstream *stream)
{
	mailstream_low *low = mailstream_get_low(stream);

	if (low->driver == mailstream_socket_driver) {
		socket_closing = *mailstream_socket_driver;
		socket_closing.mailstream_read = socket_read;
		low->driver = &socket_closing;
	} else if (low->driver == mailstream_ssl_driver) {
		tls_closing = *mailstream_ssl_driver;
		tls_closing.mailstream_read = tls_read;
		low->driver = &tls_closing;
	}
}

static void ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

static void wake_pipe_init(void)
{
	if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_warn("imap: cannot create wake-up pipe: %s", strerror(errno));
		wake_pipe[0] = wake_pipe[1] = -1;
	}
}

void imap_wake(void)
{
	int saved = errno;

	if (wake_pipe[1] >= 0) {
		ssize_t r = write(wake_pipe[1], "w", 1);
		(void)r; /* a full pipe already means "wake up" */
	}
	errno = saved;
}

static int drain_wake_pipe(void)
{
	char buf[64];
	int woke = 0;

	while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof buf) > 0)
		woke = 1;
	return woke;
}

static int set_blocking(int fd, int blocking)
{
	int fl = fcntl(fd, F_GETFL, 0);

	if (fl < 0)
		return -1;
	fl = blocking ? (fl & ~O_NONBLOCK) : (fl | O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

/* Connect with a deadline per address. Returns a non-blocking socket or -1
 * with why (e.g. "connection refused") filled. */
static int tcp_connect(const char *host, int port, int timeout, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, r, soerr = 0;
	socklen_t slen;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof portstr, "%d", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0) {
		snprintf(why, whylen, "cannot resolve host name: %s", gai_strerror(r));
		return -1;
	}
	snprintf(why, whylen, "no usable address");
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, whylen, "socket: %s", strerror(errno));
			continue;
		}
		r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r != 0 && errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			do
				r = poll(&pfd, 1, timeout * 1000);
			while (r < 0 && errno == EINTR);
			if (r == 0) {
				snprintf(why, whylen, "timed out after %d s connecting", timeout);
				goto next;
			}
			slen = sizeof soerr;
			if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
				soerr = errno;
			r = soerr ? -1 : 0;
			errno = soerr;
		}
		if (r == 0)
			break;
		if (errno == ECONNREFUSED)
			snprintf(why, whylen, "connection refused");
		else
			snprintf(why, whylen, "cannot connect: %s", strerror(errno));
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* libetpan calls this before the TLS handshake: the only place to set SNI. */
static void tls_setup(struct mailstream_ssl_context *ctx, void *data)
{
	char *host = data;

	if (!is_ip_literal(host)) /* RFC 6066: SNI carries DNS names only */
		mailstream_ssl_set_server_name(ctx, host);
}

/* Check the chain the server presented, before anything secret is sent. */
static int verify_peer(struct imap *im, mailstream *stream, const char *host, const char *ca_file, char *err, size_t errlen)
{
	carray *chain;
	const unsigned char **der = NULL;
	size_t *len = NULL, i, n;
	char why[600];
	int ret = -1;

	chain = mailstream_get_certificate_chain(stream);
	if (!chain || carray_count(chain) == 0) {
		set_err(im, err, errlen, "server sent no certificate; not logging in");
		goto fail;
	}
	n = carray_count(chain);
	der = xcalloc(n, sizeof *der);
	len = xcalloc(n, sizeof *len);
	for (i = 0; i < n; i++) {
		MMAPString *s = carray_get(chain, (unsigned)i);

		der[i] = (const unsigned char *)s->str;
		len[i] = s->len;
	}
	if (tls_verify_chain(der, len, n, host, ca_file, why, sizeof why) != 0) {
		set_err(im, err, errlen, "%s; not logging in", why);
		goto fail;
	}
	ret = 0;
fail:
	free(der);
	free(len);
	if (chain)
		mailstream_certificate_chain_free(chain);
	return ret;
}

static int refresh_capability(struct imap *im, char *err, size_t errlen)
{
	struct mailimap_capability_data *cap = NULL;
	double started = now_seconds();
	int r;

	r = mailimap_capability(im->session, &cap);
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "asking for capabilities", started, err, errlen);
		return -1;
	}
	mailimap_capability_data_free(cap); /* a copy; the session keeps its own */
	return 0;
}

static int start_tls(struct imap *im, const struct imap_settings *s, char *err, size_t errlen)
{
	mailstream_low *plain, *tls;
	double started;
	int r, fd;

	if (refresh_capability(im, err, errlen) < 0)
		return -1;
	if (!mailimap_has_extension(im->session, "STARTTLS")) {
		set_err(im, err, errlen, "server does not offer STARTTLS; not logging in");
		return -1;
	}
	started = now_seconds();
	r = mailimap_starttls(im->session);
	/* Bytes already buffered came in clear after the OK; reading them as
	 * if they were protected is the STARTTLS injection attack
	 * (CVE-2020-15953). libetpan 1.9.4 refuses it too, as a plain
	 * MAILIMAP_ERROR_STARTTLS; check again to say why. */
	if ((r == MAILIMAP_NO_ERROR || r == MAILIMAP_ERROR_STARTTLS) && im->session->imap_stream->read_buffer_len > 0) {
		im->broken = 1;
		set_err(im, err, errlen, "server sent unexpected data after STARTTLS; not logging in");
		return -1;
	}
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "starting TLS", started, err, errlen);
		return -1;
	}
	plain = mailstream_get_low(im->session->imap_stream);
	fd = mailstream_low_get_fd(plain);
	/* GnuTLS's handshake timeout only works on a blocking socket; on a
	 * non-blocking one libetpan spins. It sets non-blocking again itself. */
	set_blocking(fd, 1);
	started = now_seconds();
	tls = mailstream_low_tls_open_with_callback_timeout(fd, im->timeout, tls_setup, (void *)s->host);
	if (!tls) {
		im->broken = 1;
		if (now_seconds() - started >= im->timeout - 0.5)
			set_err(im, err, errlen, "timed out after %d s in the TLS handshake", im->timeout);
		else
			set_err(im, err, errlen, "TLS handshake after STARTTLS failed");
		return -1;
	}
	mailstream_low_free(plain); /* frees the plain driver, leaves fd open */
	mailstream_set_low(im->session->imap_stream, tls);
	close_is_an_error(im->session->imap_stream);
	if (verify_peer(im, im->session->imap_stream, s->host, s->ca_file, err, errlen) < 0) {
		im->broken = 1;
		return -1;
	}
	/* Capabilities seen before TLS may have been forged or may change. */
	return refresh_capability(im, err, errlen);
}

/* SASL XOAUTH2 with the token (libetpan sends it as the initial response,
 * on the AUTHENTICATE line: Dovecot and Exchange take it so, tokens of
 * 4 KB included). */
static int login_token(struct imap *im, const struct imap_settings *s, char *err, size_t errlen)
{
	char text[SERVER_TEXT_MAX + 1];
	double started;
	int r;

	if (!mailimap_has_xoauth2(im->session)) {
		set_err(im, err, errlen,
		        "server does not offer AUTH=XOAUTH2, so the OAuth2 token cannot be used "
		        "(auth = oauth2 is for Microsoft 365 and Google Workspace); not logging in");
		return -1;
	}
	started = now_seconds();
	r = mailimap_oauth2_authenticate(im->session, s->username, s->token);
	if (r == MAILIMAP_ERROR_LOGIN || r == MAILIMAP_ERROR_PROTOCOL) {
		set_err(im, err, errlen, "the server refused the OAuth2 token (AUTHENTICATE XOAUTH2 failed: %s)%s%s",
		        server_text(im, text, sizeof text), s->refused_advice ? "; " : "",
		        s->refused_advice ? s->refused_advice : "");
		return -1;
	}
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "logging in with the OAuth2 token", started, err, errlen);
		return -1;
	}
	return 0;
}

static int login(struct imap *im, const struct imap_settings *s, char *err, size_t errlen)
{
	char text[SERVER_TEXT_MAX + 1];
	double started;
	int r;

	if (s->token)
		return login_token(im, s, err, errlen);
	if (mailimap_has_extension(im->session, "LOGINDISABLED")) {
		set_err(im, err, errlen, "server does not allow login on this connection (LOGINDISABLED)%s",
		        s->security == NET_SECURITY_NONE ? "; use security = starttls or tls" : "");
		return -1;
	}
	started = now_seconds();
	r = mailimap_login(im->session, s->username, s->password);
	if (r == MAILIMAP_ERROR_LOGIN) {
		set_err(im, err, errlen, "login refused (check username and password_file): %s",
		        server_text(im, text, sizeof text));
		return -1;
	}
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "logging in", started, err, errlen);
		return -1;
	}
	return 0;
}

static int select_mailbox(struct imap *im, char *err, size_t errlen)
{
	struct mailimap_selection_info *sel;
	char text[SERVER_TEXT_MAX + 1];
	double started = now_seconds();
	int r;

	r = mailimap_select(im->session, im->mailbox);
	if (r == MAILIMAP_ERROR_SELECT) {
		set_err(im, err, errlen, "cannot open mailbox \"%s\": %s", im->mailbox, server_text(im, text, sizeof text));
		return -1;
	}
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "opening the mailbox", started, err, errlen);
		return -1;
	}
	sel = im->session->imap_selection_info;
	if (!sel || sel->sel_uidvalidity == 0) {
		set_err(im, err, errlen, "server gave no UIDVALIDITY for \"%s\"; cannot track messages safely", im->mailbox);
		return -1;
	}
	if (sel->sel_perm == MAILIMAP_MAILBOX_READONLY) {
		set_err(im, err, errlen, "mailbox \"%s\" opened read-only; messages could not be marked seen", im->mailbox);
		return -1;
	}
	im->uidvalidity = sel->sel_uidvalidity;
	im->uidnext = sel->sel_uidnext;
	return 0;
}

static int open_session(struct imap *im, const struct imap_settings *s, char *err, size_t errlen)
{
	mailstream *stream = NULL;
	char why[256];
	double started;
	int fd, r, port = im->port, preauth;

	ignore_sigpipe();
	wake_pipe_init();
	/* libetpan's debug mode writes the whole conversation, password
	 * included, to a file in the working directory. */
	mailstream_debug = 0;
	/* Fallback for any libetpan path that ignores the session timeout. */
	mailstream_network_delay.tv_sec = im->timeout;
	mailstream_network_delay.tv_usec = 0;

	im->session = need(mailimap_new(0, NULL));
	mailimap_set_timeout(im->session, im->timeout);

	fd = tcp_connect(s->host, port, im->timeout, why, sizeof why);
	if (fd < 0) {
		set_err(im, err, errlen, "%s", why);
		return -1;
	}
	if (s->security == NET_SECURITY_TLS) {
		set_blocking(fd, 1); /* see start_tls() */
		started = now_seconds();
		stream = mailstream_ssl_open_with_callback_timeout(fd, im->timeout, tls_setup, (void *)s->host);
		if (!stream) {
			close(fd);
			if (now_seconds() - started >= im->timeout - 0.5)
				set_err(im, err, errlen, "timed out after %d s in the TLS handshake", im->timeout);
			else
				set_err(im, err, errlen,
				        "TLS handshake failed (does port %d speak implicit TLS? "
				        "for port 143 use security = starttls)",
				        port);
			return -1;
		}
		if (verify_peer(im, stream, s->host, s->ca_file, err, errlen) < 0) {
			mailstream_close(stream);
			return -1;
		}
	} else {
		stream = mailstream_socket_open_timeout(fd, im->timeout);
		if (!stream) {
			close(fd);
			set_err(im, err, errlen, "out of memory");
			return -1;
		}
	}

	close_is_an_error(stream);
	/* From here the session owns the stream, even if this fails. */
	started = now_seconds();
	r = mailimap_connect(im->session, stream);
	if (r == MAILIMAP_ERROR_DONT_ACCEPT_CONNECTION) {
		im->broken = 1;
		set_err(im, err, errlen, "server turned the connection away: %s", server_text(im, why, sizeof why));
		return -1;
	}
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED && r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		command_failed(im, r, "waiting for the greeting", started, err, errlen);
		im->broken = 1;
		if (r == MAILIMAP_ERROR_STREAM && s->security != NET_SECURITY_TLS && errlen > 0)
			snprintf(err + strlen(err), errlen - strlen(err),
			         " (if port %d expects TLS from the start, use security = tls)", port);
		return -1;
	}
	preauth = (r == MAILIMAP_NO_ERROR_AUTHENTICATED);

	if (s->security == NET_SECURITY_STARTTLS) {
		if (preauth) {
			/* No STARTTLS after PREAUTH: the session would stay in clear. */
			im->broken = 1;
			set_err(im, err, errlen,
			        "server pre-authenticated the connection before STARTTLS; "
			        "refusing to continue without TLS");
			return -1;
		}
		if (start_tls(im, s, err, errlen) < 0)
			return -1;
	} else if (!im->session->imap_connection_info || !im->session->imap_connection_info->imap_capability) {
		/* the greeting did not list them; login() needs LOGINDISABLED */
		if (refresh_capability(im, err, errlen) < 0)
			return -1;
	}
	if (!preauth && login(im, s, err, errlen) < 0)
		return -1;
	/* Capabilities may grow after login (IDLE on some servers). */
	if (refresh_capability(im, err, errlen) < 0)
		return -1;
	im->has_idle = mailimap_has_idle(im->session) ? 1 : 0;
	if (select_mailbox(im, err, errlen) < 0)
		return -1;
	log_debug("%s: mailbox open, uidvalidity %u, uidnext %u%s", im->label, im->uidvalidity, im->uidnext,
	          im->has_idle ? ", IDLE" : "");
	return 0;
}

/* Fills im afresh from s (no session yet). -1 with err when s lacks what a
 * login needs. */
static int session_init(struct imap *im, const struct imap_settings *s, char *err, size_t errlen)
{
	memset(im, 0, sizeof *im);
	im->port = s->port > 0 ? s->port : (s->security == NET_SECURITY_TLS ? 993 : 143);
	snprintf(im->label, sizeof im->label, "imap %s:%d", s->host ? s->host : "(no host)", im->port);
	snprintf(im->mailbox, sizeof im->mailbox, "%s", s->mailbox && *s->mailbox ? s->mailbox : "INBOX");
	im->timeout = s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT;
	im->renew_at = s->token ? s->renew_at : 0;
	if (!s->host || *s->host == '\0' || !s->username || (s->password == NULL && s->token == NULL)) {
		set_err(im, err, errlen, "host, username and a password or token are required");
		return -1;
	}
	return 0;
}

/* LOGOUT when the connection still works, then free the libetpan session. */
static void session_end(struct imap *im)
{
	if (im->session) {
		if (im->session->imap_stream) {
			if (im->broken) {
				/* LOGOUT would wait a full timeout on a dead peer. */
				mailstream_close(im->session->imap_stream);
				im->session->imap_stream = NULL;
				im->session->imap_state = MAILIMAP_STATE_DISCONNECTED;
			} else {
				mailimap_logout(im->session); /* closes the stream, even on error */
			}
		}
		mailimap_free(im->session);
		im->session = NULL;
	}
}

int imap_open(const struct imap_settings *s, struct imap **out, char *err, size_t errlen)
{
	struct imap *im;
	int r;

	*out = NULL;
	im = xcalloc(1, sizeof *im);
	if (session_init(im, s, err, errlen) < 0) {
		free(im);
		return -1;
	}
	hold_signals(&im->outside);
	r = open_session(im, s, err, errlen);
	if (r == 0)
		im->broken = 0;
	release_signals(&im->outside);
	if (r < 0) {
		imap_close(im);
		return -1;
	}
	*out = im;
	return 0;
}

int imap_reopen(struct imap *im, const struct imap_settings *s, char *err, size_t errlen)
{
	sigset_t outside;
	int r;

	hold_signals(&outside);
	session_end(im);
	if (session_init(im, s, err, errlen) < 0) {
		im->broken = 1;
		release_signals(&outside);
		return -1;
	}
	im->outside = outside;
	r = open_session(im, s, err, errlen);
	if (r == 0)
		im->broken = 0;
	release_signals(&outside);
	if (r < 0) {
		/* what is left is not usable: no LOGOUT waits on it later */
		im->broken = 1;
		session_end(im);
	}
	return r;
}

int imap_renewal_due(const struct imap *im, long long now)
{
	if (im->token_expired)
		return 2;
	return im->renew_at && now >= im->renew_at;
}

uint32_t imap_uidvalidity(const struct imap *im)
{
	return im->uidvalidity;
}

uint32_t imap_uidnext(const struct imap *im)
{
	return im->uidnext;
}

int imap_has_idle(const struct imap *im)
{
	return im->has_idle;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort and de-duplicate in place; returns the new count. */
static size_t sort_unique(uint32_t *v, size_t n)
{
	size_t i, out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_uid);
	for (i = 0; i < n; i++)
		if (out == 0 || v[i] != v[out - 1])
			v[out++] = v[i];
	return out;
}

/* The run of consecutive uids that starts at uids[*i] (sorted, unique):
 * [*lo, *hi]; *i moves past it. */
static void next_run(const uint32_t *uids, size_t n, size_t *i, uint32_t *lo, uint32_t *hi)
{
	size_t j = *i;

	while (j + 1 < n && uids[j + 1] == uids[j] + 1)
		j++;
	*lo = uids[*i];
	*hi = uids[j];
	*i = j + 1;
}

static int check_usable(struct imap *im, char *err, size_t errlen)
{
	if (im->broken || !im->session || !im->session->imap_stream) {
		set_err(im, err, errlen, "connection is broken; reconnect");
		return -1;
	}
	return 0;
}

/* Did the server's last answer remove messages (EXPUNGE)? libetpan keeps
 * these for one answer only. */
static int last_answer_expunged(const struct imap *im)
{
	const struct mailimap_response_info *rsp = im->session->imap_response_info;

	return rsp && rsp->rsp_expunged && clist_count(rsp->rsp_expunged) > 0;
}

/* The search about to be made sees the mailbox as it is now: remember its
 * size, and start afresh what announced_since_search() reports. */
static void forget_announcements(struct imap *im)
{
	struct mailimap_selection_info *sel = im->session->imap_selection_info;

	if (sel) {
		im->exists_searched = sel->sel_exists;
		sel->sel_has_exists = 0;
		sel->sel_has_recent = 0;
	}
}

/* Has the server announced messages since the last search, or removed some
 * in its last answer? An announced count unlike the search's is always a
 * reason to look again. The same count can still hide an arrival beside a
 * removal, so it is one too, but not twice in a row: a server may repeat an
 * unchanged EXISTS in every answer, and every poll must not call for another. */
static int announced_since_search(struct imap *im)
{
	const struct mailimap_selection_info *sel = im->session->imap_selection_info;

	if (sel && sel->sel_has_exists) {
		if (sel->sel_exists != im->exists_searched)
			return 1;
		if (!im->looked_again) {
			im->looked_again = 1;
			return 1;
		}
	}
	return last_answer_expunged(im);
}

/* One UID SEARCH for lo:hi (hi 0: lo:*), unseen ones only or all; the uids
 * found above after_uid are appended to *v (*count of *cap used). */
static int search_window(struct imap *im, uint32_t lo, uint32_t hi, uint32_t after_uid, int unseen_only, uint32_t **v,
                         size_t *count, size_t *cap, char *err, size_t errlen)
{
	struct mailimap_search_key *key;
	clist *result = NULL;
	clistiter *cur;
	double started;
	int r;

	/* (0 stands for * in libetpan's sets) */
	key = need(mailimap_search_key_new_uid(need(mailimap_set_new_interval(lo, hi))));
	if (unseen_only) {
		struct mailimap_search_key *all = need(mailimap_search_key_new_multiple_empty());
		struct mailimap_search_key *unseen =
			need(mailimap_search_key_new(MAILIMAP_SEARCH_KEY_UNSEEN, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		                                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL,
		                                     NULL, NULL, 0, NULL, NULL, NULL));

		if (mailimap_search_key_multiple_add(all, key) != MAILIMAP_NO_ERROR ||
		    mailimap_search_key_multiple_add(all, unseen) != MAILIMAP_NO_ERROR)
			need(NULL);
		key = all;
	}
	started = now_seconds();
	r = mailimap_uid_search(im->session, NULL, key, &result);
	mailimap_search_key_free(key); /* commands never take ownership */
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "searching for new messages", started, err, errlen);
		return -1;
	}
	for (cur = clist_begin(result); cur; cur = clist_next(cur)) {
		uint32_t uid = *(uint32_t *)clist_content(cur);

		if (uid <= after_uid) /* "n:*" always includes the newest message */
			continue;
		if (*count == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*v = xrealloc(*v, *cap * sizeof **v);
		}
		(*v)[(*count)++] = uid;
	}
	mailimap_search_result_free(result);
	return 0;
}

static int search(struct imap *im, uint32_t after_uid, int unseen_only, uint32_t **uids, size_t *n, char *err, size_t errlen)
{
	uint32_t *v = NULL, lo, hi;
	size_t count = 0, cap = 0;
	double started;
	int r;

	*uids = NULL;
	*n = 0;
	if (check_usable(im, err, errlen) < 0)
		return -1;
	if (after_uid == UINT32_MAX) {
		forget_announcements(im); /* no UID can come after: nothing to look for */
		return 0;
	}
	/* Servers update a session's view of the mailbox between commands
	 * (Dovecot at the end of each): without this NOOP a SEARCH misses
	 * mail delivered since our last command. */
	started = now_seconds();
	r = mailimap_noop(im->session);
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "checking for new messages", started, err, errlen);
		return -1;
	}
	/* From here on, a message the server announces may be one this search
	 * does not see; idle() looks before it starts (see there). */
	forget_announcements(im);
	/* UID after+1:*, in windows of SEARCH_WINDOW UIDs up to the UIDNEXT the
	 * mailbox had when opened, then the rest: libetpan holds a whole answer
	 * in memory (about 64 bytes a UID), and a backlog of 100,000 in one
	 * answer would take 6 MB. */
	for (lo = after_uid + 1;; lo = hi + 1) {
		int last = im->uidnext <= lo || im->uidnext - lo <= SEARCH_WINDOW;

		hi = last ? 0 : lo + SEARCH_WINDOW - 1;
		if (search_window(im, lo, hi, after_uid, unseen_only, &v, &count, &cap, err, errlen) < 0) {
			free(v);
			return -1;
		}
		if (last)
			break;
	}
	count = sort_unique(v, count);
	if (count == 0) {
		free(v);
		return 0;
	}
	*uids = v;
	*n = count;
	return 0;
}

/* One message of a fetch: what we know and, during a batch, where its text is. */
struct fetch_item {
	uint32_t uid;
	uint32_t size;   /* RFC822.SIZE */
	int present;     /* the server still has it */
	const char *raw; /* into libetpan's result list, during one batch */
	size_t len;
};

static struct fetch_item *find_item(struct fetch_item *items, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (items[mid].uid == uid)
			return &items[mid];
		if (items[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Walk a UID FETCH result: for each message, its UID, size and body. */
static void read_fetch_result(clist *result, struct fetch_item *items, size_t n, int want_body)
{
	clistiter *cur, *acur;

	for (cur = clist_begin(result); cur; cur = clist_next(cur)) {
		struct mailimap_msg_att *att = clist_content(cur);
		struct mailimap_msg_att_body_section *body = NULL;
		struct fetch_item *it;
		uint32_t uid = 0, size = 0;
		int has_size = 0;

		for (acur = clist_begin(att->att_list); acur; acur = clist_next(acur)) {
			struct mailimap_msg_att_item *item = clist_content(acur);
			struct mailimap_msg_att_static *st;

			if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
				continue;
			st = item->att_data.att_static;
			if (st->att_type == MAILIMAP_MSG_ATT_UID)
				uid = st->att_data.att_uid;
			else if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE) {
				size = st->att_data.att_rfc822_size;
				has_size = 1;
			} else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
				body = st->att_data.att_body_section;
		}
		/* Unsolicited FETCH (a flag change elsewhere) has no UID we asked for. */
		it = uid ? find_item(items, n, uid) : NULL;
		if (!it)
			continue;
		if (!want_body && has_size) {
			it->size = size;
			it->present = 1;
		} else if (want_body && body && body->sec_body_part) {
			it->raw = body->sec_body_part;
			it->len = body->sec_length;
		}
	}
}

char *imap_fetch_command(const uint32_t *uids, size_t n, int with_body, size_t partial, size_t *used)
{
	struct buf b = { 0 };
	size_t i = 0, ranges = 0;
	uint32_t lo, hi;

	buf_adds(&b, "UID FETCH ");
	while (i < n && ranges < SET_MAX_RANGES) {
		next_run(uids, n, &i, &lo, &hi);
		if (ranges++)
			buf_addc(&b, ',');
		if (lo == hi)
			buf_printf(&b, "%u", lo);
		else
			buf_printf(&b, "%u:%u", lo, hi);
	}
	*used = i;
	if (!with_body)
		buf_adds(&b, " (UID RFC822.SIZE)\r\n");
	else if (partial == 0)
		buf_adds(&b, " (UID BODY.PEEK[])\r\n");
	else
		buf_printf(&b, " (UID BODY.PEEK[]<0.%zu>)\r\n", partial);
	return buf_take(&b);
}

/* Sends UID FETCH for uids (imap_fetch_command) without waiting for the
 * answer: the server works on it while the caller hands over the last
 * answer's messages. fetch() leaves at most one unanswered, and reads its
 * answer before it sends any other command. */
static int fetch_ask(struct imap *im, const uint32_t *uids, size_t n, int with_body, size_t partial, size_t *used, char *err,
                     size_t errlen)
{
	char *cmd = imap_fetch_command(uids, n, with_body, partial, used);
	size_t len = strlen(cmd);
	double started = now_seconds();
	int r;

	r = mailimap_send_current_tag(im->session);
	if (r == MAILIMAP_NO_ERROR && (mailstream_write(im->session->imap_stream, cmd, len) != (ssize_t)len ||
	                               mailstream_flush(im->session->imap_stream) == -1))
		r = MAILIMAP_ERROR_STREAM;
	free(cmd);
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "fetching messages", started, err, errlen);
		return -1;
	}
	return 0;
}

/* Reads the answer to the FETCH fetch_ask() sent, into items: sizes, or
 * bodies, which point into libetpan's result list, appended to `keep` for
 * the caller to free with free_results(). */
static int fetch_answer(struct imap *im, int with_body, struct fetch_item *items, size_t nitems, clist *keep, char *err,
                        size_t errlen)
{
	struct mailimap_response *response = NULL;
	clist *result = NULL;
	double started = now_seconds();
	int r, state;

	if (!mailimap_read_line(im->session))
		r = MAILIMAP_ERROR_STREAM;
	else
		r = mailimap_parse_response(im->session, &response);
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "fetching messages", started, err, errlen);
		return -1;
	}
	if (im->session->imap_response_info) {
		result = im->session->imap_response_info->rsp_fetch_list;
		im->session->imap_response_info->rsp_fetch_list = NULL;
	}
	state = response->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
	mailimap_response_free(response);
	if (state != MAILIMAP_RESP_COND_STATE_OK) {
		if (result)
			mailimap_fetch_list_free(result);
		command_failed(im, MAILIMAP_ERROR_UID_FETCH, "fetching messages", started, err, errlen);
		return -1;
	}
	if (!result)
		return 0;
	read_fetch_result(result, items, nitems, with_body);
	if (!with_body)
		mailimap_fetch_list_free(result);
	else if (clist_append(keep, result) != 0)
		need(NULL);
	return 0;
}

/* UID FETCH uids (sorted), waiting for each answer; as fetch_ask and
 * fetch_answer. */
static int uid_fetch(struct imap *im, const uint32_t *uids, size_t n, int with_body, size_t partial,
                     struct fetch_item *items, size_t nitems, clist *keep, char *err, size_t errlen)
{
	size_t done = 0, used;

	while (done < n) {
		if (fetch_ask(im, uids + done, n - done, with_body, partial, &used, err, errlen) < 0 ||
		    fetch_answer(im, with_body, items, nitems, keep, err, errlen) < 0)
			return -1;
		done += used;
	}
	return 0;
}

/* Free the fetch results a batch kept alive; the list stays, empty. */
static void free_results(clist *keep)
{
	clistiter *cur;

	if (!keep)
		return;
	while ((cur = clist_begin(keep)) != NULL) {
		mailimap_fetch_list_free(clist_content(cur));
		clist_delete(keep, cur);
	}
}

/* The next run of bodies to fetch, from items[start]: consecutive uids,
 * bounded in number and bytes. Fills full[] (whole bodies) and part[] (the
 * first max_size octets of larger messages); returns the run's end. */
static size_t plan_run(const struct fetch_item *items, size_t count, size_t start, size_t max_size, uint32_t *full,
                       size_t *nfull, uint32_t *part, size_t *npart)
{
	size_t end = start, bytes = 0, k;

	while (end < count && end - start < FETCH_BATCH_COUNT) {
		size_t sz = items[end].size;

		if (max_size && sz > max_size)
			sz = max_size;
		if (end > start && bytes + sz > FETCH_BATCH_BYTES)
			break;
		bytes += sz;
		end++;
	}
	*nfull = *npart = 0;
	for (k = start; k < end; k++) {
		if (!items[k].present)
			continue;
		if (max_size && items[k].size > max_size)
			part[(*npart)++] = items[k].uid;
		else
			full[(*nfull)++] = items[k].uid;
	}
	return end;
}

/* Fetches uids in runs (plan_run) and hands each message to cb. The whole
 * bodies of the next run are asked for before this run's messages are
 * handed over, so the server reads and sends them meanwhile: one FETCH at
 * most is outstanding, and it is answered before any other command. */
static int fetch(struct imap *im, const uint32_t *uids, size_t n, size_t max_size, imap_message_cb cb, void *arg, char *err,
                 size_t errlen)
{
	struct fetch_item *items = NULL;
	clist *keep = NULL;
	uint32_t *sorted = NULL, *full = NULL, *part = NULL;
	size_t count, start, end, next, nfull, npart, k, used;
	int r, pending = 0, ret = -1;

	if (check_usable(im, err, errlen) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (max_size > UINT32_MAX)
		max_size = 0;
	sorted = xcalloc(n, sizeof *sorted);
	memcpy(sorted, uids, n * sizeof *sorted);
	count = sort_unique(sorted, n);
	items = xcalloc(count, sizeof *items);
	keep = need(clist_new());
	for (k = 0; k < count; k++)
		items[k].uid = sorted[k];

	/* Sizes first: they decide truncation and runs, and tell us which
	 * messages still exist. */
	if (uid_fetch(im, sorted, count, 0, 0, items, count, NULL, err, errlen) < 0)
		goto fail;

	full = xcalloc(count, sizeof *full);
	part = xcalloc(count, sizeof *part);
	/* A run holds at most FETCH_BATCH_COUNT uids: one command asks for all
	 * of it. */
	_Static_assert(FETCH_BATCH_COUNT <= SET_MAX_RANGES, "a run must fit one UID FETCH");
	end = plan_run(items, count, 0, max_size, full, &nfull, part, &npart);
	if (nfull && fetch_ask(im, full, nfull, 1, 0, &used, err, errlen) < 0)
		goto fail;
	pending = nfull > 0;
	for (start = 0; start < count; start = end, end = next) {
		if (pending) {
			pending = 0;
			if (fetch_answer(im, 1, items, count, keep, err, errlen) < 0)
				goto fail;
		}
		if (npart && uid_fetch(im, part, npart, 1, max_size, items, count, keep, err, errlen) < 0)
			goto fail;
		next = end;
		if (end < count) {
			next = plan_run(items, count, end, max_size, full, &nfull, part, &npart);
			if (nfull && fetch_ask(im, full, nfull, 1, 0, &used, err, errlen) < 0)
				goto fail;
			pending = nfull > 0;
		}
		for (k = start; k < end; k++) {
			struct fetch_item *it = &items[k];
			int truncated = max_size && it->size > max_size;

			if (!it->present || !it->raw) {
				log_debug("%s: message uid %u is gone, skipped", im->label, it->uid);
				continue;
			}
			if (truncated && it->len > max_size)
				it->len = max_size;
			release_signals(&im->outside);
			r = cb(arg, it->uid, it->raw, it->len, truncated);
			hold_signals(&im->outside);
			if (r != 0) {
				set_err(im, err, errlen, "stopped at message uid %u", it->uid);
				goto fail;
			}
			it->raw = NULL;
		}
		free_results(keep);
	}
	ret = 0;
fail:
	/* With an answer still due the session is out of step: it is given up
	 * rather than waited on (the caller closes it and connects again). */
	if (pending)
		im->broken = 1;
	free_results(keep);
	if (keep)
		clist_free(keep);
	free(items);
	free(sorted);
	free(full);
	free(part);
	return ret;
}

static int mark_seen(struct imap *im, uint32_t lo, uint32_t hi, char *err, size_t errlen)
{
	struct mailimap_set *set;
	struct mailimap_flag_list *flags;
	struct mailimap_store_att_flags *store;
	double started;
	int r;

	if (check_usable(im, err, errlen) < 0)
		return -1;
	if (lo == 0 || hi < lo)
		return 0;
	set = need(mailimap_set_new_interval(lo, hi));
	flags = need(mailimap_flag_list_new_empty());
	if (mailimap_flag_list_add(flags, need(mailimap_flag_new_seen())) != MAILIMAP_NO_ERROR)
		need(NULL);
	store = need(mailimap_store_att_flags_new_add_flags_silent(flags));
	started = now_seconds();
	r = mailimap_uid_store(im->session, set, store);
	mailimap_store_att_flags_free(store);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, "marking messages seen", started, err, errlen);
		return -1;
	}
	return 0;
}

/* Since IDLE began (mailimap_idle() clears EXISTS and RECENT), or in the
 * last response alone (EXPUNGE): were messages announced new or removed? */
static int mailbox_changed(const struct imap *im)
{
	const struct mailimap_selection_info *sel = im->session->imap_selection_info;

	if (sel && (sel->sel_has_exists || sel->sel_has_recent))
		return 1;
	return last_answer_expunged(im);
}

/* Sends one command of the idle loop (DONE, NOOP): -1 when it failed (err
 * says so), 1 when its answer announced a change, else 0. */
static int ask(struct imap *im, int (*command)(mailimap *), const char *what, char *err, size_t errlen)
{
	double started = now_seconds();
	int r = command(im->session);

	if (r != MAILIMAP_NO_ERROR) {
		command_failed(im, r, what, started, err, errlen);
		return -1;
	}
	return mailbox_changed(im);
}

static int idle(struct imap *im, int seconds, int check_ms, char *err, size_t errlen)
{
	double deadline, started;
	int r, fd;

	if (check_usable(im, err, errlen) < 0)
		return -1;
	if (!im->has_idle) {
		set_err(im, err, errlen, "server does not support IDLE");
		return -1;
	}
	if (seconds <= 0)
		seconds = 1;
	if (seconds > IDLE_MAX_SECONDS)
		seconds = IDLE_MAX_SECONDS;
	if (im->renew_at) {
		/* Back before the token runs out: the caller logs in again. */
		long long left = im->renew_at - (long long)time(NULL);

		if (left <= 0)
			return 0;
		if (left < seconds)
			seconds = (int)left;
	}
	deadline = now_seconds() + seconds;
	/* Mail that came while the last poll fetched and marked messages was
	 * announced in the answer to one of those commands, after the search.
	 * The server does not say it again, and mailimap_idle() forgets it:
	 * idling now would leave it until the poll interval. Poll again. */
	if (announced_since_search(im))
		return 1;
	im->looked_again = 0;

	for (;;) {
		int woke = 0, check = 0;
		double check_at = check_ms > 0 ? now_seconds() + check_ms / 1000.0 : deadline;

		started = now_seconds();
		r = mailimap_idle(im->session);
		if (r != MAILIMAP_NO_ERROR) {
			command_failed(im, r, "starting IDLE", started, err, errlen);
			return -1;
		}
		fd = mailimap_idle_get_fd(im->session);
		/* Data libetpan already buffered would never wake poll(). */
		while (im->session->imap_stream->read_buffer_len == 0) {
			struct pollfd pfd[2];
			struct timespec ts;
			double left = deadline - now_seconds();
			int n;

			if (left <= 0)
				break;
			if (check_at < deadline && check_at - now_seconds() <= 0) {
				check = 1;
				break;
			}
			if (check_at < deadline && check_at - now_seconds() < left)
				left = check_at - now_seconds();
			pfd[0].fd = fd;
			pfd[0].events = POLLIN;
			pfd[1].fd = wake_pipe[0];
			pfd[1].events = POLLIN;
			pfd[0].revents = pfd[1].revents = 0;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
			/* the only place signals get through: they interrupt the wait */
			n = ppoll(pfd, wake_pipe[0] >= 0 ? 2 : 1, &ts, &im->outside);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				set_err(im, err, errlen, "poll: %s", strerror(errno));
				im->broken = 1;
				return -1;
			}
			if (n > 0 && (pfd[1].revents & POLLIN) && drain_wake_pipe()) {
				woke = 1;
				break;
			}
			if (n > 0 && pfd[0].revents) {
				char c;

				/* EOF: say so, rather than fail on DONE */
				if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
					im->broken = 1;
					set_err(im, err, errlen, "server closed the connection while idling");
					return -1;
				}
				break;
			}
		}
		r = ask(im, mailimap_idle_done, "ending IDLE", err, errlen);
		/* [imap] check_interval_ms: the server tells an idling client only
		 * after its own delay (Dovecot: half a second); NOOP makes it look now. */
		if (r == 0 && check)
			r = ask(im, mailimap_noop, "checking for new messages", err, errlen);
		if (r != 0)
			return r;
		if (woke || now_seconds() >= deadline)
			return 0;
		/* only keep-alive chatter: idle again for the time left */
	}
}

int imap_search(struct imap *im, uint32_t after_uid, int unseen_only, uint32_t **uids, size_t *n, char *err, size_t errlen)
{
	int r;

	hold_signals(&im->outside);
	r = search(im, after_uid, unseen_only, uids, n, err, errlen);
	release_signals(&im->outside);
	return r;
}

int imap_fetch(struct imap *im, const uint32_t *uids, size_t n, size_t max_size, imap_message_cb cb, void *arg, char *err,
               size_t errlen)
{
	int r;

	hold_signals(&im->outside);
	r = fetch(im, uids, n, max_size, cb, arg, err, errlen);
	release_signals(&im->outside);
	return r;
}

int imap_mark_seen(struct imap *im, uint32_t lo, uint32_t hi, char *err, size_t errlen)
{
	int r;

	hold_signals(&im->outside);
	r = mark_seen(im, lo, hi, err, errlen);
	release_signals(&im->outside);
	return r;
}

int imap_idle(struct imap *im, int seconds, int check_ms, char *err, size_t errlen)
{
	int r;

	hold_signals(&im->outside);
	r = idle(im, seconds, check_ms, err, errlen);
	release_signals(&im->outside);
	if (r < 0 && im->token_expired) {
		/* a reconnect, not a failure: imap_renewal_due says so */
		log_info("%s: the server ended the session in IDLE: its access token expired", im->label);
		return 0;
	}
	return r;
}

void imap_close(struct imap *im)
{
	sigset_t outside;

	if (!im)
		return;
	hold_signals(&outside);
	session_end(im);
	release_signals(&outside);
	free(im);
}
