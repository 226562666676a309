/*
 * ini.c — see ini.h. Everything read is hostile: every line is bounded,
 * every copy checked against its destination.
 */
#include "ini.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Names seen so far (sections of the file, keys of the current section),
 * pointing into the file's buffer, to refuse duplicates. */
typedef struct {
    struct seen_name {
        const char *name;
        int line;
    } *at;
    size_t n, cap;
} seen;

/* The line name was first seen on, or 0; else records it (-1: no memory). */
static int seen_before(seen *v, const char *name, int line)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->at[i].name, name) == 0)
            return v->at[i].line;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        struct seen_name *at = (struct seen_name *)realloc(v->at, cap * sizeof *at);
        if (!at)
            return -1;
        v->at = at;
        v->cap = cap;
    }
    v->at[v->n].name = name;
    v->at[v->n++].line = line;
    return 0;
}

/* -1, with "out of memory" in err if seen_before() said so (first < 0). */
static int oom(int first, int lineno, char *err, size_t errlen)
{
    if (first < 0)
        snprintf(err, errlen, "line %d: out of memory", lineno);
    return -1;
}

typedef struct {
    const char *section;
    seen sections, keys;
} parse_state;

/* Handle one line (NUL-terminated, inside the file's buffer). */
static int parse_line(char *raw, int lineno, parse_state *st, ini_cb cb, void *ud, char *err, size_t errlen)
{
    char *s = trim(raw), *sep;
    int first;
    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (isspace((unsigned char)raw[0])) {
        snprintf(err, errlen, "line %d: continuation lines are not supported", lineno);
        return -1;
    }
    if (*s == '[') {
        char *end = strchr(s, ']');
        if (!end || end[1] != '\0' || end - s - 1 >= INI_NAME_MAX) {
            snprintf(err, errlen, "line %d: malformed section header", lineno);
            return -1;
        }
        *end = '\0';
        st->section = trim(s + 1);
        st->keys.n = 0;
        if ((first = seen_before(&st->sections, st->section, lineno)) == 0)
            return 0;
        if (first > 0)
            snprintf(err, errlen, "line %d: section [%.100s] appears twice (first on line %d)", lineno,
                     st->section, first);
        return oom(first, lineno, err, errlen);
    }
    sep = strpbrk(s, "=:");
    if (!sep) {
        snprintf(err, errlen, "line %d: expected 'key = value'", lineno);
        return -1;
    }
    if (!st->section) {
        snprintf(err, errlen, "line %d: key outside any [section]", lineno);
        return -1;
    }
    *sep = '\0';
    s = trim(s);
    if (*s == '\0') {
        snprintf(err, errlen, "line %d: empty key", lineno);
        return -1;
    }
    if ((first = seen_before(&st->keys, s, lineno)) == 0)
        return cb(ud, st->section, s, trim(sep + 1), lineno, err, errlen);
    if (first > 0)
        snprintf(err, errlen, "line %d: %.100s is set twice in [%.100s] (first on line %d)", lineno, s, st->section,
                 first);
    return oom(first, lineno, err, errlen);
}

/* Read all of fd into a NUL-terminated buffer of at most INI_FILE_MAX
 * bytes. Returns it, or NULL with err filled. */
static char *slurp(int fd, size_t *len, char *err, size_t errlen)
{
    char *buf = (char *)malloc(INI_FILE_MAX + 2);
    size_t n = 0;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    while (n <= INI_FILE_MAX) {
        ssize_t r = read(fd, buf + n, INI_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s", errno == EISDIR ? "a directory, not a config file" : strerror(errno));
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > INI_FILE_MAX) {
        snprintf(err, errlen, "more than %d bytes: not a config file", INI_FILE_MAX);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int ini_parse_file(const char *path, ini_cb cb, void *ud, char *err, size_t errlen)
{
    parse_state st = { NULL, { NULL, 0, 0 }, { NULL, 0, 0 } };
    size_t len = 0;
    int lineno = 0, rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf, *line, *end;
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    buf = slurp(fd, &len, err, errlen);
    close(fd);
    if (!buf)
        return -1;
    for (line = buf; rc == 0 && line < buf + len; line = end + 1) {
        end = (char *)memchr(line, '\n', (size_t)(buf + len - line));
        if (!end)
            end = buf + len;
        *end = '\0';
        lineno++;
        if (end - line > INI_LINE_MAX) {
            snprintf(err, errlen, "line %d: longer than %d bytes", lineno, INI_LINE_MAX);
            rc = -1;
        } else if (strlen(line) != (size_t)(end - line)) {
            snprintf(err, errlen, "line %d: NUL byte", lineno);
            rc = -1;
        } else {
            rc = parse_line(line, lineno, &st, cb, ud, err, errlen);
        }
    }
    free(st.sections.at);
    free(st.keys.at);
    free(buf);
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
