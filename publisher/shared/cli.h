/* cli.h — what the command-line tools share. */
#ifndef RINGPUB_CLI_H
#define RINGPUB_CLI_H

#include <ringpub.h> /* RP_VERSION */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* cli_fail — print "PROG: " + fmt (one %s, filled with arg) as one line to
 * stderr and exit 2: the tools' answer to bad input or config. */
void cli_fail(const char *prog, const char *fmt, const char *arg) __attribute__((noreturn));

/* cli_group_id — a group name or number (ring.group, --group) to its gid:
 * 0, or -1 if there is no such group. */
int cli_group_id(const char *name, uint32_t *gid);

#define RINGPUB_VERSION RP_VERSION /* every tool's --version: include/ringpub.h */

/* cli_help_or_version — if arg is -h/--help (usage on stdout) or --version
 * ("PROG VERSION"), print it and return 1 (the caller exits 0); else 0. */
static inline int cli_help_or_version(const char *prog, const char *arg, const char *usage)
{
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
        fputs(usage, stdout);
    else if (strcmp(arg, "--version") == 0)
        printf("%s %s\n", prog, RINGPUB_VERSION);
    else
        return 0;
    return 1;
}

#endif
