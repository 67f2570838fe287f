// The C surface proxym needs that Swift's Glibc module does not export: libsystemd's sd-daemon API
// and the Linux-only kernel interfaces (epoll, inotify, signalfd, timerfd, pidfd), and glibc's malloc
// tuning (malloc.h: mallopt, malloc_trim, mallinfo2). No logic lives
// here: only includes, re-declared GNU prototypes, and one-line wrappers for what Swift cannot call
// (raw syscalls without a glibc wrapper, fields behind unions/macros). Every symbol is prefixed.
#ifndef PROXYM_CSYSTEMD_SHIM_H
#define PROXYM_CSYSTEMD_SHIM_H

#include <systemd/sd-daemon.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// GNU extensions hidden from Swift without _GNU_SOURCE; same prototypes as glibc's.
extern int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
extern int pipe2(int pipefd[2], int flags);
extern int dup3(int oldfd, int newfd, int flags);
// glibc >= 2.34: close every fd >= from in the child (fds a library opened without CLOEXEC).
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

// pidfd (Linux 5.3+): no glibc wrapper is guaranteed on every libc, so call the syscalls.
static inline int proxym_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}
static inline int proxym_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, (void *)0, 0u);
}
// waitid(P_PIDFD, ...): P_PIDFD (3) is missing from older headers' idtype_t.
static inline int proxym_waitid_pidfd(int pidfd, siginfo_t *info, int options) {
    return waitid((idtype_t)3, (id_t)pidfd, info, options);
}
// siginfo_t keeps these behind unions and macros.
static inline pid_t proxym_siginfo_pid(const siginfo_t *info) { return info->si_pid; }
static inline int proxym_siginfo_status(const siginfo_t *info) { return info->si_status; }
static inline int proxym_siginfo_code(const siginfo_t *info) { return info->si_code; }

_Static_assert(sizeof(struct signalfd_siginfo) == 128, "signalfd_siginfo is 128 bytes");
_Static_assert(sizeof(struct inotify_event) == 16, "inotify_event header is 16 bytes");

#endif
