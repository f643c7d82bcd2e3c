#define _GNU_SOURCE
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>
#include <string.h>
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

int CSockBenchLinux_enable_rxq_overflow(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
}

_Static_assert(CMSG_SPACE(sizeof(unsigned int)) <= CSockBenchLinux_RXQ_OVFL_SPACE, "rxq_ovfl control space");

long long CSockBenchLinux_rxq_overflow(const struct msghdr *message) {
    if (message->msg_controllen == 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR((struct msghdr *)message); header != NULL;
         header = CMSG_NXTHDR((struct msghdr *)message, header)) {
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SO_RXQ_OVFL
            && header->cmsg_len >= CMSG_LEN(sizeof(unsigned int))) {
            unsigned int drops;
            memcpy(&drops, CMSG_DATA(header), sizeof(drops));
            return drops;
        }
    }
    return -1;
}

/* Interruption: async-signal-safe state the SIGINT/SIGTERM handler touches. */

#include <pthread.h>
#include <signal.h>
#include <string.h>

#define TRACKED_CHILDREN 16
#define TRACKED_TEMPS 8

static volatile sig_atomic_t interrupt_count = 0;
static volatile sig_atomic_t interrupt_signal = 0;
static pid_t tracked_children[TRACKED_CHILDREN];
static char tracked_temps[TRACKED_TEMPS][4096];
static int tracked_temp_used[TRACKED_TEMPS];

static void interrupt_handler(int signal_number) {
    interrupt_signal = signal_number;
    interrupt_count = interrupt_count + 1;
    if (interrupt_count < 2) return;
    /* The second signal: leave now, taking children and half-written files along. */
    for (int i = 0; i < TRACKED_CHILDREN; i++) {
        pid_t pid = __atomic_load_n(&tracked_children[i], __ATOMIC_ACQUIRE);
        if (pid > 0) kill(pid, SIGKILL);
    }
    for (int i = 0; i < TRACKED_TEMPS; i++) {
        if (__atomic_load_n(&tracked_temp_used[i], __ATOMIC_ACQUIRE)) unlink(tracked_temps[i]);
    }
    static const char message[] = "\nsockbench: second interrupt, exiting at once (no report)\n";
    ssize_t ignored = write(STDERR_FILENO, message, sizeof(message) - 1);
    (void)ignored;
    _exit(130);
}

int CSockBenchLinux_install_interrupt_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = interrupt_handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGINT, &action, NULL) != 0) return -1;
    if (sigaction(SIGTERM, &action, NULL) != 0) return -1;
    /* A parent may have started us with these blocked (test runners do); threads started later
       inherit this thread's mask. */
    sigset_t interrupts;
    sigemptyset(&interrupts);
    sigaddset(&interrupts, SIGINT);
    sigaddset(&interrupts, SIGTERM);
    return pthread_sigmask(SIG_UNBLOCK, &interrupts, NULL);
}

int CSockBenchLinux_interrupt_signal(void) {
    return interrupt_count > 0 ? interrupt_signal : 0;
}

const char *CSockBenchLinux_signal_name(int signal_number) {
    switch (signal_number) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGPIPE: return "SIGPIPE";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    default: return NULL;
    }
}

void CSockBenchLinux_track_child(int pid) {
    for (int i = 0; i < TRACKED_CHILDREN; i++) {
        pid_t expected = 0;
        if (__atomic_compare_exchange_n(&tracked_children[i], &expected, pid, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return;
    }
}

void CSockBenchLinux_untrack_child(int pid) {
    for (int i = 0; i < TRACKED_CHILDREN; i++) {
        pid_t expected = pid;
        __atomic_compare_exchange_n(&tracked_children[i], &expected, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
}

int CSockBenchLinux_track_temp(const char *path) {
    if (strlen(path) >= sizeof(tracked_temps[0])) return -1;
    for (int i = 0; i < TRACKED_TEMPS; i++) {
        int expected = 0;
        /* Claim the slot (2: being written), copy, then publish (1). */
        if (__atomic_compare_exchange_n(&tracked_temp_used[i], &expected, 2, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            strcpy(tracked_temps[i], path);
            __atomic_store_n(&tracked_temp_used[i], 1, __ATOMIC_RELEASE);
            return i;
        }
    }
    return -1;
}

void CSockBenchLinux_untrack_temp(int slot) {
    if (slot >= 0 && slot < TRACKED_TEMPS) __atomic_store_n(&tracked_temp_used[slot], 0, __ATOMIC_RELEASE);
}

#include <sys/prctl.h>

int CSockBenchLinux_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0);
}
