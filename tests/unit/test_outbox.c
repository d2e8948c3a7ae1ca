/* Unit tests for the outbox's retry schedule. */
#include "check.h"
#include "outbox.h"

int main(void)
{
	CHECK_INT("first retry waits retry_min", outbox_backoff(1, 60, 3600, 0.0), 60);
	CHECK_INT("second doubles", outbox_backoff(2, 60, 3600, 0.0), 120);
	CHECK_INT("third doubles again", outbox_backoff(3, 60, 3600, 0.0), 240);
	CHECK_INT("capped at retry_max", outbox_backoff(10, 60, 3600, 0.0), 3600);
	CHECK_INT("no overflow after many attempts", outbox_backoff(100000, 60, 3600, 0.0), 3600);
	CHECK_INT("jitter adds at most a quarter", outbox_backoff(1, 60, 3600, 0.999), 74);
	CHECK_INT("jitter on the cap", outbox_backoff(20, 60, 3600, 0.5), 4050);
	CHECK("jitter never shortens", outbox_backoff(4, 60, 3600, 0.3) >= 480);
	return check_done();
}
