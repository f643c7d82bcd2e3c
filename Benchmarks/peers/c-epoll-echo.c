/*
 * A minimal C epoll TCP echo server: the reference `sockbench serve tcp-echo` is measured
 * against. One thread, level-triggered epoll, TCP_NODELAY on accepted sockets, echoes what it
 * reads. Listens on 127.0.0.1:PORT (0 picks one), prints "listening PORT", runs until killed.
 * Build: cc -O2 -o c-epoll-echo c-epoll-echo.c
 * Usage: c-epoll-echo PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(argc > 1 ? atoi(argv[1]) : 0)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, length) || listen(listener, 4096)) { perror("bind/listen"); return 1; }
    getsockname(listener, (struct sockaddr *)&address, &length);
    printf("listening %d\n", ntohs(address.sin_port));
    fflush(stdout);
    int epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event events[512];
    char *buffer = malloc(262144);
    for (;;) {
        int ready = epoll_wait(epoll, events, 512, -1);
        for (int k = 0; k < ready; k++) {
            int fd = events[k].data.fd;
            if (fd == listener) {
                int client;
                while ((client = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event added = {.events = EPOLLIN, .data.fd = client};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, client, &added);
                }
                continue;
            }
            ssize_t n = recv(fd, buffer, 262144, 0);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                close(fd);
                continue;
            }
            /* Echoes are small in this benchmark; a short send would need parking, as sockbench does. */
            ssize_t offset = 0;
            while (offset < n) {
                ssize_t sent = send(fd, buffer + offset, n - offset, MSG_NOSIGNAL);
                if (sent <= 0) { if (sent < 0 && errno == EAGAIN) continue; break; }
                offset += sent;
            }
        }
    }
}
