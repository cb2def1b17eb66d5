// Transparent huge pages: prctl(PR_SET_THP_DISABLE / PR_GET_THP_DISABLE)
// as Linux has them (arguments, fork, execve), and MADV_HUGEPAGE. With
// "policy yes|no" (huge_pages.sh, under umk only): whether umk gives large
// anonymous mappings and a large heap huge pages by itself, and never
// stacks or MAP_NORESERVE reservations (docs/design.md, "Huge pages for
// large guest mappings").
#define _GNU_SOURCE
#include "guest_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#endif

enum { kMiB = 1 << 20 };

// AnonHugePages of the whole process, in kB.
static long huge_kb(void)
{
    FILE* f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "AnonHugePages:", 14))
            kb = atol(line + 14);
    if (f)
        fclose(f);
    return kb;
}

// Whether touching every page of `size` bytes at `p` gives them huge
// pages; unmaps them.
static int touch(char* p, size_t size)
{
    if (p == MAP_FAILED)
        return -1;
    long before = huge_kb();
    memset(p, 1, size);
    long after = huge_kb();
    munmap(p, size);
    return after > before;
}

static char* map_anonymous(size_t size, int flags)
{
    return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

// Whether touching every page of a new anonymous mapping (with `advice`
// unless 0) gave it huge pages.
static int touch_mapping(size_t size, int flags, int advice)
{
    char* p = map_anonymous(size, flags);
    if (p != MAP_FAILED && advice)
        madvise(p, size, advice);
    return touch(p, size);
}

static void show(const char* what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, strerror(errno));
    else
        printf("%s: %ld\n", what, r);
}

static void* touch_own_stack(void* arg)
{
    (void)arg;
    long before = huge_kb();
    volatile char big[6 * kMiB];
    for (size_t i = 0; i < sizeof big; i += 4096)
        big[i] = 1;
    return (void*)(long)(huge_kb() > before);
}

static int policy(int expect)
{
    int failures = 0;
    int got = touch_mapping(64 * kMiB, 0, 0);
    printf("64 MiB mapping: %d (expected %d)\n", got, expect);
    failures += got != expect;
    // Whole huge pages start on one (as on Linux 6.18), so even 2 MiB gets one.
    got = touch_mapping(2 * kMiB, 0, 0);
    printf("2 MiB mapping: %d (expected %d)\n", got, expect);
    failures += got != expect;
    long before = huge_kb();
    char* populated = map_anonymous(64 * kMiB, MAP_POPULATE);
    got = huge_kb() > before;
    munmap(populated, 64 * kMiB);
    printf("64 MiB MAP_POPULATE, untouched: %d (expected %d)\n", got, expect);
    failures += got != expect;
    got = touch_mapping(64 * kMiB, MAP_NORESERVE, 0);
    printf("64 MiB MAP_NORESERVE: %d (expected 0)\n", got);
    failures += got != 0;
    got = touch_mapping(64 * kMiB, MAP_STACK, 0);
    printf("64 MiB MAP_STACK: %d (expected 0)\n", got);
    failures += got != 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8 * kMiB);
    pthread_t thread;
    void* thread_got = NULL;
    pthread_create(&thread, &attr, touch_own_stack, NULL);
    pthread_join(thread, &thread_got);
    printf("thread stack: %ld (expected 0)\n", (long)thread_got);
    failures += thread_got != NULL;
    before = huge_kb();
    char* heap = sbrk(0);
    if (sbrk(16 * kMiB) == (void*)-1)
        return 1;
    memset(heap, 1, 16 * kMiB);
    got = huge_kb() > before;
    printf("heap grown by 16 MiB: %d (expected %d)\n", got, expect);
    failures += got != expect;
    sbrk(-16 * kMiB);
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    got = touch_mapping(64 * kMiB, 0, 0);
    printf("64 MiB mapping, PR_SET_THP_DISABLE: %d (expected 0)\n", got);
    failures += got != 0;
    char* meanwhile = map_anonymous(64 * kMiB, 0);
    prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
    got = touch(meanwhile, 64 * kMiB);
    printf("64 MiB mapped while disabled, touched after: %d (expected %d)\n", got, expect);
    failures += got != expect;
    printf("%s\n", failures ? "FAIL" : "PASS");
    return failures != 0;
}

int main(int argc, char** argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && !strcmp(argv[1], "policy"))
        return policy(!strcmp(argv[2], "yes"));
    if (argc > 1) { // execve'd by the fork below
        show("after execve: PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        printf("after execve: MADV_HUGEPAGE mapping huge: %d\n", touch_mapping(64 * kMiB, 0, MADV_HUGEPAGE));
        return 0;
    }
    show("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    show("PR_GET_THP_DISABLE arg2", prctl(PR_GET_THP_DISABLE, 1, 0, 0, 0));
    show("PR_SET_THP_DISABLE arg4", prctl(PR_SET_THP_DISABLE, 1, 0, 1, 0));
    show("PR_SET_THP_DISABLE arg5", prctl(PR_SET_THP_DISABLE, 1, 0, 0, 1));
    show("PR_SET_THP_DISABLE unknown flag", prctl(PR_SET_THP_DISABLE, 1, 4, 0, 0));
    show("PR_SET_THP_DISABLE 0 with a flag", prctl(PR_SET_THP_DISABLE, 0, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0));
    // The host's own answer, whatever its mode (never: no huge pages).
    int advised = touch_mapping(64 * kMiB, 0, MADV_HUGEPAGE);
    show("PR_SET_THP_DISABLE", prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
    show("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    printf("disabled: MADV_HUGEPAGE mapping huge: %d\n", touch_mapping(64 * kMiB, 0, MADV_HUGEPAGE));
    pid_t child = fork();
    if (child == 0) {
        show("fork child: PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
        printf("fork child: MADV_HUGEPAGE mapping huge: %d\n", touch_mapping(64 * kMiB, 0, MADV_HUGEPAGE));
        execl("/proc/self/exe", argv[0], "exec", (char*)NULL);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    show("PR_SET_THP_DISABLE 0", prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0));
    char* before = map_anonymous(64 * kMiB, 0);
    show("PR_SET_THP_DISABLE except advised", prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0));
    int except = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    // Only what the program advised itself (umk's own advice is not).
    printf("except advised: a mapping from before, touched after, huge: %d\n", touch(before, 64 * kMiB));
    // A host before Linux 6.18 refuses the flag (EINVAL above) and still
    // says 1: either way what the host says, natively and in a guest.
    printf("except advised: PR_GET_THP_DISABLE is 3 or 1: %d\n", except == 3 || except == 1);
    printf("except advised: MADV_HUGEPAGE mapping as before disabling: %d\n",
           except != 3 || touch_mapping(64 * kMiB, 0, MADV_HUGEPAGE) == advised);
    show("PR_SET_THP_DISABLE 0", prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0));
    show("PR_GET_THP_DISABLE", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    printf("enabled again: MADV_HUGEPAGE mapping as before: %d\n", touch_mapping(64 * kMiB, 0, MADV_HUGEPAGE) == advised);
    return 0;
}
