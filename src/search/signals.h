/* signals.h - the process's signals (SIGINT, SIGTERM, SIGUSR1). Until a search enters its
 * search loop, and throughout the other commands, a signal ends the process at once with
 * status 3 and one line (rank 0): nothing has run, nothing is lost. From the search loop
 * on, a signal is only noted: the coordinator reads it (signals_received) to stop handing
 * out tasks, lets running ones finish within the grace period and writes a partial report.
 * One process-wide state, set by the handler; the functions below read or steer it. */
#ifndef SIGNALS_H
#define SIGNALS_H

/* Installs the handler (before MPI starts; which rank this is comes from the launcher's
 * environment, so that only rank 0 prints). */
void signals_install(void);

/* silent != 0: this rank never prints the "stopped by signal" line (ranks other than 0). */
void signals_silence(int silent);

/* on: holds start-up signals back (the results directory is being set up: it is either
 * untouched or complete); off: lets them stop the process again, at once if one came. */
void signals_defer(int on);

/* The end of the line printed when a signal stops the start-up ("stopped by signal N"
 * then note); copied while signals are held back. */
void signals_note(const char *note);

/* The search loop starts: from now on a signal is noted, not fatal. */
void signals_graceful(void);

/* The first signal received (0: none), how many were received, and whether a SIGTERM came
 * from mpirun/orted ending the job (then the ranks are killed a second later: no grace). */
int signals_received(void);
int signals_count(void);
int signals_launcher_term(void);

#endif
