// Memory syscalls. Linux: mm/mmap.c, mm/mprotect.c, mm/mremap.c, mm/madvise.c.
#include "kernel/syscalls/handlers.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>

namespace umk::kernel {

// RLIMIT_AS (Linux's may_expand_vm): growing past it is ENOMEM.
static bool within_as_limit(Thread& t, u64 growth)
{
    u64 limit = t.process().rlimit(RLIMIT_AS).cur;
    return limit == RLIM_INFINITY || t.mm().total_vm() + growth <= limit;
}

KResult<u64> sys_brk(Thread& t, u64 addr)
{
    u64 current = t.mm().brk(0);
    if (addr > current && !within_as_limit(t, addr - current))
        return current;
    return t.mm().brk(addr);
}

KResult<u64> sys_mmap(Thread& t, u64 addr, u64 length, int prot, int flags, int fd, u64 offset)
{
    if (!page_aligned(offset))
        return err(Errno::INVAL);
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x8 /* PROT_SEM */))
        return err(Errno::INVAL);
    int type = flags & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return err(Errno::INVAL);
    constexpr int kKnown = MAP_TYPE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_DENYWRITE | MAP_EXECUTABLE
        | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_FIXED_NOREPLACE | MAP_SYNC
        | MAP_HUGETLB | (0x3f << MAP_HUGE_SHIFT) | 0x4000000 /* MAP_UNINITIALIZED */;
    if (type == MAP_SHARED_VALIDATE && (flags & ~kKnown))
        return err(Errno::OPNOTSUPP);
    if (flags & MAP_HUGETLB) {
        t.kernel().log_once("mmap MAP_HUGETLB", "mmap: MAP_HUGETLB not supported: EINVAL");
        return err(Errno::INVAL);
    }
    if (length == 0)
        return err(Errno::INVAL);
    RefPtr<File> file;
    std::string name;
    if (!(flags & MAP_ANONYMOUS)) {
        file = TRY(get_file(t, fd));
        if (!file->readable())
            return err(Errno::ACCES);
        bool shared = type != MAP_PRIVATE;
        if (shared && (prot & PROT_WRITE) && (!file->writable() || (file->flags() & O_APPEND)))
            return err(Errno::ACCES);
        if (file->host_fd() < 0)
            return err(Errno::NODEV);
        if ((prot & PROT_EXEC) && file->dentry() && (file->dentry()->mount_flags() & MS_NOEXEC))
            return err(Errno::PERM);
        if (offset + page_round_up(length) < offset)
            return err(Errno::OVERFLOW);
        if (auto d = file->dentry())
            name = d->path();
    } else {
        offset = 0;
    }
    if (!within_as_limit(t, length))
        return err(Errno::NOMEM);
    return t.mm().mmap(addr, length, prot, flags, file, offset, name);
}

KResult<u64> sys_munmap(Thread& t, u64 addr, u64 length)
{
    TRY(t.mm().munmap(addr, length));
    return 0;
}

KResult<u64> sys_mprotect(Thread& t, u64 addr, u64 length, int prot)
{
    TRY(t.mm().mprotect(addr, length, prot));
    return 0;
}

KResult<u64> sys_mremap(Thread& t, u64 old_addr, u64 old_length, u64 new_length, int flags, u64 new_addr)
{
    if (new_length > old_length && !within_as_limit(t, new_length - old_length))
        return err(Errno::NOMEM);
    return t.mm().mremap(old_addr, old_length, new_length, flags, new_addr);
}

KResult<u64> sys_madvise(Thread& t, u64 addr, u64 length, int advice)
{
    TRY(t.mm().madvise(addr, length, advice));
    return 0;
}

} // namespace umk::kernel
