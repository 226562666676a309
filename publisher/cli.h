/* cli.h — what the command-line tools share. */
#ifndef RINGPUB_CLI_H
#define RINGPUB_CLI_H

/* cli_fail — print "PROG: " + fmt (one %s, filled with arg) as one line to
 * stderr and exit 2: the tools' answer to bad input or config. */
void cli_fail(const char *prog, const char *fmt, const char *arg) __attribute__((noreturn));

#endif
