/* mfile.c — see mfile.h. */
#include "mfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pub_mfile_path(const char *dir, const char *queue, char *path, size_t cap)
{
    int n = snprintf(path, cap, "%s/.%s.metrics", dir, queue);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int pub_mfile_write(const char *dir, const char *queue, const char *text, size_t len)
{
    char path[4096], tmp[4096 + 8];
    if (pub_mfile_path(dir, queue, path, sizeof path) != 0 ||
        snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = mkostemp(tmp, O_CLOEXEC), err = 0;
    if (fd < 0)
        return -errno;
    for (size_t off = 0; off < len && !err;) {
        ssize_t n = write(fd, text + off, len - off);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EINTR)
            err = errno;
    }
    if (!err && fchmod(fd, 0644) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err)
        unlink(tmp);
    return -err;
}

long pub_mfile_read(const char *dir, const char *queue, char *buf, size_t cap, struct stat *st, char *why,
                    size_t whylen)
{
    char path[4096];
    long len = 0;
    if (pub_mfile_path(dir, queue, path, sizeof path) != 0)
        return snprintf(why, whylen, "name too long"), -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? -2 : -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || st->st_size < 0 || (size_t)st->st_size >= cap) {
        snprintf(why, whylen, "%s: not a regular file of at most %zu bytes", path, cap - 1);
        close(fd);
        return -1;
    }
    for (ssize_t n; (size_t)len < cap - 1 && (n = read(fd, buf + len, cap - 1 - (size_t)len)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, whylen, "%s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        len += n;
    }
    buf[len] = '\0';
    close(fd);
    return len;
}
