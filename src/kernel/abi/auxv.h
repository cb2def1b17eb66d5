#pragma once

// Auxiliary vector entry types. Linux: include/uapi/linux/auxvec.h and
// arch/x86/include/uapi/asm/auxvec.h (x86-64 values; 18..22 are reserved,
// AT_SYSINFO = 32 exists only for i386 guests).

#include "lib/types.h"

namespace umk::abi {

inline constexpr u64 kAtNull = 0;              // end of vector
inline constexpr u64 kAtIgnore = 1;            // entry should be ignored
inline constexpr u64 kAtExecfd = 2;            // file descriptor of program
inline constexpr u64 kAtPhdr = 3;              // program headers for program
inline constexpr u64 kAtPhent = 4;             // size of program header entry
inline constexpr u64 kAtPhnum = 5;             // number of program headers
inline constexpr u64 kAtPagesz = 6;            // system page size
inline constexpr u64 kAtBase = 7;              // base address of interpreter
inline constexpr u64 kAtFlags = 8;             // flags (kAtFlagsPreserveArgv0)
inline constexpr u64 kAtEntry = 9;             // entry point of program
inline constexpr u64 kAtNotelf = 10;           // program is not ELF
inline constexpr u64 kAtUid = 11;              // real uid
inline constexpr u64 kAtEuid = 12;             // effective uid
inline constexpr u64 kAtGid = 13;              // real gid
inline constexpr u64 kAtEgid = 14;             // effective gid
inline constexpr u64 kAtPlatform = 15;         // string identifying CPU
inline constexpr u64 kAtHwcap = 16;            // CPUID 1 EDX on x86
inline constexpr u64 kAtClktck = 17;           // frequency of times()
inline constexpr u64 kAtSecure = 23;           // secure mode boolean
inline constexpr u64 kAtBasePlatform = 24;     // string identifying real platform
inline constexpr u64 kAtRandom = 25;           // address of 16 random bytes
inline constexpr u64 kAtHwcap2 = 26;           // extension of AT_HWCAP
inline constexpr u64 kAtRseqFeatureSize = 27;  // rseq supported feature size
inline constexpr u64 kAtRseqAlign = 28;        // rseq allocation alignment
inline constexpr u64 kAtHwcap3 = 29;           // extension of AT_HWCAP
inline constexpr u64 kAtHwcap4 = 30;           // extension of AT_HWCAP
inline constexpr u64 kAtExecfn = 31;           // filename of program
inline constexpr u64 kAtSysinfoEhdr = 33;      // address of the vDSO ELF header
inline constexpr u64 kAtMinsigstksz = 51;      // minimal stack size for signal delivery

// AT_FLAGS bits. Linux: include/uapi/linux/binfmts.h.
inline constexpr u64 kAtFlagsPreserveArgv0 = 1ull << 0;

} // namespace umk::abi
