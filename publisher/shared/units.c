/* units.c — sizes and durations as people write them, for config files and
 * command lines alike (see units.h). */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A non-negative decimal number with an optional fraction; *end after it. */
static int parse_number(const char *s, double *v, const char **end)
{
    char *e;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    *v = strtod(s, &e);
    if (errno || !isfinite(*v))
        return -1;
    while (isspace((unsigned char)*e))
        e++;
    *end = e;
    return 0;
}

static int unit_scale(const char *unit, const char *const *names, const double *scales, double *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(unit, names[i]) == 0) {
            *out = scales[i];
            return 0;
        }
    return -1;
}

int pub_parse_size(const char *s, uint64_t *out)
{
    static const char *const names[] = { "", "B", "k", "K", "KB", "KiB", "M", "MB", "MiB",
                                         "G", "GB", "GiB", "T", "TiB", NULL };
    static const double scales[] = { 1, 1, 1024, 1024, 1024, 1024, 1048576, 1048576, 1048576,
                                     1073741824.0, 1073741824.0, 1073741824.0,
                                     1099511627776.0, 1099511627776.0 };
    double v, scale;
    const char *unit;
    if (parse_number(s, &v, &unit) != 0 || unit_scale(unit, names, scales, &scale) != 0)
        return -1;
    v *= scale;
    if (v >= 18446744073709551616.0 || v != floor(v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int pub_parse_ms(const char *s, uint32_t *out)
{
    static const char *const names[] = { "ms", "milliseconds", "s", "sec", "seconds", "second",
                                         "m", "min", "minutes", "minute", "h", "hours", "hour",
                                         NULL };
    static const double scales[] = { 1, 1, 1000, 1000, 1000, 1000, 60000, 60000, 60000, 60000,
                                     3600000, 3600000, 3600000 };
    double v, scale;
    const char *unit;
    if (parse_number(s, &v, &unit) != 0 || unit_scale(unit, names, scales, &scale) != 0)
        return -1;
    v *= scale;
    if (v > 4294967295.0 || v != floor(v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}
