#define _GNU_SOURCE
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>
#include "CSockBenchLinux.h"

int CSockBenchLinux_accept4(int fd, int flags) {
    return accept4(fd, NULL, NULL, flags);
}

int CSockBenchLinux_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}

int CSockBenchLinux_epoll_wait_ns(int epfd, struct epoll_event *events, int maxevents, long long timeout_ns) {
    if (timeout_ns < 0) return epoll_pwait2(epfd, events, maxevents, NULL, NULL);
    struct timespec timeout = { .tv_sec = timeout_ns / 1000000000LL, .tv_nsec = timeout_ns % 1000000000LL };
    return epoll_pwait2(epfd, events, maxevents, &timeout, NULL);
}

_Static_assert(sizeof(struct CSockBenchLinux_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");

int CSockBenchLinux_sendmmsg(int fd, struct CSockBenchLinux_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}
