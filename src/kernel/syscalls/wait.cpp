// wait4(2), waitid(2). Linux: kernel/exit.c (do_wait).
#include "kernel/syscalls/handlers.h"

#include <signal.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>

namespace umk::kernel {

namespace {

constexpr int kWaitAny = 0; // P_ALL
constexpr u32 kWnothread = 0x20000000, kWall = 0x40000000, kWclone = 0x80000000;

struct WaitQuery {
    int idtype { P_ALL };
    int id { 0 };
    u32 options { 0 };
    int tid { 0 }; // the waiting thread (__WNOTHREAD)
};

struct Waited {
    int pid { 0 };
    u32 uid { 0 };
    int status { 0 }; // as wait(2) encodes it
    platform::CpuUsage usage; // the child's, its own children's included
};

// Linux's eligible_child: the id, then __WCLONE/__WALL against the
// child's exit signal ("clone children" report with something else than
// SIGCHLD).
bool eligible(Process& child, const WaitQuery& q)
{
    switch (q.idtype) {
    case P_PID:
        if (child.pid() != q.id)
            return false;
        break;
    case P_PGID:
        if (child.pgid_locked() != q.id)
            return false;
        break;
    default:
        break;
    }
    if ((q.options & kWnothread) && child.creator_tid_locked() != q.tid)
        return false;
    if (q.options & kWall)
        return true;
    bool clone_child = child.exit_signal() != kSigChld;
    return clone_child == static_cast<bool>(q.options & kWclone);
}

// Blocks (unless WNOHANG) until a child that `q` names has ended; takes
// it unless WNOWAIT. Nothing (WNOHANG) is a zero pid.
KResult<Waited> do_wait(Thread& t, WaitQuery q)
{
    Process& self = t.process();
    Kernel& k = t.kernel();
    q.tid = t.tid();
    for (;;) {
        u64 seen;
        {
            std::lock_guard lock(self.signal_lock());
            seen = self.child_events_locked();
        }
        // Copy: reaping edits the list. Outlives the lock: the last
        // reference to a reaped child tears down its host process.
        std::vector<RefPtr<Process>> children;
        {
            std::lock_guard tree(k.tree_lock());
            bool any = false;
            children = self.children_locked();
            for (auto& child : children) {
                if (!eligible(*child, q))
                    continue;
                any = true;
                if (!child->zombie_locked()) {
                    // Job control: a stop (WUNTRACED) or continue
                    // (WCONTINUED), reported once. (creds() before
                    // signal_lock(): the lock order.)
                    Waited w { child->pid(), child->creds().uid, 0, {} };
                    std::lock_guard lock(child->signal_lock());
                    auto report = child->job_report_locked();
                    if (report == Process::JobReport::Stopped && (q.options & WSTOPPED))
                        w.status = (child->stop_signal_locked() << 8) | 0x7f;
                    else if (report == Process::JobReport::Continued && (q.options & WCONTINUED))
                        w.status = 0xffff;
                    else
                        continue;
                    if (!(q.options & WNOWAIT))
                        child->consume_job_report_locked();
                    return w;
                }
                if (!(q.options & WEXITED))
                    continue;
                Waited w { child->pid(), child->creds().uid, child->exit_status().value_or(0), child->cpu_usage() };
                w.usage += child->children_usage();
                if (!(q.options & WNOWAIT)) {
                    k.reap_locked(self, *child);
                    // A traced child's end is reported once, here.
                    std::erase_if(self.tracees, [&](auto& link) {
                        return link->tracee.get() == child.get() && link->tid == child->pid();
                    });
                }
                return w;
            }
            // ptrace: tracees are waitable by their tracer (Linux's
            // wait_consider_task with ptrace): their stops, and the end of
            // each traced thread, except a traced child's end, which the
            // child itself reports.
            auto tracees = self.tracees;
            for (auto& link : tracees) {
                if (link->tracer != &self)
                    continue;
                if ((q.idtype == P_PID && link->tid != q.id) || (q.idtype == P_PGID && link->tracee->pgid_locked() != q.id))
                    continue;
                any = true;
                std::lock_guard lock(link->tracee->signal_lock());
                if (link->exited) {
                    bool own_child = link->tid == link->tracee->pid() && link->tracee->parent_locked() == &self;
                    if (own_child || !(q.options & WEXITED)) {
                        if (own_child)
                            std::erase(self.tracees, link);
                        continue;
                    }
                    Waited w { link->tid, 0, link->exit_status, {} };
                    if (!(q.options & WNOWAIT))
                        std::erase(self.tracees, link);
                    return w;
                }
                if (link->stopped && !link->reported) {
                    Waited w { link->tid, 0, link->status, {} };
                    if (!(q.options & WNOWAIT))
                        link->reported = true;
                    return w;
                }
            }
            if (!any)
                return err(Errno::CHILD);
        }
        if (q.options & WNOHANG)
            return Waited {};
        t.wait_until(std::nullopt, [&] { return self.child_events_locked() != seen || t.exiting(); });
        std::lock_guard lock(self.signal_lock());
        if (self.child_events_locked() == seen && (t.has_deliverable_locked() || t.exiting()))
            return err(Errno::RESTARTSYS);
    }
}

} // namespace

static abi::Rusage rusage_of(const platform::CpuUsage& usage)
{
    auto tv = [](u64 ns) { return abi::Timeval { static_cast<i64>(ns / 1000000000), static_cast<i64>(ns % 1000000000 / 1000) }; };
    abi::Rusage r {};
    r.ru_utime = tv(usage.user_ns);
    r.ru_stime = tv(usage.system_ns);
    return r;
}

// getrusage(2): CPU times; the other fields stay zero.
KResult<u64> sys_getrusage(Thread& t, int who, GuestAddr usage)
{
    platform::CpuUsage u;
    switch (who) {
    case RUSAGE_THREAD:
        u = t.cpu_usage().value_or(t.process().cpu_usage());
        break;
    case RUSAGE_SELF:
        u = t.process().cpu_usage();
        break;
    case RUSAGE_CHILDREN:
        u = t.process().children_usage();
        break;
    default:
        return err(Errno::INVAL);
    }
    TRY(copy_out(t, usage.value, rusage_of(u)));
    return 0;
}

// times(2): clock ticks (USER_HZ 100) of the process and its reaped
// children; returns ticks since boot.
KResult<u64> sys_times(Thread& t, GuestAddr buf)
{
    if (!buf.null()) {
        auto self = t.process().cpu_usage();
        auto children = t.process().children_usage();
        auto ticks = [](u64 ns) { return static_cast<i64>(ns / 10000000); };
        abi::Tms tms { ticks(self.user_ns), ticks(self.system_ns), ticks(children.user_ns), ticks(children.system_ns) };
        TRY(copy_out(t, buf.value, tms));
    }
    timespec now {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<u64>(now.tv_sec * 100 + now.tv_nsec / 10000000);
}

KResult<u64> sys_wait4(Thread& t, int pid, GuestAddr status, u32 options, GuestAddr rusage)
{
    if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | kWnothread | kWclone | kWall))
        return err(Errno::INVAL);
    WaitQuery q;
    q.options = options | WEXITED;
    if (pid < -1) {
        if (pid == INT32_MIN)
            return err(Errno::SRCH);
        q = { P_PGID, -pid, q.options };
    } else if (pid == 0) {
        q = { P_PGID, t.process().pgid(), q.options };
    } else if (pid > 0) {
        q = { P_PID, pid, q.options };
    }
    auto w = TRY(do_wait(t, q));
    if (w.pid && !status.null())
        TRY(copy_out(t, status.value, w.status));
    if (!rusage.null())
        TRY(copy_out(t, rusage.value, rusage_of(w.usage)));
    return static_cast<u64>(w.pid);
}

KResult<u64> sys_waitid(Thread& t, int idtype, int id, GuestAddr infop, u32 options, GuestAddr rusage)
{
    if (options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | kWnothread | kWclone | kWall))
        return err(Errno::INVAL);
    if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
        return err(Errno::INVAL);
    WaitQuery q { idtype, id, options, 0 };
    bool nonblocking_pidfd = false;
    switch (idtype) {
    case P_ALL:
        q.id = kWaitAny;
        break;
    case P_PID:
        if (id <= 0)
            return err(Errno::INVAL);
        break;
    case P_PGID:
        if (id < 0)
            return err(Errno::INVAL);
        if (id == 0)
            q.id = t.process().pgid();
        break;
    case P_PIDFD: {
        auto p = TRY(process_of_pidfd(t, id));
        q.idtype = P_PID;
        q.id = p->pid();
        // A non-blocking pidfd makes the wait non-blocking (EAGAIN).
        if (TRY(t.fds().get(id))->flags() & O_NONBLOCK)
            nonblocking_pidfd = true;
        break;
    }
    default:
        return err(Errno::INVAL);
    }
    if (nonblocking_pidfd)
        q.options |= WNOHANG;
    auto w = TRY(do_wait(t, q));
    if (nonblocking_pidfd && !w.pid && !(options & WNOHANG))
        return err(Errno::AGAIN);
    if (!infop.null()) {
        abi::Siginfo info {};
        if (w.pid) {
            bool exited = (w.status & 0x7f) == 0;
            info.si_signo = kSigChld;
            info.si_code = exited ? kCldExited : (w.status & 0x80) ? kCldDumped : kCldKilled;
            info.chld.status = exited ? (w.status >> 8) & 0xff : w.status & 0x7f;
            if (w.status == 0xffff) {
                info.si_code = kCldContinued;
                info.chld.status = kSigCont;
            } else if ((w.status & 0xff) == 0x7f) {
                info.si_code = kCldStopped;
                info.chld.status = (w.status >> 8) & 0xff;
            }
            info.chld.pid = w.pid;
            info.chld.uid = w.uid;
            info.chld.utime = static_cast<i64>(w.usage.user_ns / 10000000);
            info.chld.stime = static_cast<i64>(w.usage.system_ns / 10000000);
        }
        // Linux writes signo, errno, code, pid, uid and status, zero when
        // WNOHANG found nothing.
        TRY(t.mm().copy_out(infop.value, std::span(reinterpret_cast<const u8*>(&info), 32)));
    }
    if (!rusage.null())
        TRY(copy_out(t, rusage.value, rusage_of(w.usage)));
    return 0;
}

} // namespace umk::kernel
