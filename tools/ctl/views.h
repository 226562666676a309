/* views.h — `ringctl ls` and `ringctl stat`: what the rings in RINGPUB_DIR
 * hold, who uses them, and how fast they move. */
#ifndef RINGCTL_VIEWS_H
#define RINGCTL_VIEWS_H

/* ringctl ls [--interval MS]: one line per ring with depth, consumer,
 * producer processes and rates measured over the interval (default 500). */
int ringctl_ls(int argc, char **argv);

/* ringctl stat NAME [--once]: geometry, positions, counters and rates;
 * refreshed every second while stdout is a terminal (until Ctrl-C). */
int ringctl_stat(int argc, char **argv);

/* Processes other than pid `except` that map the file at path (from
 * /proc/PID/maps); -1 if /proc cannot be read. */
int ringctl_mappers(const char *path, int except);

#endif
