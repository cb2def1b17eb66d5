// Scheduling: affinity, nice values, policies, sched_yield, getcpu,
// membarrier, personality. Linux: kernel/sched/core.c, kernel/sys.c,
// kernel/sched/membarrier.c, kernel/exec_domain.c.
#include "kernel/syscalls/handlers.h"

#include "host/result.h"

#include <linux/membarrier.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace umk::kernel {

namespace {

// The thread `tid` names (0: the caller), and its process.
KResult<TaskRef> thread_by_tid(Thread& t, int tid)
{
    if (tid < 0)
        return err(Errno::INVAL);
    if (tid == 0 || tid == t.tid())
        return TaskRef { RefPtr<Process>(&t.process()), &t };
    return find_task(t, tid);
}

// Runs `f` on thread `tid` (0: the caller) under its process's
// signal_lock(), so that the thread cannot go meanwhile.
template <class F>
auto under_thread(Thread& t, int tid, F f) -> decltype(f(t))
{
    auto target = TRY(thread_by_tid(t, tid));
    int wanted = tid == 0 ? t.tid() : tid;
    std::lock_guard lock(target.process->signal_lock());
    Thread* thread = target.process->find_thread_locked(wanted);
    if (!thread)
        return err(Errno::SRCH);
    return f(*thread);
}

// The kernel's cpumask size: nr_cpu_ids bits, in whole longs.
usize cpumask_bytes()
{
    usize cpus = static_cast<usize>(sysconf(_SC_NPROCESSORS_CONF));
    return ((cpus + 63) / 64) * 8;
}

// Linux's set_one_prio permission: the same owner, or CAP_SYS_NICE.
bool may_renice(Thread& t, Process& target)
{
    auto me = t.process().creds();
    auto them = target.creds();
    return me.has(kCapSysNice) || me.euid == them.uid || me.euid == them.euid;
}

} // namespace

KResult<u64> sys_sched_getaffinity(Thread& t, int tid, u32 size, GuestAddr mask)
{
    usize bytes = cpumask_bytes();
    if (size < bytes || (size & 7))
        return err(Errno::INVAL);
    auto host = TRY(under_thread(t, tid, [](Thread& th) { return th.context().cpu_affinity(); }));
    host.resize(std::max(host.size(), bytes));
    TRY(t.mm().copy_out(mask.value, std::span(host.data(), bytes)));
    return bytes;
}

KResult<u64> sys_sched_setaffinity(Thread& t, int tid, u32 size, GuestAddr mask)
{
    std::vector<u8> wanted(std::max<usize>(size, 8) > 8192 ? 8192 : std::max<usize>(size, 8));
    TRY(t.mm().copy_in(mask.value, std::span(wanted.data(), std::min<usize>(size, wanted.size()))));
    auto target = TRY(thread_by_tid(t, tid));
    if (!may_renice(t, *target.process))
        return err(Errno::PERM);
    // Only CPUs this machine has count; none of them is EINVAL.
    std::vector<u8> mask_bytes(sizeof(cpu_set_t));
    std::copy_n(wanted.begin(), std::min(wanted.size(), mask_bytes.size()), mask_bytes.begin());
    cpu_set_t online;
    CPU_ZERO(&online);
    sched_getaffinity(0, sizeof online, &online);
    bool any = false;
    for (usize cpu = 0; cpu < CPU_SETSIZE; cpu++)
        any |= ((mask_bytes[cpu / 8] >> (cpu % 8)) & 1) && CPU_ISSET(cpu, &online);
    if (!any)
        return err(Errno::INVAL);
    TRY(under_thread(t, tid, [&](Thread& th) { return th.context().set_cpu_affinity(mask_bytes); }));
    return 0;
}

KResult<u64> sys_sched_yield(Thread&)
{
    sched_yield();
    return 0;
}

namespace {

// The live processes getpriority/setpriority and ioprio_get/set act on:
// PRIO_PROCESS names a thread (0: the caller's), PRIO_PGRP a process
// group, PRIO_USER a real uid (0: the caller's). EINVAL for another `which`.
KResult<std::vector<RefPtr<Process>>> selected_processes(Thread& t, int which, int who)
{
    if (which != PRIO_PROCESS && which != PRIO_PGRP && which != PRIO_USER)
        return err(Errno::INVAL);
    RefPtr<Process> one = which == PRIO_PROCESS ? (who == 0 ? RefPtr<Process>(&t.process()) : t.kernel().find_thread_group(who))
                                                : RefPtr<Process>();
    std::vector<RefPtr<Process>> out;
    for (auto& p : t.kernel().processes()) {
        bool match = which == PRIO_PROCESS ? p == one
            : which == PRIO_PGRP           ? p->pgid() == (who == 0 ? t.process().pgid() : who)
                                           : p->creds().uid == (who == 0 ? t.process().creds().uid : static_cast<u32>(who));
        if (match && !p->zombie_unlocked())
            out.push_back(p);
    }
    return out;
}

} // namespace

// Nice values live in the process (Linux keeps them per thread; with
// PRIO_PROCESS they name the thread group leader's).
KResult<u64> sys_getpriority(Thread& t, int which, int who)
{
    int best = 21; // nice values 19 .. -20 come back as 1 .. 40
    for (auto& p : TRY(selected_processes(t, which, who)))
        best = std::min(best, p->nice.load());
    if (best == 21)
        return err(Errno::SRCH);
    return static_cast<u64>(20 - best);
}

KResult<u64> sys_setpriority(Thread& t, int which, int who, int niceval)
{
    niceval = std::clamp(niceval, -20, 19);
    auto targets = TRY(selected_processes(t, which, who));
    for (auto& p : targets) {
        if (!may_renice(t, *p))
            return err(Errno::PERM);
        // Raising priority (a lower nice value) needs CAP_SYS_NICE.
        if (niceval < p->nice.load() && !t.process().creds().has(kCapSysNice))
            return err(Errno::ACCES);
        p->nice = niceval;
    }
    return targets.empty() ? err(Errno::SRCH) : KResult<u64>(0);
}

// I/O priorities (block/ioprio.c): kept per process (Linux per I/O
// context, which threads share in practice) and inherited; nothing
// schedules I/O by them here. IOPRIO_WHO_* are PRIO_* + 1.
namespace {

constexpr int kIoprioClassShift = 13, kIoprioClassNone = 0, kIoprioClassRt = 1, kIoprioClassBe = 2,
              kIoprioClassIdle = 3, kIoprioBeNorm = 4;

// ioprio_check_cap
KResult<void> check_ioprio(Thread& t, int ioprio)
{
    int cls = (ioprio >> kIoprioClassShift) & 7;
    int level = ioprio & 7;
    int hint = (ioprio >> 3) & 0x3ff;
    if (ioprio < 0 || ioprio >= (8 << kIoprioClassShift) || hint > 7)
        return err(Errno::INVAL);
    switch (cls) {
    case kIoprioClassRt:
        if (!t.process().creds().has(kCapSysNice) && !t.process().creds().has(kCapSysAdmin))
            return err(Errno::PERM);
        break;
    case kIoprioClassBe:
    case kIoprioClassIdle:
        break;
    case kIoprioClassNone:
        if (level)
            return err(Errno::INVAL);
        break;
    default:
        return err(Errno::INVAL);
    }
    return {};
}

// ioprio_best: the higher priority of two, "none" counting as BE/4.
int ioprio_best(int a, int b)
{
    auto valid = [](int p) { return ((p >> kIoprioClassShift) & 7) != kIoprioClassNone ? p : (kIoprioClassBe << kIoprioClassShift) | kIoprioBeNorm; };
    return std::min(valid(a), valid(b));
}

} // namespace

KResult<u64> sys_ioprio_set(Thread& t, int which, int who, int ioprio)
{
    TRY(check_ioprio(t, ioprio));
    auto targets = TRY(selected_processes(t, which - 1, who));
    for (auto& p : targets) {
        // set_task_ioprio: the same user, or CAP_SYS_NICE.
        auto mine = t.process().creds(), theirs = p->creds();
        if (theirs.uid != mine.euid && theirs.uid != mine.uid && !mine.has(kCapSysNice))
            return err(Errno::PERM);
        p->ioprio = ioprio;
    }
    return targets.empty() ? err(Errno::SRCH) : KResult<u64>(0);
}

// A thread's own setting; for a group or a user, the best effective one,
// where "none" follows the nice value (task_nice_ioprio).
KResult<u64> sys_ioprio_get(Thread& t, int which, int who)
{
    auto targets = TRY(selected_processes(t, which - 1, who));
    if (targets.empty())
        return err(Errno::SRCH);
    if (which - 1 == PRIO_PROCESS)
        return static_cast<u64>(targets[0]->ioprio.load());
    auto effective = [](Process& p) {
        int prio = p.ioprio.load();
        if (((prio >> kIoprioClassShift) & 7) == kIoprioClassNone)
            prio = (kIoprioClassBe << kIoprioClassShift) | ((p.nice.load() + 20) / 5);
        return prio;
    };
    int best = effective(*targets[0]);
    for (usize i = 1; i < targets.size(); i++)
        best = ioprio_best(best, effective(*targets[i]));
    return static_cast<u64>(best);
}

// Policies: umk threads are host threads under SCHED_OTHER; OTHER, BATCH
// and IDLE are kept (and reported), real-time ones are refused.
KResult<u64> sys_sched_getscheduler(Thread& t, int pid)
{
    return under_thread(t, pid, [](Thread& th) -> KResult<u64> {
        return static_cast<u64>(th.sched_policy | (th.sched_reset_on_fork ? SCHED_RESET_ON_FORK : 0));
    });
}

KResult<u64> sys_sched_setscheduler(Thread& t, int pid, int policy, GuestAddr param)
{
    if (param.null())
        return err(Errno::INVAL);
    int priority = TRY(copy_in<int>(t, param.value));
    auto target = TRY(thread_by_tid(t, pid));
    int base = policy & ~SCHED_RESET_ON_FORK;
    switch (base) {
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
        if (priority != 0)
            return err(Errno::INVAL);
        break;
    case SCHED_FIFO:
    case SCHED_RR:
        if (priority < 1 || priority > 99)
            return err(Errno::INVAL);
        t.kernel().log_once("sched rt", "sched_setscheduler: real-time policies are not available in umk: EPERM");
        return err(Errno::PERM);
    default:
        return err(Errno::INVAL);
    }
    if (!may_renice(t, *target.process))
        return err(Errno::PERM);
    return under_thread(t, pid, [&](Thread& th) -> KResult<u64> {
        th.sched_policy = base;
        th.sched_reset_on_fork = (policy & SCHED_RESET_ON_FORK) != 0;
        return 0;
    });
}

// sched_rr_get_interval(2): the host's time slice for a SCHED_OTHER thread.
KResult<u64> sys_sched_rr_get_interval(Thread& t, int pid, GuestAddr interval)
{
    TRY(thread_by_tid(t, pid));
    timespec ts {};
    sched_rr_get_interval(0, &ts);
    TRY(copy_out(t, interval.value, abi::Timespec { ts.tv_sec, ts.tv_nsec }));
    return 0;
}

KResult<u64> sys_sched_getparam(Thread& t, int pid, GuestAddr param)
{
    TRY(thread_by_tid(t, pid));
    TRY(copy_out(t, param.value, 0));
    return 0;
}

KResult<u64> sys_sched_setparam(Thread& t, int pid, GuestAddr param)
{
    int priority = TRY(copy_in<int>(t, param.value));
    auto target = TRY(thread_by_tid(t, pid));
    if (priority != 0)
        return err(Errno::INVAL);
    if (!may_renice(t, *target.process))
        return err(Errno::PERM);
    return 0;
}

KResult<u64> sys_sched_get_priority_max(Thread&, int policy)
{
    switch (policy) {
    case SCHED_FIFO:
    case SCHED_RR:
        return 99;
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
        return 0;
    }
    return err(Errno::INVAL);
}

KResult<u64> sys_sched_get_priority_min(Thread&, int policy)
{
    switch (policy) {
    case SCHED_FIFO:
    case SCHED_RR:
        return 1;
    case SCHED_OTHER:
    case SCHED_BATCH:
    case SCHED_IDLE:
        return 0;
    }
    return err(Errno::INVAL);
}

// getcpu(2): a thread pinned to one CPU runs there; otherwise the CPU the
// calling kernel thread runs on now (the guest thread's host thread waits
// meanwhile; both are this machine's CPUs).
KResult<u64> sys_getcpu(Thread& t, GuestAddr cpu, GuestAddr node, u64)
{
    unsigned c = 0, n = 0;
    syscall(SYS_getcpu, &c, &n, nullptr);
    if (auto mask = t.context().cpu_affinity()) {
        auto* set = reinterpret_cast<const cpu_set_t*>(mask->data());
        if (CPU_COUNT_S(mask->size(), set) == 1)
            for (unsigned i = 0; i < mask->size() * 8; i++)
                if (CPU_ISSET_S(i, mask->size(), set))
                    c = i;
    }
    if (!cpu.null())
        TRY(copy_out(t, cpu.value, c));
    if (!node.null())
        TRY(copy_out(t, node.value, n));
    return 0;
}

// membarrier(2): every command by the host's MEMBARRIER_CMD_GLOBAL_EXPEDITED,
// which reaches every stub (each registers for it at start).
KResult<u64> sys_membarrier(Thread& t, int cmd, u32 flags, int)
{
    constexpr int kSupported = MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED
        | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
    if (flags)
        return err(Errno::INVAL);
    switch (cmd) {
    case MEMBARRIER_CMD_QUERY:
        return kSupported;
    case MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
        return 0;
    case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED:
        t.mm().membarrier_registered = true;
        return 0;
    case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
        if (!t.mm().membarrier_registered)
            return err(Errno::PERM);
        [[fallthrough]];
    case MEMBARRIER_CMD_GLOBAL:
    case MEMBARRIER_CMD_GLOBAL_EXPEDITED:
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) != 0)
            return err(host::errno_from_host(errno));
        return 0;
    }
    return err(Errno::INVAL);
}

// personality(2): PER_LINUX with its flags; ADDR_NO_RANDOMIZE turns off
// umk's layout randomization at the next execve.
KResult<u64> sys_personality(Thread& t, u32 persona)
{
    u32 old = t.process().personality.load();
    if (persona == 0xffffffff)
        return old;
    if ((persona & PER_MASK) != PER_LINUX) {
        t.kernel().log_once(fmt::format("personality {:#x}", persona & PER_MASK),
                            fmt::format("personality: execution domain {:#x} not supported: EINVAL", persona & PER_MASK));
        return err(Errno::INVAL);
    }
    t.process().personality = persona;
    return old;
}

// NUMA memory policies (mm/mempolicy.c) on a machine of one node: the
// policy is kept and reported; node 0 is the only one a mask may name.
namespace {

constexpr int kMpolDefault = 0, kMpolPreferred = 1, kMpolBind = 2, kMpolInterleave = 3, kMpolLocal = 4,
              kMpolPreferredMany = 5, kMpolWeightedInterleave = 6, kMpolMax = 7;
constexpr int kMpolFStaticNodes = 1 << 15, kMpolFRelativeNodes = 1 << 14, kMpolFNumaBalancing = 1 << 13;
constexpr int kMpolFNode = 1, kMpolFAddr = 2, kMpolFMemsAllowed = 4;

// get_nodes: `maxnode` bits of the user's mask (the last bit is not
// used, as Linux's); nodes past node 0 do not exist here.
KResult<u64> copy_in_nodes(Thread& t, GuestAddr mask, u64 maxnode)
{
    if (mask.null() || maxnode <= 1)
        return u64 { 0 };
    maxnode--;
    if (maxnode > 1024 * 64)
        return err(Errno::INVAL);
    u64 words = (maxnode + 63) / 64;
    u64 nodes = 0;
    for (u64 i = 0; i < words; i++) {
        u64 w = TRY(copy_in<u64>(t, mask.value + 8 * i));
        if (i == words - 1 && maxnode % 64)
            w &= (u64 { 1 } << (maxnode % 64)) - 1;
        if (i == 0)
            nodes = w;
        else if (w)
            return err(Errno::INVAL);
    }
    if (nodes & ~u64 { 1 })
        return err(Errno::INVAL); // no such node
    return nodes;
}

} // namespace

KResult<u64> sys_set_mempolicy(Thread& t, int mode, GuestAddr nmask, u64 maxnode)
{
    int flags = mode & (kMpolFStaticNodes | kMpolFRelativeNodes | kMpolFNumaBalancing);
    int base = mode & ~flags;
    if (base < 0 || base >= kMpolMax)
        return err(Errno::INVAL);
    if ((flags & kMpolFStaticNodes) && (flags & kMpolFRelativeNodes))
        return err(Errno::INVAL);
    if ((flags & kMpolFNumaBalancing) && base != kMpolBind && base != kMpolPreferredMany)
        return err(Errno::INVAL);
    u64 nodes = TRY(copy_in_nodes(t, nmask, maxnode));
    // mpol_new: DEFAULT and LOCAL take no nodes; the others need some.
    if (base == kMpolDefault || base == kMpolLocal) {
        if (nodes)
            return err(Errno::INVAL);
        if (base == kMpolDefault && flags)
            return err(Errno::INVAL);
    } else if (!nodes && base != kMpolPreferred) {
        return err(Errno::INVAL);
    }
    if (base == kMpolPreferred && !nodes) // preferred "local"
        base = kMpolLocal;
    t.mempolicy = { base == kMpolDefault ? 0 : base | flags, nodes };
    return 0;
}

KResult<u64> sys_get_mempolicy(Thread& t, GuestAddr policy, GuestAddr nmask, u64 maxnode, u64 addr, u64 flags)
{
    if (flags & ~static_cast<u64>(kMpolFNode | kMpolFAddr | kMpolFMemsAllowed))
        return err(Errno::INVAL);
    if (!nmask.null() && maxnode < 1)
        return err(Errno::INVAL); // fewer bits than nodes
    int mode = t.mempolicy.mode;
    u64 nodes = t.mempolicy.nodes;
    if (flags & kMpolFMemsAllowed) {
        if (flags & (kMpolFNode | kMpolFAddr))
            return err(Errno::INVAL);
        mode = 0;
        nodes = 1;
    } else if (flags & kMpolFAddr) {
        // The policy of the mapping at addr: with no mbind to give one
        // its own, the default (Linux's default_policy), whatever the
        // task's; with MPOL_F_NODE, the node of that page.
        TRY(t.mm().check_mapped(addr));
        mode = 0;
        nodes = 0;
    } else if (flags & kMpolFNode) {
        if ((mode & 0xff) != kMpolInterleave && (mode & 0xff) != kMpolWeightedInterleave)
            return err(Errno::INVAL);
        mode = 0; // the next interleave node
    } else if (!addr) {
        // the task's policy; a DEFAULT or LOCAL one has no nodes
        if ((mode & 0xff) == kMpolDefault || (mode & 0xff) == kMpolLocal)
            nodes = 0;
    } else {
        return err(Errno::INVAL);
    }
    if (!policy.null())
        TRY(copy_out(t, policy.value, static_cast<i32>(mode)));
    if (!nmask.null()) {
        u64 words = (maxnode + 63) / 64;
        for (u64 i = 0; i < words; i++)
            TRY(copy_out(t, nmask.value + 8 * i, i == 0 ? nodes : u64 { 0 }));
    }
    return 0;
}

} // namespace umk::kernel
