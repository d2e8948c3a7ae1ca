/* identity.h: when are two received emails the same message?
 *
 * A message is what its sender wrote, not what it claims nor how it
 * travelled. Its identity is a digest of its Message-ID, From, Date and
 * Subject, the MIME headers that say how to read its body (Content-Type,
 * Content-Transfer-Encoding) and the body itself. Each copy gains headers of
 * its own on the way (Received, Delivered-To, Return-Path, X-Original-To,
 * spam and DKIM verdicts) and servers may reorder or refold fields; none of
 * that counts. So the same message fetched again (a UIDVALIDITY rescan) or
 * delivered to two of the service's addresses has one identity, and two
 * different messages that reuse a Message-ID (senders choose them, and they
 * collide) have two.
 *
 * Normalised before hashing: header names compare case-insensitively; a
 * value is unfolded, its runs of blanks made one space and trimmed; a field
 * that appears more than once counts each time, in order. The body is what
 * follows the first empty line (or the first line that is neither a header
 * field nor its continuation, so that text without headers is all body),
 * with CRLF read as LF and line ends at its very end dropped. A message
 * with neither a Message-ID nor a Date has nothing of its own that tells two
 * sendings of the same text apart ("ok", twice): there the body is all its
 * bytes, trace included, so that a copy costs a second forward and never a
 * message lost (a rescan fetches the same bytes and is still one). The
 * digest is
 * SHA-256 over, for each field in the order named above, its lowercase name,
 * a NUL, each value as "<length>:<value>\n" and a "\n"; then "body\n" and the
 * body. Keys are kept in the database: a change to any of this takes
 * messages already stored in again.
 *
 * Pure: no I/O; SHA-256 is GnuTLS's. */
#ifndef RELAY_IDENTITY_H
#define RELAY_IDENTITY_H

#include <stddef.h>

#define IDENTITY_PREFIX "msg-sha256:"
/* Length of a key without its NUL: the prefix and 64 hex digits. */
#define IDENTITY_KEY_LEN (sizeof IDENTITY_PREFIX - 1 + 64)

/* Writes the identity key of raw (len bytes, the message as fetched; NUL
 * bytes allowed) into out, which holds IDENTITY_KEY_LEN + 1 bytes: for
 * example "msg-sha256:3f5c…". raw may be NULL when len is 0. Returns 0, or
 * -1 when the hash could not be computed (out is then ""). */
int identity_key(const char *raw, size_t len, char *out);

#endif
