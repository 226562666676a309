/*
 * fuzz_ini — the daemon's config file reader: INI syntax, environment
 * interpolation and every key's value parser, on arbitrary file contents.
 */
#include "cleanup.h"
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    static pub_config c;
    char err[700];
    if (!path[0]) {
        snprintf(path, sizeof path, "/dev/shm/rp-fuzz-ini-%d", (int)getpid());
        setenv("RP_FUZZ_VAR", "value", 1);
        fuzz_remove_at_exit(path);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, in, n) != (ssize_t)n)
        abort();
    close(fd);
    pub_config_defaults(&c, "q");
    if (pub_config_load(&c, path, err, sizeof err) == 0)
        pub_config_check(&c, err, sizeof err);
    if (strlen(err) >= sizeof err)
        abort();
    return 0;
}
