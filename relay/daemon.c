/* daemon.c: the daemon's loop and its cycle (see daemon.h). */
#include "daemon.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "health.h"
#include "imap.h"
#include "log.h"
#include "mailbox.h"
#include "notify.h"
#include "oauth.h"
#include "outbox.h"
#include "relay.h"
#include "retention.h"
#include "settings.h"
#include "sms.h"
#include "smsbox.h"

/* Did the disk fail a write since `before`? db.c has reported it then, once. */
static int disk_failed_since(const struct relay *r, unsigned long before)
{
	return db_disk_failures(r->db) != before;
}

/* Between the inbox's fetch batches: the forwards and auto-replies of what
 * is stored go out while the next batch comes in (outbox_pump starts an
 * SMTP session, or takes the reports of the one under way). */
static void send_between_batches(void *arg)
{
	(void)outbox_pump(arg);
}

/* One cycle: the inbox, the text inbox, then the outbox. 0 when all went well.
 * texts: poll the SMS gateway this time. Each part's outcome is noted in
 * r->health (when there is one); a failure the disk caused is the disk's. */
static int cycle(struct relay *r, struct imap **im, int texts)
{
	char err[1024];
	int ok = 0;
	unsigned long disk = db_disk_failures(r->db), start = disk;

	r->now = relay_clock();
	if (texts && r->sms) {
		if (smsbox_poll(r, err, sizeof err) < 0) {
			if (!disk_failed_since(r, disk)) {
				log_error("sms %s: %s", r->sms->provider->name, err);
				health_fail(r->health, HEALTH_SMS_POLL, err, relay_clock());
			}
			ok = -1;
		} else {
			health_ok(r->health, HEALTH_SMS_POLL, relay_clock());
		}
		notify_keepalive();
	}
	r->now = relay_clock();
	if (!*im && mailbox_open(r, im, err, sizeof err) < 0) {
		log_error("%s", err);
		health_fail(r->health, HEALTH_INBOX, err, relay_clock());
		*im = NULL;
		ok = -1;
	}
	disk = db_disk_failures(r->db);
	if (*im && mailbox_poll(r, *im, send_between_batches, r, err, sizeof err) < 0) {
		if (!disk_failed_since(r, disk)) {
			log_error("mailbox: %s", err);
			health_fail(r->health, HEALTH_INBOX, err, relay_clock());
		}
		imap_close(*im);
		*im = NULL;
		ok = -1;
	} else if (*im) {
		health_ok(r->health, HEALTH_INBOX, relay_clock());
	}
	notify_keepalive();
	/* Nothing is sent while its outcome could not be recorded: it would go twice. */
	if (!db_has_room(r->db)) {
		health_fail(r->health, HEALTH_DISK, db_error(r->db), relay_clock());
		return -1;
	}
	r->now = relay_clock();
	/* Conversations with no activity for close_after_days close by themselves. */
	int closed = db_close_inactive(r->db, r->now - (long long)r->cfg->close_after_days * 86400, r->now);
	if (closed > 0)
		log_info("%d conversation%s closed after %d days without activity", closed, closed == 1 ? "" : "s",
		         r->cfg->close_after_days);
	if (outbox_flush(r, err, sizeof err) < 0)
		ok = -1;
	notify_keepalive();
	if (texts && r->sms && outbox_track_deliveries(r) < 0)
		ok = -1;
	if (outbox_alert_stale(r) > 0)
		(void)outbox_flush(r, err, sizeof err); /* the alerts themselves, at once */
	if (disk_failed_since(r, start))
		health_fail(r->health, HEALTH_DISK, db_error(r->db), relay_clock());
	else
		health_ok(r->health, HEALTH_DISK, relay_clock());
	notify_keepalive();
	return ok;
}

int daemon_poll(struct config *c, struct db *db, volatile sig_atomic_t *stopping)
{
	struct relay r = { .cfg = c, .db = db, .now = relay_clock(), .stopping = stopping, .sms = settings_sms_open(c) };
	struct imap *im = NULL;
	int rc = cycle(&r, &im, 1);
	outbox_end(&r);
	if (config_has_sms(c) && !r.sms)
		rc = -1;
	imap_close(im);
	sms_close(r.sms);
	return rc == 0 ? 0 : -1;
}

/* Sleeps up to ms milliseconds, waking early for a signal. */
static void nap(const struct daemon_control *d, long long ms)
{
	for (long long i = 0; i < ms && !*d->stopping && !*d->reloading; i += 100)
		poll(NULL, 0, ms - i < 100 ? (int)(ms - i) : 100);
}

/* Tells systemd the one-line health when it has changed. */
static void notify_status(const struct health *h, long long now)
{
	static char last[512];
	char line[512], msg[600];
	health_summary(h, now, line, sizeof line);
	if (!strcmp(line, last))
		return;
	snprintf(msg, sizeof msg, "STATUS=%s", line);
	if (notify_send(msg) == 0)
		snprintf(last, sizeof last, "%s", line);
}

int daemon_open_db(struct config *c, struct db **db)
{
	char err[1024];
	if (db_open(c->database, db, err, sizeof err) < 0) {
		log_error("database %s", err);
		return -1;
	}
	return 0;
}

int daemon_run(const struct daemon_control *d, struct config **cp, struct db **dbp)
{
	struct imap *im = NULL;
	struct sms_gateway *sms = settings_sms_open(*cp);
	long long last_texts = 0, last_purge = 0;
	int failures = 0;
	struct health health;

	memset(&health, 0, sizeof health);
	health.started = relay_clock();
	health.sms = config_has_sms(*cp);
	{
		struct relay r0 = { .cfg = *cp, .db = *dbp, .now = health.started };
		alerts_restore(&r0, &health);
	}
	log_info("relay started: %s, polling every %ds%s", (*cp)->name, (*cp)->poll_interval,
	         (*cp)->imap_idle ? ", IDLE when offered" : "");
	if (d->stays_root)
		log_warn("running as root because [service] user = root: a service should run as its own user");
	/* The configuration and the database are good: systemd may count the
	 * service started. */
	(void)notify_send("READY=1\nSTATUS=starting: first poll");
	if (notify_watchdog_ms())
		log_info("systemd watchdog: a keep-alive every %lld ms", notify_watchdog_ms());
	while (!*d->stopping) {
		notify_keepalive();
		if (*d->reloading) {
			struct config *fresh = NULL;
			*d->reloading = 0;
			(void)notify_send("RELOADING=1");
			if (d->load(d->config_path, &fresh) == 0) {
				struct db *db2 = NULL;
				if (strcmp(fresh->database, (*cp)->database) == 0 || daemon_open_db(fresh, &db2) == 0) {
					imap_close(im);
					im = NULL;
					if (db2) {
						db_close(*dbp);
						*dbp = db2;
					}
					oauth_reset(); /* its sources borrow the old configuration */
					config_free(*cp);
					*cp = fresh;
					sms_close(sms);
					sms = settings_sms_open(*cp);
					last_texts = 0;
					log_info("configuration reloaded");
				} else {
					config_free(fresh);
				}
			} else {
				log_error("configuration not reloaded: keeping the running one");
			}
			(void)notify_send("READY=1");
		}
		if (!sms && config_has_sms(*cp))
			sms = settings_sms_open(*cp);
		health.sms = config_has_sms(*cp);
		if (health.sms && !sms)
			health_fail(&health, HEALTH_SMS_POLL, "the SMS gateway cannot be opened (the journal says why)",
			            relay_clock());
		struct relay r = {
			.cfg = *cp, .db = *dbp, .now = relay_clock(), .stopping = d->stopping, .sms = sms, .health = &health
		};
		/* Texts are polled on their own interval; IDLE never holds them up. */
		int texts = r.now - last_texts >= (*cp)->sms_poll_interval;
		if (texts)
			last_texts = r.now;
		int rc = cycle(&r, &im, texts);
		if (!*d->stopping && r.now - last_purge >= 86400) {
			/* Retention, once a day: text kept past retention_days after closing goes. */
			struct retention_outcome purged;
			last_purge = r.now;
			(void)retention_purge(&r, "retention", &purged);
		}
		outbox_end(&r);
		alerts_run(&r, &health);
		notify_status(&health, r.now);
		notify_keepalive();
		failures = rc < 0 ? failures + 1 : 0;
		if (*d->stopping)
			break;
		int wait = (*cp)->poll_interval;
		if (sms && wait > (*cp)->sms_poll_interval)
			wait = (*cp)->sms_poll_interval;
		if (failures) {
			/* Back off while a server is away, up to the poll interval. */
			wait = failures < 5 ? 1 << failures : (*cp)->poll_interval;
			if (wait > (*cp)->poll_interval)
				wait = (*cp)->poll_interval;
		}
		/* The watchdog's keep-alives come from this loop only: it wakes in
		 * time for the next one, a cycle sooner than it would have. */
		long long due = notify_due_in_ms();
		if (due >= 0 && due < (long long)wait * 1000)
			wait = due < 1000 ? 1 : (int)(due / 1000);
		if (im && (*cp)->imap_idle && imap_has_idle(im) && !failures) {
			char err[512];
			if (db_outbox_pending_count(*dbp) > 0 && wait > r.cfg->retry_min)
				wait = r.cfg->retry_min;
			if (imap_idle(im, wait, (*cp)->imap_check_interval_ms, err, sizeof err) < 0) {
				log_warn("mailbox: IDLE ended: %s", err);
				imap_close(im);
				im = NULL;
			}
		} else {
			nap(d, due >= 0 && due < (long long)wait * 1000 ? due : (long long)wait * 1000);
		}
	}
	(void)notify_send("STOPPING=1");
	{
		struct relay r = { .cfg = *cp, .db = *dbp, .now = relay_clock() };
		alerts_save(&r, &health, "stopped");
	}
	imap_close(im);
	sms_close(sms);
	log_info("relay stopped");
	return 0;
}
