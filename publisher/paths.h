/*
 * paths.h — every file the config names, checked at start: a daemon that
 * starts must be able to write each file it may need later (the dead-letter,
 * quarantine and error-stream files, a file sink's path) and read each file
 * it will hand to TLS, instead of finding out at the first refused event.
 */
#ifndef RINGPUB_PATHS_H
#define RINGPUB_PATHS_H

#include "config.h"
#include "lane.h"

#include <stddef.h>

/*
 * pub_paths_check — after pub_lanes_open (the spool directory exists):
 * each output file's directory exists and takes new files, and the file, if
 * it exists, is a regular file this process may append to; each TLS file is
 * a readable regular file. Returns 0, or -1 with one line in why naming the
 * key, the path and what to do.
 */
int pub_paths_check(const pub_config *c, const pub_lane *lanes, int nlanes, char *why, size_t whylen);

#endif
