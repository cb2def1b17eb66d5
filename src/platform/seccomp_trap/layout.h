/* The contract between the kernel and umk-stub: addresses, the shared
 * control region and its protocol. Plain C so the freestanding stub and
 * the kernel include the same definitions.
 *
 * Address layout of a guest address space (one host process):
 *
 *   0 .. UMK_GUEST_TASK_SIZE          guest memory (the guest's TASK_SIZE)
 *   .. UMK_STUB_BASE                  guard gap, never mapped
 *   UMK_STUB_BASE ..                  umk-stub image (linked here)
 *   UMK_CTL_BASE ..                   control region (shared memfd):
 *        page 0        op page, read-only in the stub
 *        page 1        op result page
 *        UMK_SLOT_OFFSET + i*UMK_SLOT_SIZE   thread slot i
 *   UMK_ALTSTACK_BASE + i*UMK_ALTSTACK_STRIDE   signal stack of thread i
 *   ~0x7ffff7ff0000                   host vvar/vdso (stub runs with
 *                                     ADDR_NO_RANDOMIZE, see host/spawn)
 *   ~0x7ffffffde000                   the stub's own host stack
 */
#ifndef UMK_PLATFORM_LAYOUT_H
#define UMK_PLATFORM_LAYOUT_H

#include <stdint.h>

#define UMK_GUEST_TASK_SIZE 0x7ffe00000000ULL
#define UMK_STUB_BASE 0x7fff00000000ULL
#define UMK_CTL_BASE 0x7fff40000000ULL
#define UMK_ALTSTACK_BASE 0x7fff80000000ULL

#define UMK_MAX_THREADS 1024
#define UMK_SLOT_OFFSET 0x10000ULL
#define UMK_SLOT_SIZE 0x4000ULL
/* The patched syscall sites' table (struct umk_site), after the slots. */
#define UMK_MAX_SITES 4096
#define UMK_SITE_TABLE_OFFSET (UMK_SLOT_OFFSET + UMK_MAX_THREADS * UMK_SLOT_SIZE)
#define UMK_CTL_SIZE (UMK_SITE_TABLE_OFFSET + UMK_MAX_SITES * 16ULL)
#define UMK_ALTSTACK_STRIDE 0x20000ULL /* stack + guard page below it */

/* Syscall-site patching (docs/design.md, "Syscall-site patching"). A
 * patched site's 7 bytes `mov $nr,%eax; syscall` (b8 imm32 0f 05) become
 * `jmp *cell` (ff 24 25 disp32), cell = UMK_PATCH_CELLS + 8 * k: the
 * disp32's third byte, the site's sixth, is 0x06, an invalid opcode, so
 * that a thread that had already run the `mov` faults (SIGILL) there, and
 * the kernel runs the call. Cell k holds the address of the stub's thunk
 * k, which enters umk_patched_entry with k in r11d; the site table in the
 * control region gives site k's return address and number. The cells and
 * the trap path's `syscall`s are one read-only mapping, the same for
 * every address space (the kernel maps it at the first patch).
 *
 * read's site in glibc, `xor %eax,%eax; syscall; cmp $-4096,%rax` (31 c0
 * 0f 05 48 3d 00 f0 ff ff), has no `mov` to replace: its first 7 bytes
 * become `jmp *cell` with the SIB byte 0xe5 (the same jump; as the site's
 * third byte, `in`, which faults at user level, SIGSEGV) and a cell whose
 * address' second byte, the site's fifth, is an invalid opcode
 * (umk_read_site_k). A thread at the old `syscall` faults and the kernel
 * runs the call; one at the old `cmp` (a call's return on the trap path)
 * faults and the kernel does the compare; the patched path returns past
 * the `cmp` with its flags (umk_site::read_tail). */
#define UMK_PATCH_CELLS 0x7f060000ULL
#define UMK_PATCH_READ_SIB 0xe5
/* Site k's `syscall` for the trap path, at UMK_PATCH_FALLBACK + 16 * k. */
#define UMK_PATCH_FALLBACK (UMK_PATCH_CELLS + UMK_MAX_SITES * 8ULL)
#define UMK_PATCH_TABLE_SIZE (UMK_MAX_SITES * 8ULL + UMK_MAX_SITES * 16ULL)
#define UMK_PATCH_SITE_FAULT_BYTE 0x06
/* Cells for read sites: k whose cell address' second byte (k >> 5) is an
 * opcode invalid in 64-bit mode (push/pop of segment registers, the BCD
 * adjustments, pusha/popa): 13 runs of 32. */
static inline int umk_read_site_k(uint64_t k)
{
    static const uint8_t invalid[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60, 0x61 };
    for (unsigned i = 0; i < sizeof invalid; i++)
        if ((k >> 5) == invalid[i])
            return 1;
    return 0;
}
#define UMK_THUNK_SIZE 16

/* kernel_cpu while the call blocks (a futex, a pipe, a sleep): the answer
 * may be long in coming, and the stub yields only briefly before it
 * sleeps. */
#define UMK_CPU_BLOCKED 0xfffffffeU

/* The host CPU the calling thread runs on. With RDPID where the CPU has
 * it (`rdpid`: umk_op_page::rdpid in the stub): TSC_AUX, whose low 12 bits
 * Linux keeps at the CPU's number, 2 ns. Else as the host vDSO's getcpu
 * finds it: the limit of the per-CPU GDT entry (selector 0x7b), which
 * Linux sets to (node << 12) | cpu; tens of ns on a hand-off's path. */
#define UMK_CPU_NONE 0xffffffffU
static inline uint32_t umk_cpu(uint32_t rdpid)
{
    uint64_t v = 0;
    if (rdpid)
        __asm__ volatile("rdpid %0" : "=r"(v));
    else
        __asm__ volatile("lsl %k1, %k0" : "+r"(v) : "r"(0x7bUL));
    return (uint32_t)(v & 0xfff);
}

struct umk_site {
    uint64_t return_address; /* the site + 7 */
    uint32_t nr;
    /* What the stub copies into the slot's prefetch[] for the kernel as a
     * call comes in: bit i of `strings`, argument i is a NUL-terminated
     * string; of `buffers`, argument i is a buffer whose length is
     * argument i + 1. */
    uint8_t strings;
    uint8_t buffers;
    /* A read site: return_address is the site + 4 (after its `syscall`),
     * and the patched path returns past the `cmp` at the site + 10. */
    uint8_t read_tail;
    uint8_t pad;
};

/* The control socket and memfd a new stub finds at exec. */
#define UMK_STUB_CTL_FD 3
#define UMK_STUB_MEMFD 4

/* The trapped syscall number a fresh stub thread issues to say it is
 * ready for its first guest registers. Not a Linux syscall number. */
#define UMK_START_NR 1000
/* The trapped syscall the patched path makes from the stub's text to get
 * into its SIGSYS handler (umk_patched_slow, umk_patched_interrupted): a
 * `ud2` would do as well, but an invalid opcode costs a VM exit under
 * KVM (it intercepts #UD), 8 us on these machines. */
#define UMK_PATCHED_SLOW_NR 1001

/* Thread slot states (the futex word). Stub -> kernel: STOP_*;
 * kernel -> stub: RESUME; kernel only: DEAD (the stub is gone). GONE is
 * what the host writes when the slot's host thread exits, whatever the
 * reason (the word is its clear_child_tid), so that a thread that leaves
 * behind the kernel's back is seen. */
enum {
    UMK_GONE = 0,
    UMK_RUNNING = 1,
    UMK_STOP_SYSCALL = 2,
    UMK_STOP_FAULT = 3,
    UMK_RESUME = 4,
    UMK_DEAD = 5,
    UMK_STOP_INTERRUPT = 6,
};

/* What the stub does with the guest's FPU/vector state (the XSAVE image in
 * its signal frame) when the kernel resumes it (the slot's `command`). */
enum {
    UMK_CMD_NONE = 0,
    UMK_CMD_GET_XSAVE = 1,  /* copy it into the slot, then stop again */
    UMK_CMD_SET_XSAVE = 2,  /* load the slot's image, then return */
    UMK_CMD_INIT_XSAVE = 3, /* reset it to the init state, then return */
    UMK_CMD_CLONE_THREAD = 4, /* start a host thread for slot clone_index, stop again */
    UMK_CMD_EXIT_THREAD = 5,  /* end this host thread */
    UMK_CMD_ATOMIC = 6,       /* an atomic op on a guest word (atomic_*), stop again */
    UMK_CMD_MEMORY_OP = 7,    /* mmap/munmap/mprotect of guest memory (memory_op), stop again */
};

/* UMK_CMD_MEMORY_OP: what a guest thread's handler may do to its own
 * address space for the kernel, instead of an op-thread round trip:
 * mmap, munmap, mprotect, madvise. The guest filter bounds it for whoever
 * reaches the stub's syscall instruction: the start below
 * UMK_GUEST_TASK_SIZE and the length below UMK_MEMORY_OP_MAX, so the range
 * ends before UMK_STUB_BASE; mmap only MAP_FIXED | MAP_ANONYMOUS (no file,
 * so no descriptor); madvise only this advice (NORMAL, RANDOM,
 * SEQUENTIAL, WILLNEED, DONTNEED, FREE, HUGEPAGE, NOHUGEPAGE), nothing
 * that changes what fork copies. */
#define UMK_MEMORY_OP_MAX 0x100000000ULL /* the filter checks: length's high word 0 */
#define UMK_MEMORY_OP_ADVICE 0, 1, 2, 3, 4, 8, 14, 15

enum {
    UMK_ATOMIC_SET = 0, /* FUTEX_OP_SET and friends, as futex(2)'s op field */
    UMK_ATOMIC_ADD = 1,
    UMK_ATOMIC_OR = 2,
    UMK_ATOMIC_ANDN = 3,
    UMK_ATOMIC_XOR = 4,
    UMK_ATOMIC_CMPXCHG = 5,
};

/* The only clone a guest thread's handler may issue: a thread of its own address space whose
 * exit clears its slot's state word (CLONE_VM | CLONE_FS | CLONE_FILES |
 * CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID). */
#define UMK_THREAD_CLONE_FLAGS 0x250f00UL

/* The op thread's own clone (the thread flags without CLONE_CHILD_CLEARTID). */
#define UMK_OP_CLONE_FLAGS 0x50f00UL

/* fork: a copy of the address space whose host parent is the kernel
 * (CLONE_PARENT | SIGCHLD), cloned by the op thread. Before it, the op
 * thread receives the child's control socket and control memfd as fds
 * UMK_FORK_CTL_FD and UMK_FORK_MEMFD (the stub's lowest free fds); the
 * child moves them to UMK_STUB_CTL_FD and UMK_STUB_MEMFD, maps its own
 * control region and signal stacks, says who it is with one message on
 * its control socket (the kernel reads the sender's pid from
 * SCM_CREDENTIALS, never from memory), and starts like a new stub. */
#define UMK_FORK_CLONE_FLAGS 0x8011UL
#define UMK_FORK_CTL_FD 0
#define UMK_FORK_MEMFD 1

/* The host signal that interrupts a running guest thread (a stop at its
 * current instruction). Coalesced through the slot's interrupt_requested. */
#define UMK_INTERRUPT_SIGNAL 23 /* SIGURG */

/* Offsets in the XSAVE image (struct _fpx_sw_bytes and the header). */
#define UMK_XSAVE_SW_BYTES 464
#define UMK_XSAVE_HEADER 512
#define UMK_FP_XSTATE_MAGIC1 0x46505853U

/* The FPU state a signal handler starts with (Linux:
 * fpu__clear_user_states), made in an XSAVE image of `size` bytes: by the
 * stub in a new frame, by the kernel for a handler not resumed yet. */
static inline void umk_init_xsave(unsigned char* fp, unsigned long size)
{
    const unsigned short fcw = 0x37f;
    const uint32_t mxcsr = 0x1f80;
    if (size < 416)
        return;
    __builtin_memset(fp, 0, 416); /* legacy area: control words, x87, xmm */
    __builtin_memcpy(fp, &fcw, sizeof fcw);
    __builtin_memcpy(fp + 24, &mxcsr, sizeof mxcsr);
    if (size >= UMK_XSAVE_HEADER + 8)
        __builtin_memset(fp + UMK_XSAVE_HEADER, 0, 8); /* xstate_bv: every component in init state */
}

/* orig_rax of a syscall stop that did not come in through the x86-64
 * ABI (int $0x80 and other compat entries): always ENOSYS. */
#define UMK_COMPAT_SYSCALL 0xffffffffffffffffULL

/* Register order in a slot, same as struct user_regs_struct. */
enum {
    UMK_R15, UMK_R14, UMK_R13, UMK_R12, UMK_RBP, UMK_RBX, UMK_R11, UMK_R10,
    UMK_R9, UMK_R8, UMK_RAX, UMK_RCX, UMK_RDX, UMK_RSI, UMK_RDI, UMK_ORIG_RAX,
    UMK_RIP, UMK_CS, UMK_EFLAGS, UMK_RSP, UMK_SS, UMK_FS_BASE, UMK_GS_BASE,
    UMK_DS, UMK_ES, UMK_FS, UMK_GS,
    UMK_NREGS
};

#define UMK_XSAVE_MAX 8192

/* A range of guest memory copied through the slot: `length` bytes at
 * `address`, kept at `offset` in the slot's data area. A prefetched
 * string's length includes its NUL; 0: the stub did not copy it (a
 * fault, or no room). */
struct umk_copy {
    uint64_t address;
    uint32_t offset;
    uint32_t length;
};
#define UMK_PREFETCH_ENTRIES 2
#define UMK_PREFETCH_MAX 2048
#define UMK_STAGE_ENTRIES 8
#define UMK_STAGE_MAX 4096

struct umk_thread_slot {
    uint32_t state;          /* futex word */
    uint32_t stub_sleeping;  /* the stub waits in FUTEX_WAIT on state */
    uint32_t kernel_sleeping;/* the kernel waits in FUTEX_WAIT on state */
    uint32_t command;        /* UMK_CMD_*, read by the stub on RESUME */
    /* This stop came through a patched site (umk_patched_entry), not a
     * trap; the kernel's answer: only rax changed, return without a
     * signal frame. In the state's cache line, which moves anyway. */
    uint32_t patched_stop;
    uint32_t fast_return;
    /* A patched stop: the entries of prefetch[] the stub filled. */
    uint32_t prefetch_count;
    /* A fast return: the entries of stage[] the stub writes to guest
     * memory before it returns (a fault there: rax = -EFAULT). */
    uint32_t stage_count;
    /* The host CPUs the two sides wait on (umk_cpu): neither spins for the
     * other on the CPU the other needs, and the stub does not spin while
     * the kernel's thread sleeps for the stop (kernel_cpu UMK_CPU_NONE) or
     * blocks in the call (UMK_CPU_BLOCKED), when it also yields only
     * briefly. Hints, which the guest can write; in the state's cache
     * line. */
    uint32_t kernel_cpu;
    uint32_t stub_cpu;
    /* UMK_CMD_ATOMIC: *addr (a 4-aligned guest address the kernel checked)
     * gets op(old, operand); cmpxchg stores `operand` only if old ==
     * `expected`. The old value comes back in atomic_old. */
    uint64_t atomic_addr;
    uint32_t atomic_op;      /* UMK_ATOMIC_* */
    uint32_t atomic_operand;
    uint32_t atomic_expected;
    uint32_t atomic_old;
    /* UMK_CMD_MEMORY_OP: the call and its result (or -errno). */
    uint64_t memory_op_nr;
    uint64_t memory_op_args[6];
    int64_t memory_op_result;
    uint64_t regs[UMK_NREGS];
    /* Fault stops: the host siginfo, decoded by the stub. */
    int32_t fault_signo;
    int32_t fault_code;
    uint64_t fault_addr;
    uint32_t xsave_size;     /* bytes valid in xsave[] */
    uint32_t interrupt_requested; /* set by the kernel, cleared by the stub */
    uint64_t fault_trapno;   /* the host sigcontext's trapno, err and cr2 */
    uint64_t fault_err;
    uint64_t fault_cr2;
    uint32_t clone_index;    /* UMK_CMD_CLONE_THREAD: the new thread's slot */
    int32_t clone_result;    /* its host tid, or -errno */
    /* Slot 0 at start, before any guest code ran: the host vDSO and the
     * stub's thunk 0. */
    uint64_t vdso_base;
    uint64_t patch_thunks;
    /* A patched read site's call: where its fast return goes (the site +
     * 10), set by the stub as the call comes in; 0 for other sites. */
    uint64_t patched_tail;
    uint8_t xsave[UMK_XSAVE_MAX] __attribute__((aligned(64)));
    /* Guest memory through the slot instead of process_vm_readv/writev
     * (docs/design.md, "Arguments through the slot"). Hostile: the guest
     * can write both. */
    struct umk_copy prefetch[UMK_PREFETCH_ENTRIES];
    struct umk_copy stage[UMK_STAGE_ENTRIES];
    uint8_t prefetch_data[UMK_PREFETCH_MAX];
    uint8_t stage_data[UMK_STAGE_MAX];
};

#define UMK_MAX_OPS 32

struct umk_op {
    uint64_t nr;
    uint64_t args[6];
};

/* Read-only in the stub: only the kernel writes it. */
struct umk_op_page {
    uint32_t req_seq;        /* futex word, bumped by the kernel */
    uint32_t count;          /* ops in this batch */
    struct umk_op ops[UMK_MAX_OPS];
    uint8_t pad[2048 - 8 - UMK_MAX_OPS * 56 - 12];
    /* The host CPU has RDPID (umk_cpu). */
    uint32_t rdpid;
    /* Set once a site is patched in this address space: a guest gs base
     * of 0 is then each thread's slot address in the host (save_regs). */
    uint32_t gs_is_slot;
    /* Other work keeps the host's CPUs busy: spin briefly and sleep, never
     * yield (a yield would give that work the CPU for its whole time
     * slice). The kernel sets it as a stub starts and as its monitor's
     * judgement changes. */
    uint32_t host_busy;
    /* At UMK_OP_DONE_MSG_OFFSET: the struct msghdr (and its iovec and
     * byte) the op thread sends after each batch, set up once. */
    uint64_t done_msg[7];
    uint64_t done_iov[2];
    uint8_t done_byte;
};
#define UMK_OP_DONE_MSG_OFFSET 2048

/* Written by the op thread. Hostile: the guest can write it too. */
struct umk_op_result_page {
    uint32_t done_seq;       /* futex word */
    uint32_t done_count;     /* ops executed; stops after the first error */
    int64_t results[UMK_MAX_OPS];
    /* recvmsg scratch for fds the kernel sends (SCM_RIGHTS) */
    uint8_t msg_area[2048];
};

/* Offsets umk_patched_entry (stub assembly) uses. */
#define UMK_SLOT_REGS 128
#define UMK_SLOT_INTERRUPT_REQUESTED 364
#define UMK_SLOT_PATCHED_TAIL 416

#ifdef __cplusplus
static_assert(__builtin_offsetof(struct umk_thread_slot, regs) == UMK_SLOT_REGS, "slot regs (stub assembly)");
static_assert(__builtin_offsetof(struct umk_thread_slot, interrupt_requested) == UMK_SLOT_INTERRUPT_REQUESTED, "stub assembly");
static_assert(__builtin_offsetof(struct umk_thread_slot, patched_tail) == UMK_SLOT_PATCHED_TAIL, "stub assembly");
static_assert(UMK_PATCH_CELLS + UMK_PATCH_TABLE_SIZE < 0x80000000ULL, "cells must be reachable by a disp32");
static_assert(UMK_GUEST_TASK_SIZE + UMK_MEMORY_OP_MAX <= UMK_STUB_BASE, "memory ops reach the stub");
static_assert(sizeof(struct umk_thread_slot) <= UMK_SLOT_SIZE, "slot too big");
static_assert(sizeof(struct umk_op_page) <= 4096, "op page too big");
static_assert(__builtin_offsetof(struct umk_op_page, done_msg) == UMK_OP_DONE_MSG_OFFSET, "done_msg (stub assembly)");
static_assert(sizeof(struct umk_op_result_page) <= 4096, "op result page too big");
#else
_Static_assert(__builtin_offsetof(struct umk_thread_slot, regs) == UMK_SLOT_REGS, "slot regs (stub assembly)");
_Static_assert(__builtin_offsetof(struct umk_thread_slot, interrupt_requested) == UMK_SLOT_INTERRUPT_REQUESTED, "stub assembly");
_Static_assert(__builtin_offsetof(struct umk_thread_slot, patched_tail) == UMK_SLOT_PATCHED_TAIL, "stub assembly");
_Static_assert(UMK_GUEST_TASK_SIZE + UMK_MEMORY_OP_MAX <= UMK_STUB_BASE, "memory ops reach the stub");
_Static_assert(sizeof(struct umk_thread_slot) <= UMK_SLOT_SIZE, "slot too big");
_Static_assert(sizeof(struct umk_op_page) <= 4096, "op page too big");
_Static_assert(__builtin_offsetof(struct umk_op_page, done_msg) == UMK_OP_DONE_MSG_OFFSET, "done_msg (stub assembly)");
_Static_assert(sizeof(struct umk_op_result_page) <= 4096, "op result page too big");
#endif

#endif
