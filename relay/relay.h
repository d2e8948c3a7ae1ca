/* relay.h: the running relay's context, shared by the engine's files. */
#ifndef RELAY_RELAY_H
#define RELAY_RELAY_H

#include <signal.h>

#include "config.h"
#include "db.h"

struct sms_gateway;
struct sending;
struct receipts;
struct health;

struct relay {
	struct config *cfg;              /* borrowed */
	struct db *db;                   /* borrowed */
	long long now;                   /* the time of the current step (unix seconds) */
	volatile sig_atomic_t *stopping; /* set by SIGTERM/SIGINT; may be NULL */
	struct sms_gateway *sms;         /* borrowed; NULL when [sms] provider = none */
	struct sending *sending;         /* owned by outbox.c: the SMTP session under way, or NULL */
	struct receipts *receipts;       /* owned by outbox.c: this process's receipt file, or NULL */
	struct health *health;           /* borrowed: where the daemon notes each part's outcome, or NULL */
};

/* Seconds since the epoch. In a test build only (compiled with
 * -DRELAY_TEST_HOOKS: build/relay-test, build/relay-asan), RELAY_TEST_NOW
 * (digits) pins it; the production build never reads it. */
long long relay_clock(void);

/* Which build this is, for relay --version: "production build" or
 * "test build: ...". Static text. */
const char *relay_build(void);

/* The service's local time as "Thursday 19 November 2026, 17:31 GMT". */
void relay_format_time(long long t, char *out, size_t outlen);

#endif
