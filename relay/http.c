/* http.c: HTTPS requests to an SMS gateway with libcurl.
 *
 * One easy handle per struct http, reset before every request so no option
 * leaks from one request into the next; curl_easy_reset keeps the handle's
 * live connections, so the gateway connection stays alive between polls.
 *
 * libcurl is loaded with dlopen when the first gateway is opened, not
 * linked: a relay without SMS would otherwise carry it and what it pulls in
 * (Kerberos, LDAP, libssh2, RTMP, nghttp2, and the OpenSSL set-up that
 * libssh2 runs in curl_global_init), about 3 MB of its memory. Only the
 * types and constants come from <curl/curl.h>; every call goes through
 * `curl` below. */
#include "http.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "tlsverify.h"
#include "util.h"

#define DEFAULT_MAX_BODY (4u * 1024 * 1024)
#define DEFAULT_TIMEOUT 30
#define MAX_CONNECT_TIMEOUT 10
#define MAX_CHAIN 16

/* The shared object the Makefile found for -lcurl (its SONAME). */
#ifndef RELAY_LIBCURL
#define RELAY_LIBCURL "libcurl-gnutls.so.4"
#endif

/* The libcurl functions we call, from the loaded library. */
static struct {
	void *lib; /* dlopen handle; NULL until loaded (never closed) */
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *u, CURLUPart what, const char *part, unsigned int flags);
	CURLUcode (*url_get)(const CURLU *u, CURLUPart what, char **part, unsigned int flags);
	void (*url_cleanup)(CURLU *u);
	void (*free)(void *p);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *c);
	void (*easy_reset)(CURL *c);
	CURLcode (*easy_setopt)(CURL *c, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	CURLcode (*easy_perform)(CURL *c);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} curl;

struct http {
	CURL *curl;
	char *base;     /* owned: base URL without trailing slash */
	char *host;     /* owned: "host" or "host:port", for error messages */
	char *hostname; /* owned: the host alone, as certificates name it */
	char *scheme;   /* owned: "https", or "http" on loopback only */
	char *username; /* owned, may be NULL */
	char *password; /* owned, may be NULL */
	char *ca_file;  /* owned, may be NULL */
	char *bearer;   /* owned, wiped, may be NULL: http_set_bearer */
	long timeout;
	long timeout_now; /* http_set_timeout(); 0: timeout */
	int arrived;      /* the last request failed after it went out */
	size_t max_body;
	char errbuf[CURL_ERROR_SIZE];
};

/* What the callbacks fill during one transfer. */
struct transfer {
	struct buf body;
	size_t max_body;
	int too_large;
	char *total_count; /* owned */
	char *retry_after; /* owned */
};

/* Loopback: "localhost" (curl never asks DNS for it), 127.0.0.0/8, ::1 and
 * ::ffff:127.x. host is as curl_url gives it (IPv6 in brackets). */
static int host_is_loopback(const char *host)
{
	char v6[INET6_ADDRSTRLEN + 1];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(host);

	if (str_casecmp_ascii(host, "localhost") == 0 || str_casecmp_ascii(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof v6) {
		memcpy(v6, host + 1, n - 2);
		v6[n - 2] = '\0';
		if (strchr(v6, '%')) /* zone ids: not loopback addresses we accept */
			return 0;
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return 0;
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return 0;
}

/* Loads libcurl and runs curl_global_init, once (the relay has no threads).
 * 0, or -1 with err naming the library that could not be loaded. */
static int load_curl(char *err, size_t errlen)
{
#define SYM(field, name)                    \
	{                                   \
#name, (void **)&curl.field \
	}
	static const struct {
		const char *name;
		void **slot;
	} syms[] = {
		SYM(global_init, curl_global_init),
		SYM(global_cleanup, curl_global_cleanup),
		SYM(url, curl_url),
		SYM(url_set, curl_url_set),
		SYM(url_get, curl_url_get),
		SYM(url_cleanup, curl_url_cleanup),
		SYM(free, curl_free),
		SYM(easy_init, curl_easy_init),
		SYM(easy_cleanup, curl_easy_cleanup),
		SYM(easy_reset, curl_easy_reset),
		SYM(easy_setopt, curl_easy_setopt),
		SYM(easy_getinfo, curl_easy_getinfo),
		SYM(easy_perform, curl_easy_perform),
		SYM(easy_strerror, curl_easy_strerror),
		SYM(slist_append, curl_slist_append),
		SYM(slist_free_all, curl_slist_free_all),
	};
#undef SYM
	void *lib;
	size_t i;

	if (curl.lib)
		return 0;
	lib = dlopen(RELAY_LIBCURL, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(err, errlen, "cannot load %s, which SMS gateways need: %s", RELAY_LIBCURL, dlerror());
		return -1;
	}
	for (i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		if ((*syms[i].slot = dlsym(lib, syms[i].name)) == NULL) {
			snprintf(err, errlen, "cannot use %s, which SMS gateways need: it has no %s", RELAY_LIBCURL,
			         syms[i].name);
			dlclose(lib);
			return -1;
		}
	}
	if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "%s could not initialise", RELAY_LIBCURL);
		dlclose(lib);
		return -1;
	}
	curl.lib = lib;
	atexit(curl.global_cleanup);
	return 0;
}

void http_close(struct http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl.easy_cleanup(h->curl);
	free(h->base);
	free(h->host);
	free(h->hostname);
	free(h->scheme);
	free(h->username);
	if (h->password) {
		explicit_bzero(h->password, strlen(h->password));
		free(h->password);
	}
	free(h->ca_file);
	http_set_bearer(h, NULL);
	free(h);
}

void http_set_bearer(struct http *h, const char *token)
{
	if (h->bearer) {
		explicit_bzero(h->bearer, strlen(h->bearer));
		free(h->bearer);
	}
	h->bearer = token ? xstrdup(token) : NULL;
}

int http_open(const struct http_settings *s, struct http **out, char *err, size_t errlen)
{
	struct http *h = NULL;
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *query = NULL, *frag = NULL;
	size_t n;
	int ret = -1;

	*out = NULL;
	if (!s->base_url || *s->base_url == '\0') {
		snprintf(err, errlen, "no gateway URL configured");
		return -1;
	}
	if (load_curl(err, errlen) < 0)
		return -1;

	u = curl.url();
	if (!u || curl.url_set(u, CURLUPART_URL, s->base_url, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		/* Not echoing the URL: it might carry credentials. */
		snprintf(err, errlen, "gateway URL is not a valid URL");
		goto fail;
	}
	if (curl.url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "gateway URL for %s must not contain credentials (set the username and password)",
		         host);
		goto fail;
	}
	if (curl.url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl.url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
		snprintf(err, errlen, "gateway URL for %s must not have a query or fragment", host);
		goto fail;
	}
	if (strcmp(scheme, "https") != 0 && !(strcmp(scheme, "http") == 0 && host_is_loopback(host))) {
		snprintf(err, errlen, "gateway URL for %s must use https (plain http only on this machine's loopback)",
		         host);
		goto fail;
	}

	h = xcalloc(1, sizeof *h);
	h->curl = curl.easy_init();
	if (!h->curl) {
		snprintf(err, errlen, "libcurl could not create a handle");
		goto fail;
	}
	h->base = xstrdup(s->base_url);
	n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (curl.url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
		h->host = xasprintf("%s:%s", host, port);
	else
		h->host = xstrdup(host);
	h->hostname = xstrdup(host);
	h->scheme = xstrdup(scheme);
	h->username = xstrdup(s->username);
	h->password = xstrdup(s->password);
	h->ca_file = s->ca_file && *s->ca_file ? xstrdup(s->ca_file) : NULL;
	h->timeout = s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT;
	h->max_body = s->max_body ? s->max_body : DEFAULT_MAX_BODY;

	*out = h;
	h = NULL;
	ret = 0;

fail:
	curl.free(scheme);
	curl.free(host);
	curl.free(port);
	curl.free(user);
	curl.free(query);
	curl.free(frag);
	curl.url_cleanup(u);
	http_close(h);
	return ret;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;

	if (n > t->max_body - t->body.len) {
		t->too_large = 1;
		return 0; /* short count: curl aborts with CURLE_WRITE_ERROR */
	}
	buf_add(&t->body, data, n);
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;
	static const char name[] = "x-total-count:", retry[] = "retry-after:";

	/* A new status line (after 100 Continue) starts a new header block. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		free(t->total_count);
		t->total_count = NULL;
		free(t->retry_after);
		t->retry_after = NULL;
	} else if (n > sizeof(name) - 1 && str_ncasecmp_ascii(data, name, sizeof(name) - 1) == 0) {
		char *v = xstrndup(data + sizeof(name) - 1, n - (sizeof(name) - 1));

		free(t->total_count);
		t->total_count = xstrdup(str_trim(v));
		free(v);
	} else if (n > sizeof retry - 1 && str_ncasecmp_ascii(data, retry, sizeof retry - 1) == 0) {
		char *v = xstrndup(data + sizeof retry - 1, n - (sizeof retry - 1));

		free(t->retry_after);
		t->retry_after = xstrdup(str_trim(v));
		free(v);
	}
	return n;
}

/* Every option, set afresh for each request (after curl_easy_reset). */
static int setup(struct http *h, const char *method, const char *url, const char *body, size_t len,
                 struct curl_slist *headers, struct transfer *t)
{
	CURL *c = h->curl;
	long limit = h->timeout_now > 0 ? h->timeout_now : h->timeout;
	long connect = limit < MAX_CONNECT_TIMEOUT ? limit : MAX_CONNECT_TIMEOUT;
	int bad = 0;

#define SET(opt, val) bad |= curl.easy_setopt(c, opt, val) != CURLE_OK
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, connect);
	SET(CURLOPT_TIMEOUT, limit);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
	SET(CURLOPT_PROTOCOLS_STR, h->scheme);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, h->scheme);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	/* The chain, kept for certificate_problem(): GnuTLS gathers it before
	 * verifying, and only on a new connection. */
	SET(CURLOPT_CERTINFO, 1L);
	if (h->ca_file) {
		/* Instead of the system store, as for mail (tlsverify.h): Debian's
		 * libcurl would otherwise trust its CA path as well. */
		SET(CURLOPT_CAINFO, h->ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	if (h->bearer) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		SET(CURLOPT_XOAUTH2_BEARER, h->bearer);
	} else if (h->username) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, h->username);
		SET(CURLOPT_PASSWORD, h->password ? h->password : "");
	}
	SET(CURLOPT_USERAGENT, "relay");
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_body);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, t);
	SET(CURLOPT_HTTPHEADER, headers);
	if (strcmp(method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		/* Size before the copy: COPYPOSTFIELDS copies that many bytes. */
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		SET(CURLOPT_COPYPOSTFIELDS, body ? body : "");
		if (strcmp(method, "POST") != 0)
			SET(CURLOPT_CUSTOMREQUEST, method);
	} else {
		SET(CURLOPT_CUSTOMREQUEST, method); /* DELETE without a body */
	}
#undef SET
	return bad ? -1 : 0;
}

/* libcurl's GnuTLS backend says "server certificate verification failed"
 * for an expired and a self-signed certificate alike. The chain it saw goes
 * through tls_verify_chain_pem() for the reason, in the same words as for
 * mail. 0 with the reason in why; -1 when there is no chain or no objection. */
static int certificate_problem(struct http *h, char *why, size_t whylen)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *f;
	const char *pem[MAX_CHAIN];
	size_t n = 0;
	int i;

	if (curl.easy_getinfo(h->curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci)
		return -1;
	for (i = 0; i < ci->num_of_certs && n < MAX_CHAIN; i++) {
		for (f = ci->certinfo[i]; f; f = f->next)
			if (strncmp(f->data, "Cert:", 5) == 0)
				break;
		if (!f)
			return -1;
		pem[n++] = f->data + 5;
	}
	if (n == 0)
		return -1;
	return tls_verify_chain_pem(pem, n, h->hostname, h->ca_file, why, whylen) < 0 ? 0 : -1;
}

/* A message a person can act on: host and problem, never credentials (our
 * URLs carry none, and curl's own messages do not quote the password). */
static void describe(struct http *h, CURLcode rc, const struct transfer *t, char *err, size_t errlen)
{
	const char *why = h->errbuf[0] ? h->errbuf : curl.easy_strerror(rc);
	char reason[512];

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "%s: host name not found", h->host);
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(err, errlen, "%s: connection refused or unreachable", h->host);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "%s: timed out (limit %ld s)", h->host,
		         h->timeout_now > 0 ? h->timeout_now : h->timeout);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		if (certificate_problem(h, reason, sizeof reason) == 0) {
			snprintf(err, errlen, "%s: %s; nothing was sent", h->host, reason);
			break;
		}
		snprintf(err, errlen, "%s: certificate problem: %s", h->host, why);
		break;
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
		snprintf(err, errlen, "%s: certificate problem: %s", h->host, why);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(err, errlen, "%s: TLS handshake failed: %s", h->host, why);
		break;
	case CURLE_FILESIZE_EXCEEDED:
		snprintf(err, errlen, "%s: response too large (limit %zu bytes)", h->host, h->max_body);
		break;
	case CURLE_WRITE_ERROR:
		if (t->too_large)
			snprintf(err, errlen, "%s: response too large (limit %zu bytes)", h->host, h->max_body);
		else
			snprintf(err, errlen, "%s: %s", h->host, why);
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		snprintf(err, errlen, "%s: connection dropped (%s)", h->host, why);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(err, errlen, "%s: refused: only %s is allowed", h->host, h->scheme);
		break;
	default:
		snprintf(err, errlen, "%s: %s", h->host, why);
		break;
	}
}

int http_request(struct http *h, const char *method, const char *path, const char *content_type, const char *body,
                 size_t len, struct http_response *resp, char *err, size_t errlen)
{
	struct transfer t;
	struct curl_slist *headers = NULL;
	char *url = NULL, *ct = NULL;
	CURLcode rc;
	long status = 0;
	int ret = -1;

	memset(resp, 0, sizeof *resp);
	memset(&t, 0, sizeof t);
	h->arrived = 0;
	buf_init(&t.body);
	t.max_body = h->max_body;

	if (!path || path[0] != '/') {
		snprintf(err, errlen, "%s: request path must start with /", h->host);
		goto fail;
	}
	url = xasprintf("%s%s", h->base, path);

	/* An empty "Expect:" stops curl waiting for 100 Continue on big bodies. */
	if (content_type)
		ct = xasprintf("Content-Type: %s", content_type);
	if ((headers = curl.slist_append(NULL, "Expect:")) == NULL || (ct && curl.slist_append(headers, ct) == NULL)) {
		snprintf(err, errlen, "%s: out of memory", h->host);
		goto fail;
	}

	curl.easy_reset(h->curl);
	h->errbuf[0] = '\0';
	if (setup(h, method, url, body, len, headers, &t) < 0) {
		snprintf(err, errlen, "%s: libcurl refused an option", h->host);
		goto fail;
	}
	rc = curl.easy_perform(h->curl);
	if (rc != CURLE_OK) {
		long sent = 0;
		/* Bytes of the request written: it may have reached the server. */
		if (curl.easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK || sent > 0)
			h->arrived = 1;
		describe(h, rc, &t, err, errlen);
		goto fail;
	}
	curl.easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);

	resp->status = status;
	resp->len = t.body.len;
	resp->body = buf_take(&t.body);
	resp->total_count = t.total_count;
	t.total_count = NULL;
	resp->retry_after = t.retry_after;
	t.retry_after = NULL;
	ret = 0;

fail:
	/* The reset handle must not point at our stack after we return. */
	curl.easy_setopt(h->curl, CURLOPT_ERRORBUFFER, NULL);
	curl.easy_setopt(h->curl, CURLOPT_WRITEDATA, NULL);
	curl.easy_setopt(h->curl, CURLOPT_HEADERDATA, NULL);
	curl.easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl.slist_free_all(headers);
	free(ct);
	free(url);
	free(t.total_count);
	free(t.retry_after);
	buf_free(&t.body);
	return ret;
}

int http_may_have_arrived(const struct http *h)
{
	return h && h->arrived;
}

void http_set_timeout(struct http *h, int seconds)
{
	if (h)
		h->timeout_now = seconds > 0 ? seconds : 0;
}

void http_response_free(struct http_response *r)
{
	if (!r)
		return;
	free(r->body);
	free(r->total_count);
	free(r->retry_after);
	memset(r, 0, sizeof *r);
}

char *http_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b;
	const unsigned char *p;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '.' || *p == '_' || *p == '~') {
			buf_addc(&b, (char)*p);
		} else {
			buf_addc(&b, '%');
			buf_addc(&b, hex[*p >> 4]);
			buf_addc(&b, hex[*p & 15]);
		}
	}
	return buf_take(&b);
}
