#pragma once

// The initial process stack of a new image, laid out byte for byte as Linux
// does it: fs/exec.c (bprm_stack_limits, copy_strings, setup_arg_pages) and
// fs/binfmt_elf.c create_elf_tables, x86-64, without stack randomization.
//
// From stack_top down:
//   8 zero bytes                 (bprm->p starts at vm_end - sizeof(void*))
//   execfn string                AT_EXECFN
//   envp strings, argv strings   (argv[0] lowest)
//   padding to 16                (arch_align_stack)
//   "x86_64\0"                   AT_PLATFORM
//   16 random bytes              AT_RANDOM (not aligned, as in Linux)
//   padding so that sp is 16-byte aligned
//   auxv pairs ... AT_NULL, 0    (ends at the padding)
//   NULL, envp[envc-1] .. envp[0]
//   NULL, argv[argc-1] .. argv[0]
//   argc                         <- sp

#include "lib/kresult.h"
#include "lib/types.h"

#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace umk::exec {

// Linux: include/uapi/linux/binfmts.h, include/linux/binfmts.h, _STK_LIM.
inline constexpr u64 kMaxArgStrlen = 32 * kPageSize;      // per string, NUL included
inline constexpr u64 kMaxArgStrings = 0x7fffffff;
inline constexpr u64 kArgMax = 32 * kPageSize;             // floor of the strings budget
inline constexpr u64 kStkLim = 8 * 1024 * 1024;            // default RLIMIT_STACK

struct AuxEntry {
    u64 type, value;
};

struct InitialStack {
    std::vector<u8> bytes;  // to be copied to [sp, stack_top)
    u64 sp;                 // 16-byte aligned; points at argc
    u64 argv_addr, envp_addr, auxv_addr;
    // mm->arg_start/arg_end/env_start/env_end, for /proc/<pid>/cmdline and
    // environ: the argv strings are [arg_start, arg_end), envp [env_start, env_end).
    u64 arg_start, arg_end, env_start, env_end;
};

// aux: the entries the loader computed, in Linux's order (AT_SYSINFO_EHDR,
// AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM,
// AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE,
// AT_HWCAP2, AT_RSEQ_*), WITHOUT AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL:
// the builder puts AT_RANDOM right after AT_SECURE and AT_EXECFN, AT_PLATFORM
// right after AT_HWCAP2 (or after AT_RANDOM) as Linux does, at the end if
// those anchors are missing, and ends the vector with AT_NULL.
//
// Strings are taken up to their first NUL (what a guest copy would hold). An
// empty argv gets argv[0] = "" (do_execveat_common). Errors:
//   E2BIG   a string (NUL included) longer than kMaxArgStrlen, more than
//           kMaxArgStrings strings, or execfn + envp + argv strings beyond
//           max(min(stack_limit / 4, kStkLim / 4 * 3), kArgMax) minus one
//           pointer per string (bprm_stack_limits)
//   EINVAL  stack_top not page-aligned, or aux holds an entry the builder adds
//   EFAULT  stack_top too low to hold the tables
// stack_limit is RLIMIT_STACK's soft limit (RLIM_INFINITY = ~0).
KResult<InitialStack> build_initial_stack(u64 stack_top, std::span<const std::string> argv,
                                          std::span<const std::string> envp,
                                          std::span<const AuxEntry> aux, std::string_view execfn,
                                          std::array<u8, 16> random_bytes, u64 stack_limit);

} // namespace umk::exec
