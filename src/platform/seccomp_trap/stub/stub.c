/* umk-stub: the host process that becomes one guest address space.
 *
 * Runs with no libc, on guest TLS and guest vector state. Everything here
 * is attack surface: after setup, guest code shares this address space
 * and may jump to any byte of it. So:
 *  - guest threads may only issue rt_sigreturn, sched_yield and futex on
 *    the stub region from the stub's text (seccomp filter below); every
 *    other syscall traps (SIGSYS) and is forwarded to the kernel process;
 *  - the op thread, which changes the address space for the kernel, runs
 *    without a stack and reads its orders from a page that is read-only
 *    here;
 *  - anything the guest can write (slots, op results, signal stacks) is
 *    treated as hostile by the kernel.
 *
 * Protocol: see ../layout.h.
 */
/* Every symbol is local to this static image: RIP-relative, no GOT. */
#pragma GCC visibility push(hidden)

#include "platform/seccomp_trap/layout.h"
#include "platform/seccomp_trap/stub/regs.h"

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/resource.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <asm/unistd.h>

typedef unsigned long u64;
typedef unsigned int u32;

/* ---- raw syscalls ---- */

static inline long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

__attribute__((noreturn)) static void die(const char* why)
{
    long len = 0;
    while (why[len])
        len++;
    sys3(__NR_write, 2, "umk-stub: ", 10);
    sys3(__NR_write, 2, why, len);
    sys3(__NR_write, 2, "\n", 1);
    for (;;)
        sys1(__NR_exit_group, 127);
}

/* The compiler may emit calls to these for struct copies. */
void* memcpy(void* dst, const void* src, unsigned long n)
{
    unsigned char* d = dst;
    const unsigned char* s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void* memset(void* dst, int c, unsigned long n)
{
    unsigned char* d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

/* ---- kernel ABI pieces (no libc headers) ---- */

struct k_sigaction {
    void* handler;
    u64 flags;
    void* restorer;
    u64 mask;
};
#define SA_SIGINFO 0x4
#define SA_ONSTACK 0x08000000
#define SA_RESTORER 0x04000000
#define SIG_IGN_VALUE ((void*)1)

struct k_iovec {
    void* base;
    u64 len;
};
struct k_msghdr {
    void* name;
    int namelen;
    struct k_iovec* iov;
    u64 iovlen;
    void* control;
    u64 controllen;
    unsigned flags;
};

/* Constants the assembly below spells out. */
_Static_assert(UMK_ALTSTACK_BASE == 0x7fff80000000ULL && UMK_MAX_THREADS * UMK_ALTSTACK_STRIDE == 0x8000000ULL,
               "umk_fork_child_entry: signal stack layout");

struct k_siginfo {
    int signo;
    int errno_;
    int code;
    int pad;
    union {
        struct {
            u64 call_addr;
            int syscall;
            unsigned arch;
        } sys;
        struct {
            u64 addr;
            u64 perf_data; /* TRAP_PERF: the event's sig_data, type and */
            u32 perf_type;
            u32 perf_flags; /* flags (TRAP_PERF_FLAG_ASYNC: delivered late) */
        } fault;
    };
};


extern char __executable_start[];
extern char etext[];
extern void umk_sigreturn(void);
extern void umk_op_thread_entry(void);
extern long umk_clone_op_thread(void);
extern long umk_clone_thread(u64 flags, u64 stack_top, u64 ctid, u64 index);

/* ---- the thread slot of the running thread ---- */

static struct umk_thread_slot* current_slot(void)
{
    /* Handlers run on the thread's own signal stack (SA_ONSTACK), whose
     * address the guest cannot change: the stack names the slot. */
    u64 sp = (u64)__builtin_frame_address(0);
    u64 index = (sp - UMK_ALTSTACK_BASE) / UMK_ALTSTACK_STRIDE;
    if (sp < UMK_ALTSTACK_BASE || index >= UMK_MAX_THREADS)
        die("handler outside a signal stack");
    return (struct umk_thread_slot*)(UMK_CTL_BASE + UMK_SLOT_OFFSET + index * UMK_SLOT_SIZE);
}

static inline u32 load(u32* p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void store(u32* p, u32 v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

/* Spinning on PAUSE before yielding: about 10 us (a PAUSE is ~10 ns on
 * these CPUs, and most calls come back within that), 1 us on a busy host.
 * Only while the kernel's thread works on another CPU: on ours the spin
 * would keep it from running, and one that blocks in the call (a futex,
 * a pipe) comes back no sooner for it. */
#define UMK_LONG_SPIN 1000
#define UMK_SHORT_SPIN 100
/* Yields before sleeping once the kernel's thread says the call blocks
 * (UMK_CPU_BLOCKED): a wakeup is what ends most such calls, and many
 * threads yielding 200 times each in turn kept the CPUs from the
 * threads being waited for. */
#define UMK_BLOCKED_YIELDS 20

/* Stop: publish the state, wake the kernel if it sleeps, wait for RESUME.
 * Hybrid wait: a cross-vCPU futex wakeup costs ~25 us here, so spin
 * briefly, then yield, and only then sleep; on a busy host (host_busy)
 * spin a little and sleep. */
static void stop_and_wait(struct umk_thread_slot* slot, u32 state, int spin)
{
    const volatile struct umk_op_page* page = (const struct umk_op_page*)UMK_CTL_BASE;
    u32 cpu = umk_cpu(page->rdpid);
    slot->stub_cpu = cpu; /* ordered by the state's store */
    store(&slot->state, state);
    if (load(&slot->kernel_sleeping))
        sys3(__NR_futex, &slot->state, FUTEX_WAKE, 1);
    if (!spin)
        goto sleep;

    int busy = page->host_busy;
    int pauses = busy ? UMK_SHORT_SPIN : UMK_LONG_SPIN;
    for (int i = 0; i < pauses; i++) {
        if (load(&slot->state) == UMK_RESUME)
            goto resumed;
        u32 kernel_cpu = load(&slot->kernel_cpu);
        if (kernel_cpu == cpu || kernel_cpu == UMK_CPU_NONE || kernel_cpu == UMK_CPU_BLOCKED)
            break;
        __builtin_ia32_pause();
    }
    for (int i = 0; i < (busy ? 0 : 200); i++) {
        if (load(&slot->state) == UMK_RESUME)
            goto resumed;
        if (i >= UMK_BLOCKED_YIELDS && load(&slot->kernel_cpu) == UMK_CPU_BLOCKED)
            break;
        sys0(__NR_sched_yield);
    }
sleep:
    for (;;) {
        u32 seen = load(&slot->state);
        if (seen == UMK_RESUME)
            break;
        store(&slot->stub_sleeping, 1);
        if (load(&slot->state) == seen)
            sys4(__NR_futex, &slot->state, FUTEX_WAIT, seen, 0);
        store(&slot->stub_sleeping, 0);
    }
resumed:
    store(&slot->state, UMK_RUNNING);
}

/* The guest's XSAVE image in the signal frame: its size (without the
 * trailing magic) from the software bytes the host kernel wrote. */
static u32 xstate_size(const unsigned char* fp)
{
    const u32* sw = (const u32*)(fp + UMK_XSAVE_SW_BYTES);
    return sw[0] == UMK_FP_XSTATE_MAGIC1 ? sw[4] : UMK_XSAVE_SW_BYTES; /* magic1, extended_size, xfeatures (2), xstate_size */
}

/* Copies the whole image, software bytes and trailing magic included: the
 * kernel hands it to the guest as Linux would have written it. */
static void copy_xsave_out(struct umk_thread_slot* slot, const unsigned char* fp)
{
    const u32* sw = (const u32*)(fp + UMK_XSAVE_SW_BYTES);
    u32 size = sw[0] == UMK_FP_XSTATE_MAGIC1 ? sw[1] : 512;
    if (size > UMK_XSAVE_MAX)
        size = UMK_XSAVE_MAX;
    memcpy(slot->xsave, fp, size);
    slot->xsave_size = size;
}

/* Loads the kernel's (validated) image, but never the software bytes:
 * those describe this host frame to the host kernel. A bad image makes
 * the host's sigreturn fail, which kills only this guest process. */
static void copy_xsave_in(const struct umk_thread_slot* slot, unsigned char* fp)
{
    u32 size = xstate_size(fp);
    if (slot->xsave_size < size)
        size = slot->xsave_size;
    memcpy(fp, slot->xsave, size < UMK_XSAVE_SW_BYTES ? size : UMK_XSAVE_SW_BYTES);
    if (size > UMK_XSAVE_HEADER)
        memcpy(fp + UMK_XSAVE_HEADER, slot->xsave + UMK_XSAVE_HEADER, size - UMK_XSAVE_HEADER);
}

static struct umk_thread_slot* slot_at(u64 index)
{
    return (struct umk_thread_slot*)(UMK_CTL_BASE + UMK_SLOT_OFFSET + index * UMK_SLOT_SIZE);
}

static u64 signal_stack_top(u64 index) { return UMK_ALTSTACK_BASE + (index + 1) * UMK_ALTSTACK_STRIDE; }

/* UMK_CMD_MEMORY_OP. The guest can write the slot: the guest filter
 * bounds the call (UMK_MEMORY_OP_MAX), whoever made it. */
static void memory_op(struct umk_thread_slot* slot)
{
    u64 nr = *(volatile u64*)&slot->memory_op_nr;
    const volatile u64* a = slot->memory_op_args;
    if (nr == __NR_mmap || nr == __NR_munmap || nr == __NR_mprotect || nr == __NR_madvise)
        slot->memory_op_result = sys6((long)nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
    else
        slot->memory_op_result = -22; /* EINVAL */
}

/* Resumed by the kernel: follow its commands, stopping again with the
 * same reason after each that asks for it, until it lets the thread go
 * on with the slot's registers. */
static void follow_commands(struct umk_thread_slot* slot, u32 reason, struct k_ucontext* uc)
{
    unsigned char* fp = uc->mc.fpstate;
    for (;; stop_and_wait(slot, reason, 1)) {
        u32 command = *(volatile u32*)&slot->command;
        if (command == UMK_CMD_GET_XSAVE && fp) {
            copy_xsave_out(slot, fp);
            continue;
        }
        if (command == UMK_CMD_CLONE_THREAD) {
            u32 index = *(volatile u32*)&slot->clone_index;
            if (index == 0 || index >= UMK_MAX_THREADS) {
                slot->clone_result = -22; /* EINVAL */
                continue;
            }
            slot->clone_result = (int)umk_clone_thread(UMK_THREAD_CLONE_FLAGS, signal_stack_top(index),
                                                       (u64)&slot_at(index)->state, index);
            continue;
        }
        if (command == UMK_CMD_ATOMIC) {
            /* The kernel checked the word is mapped and writable; a guest
             * that unmaps it meanwhile faults here and loses the process. */
            u32* word = (u32*)(u64)slot->atomic_addr;
            u32 op = *(volatile u32*)&slot->atomic_op, arg = *(volatile u32*)&slot->atomic_operand;
            u32 old = __atomic_load_n(word, __ATOMIC_SEQ_CST), next;
            for (;;) {
                switch (op) {
                case UMK_ATOMIC_SET: next = arg; break;
                case UMK_ATOMIC_ADD: next = old + arg; break;
                case UMK_ATOMIC_OR: next = old | arg; break;
                case UMK_ATOMIC_ANDN: next = old & ~arg; break;
                case UMK_ATOMIC_XOR: next = old ^ arg; break;
                default: /* CMPXCHG */
                    next = old == *(volatile u32*)&slot->atomic_expected ? arg : old;
                    break;
                }
                if (__atomic_compare_exchange_n(word, &old, next, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                    break;
            }
            slot->atomic_old = old;
            continue;
        }
        if (command == UMK_CMD_MEMORY_OP) {
            memory_op(slot);
            continue;
        }
        if (command == UMK_CMD_EXIT_THREAD)
            for (;;)
                sys1(__NR_exit, 0);
        if (command == UMK_CMD_SET_XSAVE && fp)
            copy_xsave_in(slot, fp);
        else if (command == UMK_CMD_INIT_XSAVE && fp)
            umk_init_xsave(fp, xstate_size(fp));
        break;
    }
    restore_regs(slot, uc, ((const volatile struct umk_op_page*)UMK_CTL_BASE)->gs_is_slot);
}

static void stop_for_interrupts(struct umk_thread_slot* slot, struct k_ucontext* uc)
{
    while (__atomic_exchange_n(&slot->interrupt_requested, 0, __ATOMIC_SEQ_CST)) {
        slot->regs[UMK_ORIG_RAX] = ~0UL;
        stop_and_wait(slot, UMK_STOP_INTERRUPT, 1);
        follow_commands(slot, UMK_STOP_INTERRUPT, uc);
    }
}

/* A stop: publish it, then follow the kernel's commands. Before the
 * thread goes back to guest code, an interrupt the patched path left
 * requested (interrupt_in_patched_path) is a stop of its own. */
static void stop(struct umk_thread_slot* slot, u32 reason, struct k_ucontext* uc)
{
    /* A new thread's first stop waits for a kernel thread that is only
     * starting: sleep at once, leaving the CPU to it and its creator. */
    int spin = !(reason == UMK_STOP_SYSCALL && slot->regs[UMK_ORIG_RAX] == UMK_START_NR);
    stop_and_wait(slot, reason, spin);
    follow_commands(slot, reason, uc);
    stop_for_interrupts(slot, uc);
}

/* The kernel's interrupt, with the thread's registers in the slot. */
static void interrupt_stop(struct umk_thread_slot* slot, struct k_ucontext* uc)
{
    __atomic_store_n(&slot->interrupt_requested, 0, __ATOMIC_SEQ_CST);
    slot->regs[UMK_ORIG_RAX] = ~0UL;
    stop(slot, UMK_STOP_INTERRUPT, uc);
}

/* ---- patched syscall sites (layout.h, umk_patched_entry below) ---- */

extern char umk_thunks[];
extern char umk_patched_return[], umk_patched_return_end[];
extern char umk_patched_slow_end[], umk_patched_interrupted[], umk_patched_interrupted_end[];

/* Guest memory the stub touches for the kernel (docs/design.md,
 * "Arguments through the slot"), in the patched path, where no host
 * signal is blocked: a fault in these (SIGSEGV, SIGBUS) returns -1
 * (umk_copy_fault, fault_handler). Leaf functions, nothing on the stack. */
extern char umk_copy_begin[], umk_copy_end[], umk_copy_fault[];
/* The string at src, its NUL included, when it has one within max bytes;
 * 0 when not; -1 on a fault. */
long umk_copy_string(void* dst, const void* src, u64 max);
/* n bytes; 0, or -1 on a fault. */
long umk_copy_bytes(void* dst, const void* src, u64 n);
__asm__(
    ".text\n"
    ".globl umk_copy_begin, umk_copy_end, umk_copy_fault, umk_copy_string, umk_copy_bytes\n"
    "umk_copy_begin:\n"
    "umk_copy_string:\n"
    "    xor %eax, %eax\n"
    "1:  cmp %rdx, %rax\n"
    "    jae 2f\n"
    "    movzbl (%rsi,%rax), %ecx\n"
    "    mov %cl, (%rdi,%rax)\n"
    "    inc %rax\n"
    "    test %cl, %cl\n"
    "    jnz 1b\n"
    "    ret\n"
    "2:  xor %eax, %eax\n"
    "    ret\n"
    "umk_copy_bytes:\n"
    "    mov %rdx, %rcx\n"
    "    rep movsb\n"
    "    xor %eax, %eax\n"
    "    ret\n"
    "umk_copy_end:\n"
    "umk_copy_fault:\n"
    "    mov $-1, %rax\n"
    "    ret\n");

static int guest_range(u64 address, u64 length)
{
    return address < UMK_GUEST_TASK_SIZE && length <= UMK_GUEST_TASK_SIZE - address;
}

/* The call's inputs the site's entry names (struct umk_site), into the
 * slot, so that the kernel need not read them from the host. */
static void prefetch(struct umk_thread_slot* slot, const volatile struct umk_site* site)
{
    static const int arg_reg[6] = { UMK_RDI, UMK_RSI, UMK_RDX, UMK_R10, UMK_R8, UMK_R9 };
    u32 strings = site->strings, buffers = site->buffers;
    u32 n = 0, used = 0;
    for (int i = 0; i < 6 && n < UMK_PREFETCH_ENTRIES; i++) {
        if (!((strings | buffers) >> i & 1))
            continue;
        u64 address = slot->regs[arg_reg[i]];
        u64 room = UMK_PREFETCH_MAX - used;
        long length = 0;
        if (strings >> i & 1) {
            if (address < UMK_GUEST_TASK_SIZE) {
                u64 max = UMK_GUEST_TASK_SIZE - address < room ? UMK_GUEST_TASK_SIZE - address : room;
                length = umk_copy_string(slot->prefetch_data + used, (const void*)address, max);
            }
        } else if (i < 5) {
            u64 size = slot->regs[arg_reg[i + 1]];
            if (size && size <= room && guest_range(address, size))
                length = umk_copy_bytes(slot->prefetch_data + used, (const void*)address, size) ? -1 : (long)size;
        }
        if (length <= 0)
            length = 0;
        slot->prefetch[n].address = address;
        slot->prefetch[n].offset = used;
        slot->prefetch[n].length = (u32)length;
        used += (u32)length;
        n++;
    }
    slot->prefetch_count = n;
}

/* The call's outputs the kernel left in the slot, into guest memory; a
 * fault (the guest unmapped the memory meanwhile) makes the call's
 * result EFAULT. */
static void write_staged(struct umk_thread_slot* slot)
{
    u32 n = *(volatile u32*)&slot->stage_count;
    for (u32 i = 0; i < n && i < UMK_STAGE_ENTRIES; i++) {
        u64 address = slot->stage[i].address;
        u32 offset = slot->stage[i].offset, length = slot->stage[i].length;
        if (offset > UMK_STAGE_MAX || length > UMK_STAGE_MAX - offset || !guest_range(address, length)
            || umk_copy_bytes((void*)address, slot->stage_data + offset, length))
            slot->regs[UMK_RAX] = (u64)-14; /* EFAULT */
    }
}

/* Called by umk_patched_entry on this thread's signal stack, with the
 * guest's registers in the slot and k, the site: the stop, as a trap's,
 * but without a signal frame. True when the kernel's answer is only a
 * new rax, which umk_patched_entry returns itself; else the thread traps
 * into its SIGSYS handler (umk_patched_slow), which finishes with a
 * frame. */
__attribute__((used)) int umk_patched_wait(struct umk_thread_slot* slot, u64 k)
{
    const volatile struct umk_site* site = (const volatile struct umk_site*)(UMK_CTL_BASE + UMK_SITE_TABLE_OFFSET) + k;
    slot->patched_stop = 1;
    u64 tail = site->read_tail ? site->return_address + 6 : 0;
    if (slot->patched_tail != tail) /* only a change: a line the kernel reads stays in its cache */
        slot->patched_tail = tail;
    prefetch(slot, site);
    stop_and_wait(slot, UMK_STOP_SYSCALL, 1);
    /* A memory op (an mmap's) needs no frame: here, not in the handler. */
    while (*(volatile u32*)&slot->command == UMK_CMD_MEMORY_OP) {
        memory_op(slot);
        stop_and_wait(slot, UMK_STOP_SYSCALL, 1);
    }
    if (*(volatile u32*)&slot->command != UMK_CMD_NONE || !*(volatile u32*)&slot->fast_return)
        return 0;
    write_staged(slot);
    return 1;
}

/* Host signals are not blocked in the patched path. A stub-text rip in the
 * interrupt handler is that path (the handlers block every signal): the
 * request stays set, and umk_patched_entry stops for it before it returns
 * to the guest (after its last check, here: the slot's registers are the
 * thread's). */
static int interrupt_in_patched_path(struct k_ucontext* uc)
{
    u64 rip = uc->mc.rip;
    if (rip < (u64)__executable_start || rip >= (u64)etext)
        return 0;
    if (rip >= (u64)umk_patched_return && rip < (u64)umk_patched_return_end)
        uc->mc.rip = (u64)umk_patched_interrupted;
    return 1;
}

static void syscall_handler(int signo, struct k_siginfo* info, struct k_ucontext* uc)
{
    (void)signo;
    struct umk_thread_slot* slot = current_slot();
    /* The patched path, with the guest's registers in the slot: the
     * kernel's answer needs a frame (umk_patched_slow), or an interrupt
     * came on the way back (umk_patched_interrupted). */
    if (uc->mc.rip == (u64)umk_patched_slow_end) {
        follow_commands(slot, UMK_STOP_SYSCALL, uc);
        stop_for_interrupts(slot, uc);
        return;
    }
    if (uc->mc.rip == (u64)umk_patched_interrupted_end) {
        interrupt_stop(slot, uc);
        return;
    }
    save_regs(slot, &uc->mc);
    slot->regs[UMK_ORIG_RAX] = info->sys.arch == AUDIT_ARCH_X86_64 ? (u64)(unsigned)info->sys.syscall
                                                                   : UMK_COMPAT_SYSCALL;
    slot->patched_stop = 0;
    stop(slot, UMK_STOP_SYSCALL, uc);
}

static void fault_handler(int signo, struct k_siginfo* info, struct k_ucontext* uc)
{
    /* A hardware breakpoint (a guest debugger's, see add_breakpoint) hit
     * by the stub's own access to guest memory, as a kernel access on
     * Linux, does not count: in stub text, or late because the stub's
     * handlers block every signal. (Guest code includes the vdso.) */
    if (signo == 5 /* SIGTRAP */ && info->code == 6 /* TRAP_PERF */
        && ((uc->mc.rip >= (u64)__executable_start && uc->mc.rip < (u64)etext)
            || (info->fault.perf_flags & 1 /* TRAP_PERF_FLAG_ASYNC */)))
        return;
    /* A guest address the stub copies for the kernel in the patched path
     * is not mapped so (umk_copy_begin). */
    if ((signo == 11 /* SIGSEGV */ || signo == 7 /* SIGBUS */) && uc->mc.rip >= (u64)umk_copy_begin
        && uc->mc.rip < (u64)umk_copy_end) {
        uc->mc.rip = (u64)umk_copy_fault;
        return;
    }
    struct umk_thread_slot* slot = current_slot();
    /* A guest single-stepping itself (TF) through a patched site: its
     * jump lands on a thunk. Natively the step after the site's `mov`
     * comes first: show that, and the call follows from the site's sixth
     * byte (SIGILL, as after a restart). */
    u64 rip = uc->mc.rip, addr = info->fault.addr;
    if (signo == 5 && rip >= (u64)umk_thunks && rip < (u64)umk_thunks + UMK_MAX_SITES * UMK_THUNK_SIZE) {
        const struct umk_site* site = (const struct umk_site*)(UMK_CTL_BASE + UMK_SITE_TABLE_OFFSET)
            + (rip - (u64)umk_thunks) / UMK_THUNK_SIZE;
        uc->mc.rip = addr = site->return_address - 2; /* a step's si_addr is its rip */
        uc->mc.rax = (u32)site->nr;
    }
    save_regs(slot, &uc->mc);
    slot->regs[UMK_ORIG_RAX] = ~0UL;
    slot->fault_signo = signo;
    slot->fault_code = info->code;
    slot->fault_addr = addr;
    slot->fault_trapno = uc->mc.trapno;
    slot->fault_err = uc->mc.err;
    slot->fault_cr2 = uc->mc.cr2;
    stop(slot, UMK_STOP_FAULT, uc);
}

/* The kernel wants this thread back (a guest signal is pending). */
static void interrupt_handler(int signo, struct k_siginfo* info, struct k_ucontext* uc)
{
    (void)signo;
    (void)info;
    struct umk_thread_slot* slot = current_slot();
    if (interrupt_in_patched_path(uc))
        return;
    save_regs(slot, &uc->mc);
    interrupt_stop(slot, uc);
}

/* ---- seccomp filters ---- */

#define LD_ABS(off) ((struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off)))
#define JEQ(k, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f)))
#define JGT(k, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (k), (t), (f)))
#define JGE(k, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f)))
#define JSET(k, t, f) ((struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f)))
#define RET(k) ((struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (k)))

#define OFF_NR 0
#define OFF_ARCH 4
#define OFF_IP_LO 8
#define OFF_IP_HI 12
#define OFF_ARG_LO(i) (16 + 8 * (i))
#define OFF_ARG_HI(i) (20 + 8 * (i))

#define STUB_HI ((u32)(UMK_STUB_BASE >> 32))
#define CTL_HI ((u32)(UMK_CTL_BASE >> 32))
#define TASK_HI ((u32)(UMK_GUEST_TASK_SIZE >> 32))

/* Jump targets in a filter under construction: a JEQ/JGE/JSET whose jt
 * or jf is one of these is patched to the RET at the end by finish(). */
#define TO_ALLOW 250
#define TO_TRAP 251
#define TO_KILL 252

/* Shared prologue: the arch check first, the x32 bit, then the
 * instruction pointer: allowed syscalls must come from the stub's text,
 * stub_start < ip <= stub_end (ip is the address after `syscall`). Every
 * miss traps: guest code's syscalls go to the kernel. */
static int prologue(struct sock_filter* f)
{
    u32 text_lo = (u32)(u64)__executable_start;
    u32 text_hi_lo = (u32)(u64)etext;
    int n = 0;
    f[n++] = LD_ABS(OFF_ARCH);
    f[n++] = JEQ(AUDIT_ARCH_X86_64, 0, TO_TRAP);
    f[n++] = LD_ABS(OFF_NR);
    f[n++] = JSET(__X32_SYSCALL_BIT, TO_TRAP, 0);
    f[n++] = LD_ABS(OFF_IP_HI);
    f[n++] = JEQ(STUB_HI, 0, TO_TRAP);
    f[n++] = LD_ABS(OFF_IP_LO);
    f[n++] = JGT(text_lo, 0, TO_TRAP);
    f[n++] = JGT(text_hi_lo, TO_TRAP, 0);
    f[n++] = LD_ABS(OFF_NR);
    return n;
}

/* Appends the three RETs and points the TO_* jumps at them. */
static int finish(struct sock_filter* f, int n, u32 otherwise)
{
    f[n++] = RET(otherwise);
    int allow = n, trap = n + 1, kill = n + 2;
    f[n++] = RET(SECCOMP_RET_ALLOW);
    f[n++] = RET(SECCOMP_RET_TRAP);
    f[n++] = RET(SECCOMP_RET_KILL_PROCESS);
    for (int i = 0; i < allow; i++) {
        if (BPF_CLASS(f[i].code) != BPF_JMP)
            continue;
        unsigned char* targets[2] = { &f[i].jt, &f[i].jf };
        for (int j = 0; j < 2; j++) {
            int to = *targets[j] == TO_ALLOW ? allow : *targets[j] == TO_TRAP ? trap : *targets[j] == TO_KILL ? kill : -1;
            if (to >= 0)
                *targets[j] = (unsigned char)(to - i - 1);
        }
    }
    return n;
}

/* clone with arg0 == flags (high word zero) is allowed. */
static int allow_clone(struct sock_filter* f, int n, u32 flags)
{
    f[n++] = JEQ(__NR_clone, 0, 5);
    f[n++] = LD_ABS(OFF_ARG_HI(0));
    f[n++] = JEQ(0, 0, 2);
    f[n++] = LD_ABS(OFF_ARG_LO(0));
    f[n++] = JEQ(flags, TO_ALLOW, 0);
    f[n++] = LD_ABS(OFF_NR);
    return n;
}

static void install_filter(struct sock_filter* f, int n)
{
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
    if (sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        die("seccomp filter refused");
}

/* Guest threads: from the stub only rt_sigreturn, sched_yield, exit,
 * futex on the stub region, clone of a thread, and the memory ops of
 * UMK_CMD_MEMORY_OP within their bounds; everything else traps to the
 * kernel. */
static void install_guest_filter(void)
{
    struct sock_filter f[64];
    int n = prologue(f);
    /* UMK_CMD_MEMORY_OP's calls: the range first (start below TASK_SIZE,
     * length below 4 GiB), then mmap only MAP_FIXED | MAP_ANONYMOUS and
     * madvise only advice that drops pages or hints (UMK_MEMORY_OP_ADVICE). */
    static const u32 advice[] = { UMK_MEMORY_OP_ADVICE };
    const int n_advice = sizeof advice / sizeof advice[0];
    f[n++] = JEQ(__NR_mmap, 3, 0);
    f[n++] = JEQ(__NR_munmap, 2, 0);
    f[n++] = JEQ(__NR_mprotect, 1, 0);
    f[n++] = JEQ(__NR_madvise, 0, (unsigned char)(13 + n_advice));
    f[n++] = LD_ABS(OFF_ARG_HI(0));
    f[n++] = JGE(TASK_HI, TO_TRAP, 0);
    f[n++] = LD_ABS(OFF_ARG_HI(1));
    f[n++] = JEQ(0, 0, TO_TRAP);
    f[n++] = LD_ABS(OFF_NR);
    f[n++] = JEQ(__NR_mmap, 0, 3);
    f[n++] = LD_ABS(OFF_ARG_LO(3));
    f[n++] = JSET(MAP_FIXED, 0, TO_TRAP);
    f[n++] = JSET(MAP_ANONYMOUS, TO_ALLOW, TO_TRAP);
    f[n++] = JEQ(__NR_madvise, 0, TO_ALLOW);
    f[n++] = LD_ABS(OFF_ARG_HI(2));
    f[n++] = JEQ(0, 0, TO_TRAP);
    f[n++] = LD_ABS(OFF_ARG_LO(2));
    for (int i = 0; i < n_advice; i++)
        f[n++] = JEQ(advice[i], TO_ALLOW, i == n_advice - 1 ? TO_TRAP : 0);
    f[n++] = LD_ABS(OFF_NR);
    f[n++] = JEQ(__NR_rt_sigreturn, TO_ALLOW, 0);
    f[n++] = JEQ(__NR_sched_yield, TO_ALLOW, 0);
    f[n++] = JEQ(__NR_exit, TO_ALLOW, 0);
    f[n++] = JEQ(__NR_futex, 0, 3);
    f[n++] = LD_ABS(OFF_ARG_HI(0));
    f[n++] = JEQ(CTL_HI, TO_ALLOW, TO_TRAP);
    f[n++] = LD_ABS(OFF_NR);
    n = allow_clone(f, n, UMK_THREAD_CLONE_FLAGS);
    install_filter(f, finish(f, n, SECCOMP_RET_TRAP));
}

/* The op thread: the stub ops, on addresses below the guest's TASK_SIZE;
 * what a fork child (op-thread clone, UMK_FORK_CLONE_FLAGS) needs to set
 * itself up, since it inherits this filter: new mappings above TASK_SIZE
 * that cannot replace anything, MADV_DONTFORK there, its descriptors,
 * mask, signal stack, its own op thread and guest filter; and what the
 * guest filter allows from the stub, for the child's guest threads; and
 * prctl(PR_SET_THP_DISABLE) for the guest's own. From
 * the stub anything else kills the whole process. Outside the stub it
 * traps: the guest filter of a fork child decides; in the op thread
 * itself (no stack for a handler) a trap kills the process too. */
static struct sock_filter op_filter[96];
struct sock_fprog umk_op_fprog;

static void build_op_filter(void)
{
    struct sock_filter* f = op_filter;
    int n = prologue(f);
    /* mmap: above TASK_SIZE only MAP_FIXED_NOREPLACE, else the length check */
    f[n++] = JEQ(__NR_mmap, 0, 9);
    f[n++] = LD_ABS(OFF_ARG_HI(0));
    f[n++] = JGE(TASK_HI, 0, 5);
    f[n++] = LD_ABS(OFF_ARG_HI(3));
    f[n++] = JEQ(0, 0, TO_KILL);
    f[n++] = LD_ABS(OFF_ARG_LO(3));
    f[n++] = JSET(MAP_FIXED, TO_KILL, 0);
    f[n++] = JSET(MAP_FIXED_NOREPLACE, TO_ALLOW, TO_KILL);
    f[n++] = LD_ABS(OFF_ARG_HI(1));
    f[n++] = JGE(TASK_HI, TO_KILL, TO_ALLOW);
    /* madvise: MADV_DONTFORK anywhere, other advice below TASK_SIZE */
    f[n++] = JEQ(__NR_madvise, 0, 4);
    f[n++] = LD_ABS(OFF_ARG_LO(2));
    f[n++] = JEQ(MADV_DONTFORK, 0, 2);
    f[n++] = LD_ABS(OFF_ARG_HI(2));
    f[n++] = JEQ(0, TO_ALLOW, 0);
    f[n++] = LD_ABS(OFF_NR);
    /* mremap: the new length and address below TASK_SIZE too, then the
     * checks of the other ops */
    f[n++] = JEQ(__NR_mremap, 0, 5);
    f[n++] = LD_ABS(OFF_ARG_HI(2));
    f[n++] = JGE(TASK_HI, TO_KILL, 0);
    f[n++] = LD_ABS(OFF_ARG_HI(4));
    f[n++] = JGE(TASK_HI, TO_KILL, 0);
    f[n++] = LD_ABS(OFF_NR);
    /* the other ops on guest addresses: start and length below TASK_SIZE */
    f[n++] = JEQ(__NR_munmap, 3, 0);
    f[n++] = JEQ(__NR_mprotect, 2, 0);
    f[n++] = JEQ(__NR_mremap, 1, 0);
    f[n++] = JEQ(__NR_madvise, 0, 4);
    f[n++] = LD_ABS(OFF_ARG_HI(0));
    f[n++] = JGE(TASK_HI, TO_KILL, 0);
    f[n++] = LD_ABS(OFF_ARG_HI(1));
    f[n++] = JGE(TASK_HI, TO_KILL, TO_ALLOW);
    f[n++] = LD_ABS(OFF_NR);
    /* prctl: only PR_SET_THP_DISABLE (the guest's own huge pages) */
    f[n++] = JEQ(__NR_prctl, 0, 3);
    f[n++] = LD_ABS(OFF_ARG_LO(0));
    f[n++] = JEQ(PR_SET_THP_DISABLE, TO_ALLOW, TO_KILL);
    f[n++] = LD_ABS(OFF_NR);
    static const u32 plain[] = { __NR_close, __NR_recvmsg, __NR_futex, __NR_sendmsg, __NR_dup3,
                                 __NR_set_tid_address, __NR_rt_sigprocmask, __NR_sigaltstack, __NR_seccomp,
                                 __NR_rt_sigreturn, __NR_sched_yield, __NR_exit, __NR_membarrier };
    for (unsigned i = 0; i < sizeof plain / sizeof plain[0]; i++)
        f[n++] = JEQ(plain[i], TO_ALLOW, 0);
    /* a fork child's (and its threads') first trap; its patched path's
     * way into its handler */
    f[n++] = JEQ(UMK_START_NR, TO_TRAP, 0);
    f[n++] = JEQ(UMK_PATCHED_SLOW_NR, TO_TRAP, 0);
    n = allow_clone(f, n, UMK_THREAD_CLONE_FLAGS);
    n = allow_clone(f, n, UMK_OP_CLONE_FLAGS);
    n = allow_clone(f, n, UMK_FORK_CLONE_FLAGS);
    umk_op_fprog.len = (unsigned short)finish(f, n, SECCOMP_RET_KILL_PROCESS);
    umk_op_fprog.filter = f;
}

/* ---- setup ---- */

static void set_signal(int signo, void* handler)
{
    struct k_sigaction sa = { 0 };
    sa.handler = handler;
    sa.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER;
    sa.restorer = (void*)umk_sigreturn;
    sa.mask = ~0UL; /* every host signal blocked inside the handlers */
    if (sys4(__NR_rt_sigaction, signo, &sa, 0, 8) != 0)
        die("rt_sigaction");
}

static void ignore_signal(int signo)
{
    struct k_sigaction sa = { 0 };
    sa.handler = SIG_IGN_VALUE;
    sa.flags = SA_RESTORER;
    sa.restorer = (void*)umk_sigreturn;
    sys4(__NR_rt_sigaction, signo, &sa, 0, 8);
}

/* Every thread's signal stack, mapped once (threads started later run
 * under the guest filter and cannot map anything): untouched pages cost
 * nothing. Each holds a frame with the full XSAVE state plus the
 * handlers' own frames. */
static void map_signal_stacks(u64 min_sigstksz)
{
    u64 needed = min_sigstksz + 3 * UMK_XSAVE_MAX + 16384;
    if (needed > UMK_ALTSTACK_STRIDE)
        die("AT_MINSIGSTKSZ too large");
    u64 size = UMK_MAX_THREADS * UMK_ALTSTACK_STRIDE;
    long p = sys6(__NR_mmap, UMK_ALTSTACK_BASE, (long)size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (long)UMK_ALTSTACK_BASE)
        die("signal stack mmap");
    sys3(__NR_madvise, UMK_ALTSTACK_BASE, size, MADV_DONTFORK);
}

static struct k_stack signal_stack(u64 index)
{
    struct k_stack ss = { .sp = (void*)(signal_stack_top(index) - UMK_ALTSTACK_STRIDE), .flags = 0,
                          .size = UMK_ALTSTACK_STRIDE };
    return ss;
}

/* A new thread (from umk_clone_thread) starts here, on its own signal
 * stack, with every signal blocked and no alternate stack (what it
 * inherits from the handler that cloned it). Under the guest filter it
 * cannot call sigaltstack or rt_sigprocmask, so it sets both with a
 * forged rt_sigreturn, which lands in thread_started. */
static void thread_started(void);

__attribute__((noreturn, used)) void umk_thread_start(u64 index)
{
    struct {
        u64 pretcode;
        struct k_ucontext uc;
        unsigned char info[128];
    } frame;
    memset(&frame, 0, sizeof frame);
    frame.uc.flags = 2 | 4; /* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
    frame.uc.stack = signal_stack(index);
    frame.uc.sigmask = 0;
    frame.uc.mc.rip = (u64)thread_started;
    /* as after a call: rsp + 8 is 16-byte aligned */
    frame.uc.mc.rsp = ((signal_stack_top(index) - 8192) & ~15UL) - 8;
    frame.uc.mc.cs = 0x33;
    frame.uc.mc.ss = 0x2b;
    frame.uc.mc.eflags = 0x202;
    frame.uc.mc.fpstate = 0; /* a fresh FPU state */
    __asm__ volatile("lea 8(%0), %%rsp\n"
                     "mov $15, %%eax\n"
                     "syscall\n"
                     "ud2" ::"r"(&frame)
                     : "memory");
    __builtin_unreachable();
}

static void thread_started(void)
{
    /* Trapped: the kernel answers with this thread's first registers. */
    sys0(UMK_START_NR);
    die("start returned");
}

static void drop_privileges(void)
{
    if (sys1(__NR_setsid, 0) < 0)
        die("setsid");
    sys2(__NR_prctl, PR_SET_DUMPABLE, 0);
    struct rlimit no_core = { 0, 0 };
    sys4(__NR_prlimit64, 0, RLIMIT_CORE, &no_core, 0);
    /* Inside the kernel's user namespace the stub starts with full
     * capabilities there; keep none. Failures are fine where there was
     * nothing to drop (--unsafe-no-sandbox as a non-root user): checked
     * by the capget below. */
    sys2(__NR_prctl, PR_SET_SECUREBITS,
         SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED
             | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED);
    for (int cap = 0; cap < 64; cap++)
        sys2(__NR_prctl, PR_CAPBSET_DROP, cap);
    sys6(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0);
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
    sys2(__NR_capset, &header, data);
    sys2(__NR_capget, &header, data);
    if (data[0].effective | data[0].permitted | data[1].effective | data[1].permitted)
        die("could not drop capabilities");
    if (sys6(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0) != 0)
        die("no_new_privs");
}

static void map_control_region(void)
{
    long p = sys6(__NR_mmap, UMK_CTL_BASE, 4096, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, UMK_STUB_MEMFD, 0);
    if (p != (long)UMK_CTL_BASE)
        die("control region mmap");
    p = sys6(__NR_mmap, UMK_CTL_BASE + 4096, UMK_CTL_SIZE - 4096, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED_NOREPLACE, UMK_STUB_MEMFD, 4096);
    if (p != (long)(UMK_CTL_BASE + 4096))
        die("control region mmap");
    sys3(__NR_madvise, UMK_CTL_BASE, UMK_CTL_SIZE, MADV_DONTFORK);
    /* Nothing can map the control region a second time. */
    sys1(__NR_close, UMK_STUB_MEMFD);
}

/* The end of a stub's setup: the op thread (before the guest filter, which
 * it must not inherit), the guest filter, then the first trap. */
__attribute__((noreturn)) static void become_guest(int forked)
{
    /* The kernel's membarrier(2) for the guest reaches us this way. */
    sys2(__NR_membarrier, 4 /* MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED */, 0);
    /* A fork child already runs under its parent's op filter, which its
     * op thread inherits: another copy per generation would only make
     * every syscall slower and fork fail some hundred generations deep. */
    if (forked)
        umk_op_fprog.len = 0;
    else
        build_op_filter();
    if (umk_clone_op_thread() < 0)
        die("op thread");
    install_guest_filter();
    /* Trapped: the kernel answers with this thread's first guest
     * registers, and the SIGSYS handler's sigreturn enters guest code. */
    sys0(UMK_START_NR);
    die("start returned");
}

#define AT_NULL 0
#define AT_SYSINFO_EHDR 33
#define AT_HWCAP2 26
#define AT_MINSIGSTKSZ 51
#define HWCAP2_FSGSBASE (1 << 1)

__attribute__((noreturn, used)) void stub_main(u64* initial_sp)
{
    u64 argc = initial_sp[0];
    u64* envp = initial_sp + 1 + argc + 1;
    while (*envp)
        envp++;
    u64 min_sigstksz = 2048, hwcap2 = 0, vdso = 0;
    for (u64* aux = envp + 1; aux[0] != AT_NULL; aux += 2) {
        if (aux[0] == AT_SYSINFO_EHDR)
            vdso = aux[1];
        if (aux[0] == AT_MINSIGSTKSZ)
            min_sigstksz = aux[1];
        if (aux[0] == AT_HWCAP2)
            hwcap2 = aux[1];
    }
    if (!(hwcap2 & HWCAP2_FSGSBASE))
        die("the host CPU or kernel lacks FSGSBASE (Linux >= 5.9 on x86-64 needed)");

    drop_privileges();
    map_control_region();
    slot_at(0)->vdso_base = vdso;
    slot_at(0)->patch_thunks = (u64)umk_thunks;
    /* The host clears the main thread's state word when it exits. */
    sys1(__NR_set_tid_address, &slot_at(0)->state);

    for (int signo = 1; signo <= 64; signo++) {
        if (signo == 9 || signo == 19)
            continue;
        ignore_signal(signo);
    }
    set_signal(31 /* SIGSYS */, syscall_handler);
    set_signal(11 /* SIGSEGV */, fault_handler);
    set_signal(7 /* SIGBUS */, fault_handler);
    set_signal(8 /* SIGFPE */, fault_handler);
    set_signal(4 /* SIGILL */, fault_handler);
    set_signal(5 /* SIGTRAP */, fault_handler);
    set_signal(UMK_INTERRUPT_SIGNAL, interrupt_handler);
    map_signal_stacks(min_sigstksz);
    struct k_stack ss = signal_stack(0);
    if (sys2(__NR_sigaltstack, &ss, 0) != 0)
        die("sigaltstack");

    become_guest(0);
}

/* A fork child (see UMK_FORK_CLONE_FLAGS) starts here, on slot 0's fresh
 * signal stack, alone in a copy of its parent: no control region, no op
 * thread. Nothing it reads was written by guest code since the copy. */
__attribute__((noreturn, used)) void umk_fork_child(void)
{
    if (sys3(__NR_dup3, UMK_FORK_CTL_FD, UMK_STUB_CTL_FD, 0) != UMK_STUB_CTL_FD
        || sys3(__NR_dup3, UMK_FORK_MEMFD, UMK_STUB_MEMFD, 0) != UMK_STUB_MEMFD)
        die("fork: descriptors");
    sys1(__NR_close, UMK_FORK_CTL_FD);
    sys1(__NR_close, UMK_FORK_MEMFD);
    sys3(__NR_madvise, UMK_ALTSTACK_BASE, UMK_MAX_THREADS * UMK_ALTSTACK_STRIDE, MADV_DONTFORK);
    map_control_region();
    sys1(__NR_set_tid_address, &slot_at(0)->state);
    u64 none = 0;
    sys4(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, &none, 0, 8);
    struct k_stack ss = signal_stack(0);
    if (sys2(__NR_sigaltstack, &ss, 0) != 0)
        die("sigaltstack");
    /* Who we are: the kernel takes our pid from the host (SCM_CREDENTIALS). */
    char byte = 'F';
    struct k_iovec iov = { &byte, 1 };
    struct k_msghdr msg = { .iov = &iov, .iovlen = 1 };
    if (sys3(__NR_sendmsg, UMK_STUB_CTL_FD, &msg, 0) != 1)
        die("fork: hello");
    become_guest(1);
}

/* ---- assembly: patched syscall sites ---- */

#define STR_(x) #x
#define STR(x) STR_(x)
_Static_assert(UMK_R15 == 0 && UMK_RBX == 5 && UMK_R11 == 6 && UMK_RAX == 10 && UMK_RDI == 14 && UMK_RIP == 16
                   && UMK_GS == 26,
               "umk_patched_entry: register offsets");
_Static_assert(UMK_SLOT_OFFSET == 0x10000 && UMK_SLOT_SIZE == 0x4000 && UMK_ALTSTACK_STRIDE == 8 * UMK_SLOT_SIZE
                   && UMK_MAX_THREADS * UMK_SLOT_SIZE == 0x1000000 && UMK_MAX_SITES == 4096 && UMK_THUNK_SIZE == 16,
               "umk_patched_entry: slot and stack layout");
/* Addresses the assembly spells out (gas takes no C suffixes). */
_Static_assert(UMK_CTL_BASE + UMK_SLOT_OFFSET == 0x7fff40010000ULL && UMK_CTL_BASE + UMK_SITE_TABLE_OFFSET == 0x7fff41010000ULL
                   && UMK_ALTSTACK_BASE + UMK_ALTSTACK_STRIDE == 0x7fff80020000ULL && UMK_PATCH_FALLBACK == 0x7f068000ULL,
               "umk_patched_entry: addresses");

__asm__(
    ".text\n"
    ".set SLOTS, 0x7fff40010000\n"
    ".set SITES, 0x7fff41010000\n"
    ".set R, " STR(UMK_SLOT_REGS) "\n"
    /* A slot register is stored only when it changed: a line the stub
     * does not write stays in the kernel's cache too. */
    ".macro put reg, off\n"
    "    cmp \\reg, \\off(%rcx)\n"
    "    je .Lsame\\@\n"
    "    mov \\reg, \\off(%rcx)\n"
    ".Lsame\\@:\n"
    ".endm\n"
    /* Thunk k (the target of a patched site's cell k): r11d = k. */
    ".balign 16\n"
    ".globl umk_thunks\n"
    "umk_thunks:\n"
    ".set umk_k, 0\n"
    ".rept 4096\n"
    "    mov $umk_k, %r11d\n"
    "    jmp umk_patched_entry\n"
    "    .balign 16, 0xcc\n"
    "    .set umk_k, umk_k + 1\n"
    ".endr\n"

    /* From a patched site: the guest's registers, but rax, rcx and r11,
     * which its `mov` and `syscall` would have clobbered. Nothing touches
     * the guest's stack. The arithmetic flags go into r11 with k (lahf,
     * seto) before anything changes them; the others (DF, AC, TF) are
     * still the guest's when pushed on the signal stack. The slot is the
     * gs base (save_regs): else the guest set its own, and the call goes
     * the trap path from UMK_PATCH_FALLBACK (below). */
    "umk_patched_entry:\n"
    "    lahf\n"
    "    seto %al\n"
    "    movzwl %ax, %eax\n"
    "    and $4095, %r11d\n"
    "    shl $16, %r11\n"
    "    or %rax, %r11\n" /* k << 16 | AH << 8 | OF */
    "    rdgsbase %rcx\n"
    "    movabs $SLOTS, %rax\n"
    "    sub %rax, %rcx\n"
    "    cmp $0x1000000, %rcx\n"
    "    jae 8f\n"
    "    test $0x3fff, %ecx\n"
    "    jnz 8f\n"
    "    add %rax, %rcx\n"
    "    put %r15, R+8*0\n"
    "    put %r14, R+8*1\n"
    "    put %r13, R+8*2\n"
    "    put %r12, R+8*3\n"
    "    put %rbp, R+8*4\n"
    "    put %rbx, R+8*5\n"
    "    put %r10, R+8*7\n"
    "    put %r9, R+8*8\n"
    "    put %r8, R+8*9\n"
    "    put %rdx, R+8*12\n"
    "    put %rsi, R+8*13\n"
    "    put %rdi, R+8*14\n"
    "    put %rsp, R+8*19\n"
    /* From here the guest's registers are in the slot. Site k: */
    "    mov %r11, %rax\n"
    "    shr $16, %rax\n"
    "    shl $4, %rax\n"
    "    movabs $SITES, %rdx\n"
    "    add %rdx, %rax\n"
    "    mov (%rax), %rdx\n" /* rip and rcx: the return address */
    "    put %rdx, R+8*16\n"
    "    put %rdx, R+8*11\n"
    "    mov 8(%rax), %edx\n" /* rax and orig_rax: the number */
    "    put %rdx, R+8*10\n"
    "    put %rdx, R+8*15\n"
    "    rdfsbase %rdx\n"
    "    put %rdx, R+8*21\n"
    "    mov $0x33, %edx\n"
    "    put %rdx, R+8*17\n"
    "    mov $0x2b, %edx\n"
    "    put %rdx, R+8*20\n"
    "    xor %edx, %edx\n"
    "    put %rdx, R+8*22\n"
    "    put %rdx, R+8*23\n"
    "    put %rdx, R+8*24\n"
    "    put %rdx, R+8*25\n"
    "    put %rdx, R+8*26\n"
    /* onto the thread's signal stack: slot i's is 8 times further apart */
    "    mov %rcx, %rbx\n"
    "    movabs $SLOTS, %rax\n"
    "    mov %rcx, %rsp\n"
    "    sub %rax, %rsp\n"
    "    shl $3, %rsp\n"
    "    movabs $0x7fff80020000, %rax\n"
    "    add %rax, %rsp\n"
    /* eflags and r11: the guest's flags */
    "    pushfq\n"
    "    pop %rax\n"
    "    and $~0x8d5, %rax\n"
    "    mov %r11, %rdx\n"
    "    shr $8, %rdx\n"
    "    and $0xd5, %edx\n"
    "    or %rdx, %rax\n"
    "    mov %r11, %rdx\n"
    "    and $1, %edx\n"
    "    shl $11, %rdx\n"
    "    or %rdx, %rax\n"
    "    put %rax, R+8*18\n"
    "    put %rax, R+8*6\n"
    "    push $2\n"
    "    popfq\n" /* no DF, AC or TF in the stub's own code */
    "    mov %rbx, %rdi\n"
    "    mov %r11, %rsi\n"
    "    shr $16, %rsi\n" /* k */
    "    call umk_patched_wait\n"
    "    test %eax, %eax\n"
    "    jz umk_patched_slow\n"
    "    cmpl $0, " STR(UMK_SLOT_INTERRUPT_REQUESTED) "(%rbx)\n"
    /* From here the slot holds the thread's registers: an interrupt
     * sends it to umk_patched_interrupted (interrupt_in_patched_path). */
    ".globl umk_patched_return\n"
    "umk_patched_return:\n"
    "    jne umk_patched_interrupted\n"
    "    push R+8*18(%rbx)\n"
    "    mov R+8*10(%rbx), %rax\n"
    "    mov R+8*16(%rbx), %rcx\n"
    "    mov R+8*6(%rbx), %r11\n"
    "    mov R+8*14(%rbx), %rdi\n"
    "    mov R+8*13(%rbx), %rsi\n"
    "    mov R+8*12(%rbx), %rdx\n"
    "    mov R+8*7(%rbx), %r10\n"
    "    mov R+8*9(%rbx), %r8\n"
    "    mov R+8*8(%rbx), %r9\n"
    "    cmpq $0, " STR(UMK_SLOT_PATCHED_TAIL) "(%rbx)\n"
    "    jne 9f\n"
    "    popfq\n"
    "    mov R+8*19(%rbx), %rsp\n"
    "    mov R+8*5(%rbx), %rbx\n"
    "    jmp *%rcx\n"
    /* A read site: its `cmp` (the flags the guest tests next), then past
     * it; the gs base is the slot (above). */
    "9:  popfq\n"
    "    cmp $-4096, %rax\n"
    "    mov R+8*19(%rbx), %rsp\n"
    "    mov R+8*5(%rbx), %rbx\n"
    "    jmp *%gs:" STR(UMK_SLOT_PATCHED_TAIL) "\n"
    ".globl umk_patched_return_end\n"
    "umk_patched_return_end:\n"
    ".globl umk_patched_slow_end\n"
    "umk_patched_slow:\n"
    "    mov $" STR(UMK_PATCHED_SLOW_NR) ", %eax\n"
    "    syscall\n"
    "umk_patched_slow_end:\n"
    "    ud2\n"
    ".globl umk_patched_interrupted, umk_patched_interrupted_end\n"
    "umk_patched_interrupted:\n"
    "    mov $" STR(UMK_PATCHED_SLOW_NR) ", %eax\n"
    "    syscall\n"
    "umk_patched_interrupted_end:\n"
    "    ud2\n"
    /* The trap path: the guest's flags back (OF by an add, the rest by
     * sahf), the number in rax, then the `syscall` of site k in the cell
     * mapping, outside the stub's text, so that it traps; the kernel sees
     * it as the site's own (switch_to_guest). */
    "8:  mov %r11, %rcx\n"
    "    shr $16, %rcx\n"
    "    shl $4, %rcx\n"
    "    movabs $SITES, %rax\n"
    "    add %rax, %rcx\n"
    "    mov %r11d, %eax\n"
    "    add $0x7f, %al\n"
    "    sahf\n"
    "    mov 8(%rcx), %eax\n"
    "    movabs $(0x7f068000 - 0x7fff41010000), %r11\n"
    "    lea (%rcx,%r11), %rcx\n"
    "    jmp *%rcx\n");

/* ---- assembly: entry, sigreturn trampoline, op thread ---- */

__asm__(
    ".text\n"
    ".globl _start\n"
    "_start:\n"
    "    mov %rsp, %rdi\n"
    "    and $-16, %rsp\n"
    "    call stub_main\n"
    "    ud2\n"

    /* umk_clone_thread(flags, stack_top, ctid, index): the child starts on
     * its signal stack in umk_thread_start(index). */
    ".globl umk_clone_thread\n"
    "umk_clone_thread:\n"
    "    push %r12\n"
    "    mov %rcx, %r12\n"
    "    mov %rdx, %r10\n"
    "    xor %edx, %edx\n"
    "    xor %r8d, %r8d\n"
    "    mov $56, %eax\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jz 1f\n"
    "    pop %r12\n"
    "    ret\n"
    "1:  mov %r12, %rdi\n"
    "    call umk_thread_start\n"
    "    ud2\n"

    ".globl umk_sigreturn\n"
    "umk_sigreturn:\n"
    "    mov $15, %eax\n" /* rt_sigreturn */
    "    syscall\n"
    "    ud2\n"

    /* clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|
     * CLONE_SYSVSEM, stack 0): the child never touches a stack. */
    ".globl umk_clone_op_thread\n"
    "umk_clone_op_thread:\n"
    "    mov $56, %eax\n"
    "    mov $0x50f00, %edi\n"
    "    xor %esi, %esi\n"
    "    xor %edx, %edx\n"
    "    xor %r10d, %r10d\n"
    "    xor %r8d, %r8d\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jz umk_op_thread_entry\n"
    "    ret\n"

    /* The op thread. r12 op page (read-only), r13 result page, r15d last
     * request served, r14 op index, ebx op count. No stack: rsp = 0. */
    ".globl umk_op_thread_entry\n"
    "umk_op_thread_entry:\n"
    "    xor %esp, %esp\n"
    "    cmpw $0, umk_op_fprog(%rip)\n" /* a fork child's: inherited */
    "    je 11f\n"
    "    mov $317, %eax\n" /* seccomp(SET_MODE_FILTER, 0, &umk_op_fprog) */
    "    mov $1, %edi\n"
    "    xor %esi, %esi\n"
    "    lea umk_op_fprog(%rip), %rdx\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    "11: movabs $0x7fff40000000, %r12\n"
    "    lea 4096(%r12), %r13\n"
    "    xor %r15d, %r15d\n"
    "1:  mov (%r12), %eax\n"
    "    cmp %eax, %r15d\n"
    "    jne 2f\n"
    "    mov $202, %eax\n" /* futex(req_seq, FUTEX_WAIT, last) */
    "    mov %r12, %rdi\n"
    "    xor %esi, %esi\n"
    "    mov %r15d, %edx\n"
    "    xor %r10d, %r10d\n"
    "    syscall\n"
    "    jmp 1b\n"
    "2:  mov %eax, %r15d\n"
    "    mov 4(%r12), %ebx\n"
    "    cmp $32, %ebx\n"
    "    jbe 3f\n"
    "    mov $32, %ebx\n"
    "3:  xor %r14d, %r14d\n"
    "4:  cmp %ebx, %r14d\n"
    "    jae 5f\n"
    "    imul $56, %r14, %rcx\n"
    "    lea 8(%r12,%rcx), %rcx\n"
    "    mov (%rcx), %rax\n"
    "    mov 8(%rcx), %rdi\n"
    "    mov 16(%rcx), %rsi\n"
    "    mov 24(%rcx), %rdx\n"
    "    mov 32(%rcx), %r10\n"
    "    mov 40(%rcx), %r8\n"
    "    mov 48(%rcx), %r9\n"
    "    mov %rax, %rbp\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 6f\n"
    "    cmp $56, %rbp\n" /* the child of a fork op */
    "    je umk_fork_child_entry\n"
    "6:  mov %rax, 8(%r13,%r14,8)\n"
    "    inc %r14d\n"
    "    cmp $-4095, %rax\n"
    "    jae 7f\n"
    "    jmp 4b\n"
    "5:  mov %r14d, 4(%r13)\n"
    "    jmp 10f\n"
    /* After a failure the batch stops, but its closes still run: a
     * received fd never stays behind, whatever the result page says. */
    "7:  mov %r14d, 4(%r13)\n"
    "8:  cmp %ebx, %r14d\n"
    "    jae 10f\n"
    "    imul $56, %r14, %rcx\n"
    "    lea 8(%r12,%rcx), %rcx\n"
    "    inc %r14d\n"
    "    cmpq $3, (%rcx)\n" /* close */
    "    jne 8b\n"
    "    mov $3, %eax\n"
    "    mov 8(%rcx), %rdi\n"
    "    syscall\n"
    "    jmp 8b\n"
    "10: mov %r15d, (%r13)\n"
    "    mov $202, %eax\n" /* futex(done_seq, FUTEX_WAKE, 1) */
    "    mov %r13, %rdi\n"
    "    mov $1, %esi\n"
    "    mov $1, %edx\n"
    "    syscall\n"
    /* The kernel trusts only this: one message per batch on the control
     * socket (guest threads cannot send one; the message header lives
     * in the read-only op page). */
    "    mov $46, %eax\n" /* sendmsg(UMK_STUB_CTL_FD, &op_page->done_msg, 0) */
    "    mov $3, %edi\n"
    "    lea 2048(%r12), %rsi\n"
    "    xor %edx, %edx\n"
    "    syscall\n"
    "    jmp 1b\n"
    "9:  ud2\n"

    /* A fork child: the op thread's registers, no stack, no signal stacks
     * (MADV_DONTFORK). Maps them afresh and runs on slot 0's. */
    "umk_fork_child_entry:\n"
    "    mov $9, %eax\n"
    "    movabs $0x7fff80000000, %rdi\n"
    "    movabs $0x8000000, %rsi\n" /* UMK_MAX_THREADS * UMK_ALTSTACK_STRIDE */
    "    mov $3, %edx\n"
    "    mov $0x104022, %r10d\n" /* MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_FIXED_NOREPLACE */
    "    mov $-1, %r8\n"
    "    xor %r9d, %r9d\n"
    "    syscall\n"
    "    cmp %rdi, %rax\n"
    "    jne 9b\n"
    "    movabs $0x7fff80020000, %rsp\n" /* the top of slot 0's stack */
    "    call umk_fork_child\n"
    "    ud2\n");
