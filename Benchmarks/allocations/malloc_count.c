// LD_PRELOAD shim counting malloc-family calls of a whole process; prints the total at exit.
// Used by allocations.sh to show that allocation counts do not grow with the number of messages.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_ulong calls;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static char bootstrap[4096];
static size_t bootstrap_used;

static void init(void) {
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
}

void *malloc(size_t size) {
    if (!real_malloc) init();
    atomic_fetch_add(&calls, 1);
    return real_malloc(size);
}

void *calloc(size_t n, size_t size) {
    if (!real_calloc) {
        // dlsym itself may calloc before init completes: serve it from a static buffer.
        void *p = bootstrap + bootstrap_used;
        bootstrap_used += (n * size + 15) & ~(size_t)15;
        return p;
    }
    atomic_fetch_add(&calls, 1);
    return real_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    if (!real_realloc) init();
    atomic_fetch_add(&calls, 1);
    return real_realloc(p, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (!real_posix_memalign) init();
    atomic_fetch_add(&calls, 1);
    return real_posix_memalign(out, alignment, size);
}

void free(void *p) {
    static void (*real_free)(void *);
    if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof bootstrap) return;
    if (!real_free) real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}

__attribute__((destructor)) static void report(void) {
    char line[96];
    int n = snprintf(line, sizeof line, "malloc-count pid=%d calls=%lu\n", getpid(), atomic_load(&calls));
    if (getenv("MALLOC_COUNT_FILE")) {
        FILE *f = fopen(getenv("MALLOC_COUNT_FILE"), "a");
        if (f) { fwrite(line, 1, n, f); fclose(f); }
    }
}
