#pragma once

// SECCOMP_RET_USER_NOTIF (seccomp_unotify(2)): a filter installed with
// SECCOMP_FILTER_FLAG_NEW_LISTENER hands the calls it sends to the
// supervisor holding its listener fd, which answers each (a result, an
// error, or "continue"), and may add fds to the caller meanwhile.
// Linux: kernel/seccomp.c.
//
// Lock order: Notifier::m_lock, then a thread's Process::signal_lock()
// (WaitQueue wake-ups).

#include "kernel/seccomp/filter.h"
#include "kernel/task/wait_queue.h"
#include "kernel/vfs/file.h"

#include <list>

namespace umk::kernel::seccomp {

class Notifier {
public:
    // What a trapped call comes back with.
    struct Answer {
        bool run_call { false }; // SECCOMP_USER_NOTIF_FLAG_CONTINUE
        i64 result { 0 };        // else its result (or -errno)
    };
    // The trapped thread: waits until the supervisor answers. ENOSYS when
    // nobody listens (any more); ERESTARTSYS on a signal first.
    KResult<Answer> notify(Thread& t, const Data& data);

    // The listener's side (its ioctls).
    KResult<u64> receive(Thread& supervisor, u64 user_struct);
    KResult<u64> send(Thread& supervisor, u64 user_struct);
    KResult<u64> id_valid(Thread& supervisor, u64 user_id);
    KResult<u64> add_fd(Thread& supervisor, u64 user_struct);
    u32 poll_events();

    // The listener fd's last close; the filter's end (no task uses it).
    void listener_closed();
    void filter_gone();

private:
    enum class State { Waiting, Received, Answered };
    struct Request {
        u64 id;
        Thread* thread; // valid while the request is listed
        Data data;
        State state { State::Waiting };
        Answer answer;
    };
    Request* find_locked(u64 id);

    std::mutex m_lock;
    std::list<Request> m_requests;
    WaitQueue m_receivers; // supervisors in SECCOMP_IOCTL_NOTIF_RECV
    WaitQueue m_callers;   // trapped threads
    u64 m_next_id { 1 };
    bool m_listening { true };
    bool m_filter_alive { true };
};

// The listener fd of a new filter.
RefPtr<File> make_listener(std::shared_ptr<Notifier>);

} // namespace umk::kernel::seccomp
