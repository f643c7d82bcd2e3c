/*
 * A minimal C epoll request-response client: the reference sockbench's client is measured
 * against. Opens N TCP connections to HOST:PORT, and on each sends SIZE bytes, waits for SIZE
 * bytes back, and repeats, for SECONDS after a 0.5 s warm-up, on one thread. Prints one line:
 *   round_trips=<n> seconds=<s> round_trips_per_second=<r> cpu_ns_per_round_trip=<c>
 * Build: cc -O2 -o c-epoll-client c-epoll-client.c
 * Usage: c-epoll-client HOST PORT CONNECTIONS SIZE SECONDS
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SIZE SECONDS\n", argv[0]);
        return 1;
    }
    int connections = atoi(argv[3]), size = atoi(argv[4]);
    double seconds = atof(argv[5]);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &address.sin_addr);
    int epoll = epoll_create1(0);
    char *message = calloc(1, size), *buffer = malloc(65536);
    int *received = calloc(connections, sizeof(int));
    for (int i = 0; i < connections; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); return 1; }
        struct epoll_event event = {.events = EPOLLIN, .data.u64 = ((unsigned long long)i << 32) | (unsigned)fd};
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
        send(fd, message, size, MSG_NOSIGNAL);
    }
    struct epoll_event events[512];
    double start = now_s(), measure = start + 0.5, end = measure + seconds, cpu_start = 0;
    long long trips = 0;
    int measuring = 0;
    for (;;) {
        int ready = epoll_wait(epoll, events, 512, 10);
        double t = now_s();
        if (!measuring && t >= measure) { measuring = 1; trips = 0; cpu_start = cpu_s(); measure = t; }
        if (t >= end) break;
        for (int k = 0; k < ready; k++) {
            int i = (int)(events[k].data.u64 >> 32), fd = (int)(events[k].data.u64 & 0xffffffff);
            ssize_t n = recv(fd, buffer, 65536, 0);
            if (n <= 0) { if (n < 0 && errno == EINTR) continue; fprintf(stderr, "connection closed\n"); return 1; }
            received[i] += (int)n;
            while (received[i] >= size) {
                received[i] -= size;
                trips++;
                send(fd, message, size, MSG_NOSIGNAL);
            }
        }
    }
    double elapsed = now_s() - measure, cpu = cpu_s() - cpu_start;
    printf("round_trips=%lld seconds=%.3f round_trips_per_second=%.0f cpu_ns_per_round_trip=%.0f\n",
           trips, elapsed, trips / elapsed, trips ? cpu * 1e9 / trips : 0);
    return 0;
}
