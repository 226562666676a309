/*
 * redeliver.h — `ringpub redeliver`: send the batches the collector refused
 * (the dead-letter file) and the quarantined ring records that are whole
 * JSON events (the quarantine file) once the cause is fixed — a wrong key,
 * a collector that refused them by mistake.
 *
 * The file is first renamed FILE.redeliver-PID and locked (the daemon's
 * appends take the same lock), so a daemon running meanwhile appends to a
 * new FILE and no line is taken twice. Each batch is framed for its lane's
 * collector version, signed with the key configured *now*, compressed and
 * POSTed with its original batch id (a de-duplicating collector keeps one
 * copy if it had taken it after all). A line that is not delivered — the
 * collector refuses again, does not answer, or the line does not decode —
 * is appended back to FILE, unchanged, with the reason printed. With
 * --dry-run nothing is sent or moved: each line is decoded and counted.
 */
#ifndef RINGPUB_REDELIVER_H
#define RINGPUB_REDELIVER_H

/* pub_redeliver_main — argv after "redeliver"; the exit code: 0 every line
 * delivered (or, dry run, decodable), 1 some kept, 2 bad usage or config. */
int pub_redeliver_main(int argc, char **argv);

#endif
