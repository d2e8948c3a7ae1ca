/* fuzz_config.c: config_load() on any file. The configuration is the
 * operator's, not a stranger's, but a typo or a half-written file must be an
 * error naming the line, never a crash at start-up or on SIGHUP.
 *
 * The input is written to a file in a private directory under /dev/shm, so
 * that relative paths in it (secret_file, templates, ...) resolve inside an
 * empty directory and never to a real file or to a descriptor. */
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char dir[] = "/dev/shm/relay-fuzz-config-XXXXXX";
static char *path;

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
	free(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	path = xasprintf("%s/relay.conf", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char err[512] = "";
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		perror(path);
		abort();
	}
	if (config_load(path, &c, err, sizeof err) == 0) {
		fuzz_require(c != NULL && c->from_address && c->forward_to.n > 0 && c->allowed.n > 0);
		config_free(c);
	} else {
		fuzz_require(err[0] != '\0' && strlen(err) < sizeof err);
	}
	return 0;
}
