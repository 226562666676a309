/*
 * mfile.h — the daemon's metrics for `ringctl stat`: every second, the same
 * Prometheus text /metrics serves, in DIR/.QUEUE.metrics next to the ring
 * (a name no ring can have: queue names never start with '.'). Written to a
 * temporary file and renamed over the old one, so a reader sees one whole
 * snapshot; mode 0644 (counters only, no event data). Shared by the
 * daemon (writes) and ringctl (reads).
 */
#ifndef RINGPUB_MFILE_H
#define RINGPUB_MFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* pub_mfile_path — DIR/.QUEUE.metrics into path[cap]; 0, or -1 (too long). */
int pub_mfile_path(const char *dir, const char *queue, char *path, size_t cap);

/* pub_mfile_write — text[len] becomes DIR/.QUEUE.metrics. 0, or -errno
 * (EPERM: in a sticky directory another user's file holds the name). */
int pub_mfile_write(const char *dir, const char *queue, const char *text, size_t len);

/* pub_mfile_read — DIR/.QUEUE.metrics into buf (NUL-terminated, at most
 * cap - 1 bytes) and its stat into st, treating it as hostile: a regular
 * file, not a link, not larger than cap - 1. Returns its length, or -1 with
 * one line in why (-2: there is none). */
long pub_mfile_read(const char *dir, const char *queue, char *buf, size_t cap, struct stat *st, char *why,
                    size_t whylen);

#endif
