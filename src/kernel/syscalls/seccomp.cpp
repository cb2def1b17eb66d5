// seccomp(2) and prctl's PR_SET/GET_SECCOMP, PR_SET/GET_NO_NEW_PRIVS.
// Linux: kernel/seccomp.c.
#include "kernel/seccomp/notify.h"
#include "kernel/syscalls/handlers.h"

#include <linux/seccomp.h>
#include <sys/prctl.h>

namespace umk::kernel {

namespace {

constexpr u32 kKnownFlags = SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW
    | SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC_ESRCH | (1U << 5) /* WAIT_KILLABLE_RECV */;

KResult<u64> set_strict(Thread& t)
{
    if (t.seccomp_mode == Thread::kSeccompFilter)
        return err(Errno::INVAL);
    t.seccomp_mode = Thread::kSeccompStrict;
    return 0;
}

KResult<u64> set_filter(Thread& t, u32 flags, GuestAddr uprog)
{
    if (flags & ~kKnownFlags)
        return err(Errno::INVAL);
    bool listener = flags & SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if (flags & (1U << 5)) {
        t.kernel().log_once("seccomp wait killable", "seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV not supported: EINVAL");
        return err(Errno::INVAL);
    }
    // TSYNC returns a tid on failure, NEW_LISTENER an fd on success: only
    // together with TSYNC_ESRCH.
    if (listener && (flags & SECCOMP_FILTER_FLAG_TSYNC) && !(flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH))
        return err(Errno::INVAL);
    if (t.seccomp_mode == Thread::kSeccompStrict)
        return err(Errno::INVAL);
    // Without no_new_privs only CAP_SYS_ADMIN may install a filter.
    if (!t.no_new_privs && !t.process().creds().has(kCapSysAdmin))
        return err(Errno::ACCES);
    struct {
        u16 len;
        u16 pad[3];
        u64 filter;
    } fprog = TRY(copy_in<decltype(fprog)>(t, uprog.value));
    if (fprog.len == 0 || fprog.len > seccomp::kMaxInsns)
        return err(Errno::INVAL);
    auto filter = std::make_shared<seccomp::Filter>();
    filter->program.resize(fprog.len);
    TRY(t.mm().copy_in(fprog.filter, std::span(reinterpret_cast<u8*>(filter->program.data()), fprog.len * sizeof(seccomp::Insn))));
    TRY(seccomp::check(filter->program));
    filter->previous = t.seccomp_filter;
    filter->log = flags & SECCOMP_FILTER_FLAG_LOG;
    RefPtr<File> listener_file;
    if (listener) {
        // One listener per filter chain.
        for (auto* f = t.seccomp_filter.get(); f; f = f->previous.get())
            if (f->notifier)
                return err(Errno::BUSY);
        filter->notifier = std::make_shared<seccomp::Notifier>();
        listener_file = seccomp::make_listener(filter->notifier);
    }
    filter->path_length = fprog.len + 4 + (t.seccomp_filter ? t.seccomp_filter->path_length : 0);
    if (filter->path_length > seccomp::kMaxInsnsPerPath)
        return err(Errno::NOMEM);
    // The listener's fd comes first: nothing fails after the filter is in
    // (a failed TSYNC closes it again).
    u64 result = listener ? TRY(install_fd(t, listener_file, true)) : 0;
    std::shared_ptr<const seccomp::Filter> installed = filter;
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) {
        // Every thread of the process gets the caller's new chain (all of
        // them descend from the caller's, as umk never diverges them except
        // through seccomp(2) itself: those that did make TSYNC fail).
        std::lock_guard lock(t.process().signal_lock());
        for (int tid : t.process().thread_ids_locked()) {
            Thread* other = t.process().find_thread_locked(tid);
            if (other == &t || !other)
                continue;
            for (auto* f = t.seccomp_filter.get();; f = f->previous.get()) {
                if (f == other->seccomp_filter.get())
                    break;
                if (!f) {
                    if (listener)
                        (void)t.fds().close(static_cast<int>(result));
                    return (flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH) ? KResult<u64>(err(Errno::SRCH))
                                                                    : KResult<u64>(static_cast<u64>(tid));
                }
            }
        }
        for (int tid : t.process().thread_ids_locked()) {
            Thread* other = t.process().find_thread_locked(tid);
            other->seccomp_filter = installed;
            other->seccomp_mode = Thread::kSeccompFilter;
            other->no_new_privs = other->no_new_privs || t.no_new_privs;
        }
        return result;
    }
    t.seccomp_filter = installed;
    t.seccomp_mode = Thread::kSeccompFilter;
    return result;
}

} // namespace

KResult<u64> sys_seccomp(Thread& t, u32 op, u32 flags, GuestAddr args)
{
    switch (op) {
    case SECCOMP_SET_MODE_STRICT:
        if (flags || !args.null())
            return err(Errno::INVAL);
        return set_strict(t);
    case SECCOMP_SET_MODE_FILTER:
        return set_filter(t, flags, args);
    case SECCOMP_GET_ACTION_AVAIL: {
        if (flags)
            return err(Errno::INVAL);
        u32 action = TRY(copy_in<u32>(t, args.value));
        switch (action) {
        case seccomp::kRetKillProcess:
        case seccomp::kRetKillThread:
        case seccomp::kRetTrap:
        case seccomp::kRetErrno:
        case seccomp::kRetTrace:
        case seccomp::kRetLog:
        case seccomp::kRetUserNotif:
        case seccomp::kRetAllow:
            return 0;
        }
        return err(Errno::OPNOTSUPP);
    }
    case SECCOMP_GET_NOTIF_SIZES: {
        if (flags)
            return err(Errno::INVAL);
        struct {
            u16 notif, resp, data;
        } sizes { 80, 24, 64 };
        TRY(copy_out(t, args.value, sizes));
        return 0;
    }
    }
    return err(Errno::INVAL);
}

KResult<u64> seccomp_prctl(Thread& t, int option, u64 arg2, u64 arg3)
{
    switch (option) {
    case PR_GET_SECCOMP:
        return static_cast<u64>(t.seccomp_mode);
    case PR_SET_SECCOMP:
        if (arg2 == SECCOMP_MODE_STRICT)
            return set_strict(t);
        if (arg2 == SECCOMP_MODE_FILTER)
            return set_filter(t, 0, GuestAddr { arg3 });
        return err(Errno::INVAL);
    case PR_SET_NO_NEW_PRIVS:
        if (arg2 != 1)
            return err(Errno::INVAL);
        t.no_new_privs = true;
        return 0;
    case PR_GET_NO_NEW_PRIVS:
        return t.no_new_privs ? 1 : 0;
    }
    return err(Errno::INVAL);
}

} // namespace umk::kernel
