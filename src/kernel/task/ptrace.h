#pragma once

// Guest ptrace(2): one tracer-tracee pair. Linux keeps this state in the
// tracee's task_struct (ptrace, parent, ptrace_message, last_siginfo,
// jobctl); here it is a link shared by the tracee Thread and the tracer
// Process's list, so that either side may go first.
//
// Locking: `tracer` and the tracer's list under the kernel's tree_lock();
// everything else under the tracee process's signal_lock().

#include "kernel/abi/linux.h"
#include "lib/ref.h"

#include <condition_variable>
#include <optional>

namespace umk::kernel {

class Process;
class Thread;

enum class PtraceResume { Cont, Syscall, SingleStep, Sysemu, SysemuSingleStep };

struct PtraceLink {
    int tid { 0 };
    RefPtr<Process> tracee;        // the tracee's process
    Process* tracer { nullptr };   // null once detached or the tracer is gone
    Thread* thread { nullptr };    // null once the tracee thread is gone
    u32 options { 0 };             // PTRACE_O_*

    // A stop the tracer has to see (wait status), and what it is about.
    bool stopped { false };
    int status { 0 };
    bool reported { false };
    std::optional<abi::Siginfo> siginfo; // signal-delivery stops
    int syscall_op { 0 };                // PTRACE_SYSCALL_INFO_ENTRY / EXIT during syscall stops
    u64 event_msg { 0 };

    // How the tracer let it go on.
    PtraceResume resume { PtraceResume::Cont };
    int resume_signal { 0 };

    // Tracer requests in progress on `thread`; the tracee's exit waits for
    // none to be left (`idle`, with the tracee's signal_lock) after it set
    // `leaving`, so that `thread` stays valid during a request.
    int busy { 0 };
    bool leaving { false };
    std::condition_variable idle;

    // The tracee thread ended: its wait status, once for the tracer.
    bool exited { false };
    int exit_status { 0 };
};

inline constexpr u32 kPtraceTraceSysGood = 1, kPtraceTraceFork = 2, kPtraceTraceVfork = 4, kPtraceTraceClone = 8,
                     kPtraceTraceExec = 0x10, kPtraceTraceVforkDone = 0x20, kPtraceTraceExit = 0x40,
                     kPtraceTraceSeccomp = 0x80, kPtraceExitKill = 0x100000, kPtraceSuspendSeccomp = 0x200000;
inline constexpr int kPtraceEventFork = 1, kPtraceEventVfork = 2, kPtraceEventClone = 3, kPtraceEventExec = 4,
                     kPtraceEventVforkDone = 5, kPtraceEventExit = 6, kPtraceEventSeccomp = 7;

} // namespace umk::kernel
