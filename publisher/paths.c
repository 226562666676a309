/* paths.c — see paths.h. */
#include "paths.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file the daemon appends to (O_CREAT): 0, or -1 with why. */
static int output_ok(const char *key, const char *path, char *why, size_t whylen)
{
    char copy[PUB_PATH];
    struct stat st;
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy); /* in copy, or a static "." */
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            snprintf(why, whylen, "%s %.1000s is not a regular file", key, path);
        else if (access(path, W_OK) != 0)
            snprintf(why, whylen, "%s %.1000s cannot be written: %s", key, path, strerror(errno));
        else
            return 0;
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(why, whylen, "%s %.1000s: directory %.1000s does not exist (create it, or set %s to a path "
                 "in one that does)", key, path, dir, key);
    else if (access(dir, W_OK | X_OK) != 0)
        snprintf(why, whylen, "%s %.1000s: cannot create files in %.1000s: %s", key, path, dir, strerror(errno));
    else
        return 0;
    return -1;
}

/* A file handed to TLS: "" (unset) or a readable regular file. */
static int input_ok(const char *key, const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (!path[0])
        return 0;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0)
        snprintf(why, whylen, "%s %.1000s: %s", key, path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, whylen, "%s %.1000s is not a regular file", key, path);
    else
        return 0;
    return -1;
}

int pub_paths_check(const pub_config *c, const pub_lane *lanes, int nlanes, char *why, size_t whylen)
{
    if (output_ok("deadletter.file", c->deadletter_file, why, whylen) != 0 ||
        output_ok("quarantine.file", c->quarantine_file, why, whylen) != 0 ||
        output_ok("errors.file", c->errors_file, why, whylen) != 0 ||
        input_ok("tls.ca_file", c->tls_ca_file, why, whylen) != 0 ||
        input_ok("tls.client_cert", c->tls_client_cert, why, whylen) != 0 ||
        input_ok("tls.client_key", c->tls_client_key, why, whylen) != 0)
        return -1;
    for (int i = 0; i < nlanes; i++) {
        char key[PUB_ROUTE_NAME + 32];
        if (lanes[i].sink != PUB_SINK_FILE)
            continue;
        snprintf(key, sizeof key, "%s%s%sfile.path", i ? "route." : "", lanes[i].name, i ? "." : "");
        if (output_ok(key, lanes[i].file_path, why, whylen) != 0)
            return -1;
    }
    return 0;
}
