/* load.h — `ringctl load`: producer processes putting numbered JSON events. */
#ifndef RINGCTL_LOAD_H
#define RINGCTL_LOAD_H

/* ringctl load --queue NAME [--procs P] [--events N] [--size B] [--seconds S]
 * Each of P processes puts N events of about B bytes,
 * {"p":PROC,"s":SEQ,"event_type":"demo",...}, retrying RP_EFULL until S
 * seconds pass. Prints one line: accepted, rejected-at-deadline, puts/s.
 * Returns the exit code. */
int ringctl_load(int argc, char **argv);

#endif
