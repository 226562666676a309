/* outdir.c — see outdir.h. */
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void outdir_default(char *dir, size_t len)
{
    const char *state = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (state && state[0] == '/')
        snprintf(dir, len, "%.*s", (int)strcspn(state, ":"), state); /* the first of a list */
    else if (geteuid() == 0)
        snprintf(dir, len, "/var/lib/ringcollect");
    else if (xdg && xdg[0] == '/')
        snprintf(dir, len, "%s/ringcollect", xdg);
    else
        snprintf(dir, len, "%s/.local/state/ringcollect", home && home[0] == '/' ? home : "/nonexistent");
}

/* mkdir -p, each missing level mode 0700 */
static int make_dirs(const char *dir)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int outdir_prepare(const char *dir, char *why, size_t whylen)
{
    struct stat st;
    if (make_dirs(dir) != 0) {
        snprintf(why, whylen, "cannot create the output directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) != 0) {
        snprintf(why, whylen, "output directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "output directory %s is not a directory (a link?): refusing to write through it",
                 dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen, "output directory %s belongs to uid %u, not to us (uid %u): another user may "
                 "have made it; remove it or choose another --out", dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & 022) {
        snprintf(why, whylen, "output directory %s is writable by group or others (mode %o): chmod 700 it",
                 dir, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

int outdir_open(int dirfd, const char *name, int flags, char *why, size_t whylen)
{
    struct stat st;
    int fd = openat(dirfd, name, flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s%s", name, strerror(errno), errno == ELOOP ? " (a link: refused)" : "");
        return -1;
    }
    const char *bad = fstat(fd, &st) != 0 ? strerror(errno)
                      : !S_ISREG(st.st_mode) ? "not a regular file"
                      : st.st_uid != geteuid() ? "owned by another user"
                      : (st.st_mode & 077) ? "open to group or others (chmod 600 it)" : NULL;
    if (bad) {
        snprintf(why, whylen, "%s: %s: refused", name, bad);
        close(fd);
        return -1;
    }
    return fd;
}
