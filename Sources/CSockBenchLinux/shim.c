#define _GNU_SOURCE
#include <sys/socket.h>
#include <unistd.h>
#include "CSockBenchLinux.h"

int CSockBenchLinux_accept4(int fd, int flags) {
    return accept4(fd, NULL, NULL, flags);
}

int CSockBenchLinux_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}
