/* mapfile.c — see mapfile.h. */
#include "mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void *pub_map_file(const char *path, size_t size, const char *what, char *why, size_t whylen)
{
    struct stat st;
    const char *err = NULL;
    void *p = MAP_FAILED;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fstat(fd, &st) != 0)
        err = strerror(errno);
    else if (!S_ISREG(st.st_mode) || (st.st_mode & 0077))
        err = "not a regular file closed to group and others";
    else if ((size_t)st.st_size < size && ftruncate(fd, (off_t)size) != 0)
        err = strerror(errno);
    else if ((p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
        err = strerror(errno);
    if (fd >= 0)
        close(fd);
    if (err) {
        snprintf(why, whylen, "%s %.300s: %s", what, path, err);
        return NULL;
    }
    return p;
}
