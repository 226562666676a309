/*
 * supervise.h — keep the daemon up when a processor crashes.
 *
 * With processors configured, `ringpub` forks the daemon as a child and
 * waits. When the child dies of a fault signal (SIGSEGV, SIGFPE, SIGILL,
 * SIGABRT, SIGBUS) it is started again; the new child finds the event that
 * crashed the old one (contain.h) and sends it to the error stream. At most
 * SUPERVISE_MAX_RESTARTS restarts in SUPERVISE_WINDOW_S seconds, then ringpub
 * gives up with exit 1. SIGTERM/SIGINT are passed to the child; its exit code
 * becomes ringpub's. The child dies with its parent (PR_SET_PDEATHSIG), so
 * `kill -9` of ringpub stops both.
 */
#ifndef RINGPUB_SUPERVISE_H
#define RINGPUB_SUPERVISE_H

#define SUPERVISE_MAX_RESTARTS 5
#define SUPERVISE_WINDOW_S 60

/*
 * pub_supervise — returns 0 in the child (which goes on to run the daemon),
 * and sets *exit_code in the parent when it is done (returns 1 there).
 */
int pub_supervise(int *exit_code);

#endif
