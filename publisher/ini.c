/*
 * ini.c — see ini.h. Everything read is hostile: every line is bounded,
 * every copy checked against its destination.
 */
#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
    char *e;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Handle one line; section[] carries the current section. */
static int parse_line(char *raw, int lineno, char *section, size_t seclen, ini_cb cb, void *ud,
                      const char *path, char *err, size_t errlen)
{
    char *s = trim(raw), *sep;
    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (isspace((unsigned char)raw[0])) {
        snprintf(err, errlen, "%s:%d: continuation lines are not supported", path, lineno);
        return -1;
    }
    if (*s == '[') {
        char *end = strchr(s, ']');
        if (!end || end[1] != '\0' || (size_t)(end - s - 1) >= seclen) {
            snprintf(err, errlen, "%s:%d: malformed section header", path, lineno);
            return -1;
        }
        *end = '\0';
        snprintf(section, seclen, "%s", trim(s + 1));
        return 0;
    }
    sep = strpbrk(s, "=:");
    if (!sep) {
        snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
        return -1;
    }
    if (!section[0]) {
        snprintf(err, errlen, "%s:%d: key outside any [section]", path, lineno);
        return -1;
    }
    *sep = '\0';
    if (*trim(s) == '\0') {
        snprintf(err, errlen, "%s:%d: empty key", path, lineno);
        return -1;
    }
    return cb(ud, section, trim(s), trim(sep + 1), lineno, err, errlen);
}

int ini_parse_file(const char *path, ini_cb cb, void *ud, char *err, size_t errlen)
{
    char section[256] = "", *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n > INI_LINE_MAX) {
            snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno, INI_LINE_MAX);
            rc = -1;
        } else if ((size_t)n != strlen(line)) {
            snprintf(err, errlen, "%s:%d: NUL byte in line", path, lineno);
            rc = -1;
        } else {
            rc = parse_line(line, lineno, section, sizeof section, cb, ud, path, err, errlen);
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Append n bytes of s to out at *len; -1 if it would not fit. */
static int put(char *out, size_t outlen, size_t *len, const char *s, size_t n)
{
    if (n >= outlen - *len)
        return -1;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

int ini_expand_env(const char *in, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t len = 0;
    if (outlen == 0)
        return -1;
    out[0] = '\0';
    while (*in) {
        const char *name, *end, *val;
        char var[128];
        size_t nlen;
        int braced;
        if (*in != '$') {
            if (put(out, outlen, &len, in++, 1) != 0)
                goto too_long;
            continue;
        }
        if (in[1] == '$') {
            if (put(out, outlen, &len, "$", 1) != 0)
                goto too_long;
            in += 2;
            continue;
        }
        braced = in[1] == '{';
        name = in + 1 + braced;
        for (end = name; isalnum((unsigned char)*end) || *end == '_'; end++)
            ;
        nlen = (size_t)(end - name);
        if (nlen == 0 || nlen >= sizeof var || (braced && *end != '}')) {
            snprintf(err, errlen, "bad variable reference at \"%.20s\"", in);
            return -1;
        }
        memcpy(var, name, nlen);
        var[nlen] = '\0';
        if (!(val = getenv(var))) {
            snprintf(err, errlen, "environment variable %s is not set", var);
            return -1;
        }
        if (put(out, outlen, &len, val, strlen(val)) != 0)
            goto too_long;
        in = end + braced;
    }
    return 0;
too_long:
    snprintf(err, errlen, "value longer than %zu bytes after expansion", outlen - 1);
    return -1;
}
