/*
 * outdir.h — where ringcollect keeps its files, safe from other local
 * users. The output directory must be ours (owned by our uid, a real
 * directory, not writable by group or others), and every file in it is
 * opened without following links and refused unless it is a regular file
 * of ours closed to group and others: a directory or file planted by
 * someone else (a symlink to a root-owned file, a world-readable file) is
 * one clear error, never written through.
 */
#ifndef RINGCOLLECT_OUTDIR_H
#define RINGCOLLECT_OUTDIR_H

#include <stddef.h>

/* outdir_default — the output directory without --out: $STATE_DIRECTORY
 * (systemd's StateDirectory=), else /var/lib/ringcollect for root, else
 * $XDG_STATE_HOME/ringcollect or ~/.local/state/ringcollect. */
void outdir_default(char *dir, size_t len);

/* outdir_prepare — create dir (mode 0700, and its missing parents) and
 * check it is ours. 0, or -1 with one line in why. */
int outdir_prepare(const char *dir, char *why, size_t whylen);

/* outdir_open — open (creating, mode 0600) file `name` in directory dirfd
 * with flags (O_WRONLY|O_APPEND, O_RDWR|O_APPEND), links not followed;
 * refused unless a regular file of ours closed to group and others. The
 * fd, or -1 with one line in why. */
int outdir_open(int dirfd, const char *name, int flags, char *why, size_t whylen);

#endif
