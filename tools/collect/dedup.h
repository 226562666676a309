/*
 * dedup.h — remember the batch ids a collector accepted, so a batch that is
 * retried after its answer was lost is stored once. The last `window` ids
 * are kept in memory and appended to a log file that is replayed at start,
 * so a restarted collector still knows them.
 */
#ifndef RINGCOLLECT_DEDUP_H
#define RINGCOLLECT_DEDUP_H

#include <stddef.h>
#include <stdint.h>

typedef struct dedup dedup;

/* dedup_open — window ids in memory, log at path (NULL: memory only).
 * Returns NULL with one line in why. */
dedup *dedup_open(const char *path, size_t window, char *why, size_t whylen);
void dedup_close(dedup *d);

/* dedup_seen — 1 if id was accepted before. */
int dedup_seen(const dedup *d, const char *id);

/* dedup_add — remember id (and log it). 0, or -1 on a log write error. */
int dedup_add(dedup *d, const char *id);

#endif
