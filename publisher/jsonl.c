/* jsonl.c — durable JSON-line appends with a base64 payload (jsonl.h). */
#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int pub_jsonl_append_b64(const char *path, const char *head, const void *bytes, size_t len)
{
    size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = (char *)malloc(b64len);
    int fd, rc = -1, saved;
    if (!b64)
        return -1;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        sodium_bin2base64(b64, b64len, (const unsigned char *)bytes, len, sodium_base64_VARIANT_ORIGINAL);
        if (write_all(fd, head, strlen(head)) == 0 && write_all(fd, b64, strlen(b64)) == 0 &&
            write_all(fd, "\"}\n", 3) == 0 && fdatasync(fd) == 0)
            rc = 0;
    }
    saved = errno;
    if (fd >= 0)
        close(fd);
    free(b64);
    errno = saved;
    return rc;
}
