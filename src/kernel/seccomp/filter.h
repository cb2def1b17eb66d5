#pragma once

// Guest seccomp filters (seccomp(2), prctl(PR_SET_SECCOMP)): classic BPF
// programs that umk checks and runs on every guest syscall, as Linux does
// in kernel/seccomp.c with net/core/filter.c's checker.

#include "lib/kresult.h"
#include "lib/types.h"

#include <memory>
#include <span>
#include <vector>

namespace umk::kernel::seccomp {

// struct sock_filter
struct Insn {
    u16 code;
    u8 jt, jf;
    u32 k;
};
static_assert(sizeof(Insn) == 8);

// struct seccomp_data: what a filter sees.
struct Data {
    i32 nr;
    u32 arch;
    u64 instruction_pointer;
    u64 args[6];
};
static_assert(sizeof(Data) == 64);

inline constexpr u32 kRetKillProcess = 0x80000000U, kRetKillThread = 0, kRetTrap = 0x00030000U,
                     kRetErrno = 0x00050000U, kRetUserNotif = 0x7fc00000U, kRetTrace = 0x7ff00000U,
                     kRetLog = 0x7ffc0000U, kRetAllow = 0x7fff0000U;
inline constexpr u32 kRetActionFull = 0xffff0000U, kRetData = 0x0000ffffU;
inline constexpr usize kMaxInsns = 4096;       // BPF_MAXINSNS
inline constexpr usize kMaxInsnsPerPath = 32768; // MAX_INSNS_PER_PATH

// Linux's sk_chk_filter + seccomp_check_filter: only the instructions a
// seccomp program may use, loads within seccomp_data, jumps in range,
// the last instruction a return. EINVAL otherwise.
KResult<void> check(std::span<const Insn> program);

// Runs a checked program.
u32 run(std::span<const Insn> program, const Data&);

// A thread's filters: the newest first, each pointing at the one before
// (shared with the threads and children that inherited it).
class Notifier;

struct Filter {
    ~Filter();
    std::vector<Insn> program;
    std::shared_ptr<const Filter> previous;
    bool log { false }; // SECCOMP_FILTER_FLAG_LOG
    // Instructions along the chain, each filter counting 4 more (Linux's
    // MAX_INSNS_PER_PATH accounting).
    usize path_length { 0 };
    // SECCOMP_FILTER_FLAG_NEW_LISTENER: where its SECCOMP_RET_USER_NOTIF
    // calls go (notify.h).
    std::shared_ptr<Notifier> notifier;
};

// Every filter of the chain; the most restrictive action wins (the
// lowest when read as signed), the first of equals.
// `winner`: the filter whose action that is.
u32 run_all(const Filter& newest, const Data&, const Filter** winner = nullptr);

} // namespace umk::kernel::seccomp
