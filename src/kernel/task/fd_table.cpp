#include "kernel/task/fd_table.h"

#include "kernel/vfs/locks.h"

namespace umk::kernel {

namespace {

// Files a table lets go of: once its lock is released, the table's POSIX
// locks on them go (Linux's filp_close, locks_remove_posix), then the
// references.
struct Dropped {
    const FdTable* table;
    std::vector<RefPtr<File>> files;
    ~Dropped()
    {
        for (auto& f : files)
            if (f)
                release_posix_locks(table, *f);
    }
};

} // namespace

KResult<RefPtr<File>> FdTable::get(int fd)
{
    return TRY(entry(fd)).file;
}

KResult<FdTable::Entry> FdTable::entry(int fd)
{
    std::lock_guard lock(m_lock);
    if (fd < 0 || static_cast<usize>(fd) >= m_entries.size() || !m_entries[fd].file)
        return err(Errno::BADF);
    return m_entries[fd];
}

KResult<int> FdTable::allocate(RefPtr<File> file, bool cloexec, int min_fd, u64 limit)
{
    std::lock_guard lock(m_lock);
    if (min_fd < 0 || static_cast<u64>(min_fd) >= limit)
        return err(Errno::INVAL);
    for (usize i = static_cast<usize>(min_fd); i < limit; i++) {
        if (i >= m_entries.size())
            m_entries.resize(i + 1);
        if (!m_entries[i].file) {
            m_entries[i] = Entry { std::move(file), cloexec };
            return static_cast<int>(i);
        }
    }
    return err(Errno::MFILE);
}

KResult<void> FdTable::install(int fd, RefPtr<File> file, bool cloexec, u64 limit)
{
    if (fd < 0 || static_cast<u64>(fd) >= limit)
        return err(Errno::BADF);
    Dropped old { this, {} };
    std::lock_guard lock(m_lock);
    if (static_cast<usize>(fd) >= m_entries.size())
        m_entries.resize(static_cast<usize>(fd) + 1);
    old.files.push_back(std::move(m_entries[fd].file));
    m_entries[fd] = Entry { std::move(file), cloexec };
    return {};
}

KResult<void> FdTable::close(int fd)
{
    Dropped old { this, {} };
    std::lock_guard lock(m_lock);
    if (fd < 0 || static_cast<usize>(fd) >= m_entries.size() || !m_entries[fd].file)
        return err(Errno::BADF);
    old.files.push_back(std::move(m_entries[fd].file));
    m_entries[fd].cloexec = false;
    return {};
}

KResult<void> FdTable::set_cloexec(int fd, bool cloexec)
{
    std::lock_guard lock(m_lock);
    if (fd < 0 || static_cast<usize>(fd) >= m_entries.size() || !m_entries[fd].file)
        return err(Errno::BADF);
    m_entries[fd].cloexec = cloexec;
    return {};
}

void FdTable::close_on_exec()
{
    Dropped closing { this, {} };
    std::lock_guard lock(m_lock);
    for (auto& e : m_entries) {
        if (e.file && e.cloexec) {
            closing.files.push_back(std::move(e.file));
            e.cloexec = false;
        }
    }
}

std::vector<std::pair<int, FdTable::Entry>> FdTable::snapshot()
{
    std::lock_guard lock(m_lock);
    std::vector<std::pair<int, Entry>> out;
    for (usize i = 0; i < m_entries.size(); i++)
        if (m_entries[i].file)
            out.emplace_back(static_cast<int>(i), m_entries[i]);
    return out;
}

FdTable::~FdTable() { close_all(); }

void FdTable::close_all()
{
    Dropped closed { this, {} };
    std::lock_guard lock(m_lock);
    for (auto& e : m_entries) // released after the lock
        closed.files.push_back(std::move(e.file));
    m_entries.clear();
}

RefPtr<FdTable> FdTable::clone()
{
    auto copy = make_ref<FdTable>();
    std::lock_guard lock(m_lock);
    copy->m_entries = m_entries;
    return copy;
}

} // namespace umk::kernel
