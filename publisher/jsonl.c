/* jsonl.c — durable JSON-line appends with a base64 payload (jsonl.h). */
#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* Append the parts, then fdatasync; 0, or -1 with errno. */
static int append_parts(const char *path, const char *const *parts, const size_t *lens, int n)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), rc = -1, saved;
    if (fd < 0)
        return -1;
    flock(fd, LOCK_EX); /* `ringpub redeliver` takes a file over under this lock */
    for (int i = 0; i < n && (rc = write_all(fd, parts[i], lens[i])) == 0; i++)
        ;
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -1;
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int pub_append_sync(const char *path, const void *data, size_t len)
{
    const char *p = (const char *)data;
    return append_parts(path, &p, &len, 1);
}

int pub_jsonl_append_b64(const char *path, const char *obj, const char *key, const void *bytes, size_t len)
{
    size_t olen = strlen(obj), klen = strlen(key);
    if (olen < 3 || obj[0] != '{' || obj[olen - 1] != '}' || klen > 64 || strpbrk(key, "\"\\")) {
        errno = EINVAL;
        return -1;
    }
    size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = (char *)malloc(b64len), member[80];
    int rc;
    if (!b64)
        return -1;
    sodium_bin2base64(b64, b64len, (const unsigned char *)bytes, len, sodium_base64_VARIANT_ORIGINAL);
    int mlen = snprintf(member, sizeof member, ",\"%s\":\"", key);
    const char *parts[] = { obj, member, b64, "\"}\n" };
    size_t lens[] = { olen - 1, (size_t)mlen, strlen(b64), 3 }; /* obj without its closing brace */
    rc = append_parts(path, parts, lens, 4);
    free(b64);
    return rc;
}
