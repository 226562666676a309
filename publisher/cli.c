/* cli.c — see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

void cli_fail(const char *prog, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}
