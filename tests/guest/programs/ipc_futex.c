/* futex(2) by raw syscall, compared with native: WAIT/WAKE (private;
 * shared through a MAP_SHARED|MAP_ANONYMOUS page across fork, where a
 * private wake from the other process wakes nobody), WAIT with a relative
 * timeout and WAIT_BITSET with absolute ones (ETIMEDOUT), a bad timeout
 * (EINVAL), a wrong value (EAGAIN), a misaligned word (EINVAL), REQUEUE and
 * CMP_REQUEUE (woken plus requeued counted, EAGAIN on a changed value, the
 * requeued woken from the second word), WAIT_BITSET/WAKE_BITSET masks,
 * WAKE_OP (each op and comparison, the shift flag, a sign-extended
 * argument, who is woken, bad op and comparison), and PI: LOCK_PI on 0
 * (the word becomes our tid), on our own lock (EDEADLK), UNLOCK_PI (0 again;
 * EPERM for a non-owner), TRYLOCK_PI on a word another thread holds
 * (EWOULDBLOCK), and a contended LOCK_PI handed over by UNLOCK_PI.
 *
 * No sleeps decide anything: a waiter is known to be queued in the kernel
 * once a CMP_REQUEUE has moved it from a staging word to its target word
 * ("gather", retried with short timed waits until all have been moved);
 * wakes of waiters not known to be queued are retried the same way. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest_test.h"

static long futex(volatile void* uaddr, int op, uint32_t val, const void* timeout_or_val2, volatile void* uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

/* a timed wait on a word nobody touches: lets other threads run */
static void short_wait(void)
{
    static uint32_t dummy;
    struct timespec ts = { 0, 1000000 };
    futex(&dummy, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
}

enum { MAX_TRIES = 3000 };

/* move n waiters queued on from (value fromval) to to; 0 when all moved */
static int gather(volatile uint32_t* from, uint32_t fromval, volatile uint32_t* to, int n, int private_)
{
    int got = 0;
    for (int tries = 0; got < n && tries < MAX_TRIES; tries++) {
        long r = futex(from, private_ ? FUTEX_CMP_REQUEUE_PRIVATE : FUTEX_CMP_REQUEUE, 0, (void*)(long)INT_MAX, to, fromval);
        if (r < 0) {
            printf("  gather: %s\n", ename(errno));
            return -1;
        }
        got += (int)r;
        if (got < n)
            short_wait();
    }
    if (got != n)
        printf("  gather: gave up at %d of %d\n", got, n);
    return got == n ? 0 : -1;
}

/* wake until n have been woken, one call at a time of at most `per`;
 * returns the total, and whether any call woke more than asked */
static int wake_until(volatile uint32_t* w, int op, int n, int per, uint32_t bitset, int* over)
{
    int got = 0;
    *over = 0;
    for (int tries = 0; got < n && tries < MAX_TRIES; tries++) {
        long r = futex(w, op, (uint32_t)per, NULL, NULL, bitset);
        if (r < 0)
            return -1;
        if (r > per)
            *over = 1;
        got += (int)r;
        if (got < n)
            short_wait();
    }
    return got;
}

struct waiter {
    volatile uint32_t* addr;
    uint32_t val;
    int op;
    uint32_t bitset;
    long ret;
    int err;
    volatile int done;
    pthread_t th;
};

static volatile int ready;

static void* wait_thread(void* a)
{
    struct waiter* w = a;
    __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
    errno = 0;
    w->ret = futex(w->addr, w->op, w->val, NULL, NULL, w->bitset);
    w->err = errno;
    w->done = 1;
    return NULL;
}

static void start(struct waiter* w, volatile uint32_t* addr, uint32_t val, int op, uint32_t bitset)
{
    memset(w, 0, sizeof *w);
    w->addr = addr;
    w->val = val;
    w->op = op;
    w->bitset = bitset;
    pthread_create(&w->th, NULL, wait_thread, w);
}

static void spin_ready(int n)
{
    while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < n) {
    }
}

static void join_all(struct waiter* w, int n, const char* label)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].th, NULL);
        ok += w[i].ret == 0;
    }
    printf("%s: %d of %d waiters returned 0\n", label, ok, n);
}

static volatile uint32_t A, B, C, S1, S2;

static void basic_private(void)
{
    long r;
    int e;
    struct waiter w[3];
    A = 0;
    ready = 0;
    for (int i = 0; i < 3; i++)
        start(&w[i], &A, 0, FUTEX_WAIT_PRIVATE, 0);
    spin_ready(3);
    int over;
    int got = wake_until(&A, FUTEX_WAKE_PRIVATE, 3, 1, 0, &over);
    printf("private: wake one at a time: total=%d more_than_one_per_call=%d\n", got, over);
    join_all(w, 3, "private");
    CALL(futex(&A, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    printf("private: wake with nobody waiting: %s\n", res(r, e));

    /* exact counts once all are known to be queued */
    S1 = 0;
    ready = 0;
    for (int i = 0; i < 3; i++)
        start(&w[i], &S1, 0, FUTEX_WAIT_PRIVATE, 0);
    spin_ready(3);
    if (gather(&S1, 0, &A, 3, 1) == 0) {
        CALL(futex(&A, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0));
        printf("private: 3 queued, wake 2: %s\n", res(r, e));
        CALL(futex(&A, FUTEX_WAKE_PRIVATE, 5, NULL, NULL, 0));
        printf("private: wake 5: %s\n", res(r, e));
        CALL(futex(&S1, FUTEX_WAKE_PRIVATE, 5, NULL, NULL, 0));
        printf("private: wake the staging word: %s\n", res(r, e));
    } else {
        futex(&S1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        futex(&A, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
    join_all(w, 3, "private gathered");

    /* a waiter on a shared (non-private) op in the same process */
    A = 0;
    ready = 0;
    start(&w[0], &A, 0, FUTEX_WAIT, 0);
    spin_ready(1);
    got = wake_until(&A, FUTEX_WAKE, 1, 1, 0, &over);
    printf("non-private op, one process: woken=%d\n", got);
    join_all(w, 1, "non-private op");
}

static void shared_fork(void)
{
    long r;
    int e;
    volatile uint32_t* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        printf("mmap: %s\n", ename(errno));
        return;
    }
    volatile uint32_t* word = &page[0];
    volatile uint32_t* rdy = &page[1];
    volatile uint32_t* word2 = &page[2];
    pid_t p = fork();
    if (p == 0) {
        __atomic_add_fetch(rdy, 1, __ATOMIC_SEQ_CST);
        errno = 0;
        long cr = futex(word, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(cr == 0 ? 0 : 100 + errno);
    }
    while (__atomic_load_n(rdy, __ATOMIC_SEQ_CST) < 1) {
    }
    /* a private wake from another process never reaches it */
    CALL(futex(word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    printf("shared: private wake from the parent: %s\n", res(r, e));
    /* gather it onto the second shared word, then wake it there */
    if (gather(word, 0, word2, 1, 0) == 0) {
        CALL(futex(word2, FUTEX_WAKE, INT_MAX, NULL, NULL, 0));
        printf("shared: child queued and requeued, wake on the second word: %s\n", res(r, e));
    } else {
        futex(word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
    int st;
    pid_t wr = waitpid(p, &st, 0);
    printf("shared: child %s\n", wr != p ? "not reaped" : WIFEXITED(st) ? (WEXITSTATUS(st) == 0 ? "woken, exit 0" : "exited nonzero") : "killed");

    /* the child wakes the parent */
    *word = 0;
    *rdy = 0;
    p = fork();
    if (p == 0) {
        while (__atomic_load_n(rdy, __ATOMIC_SEQ_CST) < 1) {
        }
        int got = 0;
        for (int tries = 0; got < 1 && tries < MAX_TRIES; tries++) {
            long cr = futex(word, FUTEX_WAKE, 1, NULL, NULL, 0);
            got += cr > 0 ? (int)cr : 0;
            if (!got)
                short_wait();
        }
        _exit(got);
    }
    __atomic_add_fetch(rdy, 1, __ATOMIC_SEQ_CST);
    CALL(futex(word, FUTEX_WAIT, 0, NULL, NULL, 0));
    wr = waitpid(p, &st, 0);
    printf("shared: parent woken by the child: %s, child woke %d\n", res(r, e), wr == p && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    munmap((void*)page, 4096);
}

static void timeouts_and_errors(void)
{
    long r;
    int e;
    A = 0;
    struct timespec rel = { 0, 20000000 };
    CALL(futex(&A, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0));
    printf("WAIT 20ms: %s\n", res(r, e));
    struct timespec now, abs;
    clock_gettime(CLOCK_MONOTONIC, &now);
    abs = now;
    abs.tv_nsec += 20000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    CALL(futex(&A, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, FUTEX_BITSET_MATCH_ANY));
    struct timespec after;
    clock_gettime(CLOCK_MONOTONIC, &after);
    int not_early = after.tv_sec > abs.tv_sec || (after.tv_sec == abs.tv_sec && after.tv_nsec >= abs.tv_nsec);
    printf("WAIT_BITSET absolute monotonic +20ms: %s not_early=%d\n", res(r, e), not_early);
    clock_gettime(CLOCK_REALTIME, &now);
    abs = now;
    abs.tv_nsec += 20000000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    CALL(futex(&A, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &abs, NULL, FUTEX_BITSET_MATCH_ANY));
    printf("WAIT_BITSET absolute realtime +20ms: %s\n", res(r, e));
    /* an absolute time already past */
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_sec -= 1;
    CALL(futex(&A, FUTEX_WAIT_BITSET_PRIVATE, 0, &now, NULL, FUTEX_BITSET_MATCH_ANY));
    printf("WAIT_BITSET absolute in the past: %s\n", res(r, e));
    struct timespec zero = { 0, 0 };
    CALL(futex(&A, FUTEX_WAIT_PRIVATE, 0, &zero, NULL, 0));
    printf("WAIT zero timeout: %s\n", res(r, e));
    struct timespec bad = { 0, 1000000000 };
    CALL(futex(&A, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0));
    printf("WAIT tv_nsec=1e9: %s\n", res(r, e));
    bad.tv_sec = -1;
    bad.tv_nsec = 0;
    CALL(futex(&A, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0));
    printf("WAIT tv_sec=-1: %s\n", res(r, e));
    A = 5;
    CALL(futex(&A, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
    printf("WAIT wrong value: %s (EWOULDBLOCK==EAGAIN %d)\n", res(r, e), EWOULDBLOCK == EAGAIN);
    CALL(futex((char*)&A + 1, FUTEX_WAIT_PRIVATE, 5, NULL, NULL, 0));
    printf("WAIT misaligned: %s\n", res(r, e));
    CALL(futex((char*)&A + 2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    printf("WAKE misaligned: %s\n", res(r, e));
    CALL(futex(&A, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
    printf("WAIT_BITSET with bitset 0: %s\n", res(r, e));
    CALL(futex(&A, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0));
    printf("WAKE_BITSET with bitset 0: %s\n", res(r, e));
    CALL(futex(&A, 99, 0, NULL, NULL, 0));
    printf("unknown op 99: %s\n", res(r, e));
    CALL(futex(NULL, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    printf("WAIT on NULL: %s\n", res(r, e));
    CALL(futex(&A, FUTEX_WAKE_PRIVATE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0));
    printf("WAKE with CLOCK_REALTIME: %s\n", res(r, e));
    CALL(futex(&A, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void*)1L, &B, 4));
    printf("CMP_REQUEUE value mismatch: %s\n", res(r, e));
    CALL(futex(&A, FUTEX_CMP_REQUEUE_PRIVATE, (uint32_t)-1, (void*)1L, &B, 5));
    printf("CMP_REQUEUE negative nr_wake: %s\n", res(r, e));
    A = 0;
}

static void requeue(void)
{
    long r;
    int e;
    struct waiter w[4];
    S1 = 0;
    B = 7;
    C = 9;
    ready = 0;
    for (int i = 0; i < 4; i++)
        start(&w[i], &S1, 0, FUTEX_WAIT_PRIVATE, 0);
    spin_ready(4);
    if (gather(&S1, 0, &B, 4, 1) != 0) {
        futex(&S1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        futex(&B, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        join_all(w, 4, "requeue");
        return;
    }
    printf("requeue: 4 waiters gathered onto B\n");
    CALL(futex(&B, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void*)2L, &C, 6));
    printf("CMP_REQUEUE B->C wake 1 requeue 2, B changed: %s\n", res(r, e));
    CALL(futex(&B, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void*)2L, &C, 7));
    printf("CMP_REQUEUE B->C wake 1 requeue 2: %s (woken + requeued)\n", res(r, e));
    /* the woken one returns; the others stay */
    int deadline = 0;
    int done = 0;
    while (done < 1 && deadline++ < MAX_TRIES) {
        done = 0;
        for (int i = 0; i < 4; i++)
            done += w[i].done;
        if (done < 1)
            short_wait();
    }
    done = 0;
    for (int i = 0; i < 4; i++)
        done += w[i].done;
    printf("requeue: finished waiters now %d\n", done);
    CALL(futex(&B, FUTEX_REQUEUE_PRIVATE, 0, (void*)5L, &C, 0));
    printf("REQUEUE B->C wake 0 requeue 5: %s\n", res(r, e));
    CALL(futex(&B, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    printf("wake B: %s\n", res(r, e));
    CALL(futex(&C, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    printf("wake C 1: %s\n", res(r, e));
    CALL(futex(&C, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    printf("wake C all: %s\n", res(r, e));
    join_all(w, 4, "requeue");
    CALL(futex(&C, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    printf("wake C again: %s\n", res(r, e));
}

static void bitsets(void)
{
    long r;
    int e;
    struct waiter w[3];
    A = 0;
    ready = 0;
    start(&w[0], &A, 0, FUTEX_WAIT_BITSET_PRIVATE, 0x1);
    start(&w[1], &A, 0, FUTEX_WAIT_BITSET_PRIVATE, 0x2);
    start(&w[2], &A, 0, FUTEX_WAIT_BITSET_PRIVATE, 0x6);
    spin_ready(3);
    int over;
    int got = wake_until(&A, FUTEX_WAKE_BITSET_PRIVATE, 2, INT_MAX, 0x2, &over);
    printf("bitset: WAKE_BITSET 0x2 woke %d (the 0x2 and 0x6 waiters)\n", got);
    pthread_join(w[1].th, NULL);
    pthread_join(w[2].th, NULL);
    printf("bitset: 0x2 ret=%ld 0x6 ret=%ld, 0x1 still waiting=%d\n", w[1].ret, w[2].ret, !w[0].done);
    CALL(futex(&A, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL, NULL, 0x4));
    printf("bitset: WAKE_BITSET 0x4: %s, 0x1 still waiting=%d\n", res(r, e), !w[0].done);
    got = wake_until(&A, FUTEX_WAKE_PRIVATE, 1, INT_MAX, 0, &over);
    printf("bitset: plain WAKE (match any) woke %d\n", got);
    pthread_join(w[0].th, NULL);
    printf("bitset: 0x1 ret=%ld\n", w[0].ret);

    /* a plain WAIT is woken by any WAKE_BITSET mask */
    ready = 0;
    start(&w[0], &A, 0, FUTEX_WAIT_PRIVATE, 0);
    spin_ready(1);
    got = wake_until(&A, FUTEX_WAKE_BITSET_PRIVATE, 1, 1, 0x80000000u, &over);
    pthread_join(w[0].th, NULL);
    printf("bitset: plain WAIT woken by WAKE_BITSET 0x80000000: %d ret=%ld\n", got, w[0].ret);
}

static void wake_op(void)
{
    long r;
    int e;
    struct waiter wa[2], wb[2];
    /* two waiters queued on A, two on B */
    S1 = 0;
    S2 = 0;
    A = 0;
    B = 0;
    ready = 0;
    for (int i = 0; i < 2; i++) {
        start(&wa[i], &S1, 0, FUTEX_WAIT_PRIVATE, 0);
        start(&wb[i], &S2, 0, FUTEX_WAIT_PRIVATE, 0);
    }
    spin_ready(4);
    if (gather(&S1, 0, &A, 2, 1) != 0 || gather(&S2, 0, &B, 2, 1) != 0) {
        for (int i = 0; i < 2; i++) {
            futex(&S1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
            futex(&S2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
            futex(&A, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
            futex(&B, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        }
        join_all(wa, 2, "wake_op A");
        join_all(wb, 2, "wake_op B");
        return;
    }
    /* B is 0: ADD 1, compare old > 0 is false: only A's side wakes */
    CALL(futex(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1L, &B, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 0)));
    printf("WAKE_OP add 1, old(0) > 0: %s B=%u\n", res(r, e), B);
    /* B is 1: now the comparison holds: one from each */
    CALL(futex(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1L, &B, FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_GT, 0)));
    printf("WAKE_OP add 1, old(1) > 0: %s B=%u\n", res(r, e), B);
    /* nobody left on A; one on B: SET 5, old == 2 */
    CALL(futex(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1L, &B, FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 2)));
    printf("WAKE_OP set 5, old(2) == 2: %s B=%u\n", res(r, e), B);
    long left_a = futex(&A, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    long left_b = futex(&B, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    printf("WAKE_OP: left waiting on A=%ld B=%ld\n", left_a, left_b);
    join_all(wa, 2, "wake_op A");
    join_all(wb, 2, "wake_op B");

    /* the arithmetic, with nobody waiting */
    struct {
        const char* name;
        uint32_t start;
        uint32_t op;
    } ops[] = {
        { "set 9", 3, FUTEX_OP(FUTEX_OP_SET, 9, FUTEX_OP_CMP_EQ, 0) },
        { "add 0xfff (-1)", 10, FUTEX_OP(FUTEX_OP_ADD, 0xfff, FUTEX_OP_CMP_EQ, 0) },
        { "or 0x30", 0x5, FUTEX_OP(FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_EQ, 0) },
        { "andn 0x3", 0xff, FUTEX_OP(FUTEX_OP_ANDN, 0x3, FUTEX_OP_CMP_EQ, 0) },
        { "xor 0xf0", 0xff, FUTEX_OP(FUTEX_OP_XOR, 0xf0, FUTEX_OP_CMP_EQ, 0) },
        { "or with shift 4 (1<<4)", 0x1, FUTEX_OP((FUTEX_OP_OR | FUTEX_OP_OPARG_SHIFT), 4, FUTEX_OP_CMP_EQ, 0) },
        { "set with shift 31", 0, FUTEX_OP((FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT), 31, FUTEX_OP_CMP_EQ, 0) },
        { "bad op 6", 0x11, (6u << 28) | (0u << 24) | (1u << 12) },
        { "bad cmp 7 (op applied)", 0x11, FUTEX_OP(FUTEX_OP_ADD, 1, 7, 0) },
    };
    for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        B = ops[i].start;
        CALL(futex(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1L, &B, ops[i].op));
        printf("WAKE_OP %s on 0x%x: %s B=0x%x\n", ops[i].name, ops[i].start, res(r, e), B);
    }
    /* every comparison, each true and false, with nobody waiting the
     * result is 0 either way; with one waiter on B it shows */
    struct {
        const char* name;
        int cmp;
        uint32_t old;
        int arg;
    } cmps[] = {
        { "EQ 3==3", FUTEX_OP_CMP_EQ, 3, 3 }, { "EQ 3==4", FUTEX_OP_CMP_EQ, 3, 4 },
        { "NE 3!=4", FUTEX_OP_CMP_NE, 3, 4 }, { "NE 3!=3", FUTEX_OP_CMP_NE, 3, 3 },
        { "LT 2<3", FUTEX_OP_CMP_LT, 2, 3 }, { "LT 3<3", FUTEX_OP_CMP_LT, 3, 3 },
        { "LE 3<=3", FUTEX_OP_CMP_LE, 3, 3 }, { "LE 4<=3", FUTEX_OP_CMP_LE, 4, 3 },
        { "GT 4>3", FUTEX_OP_CMP_GT, 4, 3 }, { "GT 3>3", FUTEX_OP_CMP_GT, 3, 3 },
        { "GE 3>=3", FUTEX_OP_CMP_GE, 3, 3 }, { "GE 2>=3", FUTEX_OP_CMP_GE, 2, 3 },
        { "LT -1<0 (signed)", FUTEX_OP_CMP_LT, 0xffffffffu, 0 },
    };
    for (unsigned i = 0; i < sizeof cmps / sizeof cmps[0]; i++) {
        S2 = 0;
        ready = 0;
        start(&wb[0], &S2, 0, FUTEX_WAIT_PRIVATE, 0);
        spin_ready(1);
        B = cmps[i].old;
        if (gather(&S2, 0, &B, 1, 1) != 0) {
            futex(&S2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
            futex(&B, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
            pthread_join(wb[0].th, NULL);
            continue;
        }
        CALL(futex(&A, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1L, &B, FUTEX_OP(FUTEX_OP_ADD, 0, cmps[i].cmp, cmps[i].arg)));
        long woke = r;
        int we = e;
        if (woke != 1)
            futex(&B, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        pthread_join(wb[0].th, NULL);
        printf("WAKE_OP cmp %s: %s\n", cmps[i].name, res(woke, we));
    }
}

/* --- PI --- */
static volatile uint32_t L;
static volatile int holder_phase;
static volatile pid_t holder_tid;
static long holder_lock_ret, holder_unlock_ret;
static uint32_t holder_word_after_lock;

static void* holder(void* a)
{
    (void)a;
    holder_tid = gettid_();
    holder_lock_ret = futex(&L, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    holder_word_after_lock = L;
    __atomic_store_n(&holder_phase, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&holder_phase, __ATOMIC_SEQ_CST) != 2) {
    }
    holder_unlock_ret = futex(&L, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    __atomic_store_n(&holder_phase, 3, __ATOMIC_SEQ_CST);
    return NULL;
}

static volatile int contender_started, contender_done;
static long contender_ret, contender_unlock_ret;
static uint32_t contender_word;
static volatile pid_t contender_tid;

static void* contender(void* a)
{
    (void)a;
    contender_tid = gettid_();
    __atomic_store_n(&contender_started, 1, __ATOMIC_SEQ_CST);
    errno = 0;
    contender_ret = futex(&L, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    if (contender_ret < 0)
        contender_ret = -errno;
    contender_word = L;
    contender_unlock_ret = futex(&L, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    __atomic_store_n(&contender_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void pi(void)
{
    long r;
    int e;
    pid_t me = gettid_();
    L = 0;
    CALL(futex(&L, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("LOCK_PI on 0: %s word_is_my_tid=%d\n", res(r, e), L == (uint32_t)me);
    CALL(futex(&L, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("LOCK_PI again by the owner: %s\n", res(r, e));
    CALL(futex(&L, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("TRYLOCK_PI by the owner: %s\n", res(r, e));
    CALL(futex(&L, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("UNLOCK_PI: %s word=%u\n", res(r, e), L);
    CALL(futex(&L, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("UNLOCK_PI of an unlocked word: %s word=%u\n", res(r, e), L);
    CALL(futex(&L, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("TRYLOCK_PI on 0: %s word_is_my_tid=%d\n", res(r, e), L == (uint32_t)me);
    CALL(futex(&L, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("UNLOCK_PI: %s word=%u\n", res(r, e), L);

    /* another thread holds it */
    holder_phase = 0;
    pthread_t th;
    pthread_create(&th, NULL, holder, NULL);
    while (__atomic_load_n(&holder_phase, __ATOMIC_SEQ_CST) != 1) {
    }
    printf("holder: LOCK_PI %ld word_is_holder_tid=%d\n", holder_lock_ret, holder_word_after_lock == (uint32_t)holder_tid);
    CALL(futex(&L, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("TRYLOCK_PI held by another thread: %s owner_kept=%d\n", res(r, e), (L & FUTEX_TID_MASK) == (uint32_t)holder_tid);
    CALL(futex(&L, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("UNLOCK_PI by a non-owner: %s\n", res(r, e));
    __atomic_store_n(&holder_phase, 2, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    printf("holder: UNLOCK_PI %ld word=%u\n", holder_unlock_ret, L);

    /* contended: we hold it, a thread blocks in LOCK_PI (it sets
     * FUTEX_WAITERS first), our UNLOCK_PI hands it over */
    CALL(futex(&L, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("LOCK_PI: %s\n", res(r, e));
    contender_started = contender_done = 0;
    pthread_create(&th, NULL, contender, NULL);
    while (!__atomic_load_n(&contender_started, __ATOMIC_SEQ_CST)) {
    }
    int tries = 0;
    while (!(L & FUTEX_WAITERS) && !contender_done && tries++ < MAX_TRIES)
        short_wait();
    printf("contender queued: waiters_bit=%d owner_still_me=%d\n", (L & FUTEX_WAITERS) != 0, (L & FUTEX_TID_MASK) == (uint32_t)me);
    CALL(futex(&L, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    printf("UNLOCK_PI with a waiter: %s\n", res(r, e));
    pthread_join(th, NULL);
    printf("contender: LOCK_PI %ld owner_was_contender=%d, its UNLOCK_PI %ld, word=%u\n", contender_ret,
        (contender_word & FUTEX_TID_MASK) == (uint32_t)contender_tid, contender_unlock_ret, L);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    reset_signals();
    alarm(10);
    basic_private();
    shared_fork();
    timeouts_and_errors();
    requeue();
    bitsets();
    wake_op();
    pi();
    return 0;
}
