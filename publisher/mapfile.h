/*
 * mapfile.h — a small state file of the daemon's own, mapped shared: what
 * is stored into it reaches the page cache at once, so it survives kill -9
 * (not a reboot, which loses the shared-memory ring with it). Used for the
 * processors' crash marker (contain.h) and the seal log (seals.h).
 */
#ifndef RINGPUB_MAPFILE_H
#define RINGPUB_MAPFILE_H

#include <stddef.h>

/*
 * pub_map_file — open path (created mode 0600, links not followed), check
 * it is a regular file closed to group and others, make it at least size
 * bytes, and map size bytes of it read-write, shared. Returns the mapping
 * (unmap with munmap(p, size)), or NULL with one line (naming `what` and
 * path) in why.
 */
void *pub_map_file(const char *path, size_t size, const char *what, char *why, size_t whylen);

#endif
