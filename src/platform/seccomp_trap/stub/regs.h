/* The stub's signal context <-> thread slot register mapping. Plain C,
 * included by the stub and by the kernel's unit tests (which check it
 * against real signal frames). */
#ifndef UMK_STUB_REGS_H
#define UMK_STUB_REGS_H

#include "platform/seccomp_trap/layout.h"

#include <stdint.h>

/* The kernel's x86-64 stack_t, struct sigcontext and struct ucontext. */
struct k_stack {
    void* sp;
    int flags;
    uint64_t size;
};

struct k_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    unsigned short cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    unsigned char* fpstate;
    uint64_t reserved[8];
};

struct k_ucontext {
    uint64_t flags;
    struct k_ucontext* link;
    struct k_stack stack;
    struct k_sigcontext mc;
    uint64_t sigmask;
};

static inline uint64_t rdfsbase(void)
{
    uint64_t v;
    __asm__ volatile("rdfsbase %0" : "=r"(v));
    return v;
}
static inline uint64_t rdgsbase(void)
{
    uint64_t v;
    __asm__ volatile("rdgsbase %0" : "=r"(v));
    return v;
}

static inline void save_regs(struct umk_thread_slot* s, const struct k_sigcontext* mc)
{
    uint64_t* r = s->regs;
    r[UMK_R15] = mc->r15; r[UMK_R14] = mc->r14; r[UMK_R13] = mc->r13; r[UMK_R12] = mc->r12;
    r[UMK_RBP] = mc->rbp; r[UMK_RBX] = mc->rbx; r[UMK_R11] = mc->r11; r[UMK_R10] = mc->r10;
    r[UMK_R9] = mc->r9; r[UMK_R8] = mc->r8; r[UMK_RAX] = mc->rax; r[UMK_RCX] = mc->rcx;
    r[UMK_RDX] = mc->rdx; r[UMK_RSI] = mc->rsi; r[UMK_RDI] = mc->rdi;
    r[UMK_RIP] = mc->rip; r[UMK_CS] = mc->cs; r[UMK_EFLAGS] = mc->eflags;
    r[UMK_RSP] = mc->rsp; r[UMK_SS] = mc->ss;
    r[UMK_FS_BASE] = rdfsbase();
    /* A guest gs base of 0 may be this slot's address in the host, which
     * patched syscall sites use to find their slot (umk_patched_entry). */
    uint64_t gs = rdgsbase();
    r[UMK_GS_BASE] = gs == (uint64_t)s ? 0 : gs;
    r[UMK_DS] = r[UMK_ES] = r[UMK_FS] = r[UMK_GS] = 0;
}

/* gs_is_slot: patched sites need the slot as gs base (umk_op_page). */
static inline void restore_regs(const struct umk_thread_slot* s, struct k_ucontext* uc, int gs_is_slot)
{
    /* Read each register once: the guest may race on the slot. The host
     * kernel sanitizes eflags, cs and ss on sigreturn. */
    const volatile uint64_t* r = s->regs;
    struct k_sigcontext* mc = &uc->mc;
    mc->r15 = r[UMK_R15]; mc->r14 = r[UMK_R14]; mc->r13 = r[UMK_R13]; mc->r12 = r[UMK_R12];
    mc->rbp = r[UMK_RBP]; mc->rbx = r[UMK_RBX]; mc->r11 = r[UMK_R11]; mc->r10 = r[UMK_R10];
    mc->r9 = r[UMK_R9]; mc->r8 = r[UMK_R8]; mc->rax = r[UMK_RAX]; mc->rcx = r[UMK_RCX];
    mc->rdx = r[UMK_RDX]; mc->rsi = r[UMK_RSI]; mc->rdi = r[UMK_RDI];
    mc->rip = r[UMK_RIP]; mc->eflags = r[UMK_EFLAGS]; mc->rsp = r[UMK_RSP];
    uint64_t fs = r[UMK_FS_BASE];
    uint64_t gs = r[UMK_GS_BASE];
    /* wrfsbase faults (#GP) on non-canonical values: keep them below the
     * guest's TASK_SIZE (the kernel validated them; this guards a race). */
    if (fs < UMK_GUEST_TASK_SIZE)
        __asm__ volatile("wrfsbase %0" ::"r"(fs));
    if (gs == 0 && gs_is_slot)
        __asm__ volatile("wrgsbase %0" ::"r"((uint64_t)s));
    else if (gs < UMK_GUEST_TASK_SIZE)
        __asm__ volatile("wrgsbase %0" ::"r"(gs));
    /* Guest code always runs with no host signal blocked. */
    uc->sigmask = 0;
}

#endif
