/*
 * dedup.h — remember the batch ids a collector accepted, so a batch that is
 * retried after its answer was lost is stored once. The last `window` ids
 * are kept in memory and appended to a log file that is replayed at start,
 * so a restarted collector still knows them. An id must be kept at least as
 * long as a replay of its batch could be accepted (the replay window):
 * dedup_add() says when the window of ids is too small for that.
 */
#ifndef RINGCOLLECT_DEDUP_H
#define RINGCOLLECT_DEDUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct dedup dedup;

/* dedup_open — window ids in memory, log at path (NULL: memory only);
 * keep_s: how long an id must be kept (see dedup_add). Returns NULL with one
 * line in why. */
dedup *dedup_open(const char *path, size_t window, uint32_t keep_s, char *why, size_t whylen);
void dedup_close(dedup *d);

/* dedup_seen — 1 if id was accepted before. */
int dedup_seen(const dedup *d, const char *id);

/* dedup_add — remember id (and log it), added at now (monotonic seconds).
 * 0; 1 when that pushed out an id added less than keep_s ago (a replay of
 * its batch could now be stored again); -1 on a log write error. */
int dedup_add(dedup *d, const char *id, uint32_t now);

#endif
