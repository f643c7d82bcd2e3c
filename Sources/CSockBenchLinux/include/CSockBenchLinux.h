#ifndef C_SOCKBENCH_LINUX_H
#define C_SOCKBENCH_LINUX_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>

/// accept4 is a GNU extension that Glibc's Swift module does not declare.
int CSockBenchLinux_accept4(int fd, int flags);

/// pipe2 is a GNU extension that Glibc's Swift module does not declare.
int CSockBenchLinux_pipe2(int fds[2], int flags);

/// epoll_pwait2 with a nanosecond timeout (negative: wait forever): open-loop schedules need
/// finer waits than epoll_wait's milliseconds.
int CSockBenchLinux_epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents, long long timeout_ns);

/// struct mmsghdr, which <sys/socket.h> declares only under _GNU_SOURCE (same layout).
struct CSockBenchLinux_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// sendmmsg: several datagrams in one system call (UDP streams).
int CSockBenchLinux_sendmmsg(int fd, struct CSockBenchLinux_mmsghdr *messages, unsigned int count, int flags);

/// Bytes of control buffer a receive needs for the SO_RXQ_OVFL drop counter (CMSG_SPACE of a uint32).
#define CSockBenchLinux_RXQ_OVFL_SPACE 64

/// Turns on SO_RXQ_OVFL: each datagram read with recvmsg then carries the socket's count of
/// datagrams dropped so far because its receive queue was full.
int CSockBenchLinux_enable_rxq_overflow(int fd);

/// The SO_RXQ_OVFL drop counter in a received message's control data; -1 when absent (the
/// kernel attaches it only once the socket has dropped something).
long long CSockBenchLinux_rxq_overflow(const struct msghdr *message);

/// SIGINT and SIGTERM: the first sets a flag the run polls; the second kills tracked children,
/// removes tracked temporary files and exits with 130 at once.
int CSockBenchLinux_install_interrupt_handlers(void);
/// The signal that asked the run to stop (SIGINT, SIGTERM), or 0.
int CSockBenchLinux_interrupt_signal(void);
/// "SIGINT" for 2 and so on; NULL for a signal without a name here.
const char *CSockBenchLinux_signal_name(int signal_number);
/// Child processes the second interrupt kills (reference servers).
void CSockBenchLinux_track_child(int pid);
void CSockBenchLinux_untrack_child(int pid);
/// Temporary files the second interrupt removes; returns a slot for untrack (or -1).
int CSockBenchLinux_track_temp(const char *path);
void CSockBenchLinux_untrack_temp(int slot);

/// prctl(PR_SET_TIMERSLACK): how late the kernel may wake this thread (default 50 µs).
int CSockBenchLinux_set_timer_slack(unsigned long nanoseconds);

#endif
