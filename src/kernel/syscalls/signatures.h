#pragma once

// What each x86-64 syscall takes, and strace-style lines built from it for
// --strace. Numbers and names follow Linux 6.18's
// arch/x86/entry/syscalls/syscall_64.tbl (the x32 range 512.. is not ours);
// argument kinds follow the man pages.
//
// A traced call is printed in two halves, as strace does: format_call() at
// entry shows the arguments up to the first output buffer, format_result()
// after the return shows that buffer (now filled) and the rest, then the
// result. Their concatenation is the whole line:
//     format_call   -> read(3, 
//     format_result -> "root:x:0:0:root:/root:/bin/bash\n"..., 832) = 832

#include "lib/types.h"

#include <optional>
#include <string>

namespace umk::strace {

// How one argument register is shown.
enum class Arg : u8 {
    Int,           // signed decimal
    UInt,          // unsigned decimal
    Hex,           // 0x1f; 0 as "0"
    Ptr,           // 0x7ffd...; 0 as "NULL"
    Size,          // unsigned decimal
    Fd,            // int
    DirFd,         // int, or AT_FDCWD
    Path,          // NUL-terminated string in guest memory, shown whole (up to PATH_MAX)
    InBuf,         // guest bytes whose length is the next argument, quoted, cut at 32
    OutBuf,        // guest bytes filled by the call, length = return value; shown after the return
    OpenFlags,     // O_RDONLY|O_CLOEXEC; a Mode right after it is shown only with O_CREAT/O_TMPFILE
    Mode,          // 0644, S_IFCHR|0620
    MmapProt,      // PROT_READ|PROT_WRITE
    MmapFlags,     // MAP_PRIVATE|MAP_ANONYMOUS
    Signal,        // SIGCHLD
    SigHow,        // SIG_BLOCK
    ClockId,       // CLOCK_MONOTONIC
    AtFlags,       // AT_SYMLINK_NOFOLLOW
    FcntlCmd,      // F_GETFL; also decides how (and whether) fcntl's third argument is shown
    Whence,        // SEEK_SET
    IoctlReq,      // TCGETS
    ArchPrctlCode, // ARCH_SET_FS
    PrctlOption,   // PR_SET_NAME
    FutexOp,       // FUTEX_WAIT_PRIVATE; also decides how many futex arguments are shown
    AccessMode,    // F_OK, R_OK|W_OK
    CloneFlags,    // CLONE_VM|CLONE_FS|...|SIGCHLD
    StrArray,      // argv/envp: NULL-terminated char*[] in guest memory
    Struct,        // anything else in guest memory: shown as its address
};

struct Signature {
    const char* name;
    u8 arg_count;
    Arg args[6];
};

inline constexpr u64 kSyscallCount = 470; // one past the highest number (file_setattr, 469)

// nullptr for numbers that are not syscalls (337..423, >= kSyscallCount).
// Numbers the table lists without an implementation (tuxcall, vserver, ...)
// still have a signature: strace names them too.
const Signature* signature(u64 nr);

// Guest memory as the tracer sees it; nullopt means the address is bad.
struct MemoryReader {
    virtual ~MemoryReader() = default;
    // The bytes before the first NUL, at most `max` of them.
    virtual std::optional<std::string> read_string(u64 addr, usize max) = 0;
    virtual std::optional<std::string> read_bytes(u64 addr, usize len) = 0;
    virtual std::optional<u64> read_u64(u64 addr) = 0;
};

// `args` are the six argument registers as they were at entry; pass the same
// values to both functions. Unknown numbers print as syscall_0x1c8(...) with
// six hex arguments.
std::string format_call(u64 nr, const u64 (&args)[6], MemoryReader& mem);
std::string format_result(u64 nr, const u64 (&args)[6], i64 ret, MemoryReader& mem);

} // namespace umk::strace
