/*
 * fuzz_spool — the spool file reader on arbitrary file contents: a file
 * either reads back whole (header, length and checksum agree) or is
 * quarantined with a reason; never a crash or an over-read.
 */
#include "cleanup.h"
#include "spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pub_spool sp;
static int ready;
static char dir[] = "/dev/shm/rp-fuzz-spool-XXXXXX";
static char qdir[64]; /* spool_open keeps queue q's files in DIR/q */

static void empty_dir(void)
{
    DIR *d = opendir(qdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    const char *name = "0000000000000001.rpb";
    char why[300], path[128];
    if (!ready) {
        if (!mkdtemp(dir) || spool_open(&sp, dir, "q", 1u << 30, why, sizeof why) != 0)
            abort();
        fuzz_remove_at_exit(dir);
        snprintf(qdir, sizeof qdir, "%s/q", dir);
        ready = 1;
    }
    snprintf(path, sizeof path, "%s/%s", qdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, in, n) != (ssize_t)n)
        abort();
    close(fd);
    spool_meta m;
    pub_buf body;
    pub_buf_init(&body, 1u << 26);
    int rc = spool_read(&sp, name, &m, &body, why, sizeof why);
    if (rc == 0 && body.len != m.body_len)
        abort();
    pub_buf_free(&body);
    empty_dir();
    return 0;
}
