#pragma once

// The guest's stdio: the user's terminal, pipe or file that umk itself was
// given. Reads and writes go to the host fd; stat shows what the host fd
// is; terminal ioctls pass an allowlist only (never TIOCSTI).

#include "host/fd.h"
#include "kernel/vfs/file.h"

namespace umk::kernel {

class ConsoleInode final : public Inode {
public:
    explicit ConsoleInode(host::Fd fd) : m_fd(std::move(fd)) {}
    KResult<InodeAttr> attr() override;
    KResult<RefPtr<File>> open(int flags) override;
    const void* fs_id() const override { return this; }
    int host_fd() const { return m_fd.get(); }

private:
    host::Fd m_fd;
};

class ConsoleFile final : public File {
public:
    ConsoleFile(RefPtr<Inode> inode, int flags) : File(std::move(inode), flags) {}
    KResult<usize> read(std::span<u8> out, u64 pos) override;
    KResult<usize> write(std::span<const u8> data, u64 pos) override;
    bool seekable() const override { return false; }
    KResult<u64> ioctl(Thread&, u64 request, u64 argument) override;
    u32 poll_events() override;
    bool polled_from_host() const override { return true; }
    bool pollable() const override { return true; }

private:
    int fd() const { return static_cast<ConsoleInode&>(inode()).host_fd(); }
};

} // namespace umk::kernel
