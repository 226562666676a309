/* cli.c — see cli.h. */
#include "cli.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>

void cli_fail(const char *prog, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

int cli_group_id(const char *name, uint32_t *gid)
{
    char *end;
    unsigned long n = strtoul(name, &end, 10);
    struct group *g;
    if (*name && !*end) {
        *gid = (uint32_t)n;
        return 0;
    }
    if (!(g = getgrnam(name)))
        return -1;
    *gid = (uint32_t)g->gr_gid;
    return 0;
}
