/* log.c — the daemon's log lines (daemon.h): one line each, to stderr. */
#include "daemon.h"

#include <stdarg.h>
#include <stdio.h>

static void vlog(const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "ringpub: %s\n", line);
}

void pub_log(pub_daemon *d, const char *fmt, ...)
{
    va_list ap;
    (void)d;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void pub_debug(pub_daemon *d, const char *fmt, ...)
{
    va_list ap;
    if (!d->debug)
        return;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}
