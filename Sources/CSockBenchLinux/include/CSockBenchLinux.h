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

#endif
