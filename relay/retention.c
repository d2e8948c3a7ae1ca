/* retention.c: removing text kept past retention_days (see retention.h). */
#include "retention.h"

#include <stdlib.h>

#include "log.h"

/* Conversations closed before this time have outlived retention. */
static long long closed_before(const struct relay *r)
{
	return r->now - (long long)r->cfg->retention_days * 86400;
}

int retention_due(struct relay *r, size_t *n)
{
	long long *ids = NULL;
	*n = 0;
	if (db_purge_candidates(r->db, closed_before(r), &ids, n) < 0) {
		log_error("retention: purge stopped after 0 of 0 conversations: %s", db_error(r->db));
		return -1;
	}
	free(ids);
	return 0;
}

int retention_purge(struct relay *r, const char *actor, struct retention_outcome *out)
{
	long long *ids = NULL;
	size_t n = 0, done = 0;

	out->due = out->purged = 0;
	out->wal_busy = 0;
	if (db_purge_candidates(r->db, closed_before(r), &ids, &n) < 0)
		goto fail;
	out->due = n;
	for (; done < n; done++) {
		if (r->stopping && *r->stopping)
			break;
		if (db_begin(r->db) < 0)
			goto fail;
		if (db_purge_conversation(r->db, ids[done], r->now, actor) < 0 || db_commit(r->db) < 0) {
			db_rollback(r->db);
			goto fail;
		}
		out->purged = done + 1;
		log_progress("purge: conversations", done + 1, n);
	}
	int wal = done ? db_checkpoint(r->db) : 0;
	if (wal < 0)
		goto fail;
	out->wal_busy = wal > 0;
	if (done)
		log_info("retention: text of %zu conversation%s closed more than %d days ago removed", done,
		         done == 1 ? "" : "s", r->cfg->retention_days);
	if (wal > 0)
		log_warn("retention: the write-ahead log could not be emptied while another process reads the database; "
		         "the next purge will finish it");
	free(ids);
	return 0;
fail:
	log_error("retention: purge stopped after %zu of %zu conversations: %s", done, n, db_error(r->db));
	free(ids);
	return -1;
}
