/* files.h: the relay's own files on the server, checked at every start
 * (every command) and by relay check.
 *
 * Whoever can write a file the relay takes instructions from can change what
 * children are told, or where their words go. So:
 *
 * - what it reads (the configuration, the templates directory and its files,
 *   the urgent list, the bank holidays, the CA files) and the secret files
 *   (passwords, the signing key) belong to root or the service user and are
 *   not writable by group or others;
 * - the database, its -wal/-shm/-journal companions and its directory belong
 *   to the service user, are not writable by group or others, and the
 *   database is not a symbolic link;
 * - every directory above each of them belongs to root or the service user
 *   and is not writable by group or others (a root-owned sticky directory
 *   such as /tmp excepted: nobody can replace there what is not theirs), so
 *   that nobody else can plant a symbolic link or a file of their own on
 *   the way. A path that is itself a symbolic link is checked at both ends.
 *
 * Each problem is one sentence naming the file and the fix. */
#ifndef RELAY_FILES_H
#define RELAY_FILES_H

#include <sys/types.h>

struct config;

/* Called with each problem (borrowed text, valid during the call). */
typedef void (*files_report_fn)(void *arg, const char *problem);

/* Checks every file c names, as the service user uid (the effective user
 * once root is dropped). Reports each problem (at most one per file) and
 * returns how many there were. A file that does not exist is not a problem
 * here (the database is created; the others fail when read). */
int files_check(const struct config *c, uid_t uid, files_report_fn report, void *arg);

#endif
