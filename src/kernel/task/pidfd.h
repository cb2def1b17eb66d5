#pragma once

// pidfds (pidfd_open(2), CLONE_PIDFD): a file that names a process. It
// polls readable once the process has ended. Linux: kernel/pid.c,
// kernel/fork.c (pidfd_fops).

#include "kernel/task/task.h"
#include "kernel/vfs/file.h"

namespace umk::kernel {

class PidfdInode final : public Inode {
public:
    explicit PidfdInode(RefPtr<Process> process) : m_process(std::move(process)) {}
    KResult<InodeAttr> attr() override;
    KResult<RefPtr<File>> open(int flags) override;
    const void* fs_id() const override { return &kAnonFs; }
    std::optional<std::string> anon_name() const override { return "pidfd"; }
    Process& process() { return *m_process; }
    RefPtr<Process> process_ref() { return m_process; }

private:
    static const int kAnonFs;
    RefPtr<Process> m_process;
};

class PidfdFile final : public File {
public:
    using File::File;
    KResult<usize> read(std::span<u8>, u64) override { return err(Errno::INVAL); }
    KResult<usize> write(std::span<const u8>, u64) override { return err(Errno::INVAL); }
    bool seekable() const override { return false; }
    u32 poll_events() override;
    bool pollable() const override { return true; }
    PidfdInode& pidfd() { return static_cast<PidfdInode&>(inode()); }
};

// A new pidfd open file for `process` (O_RDWR, plus O_NONBLOCK if asked).
RefPtr<File> make_pidfd(RefPtr<Process> process, int flags);

} // namespace umk::kernel
