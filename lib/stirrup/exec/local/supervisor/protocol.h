/* The protocol between the local backend (the host) and stirrup-supervisor,
 * the small program that runs each command of a local environment.
 *
 *   stirrup-supervisor [--cwd DIR] [--cgroup PROCS_FILE] -- PROGRAM [ARGS...]
 *
 * fd 0-2: the command's stdin, stdout and stderr (the supervisor keeps none
 *         of them once the command runs);
 * fd 3:   the channel with the host, a Unix stream socket: the supervisor
 *         writes fixed-size records (below); from the host, a byte or end of
 *         file (the host shut it down, or died in any way) means "SIGKILL
 *         everything you own and exit". A socket, not pipes: a process of
 *         the environment can open a pipe again through /proc/<pid>/fd/N
 *         (and so hold it open past the host's death, or steal records), but
 *         not a socket.
 *
 * The environment is the command's. Shared by C (the supervisor) and C++ (the host). */
#ifndef STIRRUP_SUPERVISOR_PROTOCOL_H
#define STIRRUP_SUPERVISOR_PROTOCOL_H

#define STIRRUP_SUPERVISOR_CHANNEL_FD 3

/* A record is three native int32: kind, a, b. */
#define STIRRUP_SUPERVISOR_RECORD_INTS 3

/* The command runs: a = its pid. */
#define STIRRUP_SUPERVISOR_STARTED 1
/* The command could not be started (posix_spawnp failed): a = errno. */
#define STIRRUP_SUPERVISOR_SPAWN_FAILED 2
/* The supervisor could not prepare: a = errno, b = the step (below). */
#define STIRRUP_SUPERVISOR_SETUP_FAILED 3
/* The command ended: a = its wait status; b = 1 when processes it left
 * behind still run (the supervisor stays until they end or it is told to
 * kill them), 0 when the supervisor exits now. */
#define STIRRUP_SUPERVISOR_EXITED 4

#define STIRRUP_SUPERVISOR_STEP_CGROUP 1
#define STIRRUP_SUPERVISOR_STEP_USAGE 2
#define STIRRUP_SUPERVISOR_STEP_SIGNALS 3

#endif
