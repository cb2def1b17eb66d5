/* execve's argv and envp where they are hard to copy: strings and the
 * pointer array across page boundaries, a long string, many variables;
 * and the errors: a pointer to an unmapped page, a string or an array
 * that runs into one, a string of MAX_ARG_STRLEN bytes, too many bytes
 * or pointers for the stack limit, and which error wins when there are
 * two (Linux counts both arrays, then copies envp, then argv, each from
 * its last string). The exec'd copy prints what it got. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "guest_test.h"

extern char** environ;

static uint32_t fnv(const char* s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int report(int argc, char** argv)
{
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("arg %d: %zu bytes, %08x\n", i, strlen(argv[i]), fnv(argv[i]));
    int n = 0;
    for (char** e = environ; *e; e++, n++)
        printf("env %d: %zu bytes, %08x\n", n, strlen(*e), fnv(*e));
    printf("%d variables\n", n);
    return 0;
}

static const long kPage = 4096;

/* Pages [0, n) read-write, page n inaccessible. */
static char* pages_then_hole(int n)
{
    char* p = mmap(NULL, (size_t)(n + 1) * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(2);
    mprotect(p + n * kPage, kPage, PROT_NONE);
    return p;
}

static void try_exec(const char* what, char* const* argv, char* const* envp)
{
    execve("/proc/self/exe", argv, envp);
    printf("%s: %s\n", what, ename(errno));
}

int main(int argc, char** argv)
{
    if (argc > 1 && !strcmp(argv[1], "report"))
        return report(argc, argv);
    setvbuf(stdout, NULL, _IONBF, 0);

    /* Errors first: each execve fails and returns. */
    char* hole = pages_then_hole(1);
    char* bad_ptr[] = { "x", hole + kPage + 16, NULL };
    try_exec("pointer to a hole", bad_ptr, environ);
    memset(hole, 'a', kPage); /* no NUL before the hole */
    char* runs_off[] = { "x", hole + kPage - 100, NULL };
    try_exec("string into a hole", runs_off, environ);
    char** array_end = (char**)(hole + kPage) - 2; /* two pointers, no NULL */
    array_end[0] = "x";
    array_end[1] = "y";
    try_exec("array into a hole", array_end, environ);
    char* longest = malloc(32 * kPage + 1);
    memset(longest, 'b', 32 * kPage);
    longest[32 * kPage] = 0;
    char* too_long[] = { "x", longest, NULL };
    try_exec("MAX_ARG_STRLEN bytes", too_long, environ);

    /* Limits against an 8 MiB stack (a quarter of it for the strings and
     * pointers), and the order of the checks. */
    struct rlimit stack;
    getrlimit(RLIMIT_STACK, &stack);
    stack.rlim_cur = 8 << 20;
    if (stack.rlim_max != RLIM_INFINITY && stack.rlim_max < stack.rlim_cur)
        stack.rlim_cur = stack.rlim_max;
    setrlimit(RLIMIT_STACK, &stack);
    char* big = malloc(100001);
    memset(big, 'c', 100000);
    big[100000] = 0;
    char* many_big[30];
    for (int i = 0; i < 29; i++)
        many_big[i] = big;
    many_big[29] = NULL;
    try_exec("2.9 MB of strings", many_big, environ);
    long n = 400000;
    char** empties = calloc((size_t)n + 1, sizeof *empties);
    for (long i = 0; i < n; i++)
        empties[i] = "";
    try_exec("400 000 empty strings", empties, environ);
    char* bad_then_long[] = { hole + kPage + 16, longest, NULL };
    try_exec("argv {bad, too long}", bad_then_long, environ);
    char* long_then_bad[] = { longest, hole + kPage + 16, NULL };
    try_exec("argv {too long, bad}", long_then_bad, environ);
    char* one_bad[] = { hole + kPage + 16, NULL };
    char* one_long[] = { longest, NULL };
    try_exec("argv bad, envp too long", one_bad, one_long);
    char** bad_array = (char**)(hole + kPage);
    try_exec("argv array bad, envp too long", bad_array, one_long);

    /* Then one that works: strings and the array across page ends. */
    char* area = pages_then_hole(4);
    char* a1 = area + kPage - 5; /* crosses into the second page */
    memcpy(a1, "report", 7);
    char* a2 = area + 2 * kPage - 3;
    memcpy(a2, "abcdefgh", 9);
    longest[32 * kPage - 1] = 0; /* 131071 bytes: the longest allowed */
    char** array = (char**)(area + 3 * kPage) - 2; /* crosses into the 4th page */
    array[-2] = "/proc/self/exe";
    array[-1] = a1;
    array[0] = a2;
    array[1] = longest;
    ((char**)(area + 3 * kPage))[0] = "last";
    ((char**)(area + 3 * kPage))[1] = NULL;
    char* env[80];
    char names[78][64];
    for (int i = 0; i < 78; i++) {
        snprintf(names[i], sizeof names[i], "VAR%d=%0*d", i, i % 50 + 1, i);
        env[i] = names[i];
    }
    env[78] = "PATH=/usr/bin:/bin";
    env[79] = NULL;
    execve("/proc/self/exe", array - 2, env);
    printf("execve: %s\n", ename(errno));
    return 1;
}
