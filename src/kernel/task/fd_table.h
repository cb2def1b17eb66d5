#pragma once

// A process's file descriptor table (Linux's struct files_struct).

#include "kernel/vfs/file.h"

namespace umk::kernel {

class FdTable : public RefCounted {
public:
    ~FdTable() override;
    // The processes using it (CLONE_FILES shares it): the last one to
    // leave (exit, or exec unsharing it) closes every fd (Linux's
    // put_files_struct).
    void attach() { m_users++; }
    bool detach() { return --m_users == 0; }
    int users() const { return m_users.load(); }

    struct Entry {
        RefPtr<File> file;
        bool cloexec { false };
    };

    KResult<RefPtr<File>> get(int fd);
    KResult<Entry> entry(int fd);
    // Lowest free fd >= min_fd, below `limit` (RLIMIT_NOFILE): EMFILE.
    KResult<int> allocate(RefPtr<File> file, bool cloexec, int min_fd, u64 limit);
    // dup2/dup3: replaces whatever `fd` held.
    KResult<void> install(int fd, RefPtr<File> file, bool cloexec, u64 limit);
    KResult<void> close(int fd);
    KResult<void> set_cloexec(int fd, bool cloexec);
    void close_on_exec();
    // The process ended (Linux's exit_files): every fd is closed.
    void close_all();
    std::vector<std::pair<int, Entry>> snapshot();
    // fork(2): a new table with the same open files.
    RefPtr<FdTable> clone();

private:
    std::mutex m_lock;
    std::vector<Entry> m_entries;
    std::atomic<int> m_users { 1 };
};

} // namespace umk::kernel
