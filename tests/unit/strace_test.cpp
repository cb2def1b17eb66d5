#include "kernel/syscalls/signatures.h"

#include "lib/errno_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <map>
#include <set>
#include <string_view>

namespace umk::strace {
namespace {

// Guest memory as a few mapped regions; any other address is bad.
class FakeMemory final : public MemoryReader {
public:
    void map(u64 addr, std::string bytes) { m_regions[addr] = std::move(bytes); }
    void map_string(u64 addr, std::string_view text) { map(addr, std::string(text) + '\0'); }
    void map_pointers(u64 addr, std::initializer_list<u64> pointers)
    {
        std::string bytes(pointers.size() * sizeof(u64), '\0');
        std::memcpy(bytes.data(), std::data(pointers), bytes.size());
        map(addr, std::move(bytes));
    }

    std::optional<std::string> read_string(u64 addr, usize max) override
    {
        auto rest = mapped_from(addr);
        if (!rest)
            return std::nullopt;
        return std::string(rest->substr(0, std::min(rest->find('\0'), max)));
    }

    std::optional<std::string> read_bytes(u64 addr, usize len) override
    {
        auto rest = mapped_from(addr);
        if (!rest || rest->size() < len)
            return std::nullopt;
        return std::string(rest->substr(0, len));
    }

    std::optional<u64> read_u64(u64 addr) override
    {
        auto bytes = read_bytes(addr, sizeof(u64));
        if (!bytes)
            return std::nullopt;
        u64 value;
        std::memcpy(&value, bytes->data(), sizeof value);
        return value;
    }

private:
    // The mapped bytes from addr to the end of its region.
    std::optional<std::string_view> mapped_from(u64 addr) const
    {
        auto after = m_regions.upper_bound(addr);
        if (after == m_regions.begin())
            return std::nullopt;
        const auto& [start, bytes] = *std::prev(after);
        if (addr - start >= bytes.size())
            return std::nullopt;
        return std::string_view(bytes).substr(addr - start);
    }

    std::map<u64, std::string> m_regions;
};

constexpr u64 kAtFdCwd = static_cast<u64>(-100);
constexpr u64 kMinusOne = static_cast<u64>(-1);

// The whole line, as strace prints it once the call has returned.
std::string trace(u64 nr, std::initializer_list<u64> registers, i64 ret, MemoryReader& mem)
{
    u64 args[6] {};
    std::ranges::copy(registers, args);
    return format_call(nr, args, mem) + format_result(nr, args, ret, mem);
}

bool in_unassigned_gap(u64 nr) { return nr >= 337 && nr <= 423; }

TEST(StraceSignatures, EverySyscallHasAName)
{
    std::set<std::string_view> names;
    for (u64 nr = 0; nr < kSyscallCount; ++nr) {
        const Signature* sig = signature(nr);
        if (in_unassigned_gap(nr)) {
            EXPECT_EQ(sig, nullptr) << nr;
            continue;
        }
        ASSERT_NE(sig, nullptr) << nr;
        ASSERT_NE(sig->name, nullptr) << nr;
        EXPECT_GT(std::strlen(sig->name), 0u) << nr;
        EXPECT_LE(sig->arg_count, 6) << nr;
        EXPECT_TRUE(names.insert(sig->name).second) << "twice: " << sig->name;
    }
    EXPECT_EQ(signature(kSyscallCount), nullptr);
    EXPECT_EQ(signature(512), nullptr); // x32 rt_sigaction: not an x86-64 number
}

TEST(StraceSignatures, WellKnownNumbers)
{
    const std::pair<u64, std::string_view> expected[] = {
        { 0, "read" }, { 1, "write" }, { 9, "mmap" }, { 59, "execve" }, { 231, "exit_group" },
        { 257, "openat" }, { 334, "rseq" }, { 335, "uretprobe" }, { 336, "uprobe" },
        { 424, "pidfd_send_signal" }, { 435, "clone3" }, { 462, "mseal" }, { 463, "setxattrat" },
        { 464, "getxattrat" }, { 465, "listxattrat" }, { 466, "removexattrat" },
        { 467, "open_tree_attr" }, { 468, "file_getattr" }, { 469, "file_setattr" },
    };
    for (const auto& [nr, name] : expected) {
        ASSERT_NE(signature(nr), nullptr) << nr;
        EXPECT_EQ(signature(nr)->name, name) << nr;
    }
    EXPECT_EQ(signature(0)->arg_count, 3);
    EXPECT_EQ(signature(0)->args[1], Arg::OutBuf);
    EXPECT_EQ(signature(1)->args[1], Arg::InBuf);
}

TEST(StraceFormat, Openat)
{
    FakeMemory mem;
    mem.map_string(0x1000, "/etc/passwd");
    EXPECT_EQ(trace(257, { kAtFdCwd, 0x1000, 02000000 }, 3, mem),
        R"(openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3)");
}

TEST(StraceFormat, OpenatShowsModeOnlyWhenCreating)
{
    FakeMemory mem;
    mem.map_string(0x1000, "out.txt");
    EXPECT_EQ(trace(257, { kAtFdCwd, 0x1000, 01 | 0100 | 01000, 0644 }, 4, mem),
        R"(openat(AT_FDCWD, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4)");
    EXPECT_EQ(trace(257, { 5, 0x1000, 02 | 0200000, 0644 }, 6, mem),
        R"(openat(5, "out.txt", O_RDWR|O_DIRECTORY) = 6)");
}

TEST(StraceFormat, OpenatErrors)
{
    FakeMemory mem;
    mem.map_string(0x1000, "/nonexistent");
    EXPECT_EQ(trace(257, { kAtFdCwd, 0x1000, 0 }, -2, mem),
        R"(openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory))");
    EXPECT_EQ(trace(257, { kAtFdCwd, 0xdead0000, 0 }, -14, mem),
        "openat(AT_FDCWD, 0xdead0000, O_RDONLY) = -1 EFAULT (Bad address)");
}

TEST(StraceFormat, UnknownFlagBitsInHex)
{
    FakeMemory mem;
    mem.map_string(0x1000, "f");
    EXPECT_EQ(trace(2, { 0x1000, 0x40000000 }, 3, mem), R"(open("f", O_RDONLY|0x40000000) = 3)");
    EXPECT_EQ(trace(10, { 0x7f0000000000, 4096, 0x11 }, 0, mem),
        "mprotect(0x7f0000000000, 4096, PROT_READ|0x10) = 0");
    EXPECT_EQ(trace(10, { 0x7f0000000000, 4096, 0 }, 0, mem), "mprotect(0x7f0000000000, 4096, PROT_NONE) = 0");
}

TEST(StraceFormat, ReadIsCompletedAfterTheReturn)
{
    FakeMemory mem;
    mem.map(0x2000, "root:x:0:0:root:/root:/bin/bash\n" + std::string(800, 'x'));
    u64 args[6] { 3, 0x2000, 832 };
    EXPECT_EQ(format_call(0, args, mem), "read(3, ");
    EXPECT_EQ(format_result(0, args, 832, mem), R"("root:x:0:0:root:/root:/bin/bash\n"..., 832) = 832)");
}

TEST(StraceFormat, ReadShortEmptyAndFailed)
{
    FakeMemory mem;
    mem.map(0x2000, "hello");
    EXPECT_EQ(trace(0, { 0, 0x2000, 4096 }, 5, mem), R"(read(0, "hello", 4096) = 5)");
    EXPECT_EQ(trace(0, { 0, 0x2000, 4096 }, 0, mem), R"(read(0, "", 4096) = 0)");
    EXPECT_EQ(trace(0, { 9, 0x2000, 4096 }, -9, mem), "read(9, 0x2000, 4096) = -1 EBADF (Bad file descriptor)");
    EXPECT_EQ(trace(0, { 0, 0x2000, 4096 }, -512, mem),
        "read(0, 0x2000, 4096) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
}

TEST(StraceFormat, ReadlinkShowsThePathBeforeTheOutput)
{
    FakeMemory mem;
    mem.map_string(0x1000, "/proc/self/exe");
    mem.map(0x2000, "/usr/bin/bash");
    EXPECT_EQ(trace(89, { 0x1000, 0x2000, 4096 }, 13, mem),
        R"(readlink("/proc/self/exe", "/usr/bin/bash", 4096) = 13)");
}

TEST(StraceFormat, Write)
{
    FakeMemory mem;
    mem.map(0x3000, "hello\n");
    EXPECT_EQ(trace(1, { 1, 0x3000, 6 }, 6, mem), R"(write(1, "hello\n", 6) = 6)");
    EXPECT_EQ(trace(1, { 1, 0x3000, 6 }, -32, mem), R"(write(1, "hello\n", 6) = -1 EPIPE (Broken pipe))");
    EXPECT_EQ(trace(1, { 1, 0xbad000, 6 }, -14, mem), "write(1, 0xbad000, 6) = -1 EFAULT (Bad address)");
}

TEST(StraceFormat, WriteEscapesLikeStrace)
{
    FakeMemory mem;
    mem.map(0x3000, std::string("a\0b\x01" "7\x1b[0m\"\\\t", 12));
    EXPECT_EQ(trace(1, { 2, 0x3000, 12 }, 12, mem), R"(write(2, "a\0b\0017\33[0m\"\\\t", 12) = 12)");
}

TEST(StraceFormat, LongBuffersAreCutAt32)
{
    FakeMemory mem;
    mem.map(0x3000, std::string(40, 'x'));
    EXPECT_EQ(trace(1, { 1, 0x3000, 40 }, 40, mem), "write(1, \"" + std::string(32, 'x') + "\"..., 40) = 40");
}

TEST(StraceFormat, Mmap)
{
    FakeMemory mem;
    EXPECT_EQ(trace(9, { 0, 8192, 0x3, 0x22, kMinusOne, 0 }, 0x7f1234560000, mem),
        "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1234560000");
    EXPECT_EQ(trace(9, { 0x7f1234568000, 1409024, 0x5, 0x812, 3, 0x28000 }, 0x7f1234568000, mem),
        "mmap(0x7f1234568000, 1409024, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, "
        "0x28000) = 0x7f1234568000");
    EXPECT_EQ(trace(9, { 0, 1ull << 46, 0x3, 0x22, kMinusOne, 0 }, -12, mem),
        "mmap(NULL, 70368744177664, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM "
        "(Cannot allocate memory)");
}

TEST(StraceFormat, SymbolicArguments)
{
    FakeMemory mem;
    mem.map_string(0x1000, "/etc/ld.so.preload");
    mem.map_string(0x1100, "");
    EXPECT_EQ(trace(14, { 0, 0x7ffc1000, 0x7ffc2000, 8 }, 0, mem),
        "rt_sigprocmask(SIG_BLOCK, 0x7ffc1000, 0x7ffc2000, 8) = 0");
    EXPECT_EQ(trace(228, { 1, 0x7ffc1000 }, 0, mem), "clock_gettime(CLOCK_MONOTONIC, 0x7ffc1000) = 0");
    EXPECT_EQ(trace(8, { 3, 0, 2 }, 1234, mem), "lseek(3, 0, SEEK_END) = 1234");
    EXPECT_EQ(trace(16, { 1, 0x5401, 0x7ffc1000 }, -25, mem),
        "ioctl(1, TCGETS, 0x7ffc1000) = -1 ENOTTY (Inappropriate ioctl for device)");
    EXPECT_EQ(trace(158, { 0x1002, 0x7f0000001740 }, 0, mem), "arch_prctl(ARCH_SET_FS, 0x7f0000001740) = 0");
    EXPECT_EQ(trace(21, { 0x1000, 4 }, -2, mem),
        R"(access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory))");
    EXPECT_EQ(trace(262, { 3, 0x1100, 0x7ffc1000, 0x1000 }, 0, mem),
        R"(newfstatat(3, "", 0x7ffc1000, AT_EMPTY_PATH) = 0)");
    EXPECT_EQ(trace(62, { 1234, 15 }, 0, mem), "kill(1234, SIGTERM) = 0");
    EXPECT_EQ(trace(62, { 1234, 34 }, 0, mem), "kill(1234, SIGRT_2) = 0");
}

TEST(StraceFormat, FcntlShowsTheArgumentItsCommandTakes)
{
    FakeMemory mem;
    EXPECT_EQ(trace(72, { 3, 3, 0 }, 0x8002, mem), "fcntl(3, F_GETFL) = 32770");
    EXPECT_EQ(trace(72, { 3, 4, 02 | 04000 }, 0, mem), "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
    EXPECT_EQ(trace(72, { 3, 1030, 10 }, 10, mem), "fcntl(3, F_DUPFD_CLOEXEC, 10) = 10");
}

TEST(StraceFormat, FutexShowsTheArgumentsItsOperationTakes)
{
    FakeMemory mem;
    EXPECT_EQ(trace(202, { 0x7f0000002000, 128, 2, 0 }, 0, mem),
        "futex(0x7f0000002000, FUTEX_WAIT_PRIVATE, 2, NULL) = 0");
    EXPECT_EQ(trace(202, { 0x7f0000002000, 129, 1 }, 1, mem),
        "futex(0x7f0000002000, FUTEX_WAKE_PRIVATE, 1) = 1");
    EXPECT_EQ(trace(202, { 0x7f0000002000, 9 | 128 | 256, 0, 0, 0, 0xffffffff }, -110, mem),
        "futex(0x7f0000002000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0xffffffff) = -1 "
        "ETIMEDOUT (Connection timed out)");
}

TEST(StraceFormat, CloneFlagsEndWithTheExitSignal)
{
    FakeMemory mem;
    EXPECT_EQ(trace(56, { 0x1200011, 0, 0, 0x7f0000000a10, 0 }, 4321, mem),
        "clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL, 0x7f0000000a10, 0) = 4321");
    EXPECT_EQ(trace(272, { 0x20000 }, 0, mem), "unshare(CLONE_NEWNS) = 0");
}

TEST(StraceFormat, ModeInOctal)
{
    FakeMemory mem;
    mem.map_string(0x1000, "d");
    EXPECT_EQ(trace(83, { 0x1000, 0755 }, 0, mem), R"(mkdir("d", 0755) = 0)");
    EXPECT_EQ(trace(133, { 0x1000, 020000 | 0620, 0x8803 }, 0, mem), R"(mknod("d", S_IFCHR|0620, 0x8803) = 0)");
    EXPECT_EQ(trace(95, { 0 }, 18, mem), "umask(000) = 18");
}

TEST(StraceFormat, Execve)
{
    FakeMemory mem;
    mem.map_string(0x1000, "/bin/ls");
    mem.map_string(0x1100, "ls");
    mem.map_string(0x1200, "-l");
    mem.map_string(0x1300, "PATH=/bin");
    mem.map_pointers(0x2000, { 0x1100, 0x1200, 0 });
    mem.map_pointers(0x2100, { 0x1300, 0 });
    EXPECT_EQ(trace(59, { 0x1000, 0x2000, 0x2100 }, 0, mem),
        R"(execve("/bin/ls", ["ls", "-l"], ["PATH=/bin"]) = 0)");
    EXPECT_EQ(trace(59, { 0x1000, 0xbad000, 0 }, -14, mem),
        R"(execve("/bin/ls", 0xbad000, NULL) = -1 EFAULT (Bad address))");
}

TEST(StraceFormat, UnknownNumbersShowRawArguments)
{
    FakeMemory mem;
    EXPECT_EQ(trace(400, { 1, 0x20 }, -38, mem),
        "syscall_0x190(0x1, 0x20, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)");
}

TEST(StraceFormat, EveryErrnoHasItsText)
{
    FakeMemory mem;
    const int errnos[] = {
#define UMK_ERRNO_VALUE(name, value) value,
        UMK_ERRNO_LIST(UMK_ERRNO_VALUE)
#undef UMK_ERRNO_VALUE
    };
    for (int error : errnos) {
        std::string line = trace(39, {}, -error, mem);
        EXPECT_TRUE(line.starts_with("getpid() = -1 E") || line.starts_with("getpid() = ? ERESTART")) << line;
        EXPECT_TRUE(line.ends_with(")")) << line;
        EXPECT_EQ(line.find("(errno"), std::string::npos) << line;
    }
    EXPECT_EQ(trace(39, {}, -41, mem), "getpid() = -1 (errno 41)");
    EXPECT_EQ(trace(39, {}, 77, mem), "getpid() = 77");
}

} // namespace
} // namespace umk::strace
