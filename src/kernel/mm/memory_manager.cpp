#include "kernel/mm/memory_manager.h"

#include "kernel/syscalls/signatures.h"
#include "platform/seccomp_trap/layout.h"

#include <fmt/format.h>

#include <cstring>

#include <elf.h>

#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace umk::kernel {

namespace {

constexpr u64 kTaskSize = UMK_GUEST_TASK_SIZE;
constexpr u64 kMmapMinAddr = 0x10000;
// A transparent huge page: the smallest mapping that gets them
// (docs/design.md, "Huge pages for large guest mappings").
constexpr u64 kHugePageSize = 2 << 20;
constexpr u64 kThpDisableExceptAdvised = 1 << 1; // PR_THP_DISABLE_EXCEPT_ADVISED (Linux 6.18)

bool overflows(u64 start, u64 length) { return length > kTaskSize || start > kTaskSize - length; }

// Larger outputs go at once: the copy through the slot pays off for small
// ones (docs/design.md, "Arguments through the slot").
constexpr usize kMaxOutputOnReturn = 1024;

// What call `nr` reads from guest memory (its strace signature's Path and
// InBuf arguments), for a patched site of it.
platform::CallInputs call_inputs(u64 nr)
{
    platform::CallInputs inputs;
    if (const strace::Signature* sig = strace::signature(nr)) {
        for (int i = 0; i < sig->arg_count && i < 6; i++) {
            if (sig->args[i] == strace::Arg::Path)
                inputs.strings |= static_cast<u8>(1 << i);
            else if (sig->args[i] == strace::Arg::InBuf && i < 5)
                inputs.buffers |= static_cast<u8>(1 << i);
        }
    }
    return inputs;
}

// The host's vdso image as mapped in the kernel process: the same bytes a
// stub has at its vdso base (one kernel, one image; only vvar differs).
// Its size from its own ELF headers: the section headers come last.
std::span<const u8> host_vdso()
{
    static const std::span<const u8> image = [] {
        auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(getauxval(AT_SYSINFO_EHDR));
        if (!ehdr)
            return std::span<const u8> {};
        u64 size = ehdr->e_shoff + u64 { ehdr->e_shnum } * ehdr->e_shentsize;
        auto* phdrs = reinterpret_cast<const Elf64_Phdr*>(reinterpret_cast<const u8*>(ehdr) + ehdr->e_phoff);
        for (int i = 0; i < ehdr->e_phnum; i++)
            if (phdrs[i].p_type == PT_LOAD)
                size = std::max(size, phdrs[i].p_offset + phdrs[i].p_filesz);
        return std::span(reinterpret_cast<const u8*>(ehdr), page_round_up(size));
    }();
    return image;
}

} // namespace

MemoryManager::MemoryManager(std::unique_ptr<platform::AddressSpace> as, u64 vdso_base)
    : m_as(std::move(as)), m_vdso_base(vdso_base)
{
}

void MemoryManager::split_locked(u64 at)
{
    auto it = m_vmas.upper_bound(at);
    if (it == m_vmas.begin())
        return;
    --it;
    Vma& v = it->second;
    if (v.start >= at || v.end <= at)
        return;
    Vma tail = v;
    tail.start = at;
    if (tail.file || tail.shared_anon)
        tail.offset += at - v.start;
    v.end = at;
    m_vmas.emplace(at, std::move(tail));
}

bool MemoryManager::range_free_locked(u64 start, u64 end)
{
    auto it = m_vmas.lower_bound(start);
    if (it != m_vmas.end() && it->second.start < end)
        return false;
    if (it != m_vmas.begin() && std::prev(it)->second.end > start)
        return false;
    return true;
}

bool MemoryManager::range_mapped_locked(u64 start, u64 end)
{
    auto it = m_vmas.upper_bound(start);
    if (it == m_vmas.begin())
        return false;
    --it;
    u64 covered = start;
    for (; it != m_vmas.end() && it->second.start <= covered && covered < end; ++it)
        covered = std::max(covered, it->second.end);
    return covered >= end;
}

KResult<void> MemoryManager::unmap_locked(u64 start, u64 end)
{
    split_locked(start);
    split_locked(end);
    auto it = m_vmas.lower_bound(start);
    while (it != m_vmas.end() && it->second.start < end)
        it = m_vmas.erase(it);
    return {};
}

KResult<u64> MemoryManager::find_free(u64 length, u64 align)
{
    u64 hi = m_mmap_base;
    auto it = m_vmas.lower_bound(hi);
    for (;;) {
        if (it == m_vmas.begin()) {
            if (hi < length + kMmapMinAddr)
                return err(Errno::NOMEM);
            return (hi - length) & ~(align - 1);
        }
        --it;
        const Vma& v = it->second;
        if (v.end <= hi && hi - v.end >= length) {
            u64 candidate = (hi - length) & ~(align - 1);
            if (candidate >= v.end)
                return candidate;
        }
        hi = std::min(hi, v.start);
    }
}

KResult<u64> MemoryManager::mmap(u64 addr, u64 length, int prot, int flags, RefPtr<File> file, u64 offset,
                                 std::string name)
{
    if (length == 0)
        return err(Errno::INVAL);
    if (length > kTaskSize)
        return err(Errno::NOMEM);
    length = page_round_up(length);
    std::lock_guard lock(m_lock);
    bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    if (fixed) {
        if (!page_aligned(addr))
            return err(Errno::INVAL);
        if (overflows(addr, length))
            return err(Errno::NOMEM);
        if ((flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED) && !range_free_locked(addr, addr + length))
            return err(Errno::EXIST);
    } else {
        // Without a hint, private anonymous memory in whole huge pages
        // starts on one, as on Linux 6.18.
        bool whole_huge_pages = !addr && !file && !(flags & MAP_SHARED) && length % kHugePageSize == 0;
        addr = page_round_down(addr);
        if (!addr || overflows(addr, length) || addr < kMmapMinAddr || !range_free_locked(addr, addr + length))
            addr = TRY(find_free(length, whole_huge_pages ? kHugePageSize : kPageSize));
    }
    // Not stacks (a thread's 8 MiB would take 2 MiB at its first touch;
    // Linux gives MAP_STACK VM_NOHUGEPAGE) nor reservations (MAP_NORESERVE:
    // address space for a heap to grow into, often touched sparsely).
    bool huge = !file && !(flags & (MAP_SHARED | MAP_STACK | MAP_GROWSDOWN | MAP_NORESERVE)) && length >= kHugePageSize;

    platform::MapRequest req;
    req.address = addr;
    req.length = length;
    req.prot = prot;
    req.flags = (flags & (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE));
    if ((flags & MAP_SHARED_VALIDATE) == MAP_SHARED_VALIDATE)
        req.flags = (req.flags & ~MAP_SHARED_VALIDATE) | MAP_SHARED;
    req.host_fd = file ? file->host_fd() : -1;
    req.offset = offset;
    // MAP_POPULATE after the advice, or it fills small pages.
    bool populate = huge && (req.flags & MAP_POPULATE);
    if (populate)
        req.flags &= ~MAP_POPULATE;
    replace_memory_locked(addr, addr + length);
    TRY(m_as->map(req));

    TRY(unmap_locked(addr, addr + length));
    Vma v;
    v.start = addr;
    v.end = addr + length;
    v.prot = prot;
    v.flags = flags & (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN);
    v.noexec = file && file->dentry() && (file->dentry()->mount_flags() & MS_NOEXEC);
    v.file = std::move(file);
    v.offset = offset;
    v.name = std::move(name);
    if (!v.file && (v.flags & MAP_SHARED)) {
        v.shared_anon = make_ref<SharedAnon>();
        v.offset = 0;
    }
    if (huge)
        advise_huge_pages_locked(v);
    if (populate) // as MAP_POPULATE, whatever it meets
        (void)m_as->advise(addr, length, (prot & PROT_WRITE) ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
    m_vmas.emplace(addr, std::move(v));
    return addr;
}

u64 MemoryManager::vdso_size() const { return host_vdso().size(); }

KResult<void> MemoryManager::force_read(u64 addr, std::span<u8> out)
{
    auto vdso = host_vdso();
    if (m_vdso_base && addr >= m_vdso_base && addr - m_vdso_base < vdso.size()) {
        u64 at = addr - m_vdso_base;
        if (out.size() > vdso.size() - at)
            return err(Errno::FAULT);
        std::memcpy(out.data(), vdso.data() + at, out.size());
        return {};
    }
    return copy_in(addr, out);
}

KResult<void> MemoryManager::force_write(u64 addr, std::span<const u8> data)
{
    if (overflows(addr, data.size()))
        return err(Errno::FAULT);
    std::lock_guard lock(m_lock);
    unpatch_locked(addr, addr + data.size(), true);
    return force_write_locked(addr, data);
}

KResult<void> MemoryManager::force_write_locked(u64 addr, std::span<const u8> data)
{
    auto written = m_as->force_write(addr, data);
    if (written || written.error() != Errno::PERM)
        return written;
    // The platform cannot write past page protections here: open each
    // page of a private mapping for the write, as the mapping allows.
    for (u64 page = page_round_down(addr); page < addr + data.size(); page += kPageSize) {
        auto it = m_vmas.upper_bound(page);
        if (it == m_vmas.begin() || std::prev(it)->second.end <= page || (std::prev(it)->second.flags & MAP_SHARED))
            return err(Errno::FAULT);
        int prot = std::prev(it)->second.prot;
        u64 from = std::max(addr, page), to = std::min(addr + data.size(), page + kPageSize);
        TRY(m_as->protect(page, kPageSize, prot | PROT_READ | PROT_WRITE));
        written = m_as->write(from, data.subspan(from - addr, to - from));
        (void)m_as->protect(page, kPageSize, prot);
        TRY(written);
    }
    return {};
}

KResult<void> MemoryManager::check_mapped(u64 addr)
{
    std::lock_guard lock(m_lock);
    auto it = m_vmas.upper_bound(addr);
    if (it == m_vmas.begin() || addr >= std::prev(it)->second.end)
        return err(Errno::FAULT);
    return {};
}

KResult<void> MemoryManager::check_user_word(u64 addr)
{
    if (addr & 3)
        return err(Errno::INVAL);
    std::lock_guard lock(m_lock);
    auto it = m_vmas.upper_bound(addr);
    if (it == m_vmas.begin())
        return err(Errno::FAULT);
    const Vma& v = std::prev(it)->second;
    if (addr + 4 > v.end || (v.prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
        return err(Errno::FAULT);
    return {};
}

FutexKey MemoryManager::futex_key(u64 addr, bool shared)
{
    if (shared) {
        std::lock_guard lock(m_lock);
        auto it = m_vmas.upper_bound(addr);
        if (it != m_vmas.begin()) {
            const Vma& v = std::prev(it)->second;
            if (addr < v.end && (v.flags & MAP_SHARED)) {
                u64 offset = v.offset + (addr - v.start);
                if (v.file)
                    return { &v.file->inode(), offset };
                if (v.shared_anon)
                    return { v.shared_anon.get(), offset };
            }
        }
    }
    return { this, addr };
}

KResult<void> MemoryManager::munmap(u64 addr, u64 length)
{
    if (!page_aligned(addr) || length == 0)
        return err(Errno::INVAL);
    length = page_round_up(length);
    if (overflows(addr, length))
        return err(Errno::INVAL);
    std::lock_guard lock(m_lock);
    replace_memory_locked(addr, addr + length);
    TRY(m_as->unmap(addr, length));
    return unmap_locked(addr, addr + length);
}

KResult<void> MemoryManager::mprotect(u64 addr, u64 length, int prot)
{
    if (!page_aligned(addr))
        return err(Errno::INVAL);
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP))
        return err(Errno::INVAL);
    if ((prot & PROT_GROWSDOWN) && (prot & PROT_GROWSUP))
        return err(Errno::INVAL);
    prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
    if (length == 0)
        return {};
    u64 end_len = page_round_up(length);
    if (end_len < length || overflows(addr, end_len))
        return err(Errno::NOMEM);
    u64 end = addr + end_len;
    std::lock_guard lock(m_lock);
    if (!range_mapped_locked(addr, end))
        return err(Errno::NOMEM);
    // A shared file mapping may become writable only if the file was
    // opened for writing. (A VMA covers addr: the range is mapped.)
    for (auto it = std::prev(m_vmas.upper_bound(addr)); it != m_vmas.end() && it->second.start < end; ++it) {
        const Vma& v = it->second;
        if ((prot & PROT_WRITE) && (v.flags & MAP_SHARED) && v.file && !v.file->writable())
            return err(Errno::ACCES);
        if ((prot & PROT_EXEC) && v.noexec)
            return err(Errno::ACCES);
    }
    // Patched code that may change, or stop being code, is put back.
    if ((prot & PROT_WRITE) || !(prot & PROT_EXEC))
        unpatch_locked(addr, end, true);
    TRY(m_as->protect(addr, end - addr, prot));
    split_locked(addr);
    split_locked(end);
    for (auto it = m_vmas.lower_bound(addr); it != m_vmas.end() && it->second.start < end; ++it)
        it->second.prot = prot;
    return {};
}

KResult<u64> MemoryManager::mremap(u64 old_addr, u64 old_length, u64 new_length, int flags, u64 new_addr)
{
    if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
        return err(Errno::INVAL);
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
        return err(Errno::INVAL);
    if (flags & MREMAP_DONTUNMAP)
        return err(Errno::INVAL); // not supported yet: Partial in the table
    if (!page_aligned(old_addr))
        return err(Errno::INVAL);
    old_length = page_round_up(old_length);
    u64 rounded = page_round_up(new_length);
    if (new_length == 0 || rounded < new_length)
        return err(Errno::INVAL);
    new_length = rounded;
    if (old_length == 0 || overflows(old_addr, old_length))
        return err(Errno::INVAL);

    std::lock_guard lock(m_lock);
    auto it = m_vmas.upper_bound(old_addr);
    if (it == m_vmas.begin())
        return err(Errno::FAULT);
    --it;
    if (it->second.end < old_addr + old_length || it->second.start > old_addr)
        return err(Errno::FAULT);
    Vma proto = it->second;
    if (proto.file)
        proto.offset += old_addr - proto.start;
    // A patched site's jump would move away from its return address.
    unpatch_locked(old_addr, old_addr + old_length, true);

    auto place = [&](u64 dest) -> KResult<u64> {
        replace_memory_locked(dest, dest + new_length);
        TRY(m_as->remap(old_addr, old_length, new_length, MREMAP_MAYMOVE | MREMAP_FIXED, dest));
        TRY(unmap_locked(old_addr, old_addr + old_length));
        TRY(unmap_locked(dest, dest + new_length));
        proto.start = dest;
        proto.end = dest + new_length;
        m_vmas.emplace(dest, proto);
        return dest;
    };

    if (flags & MREMAP_FIXED) {
        if (!page_aligned(new_addr) || overflows(new_addr, new_length))
            return err(Errno::INVAL);
        if (new_addr < old_addr + old_length && old_addr < new_addr + new_length)
            return err(Errno::INVAL);
        return place(new_addr);
    }
    if (new_length <= old_length) {
        if (new_length < old_length) {
            TRY(m_as->unmap(old_addr + new_length, old_length - new_length));
            TRY(unmap_locked(old_addr + new_length, old_addr + old_length));
        }
        return old_addr;
    }
    u64 grow_end = old_addr + new_length;
    if (!overflows(old_addr, new_length) && it->second.end == old_addr + old_length
        && range_free_locked(old_addr + old_length, grow_end)) {
        replace_memory_locked(old_addr + old_length, grow_end);
        TRY(m_as->remap(old_addr, old_length, new_length, 0, 0));
        split_locked(old_addr);
        auto grown = m_vmas.find(old_addr);
        grown->second.end = grow_end;
        return old_addr;
    }
    if (!(flags & MREMAP_MAYMOVE))
        return err(Errno::NOMEM);
    return place(TRY(find_free(new_length)));
}

KResult<void> MemoryManager::madvise(u64 addr, u64 length, int advice)
{
    if (!page_aligned(addr))
        return err(Errno::INVAL);
    u64 len = page_round_up(length);
    if (len < length || overflows(addr, len))
        return err(Errno::INVAL);
    switch (advice) {
    case MADV_NORMAL:
    case MADV_RANDOM:
    case MADV_SEQUENTIAL:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_FREE:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_DONTFORK:
    case MADV_DOFORK:
    case MADV_WIPEONFORK:
    case MADV_KEEPONFORK:
    case MADV_COLD:
    case MADV_PAGEOUT:
        break;
    default:
        return err(Errno::INVAL);
    }
    if (len == 0)
        return {};
    std::lock_guard lock(m_lock);
    if (!range_mapped_locked(addr, addr + len))
        return err(Errno::NOMEM);
    // Dropped pages of a private file mapping come back as the file has
    // them.
    if (advice == MADV_DONTNEED || advice == MADV_FREE)
        unpatch_locked(addr, addr + len, true);
    TRY(m_as->advise(addr, len, advice));
    if (advice == MADV_HUGEPAGE || advice == MADV_NOHUGEPAGE) {
        // The guest's own advice: ours no longer applies there.
        split_locked(addr);
        split_locked(addr + len);
        for (auto it = m_vmas.lower_bound(addr); it != m_vmas.end() && it->first < addr + len; ++it)
            it->second.huge_pages = Vma::HugePages::Guests;
    }
    if (advice == MADV_DONTFORK || advice == MADV_DOFORK || advice == MADV_WIPEONFORK || advice == MADV_KEEPONFORK) {
        // The host leaves these ranges out of a fork, or zeroes them in
        // the child; so does our copy (and no site there stays patched).
        if (advice == MADV_WIPEONFORK)
            unpatch_locked(addr, addr + len, true);
        split_locked(addr);
        split_locked(addr + len);
        for (auto it = m_vmas.lower_bound(addr); it != m_vmas.end() && it->first < addr + len; ++it) {
            if (advice == MADV_DONTFORK || advice == MADV_DOFORK)
                it->second.dontfork = advice == MADV_DONTFORK;
            else
                it->second.wipeonfork = advice == MADV_WIPEONFORK;
        }
    }
    return {};
}

KResult<RefPtr<MemoryManager>> MemoryManager::fork()
{
    std::lock_guard lock(m_lock);
    auto as = TRY(m_as->fork());
    auto copy = make_ref<MemoryManager>(std::move(as), m_vdso_base);
    for (auto& [start, vma] : m_vmas)
        if (!vma.dontfork)
            copy->m_vmas.emplace(start, vma);
    copy->m_brk_start = m_brk_start;
    copy->m_brk = m_brk;
    copy->m_mmap_base = m_mmap_base;
    copy->m_thp_disable = m_thp_disable.load(); // and the host's flag with the host process
    // The child has the patched pages but those it does not inherit.
    for (auto& [site, record] : m_patched_sites) {
        auto it = copy->m_vmas.upper_bound(site);
        if (it != copy->m_vmas.begin() && site < std::prev(it)->second.end && !std::prev(it)->second.wipeonfork)
            copy->m_patched_sites.emplace(site, record);
    }
    copy->m_patching_stopped = m_patching_stopped.load();
    return copy;
}

// ---- huge pages ----

void MemoryManager::advise_huge_pages_locked(Vma& v)
{
    v.huge_pages = Vma::HugePages::Ours;
    // A host without transparent huge pages says EINVAL: nothing lost.
    if (m_thp_disable == 0)
        (void)m_as->advise(v.start, v.end - v.start, MADV_HUGEPAGE);
}

KResult<void> MemoryManager::set_thp_disable(u64 disable, u64 flags)
{
    std::lock_guard lock(m_lock);
    TRY(m_as->set_thp_disable(disable, flags));
    m_thp_disable = disable ? 1 | static_cast<int>(flags & kThpDisableExceptAdvised) : 0;
    // Our advice is not the guest's: with PR_THP_DISABLE_EXCEPT_ADVISED
    // the host would count it as advised. Back once it is on again, also
    // for what was mapped meanwhile.
    for (auto& [start, v] : m_vmas) {
        if (v.huge_pages == Vma::HugePages::Ours)
            (void)m_as->advise(v.start, v.end - v.start, disable ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
    }
    return {};
}

// ---- syscall-site patching ----

namespace {

constexpr usize kSiteSize = 7;          // mov $nr,%eax (b8 imm32); syscall (0f 05)
constexpr u64 kTrapsBeforePatch = 32;   // a patch costs some 30 traps' worth of work
constexpr u64 kNeverPatch = 0xff;
// glibc's read: xor %eax,%eax; syscall; cmp $-4096,%rax. Its first 7
// bytes are patched; a thread may be at byte 0, 2 (the `syscall`) or 4
// (the `cmp`).
constexpr std::array<u8, 10> kReadSite { 0x31, 0xc0, 0x0f, 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff };
constexpr usize kReadSyscall = 2, kReadCompare = 4;
constexpr usize kLongestSite = kReadSite.size();

} // namespace

void MemoryManager::note_trapped_syscall(u64 rip, u64 nr)
{
    if (m_patching_stopped || rip < kSiteSize || rip > kTaskSize || nr > 0xffffffff)
        return;
    u64 site = rip - kSiteSize;
    auto& counter = m_trapped_sites[(site ^ (site >> 10)) % m_trapped_sites.size()];
    u64 seen = counter.load(std::memory_order_relaxed);
    u64 count = seen >> 8 == site ? seen & 0xff : 0;
    if (count == kNeverPatch)
        return;
    if (++count < kTrapsBeforePatch) {
        counter.store(site << 8 | count, std::memory_order_relaxed);
        return;
    }
    std::lock_guard lock(m_lock);
    if (m_patching_stopped)
        return;
    for (u64 at : { site, rip - kReadCompare }) {
        if (auto known = m_patched_sites.find(at); known != m_patched_sites.end() && known->second.patched)
            return; // a thread that had fetched the old bytes
    }
    counter.store(site << 8 | kNeverPatch, std::memory_order_relaxed); // unless patched below
    // Private, executable, read-only memory (code a guest can change only
    // through mprotect, which puts the site back first), and one mapping.
    // Not of a memfd or a /dev/shm file: a JIT may write the code through
    // a shared view of the same file, which a private page that was never
    // written shows, and a patched (copied) page would not.
    auto patchable = [&](u64 start, u64 end) {
        auto it = m_vmas.upper_bound(start);
        if (it == m_vmas.begin())
            return false;
        const Vma& v = std::prev(it)->second;
        return end <= v.end && !(v.flags & MAP_SHARED)
               && (v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) == (PROT_READ | PROT_EXEC) && !v.wipeonfork
               && !(v.file && (v.name.starts_with("/memfd:") || v.name.starts_with("/dev/shm/")));
    };
    // The site ends at rip (mov) or goes on to rip + 6 (read's cmp).
    std::array<u8, kLongestSite> code {};
    bool read_site = false;
    u32 imm = 0;
    if (patchable(site, rip) && m_as->read(site, std::span(code).first(kSiteSize)))
        std::memcpy(&imm, &code[1], 4);
    if (code[0] != 0xb8 || imm != nr || code[5] != 0x0f || code[6] != 0x05) {
        site = rip - kReadCompare;
        if (nr != 0 || !patchable(site, site + kReadSite.size()) || !m_as->read(site, code) || code != kReadSite)
            return;
        read_site = true;
    }
    // The jump table goes where the guest has nothing (else no patching).
    auto table = m_as->patch_table();
    if (!table.mapped && !range_free_locked(table.start, table.end)) {
        m_patching_stopped = true;
        return;
    }
    // Never over another site's bytes (a guest can lay out overlapping
    // patterns); the same site again, once put back, may be.
    u64 end = site + (read_site ? kReadSite.size() : kSiteSize);
    for (auto near = m_patched_sites.lower_bound(site >= kLongestSite ? site - kLongestSite + 1 : 0);
         near != m_patched_sites.end() && near->first < end; ++near) {
        if (near->first != site && site < near->first + near->second.length())
            return;
    }
    std::array<u8, kSiteSize> original;
    std::copy_n(code.begin(), kSiteSize, original.begin());
    auto jump = m_as->patch_syscall_site(rip, static_cast<u32>(nr), call_inputs(nr), read_site);
    if (!jump)
        return;
    PatchedSite record { original, *jump, read_site, true };
    static_assert(PatchedSite { {}, {}, true }.length() == kReadSite.size() && PatchedSite {}.length() == kSiteSize);
    if (!write_site_locked(site, *jump, read_site)) {
        (void)write_site_locked(site, original, read_site);
        record.patched = false;
    }
    m_patched_sites[site] = record;
    counter.store(0, std::memory_order_relaxed); // counted afresh once put back
}

KResult<void> MemoryManager::write_site_locked(u64 site, const std::array<u8, 7>& to, bool read_site)
{
    // Threads may be where an instruction of the old or new bytes starts:
    // at the site, at its `syscall` (byte 5; a read site's byte 2) or at a
    // read site's `cmp` (byte 4). Each must meet an instruction of the old
    // bytes or of the new, or a fault (patched_site_fault). A mov site:
    // byte 5 faults (in the jump too), then byte 0 (a thread there
    // retries), then bytes 1-4 and 6, then byte 0. A read site: byte 0
    // faults first (else the jump's first bytes could be met with an
    // unfinished third: `ff 24 06` jumps through rsi + rax), then bytes 2
    // and 4, then bytes 1, 3, 5 and 6, then 2 and 4, then byte 0. The same
    // order patches and puts back.
    constexpr u8 kFault = UMK_PATCH_SITE_FAULT_BYTE;
    struct Step {
        usize offset, length;
        const u8* bytes;
    };
    const Step mov_steps[] = {
        { 5, 1, &kFault }, { 0, 1, &kFault }, { 1, 4, &to[1] }, { 6, 1, &to[6] }, { 0, 1, &to[0] }, { 5, 1, &to[5] },
    };
    const Step read_steps[] = {
        { 0, 1, &kFault }, { kReadSyscall, 1, &kFault }, { kReadCompare, 1, &kFault }, { 1, 1, &to[1] },
        { 3, 1, &to[3] }, { 5, 2, &to[5] }, { kReadSyscall, 1, &to[kReadSyscall] },
        { kReadCompare, 1, &to[kReadCompare] }, { 0, 1, &to[0] },
    };
    for (const Step& step : read_site ? std::span<const Step>(read_steps) : std::span<const Step>(mov_steps))
        TRY(force_write_locked(site + step.offset, std::span(step.bytes, step.length)));
    return {};
}

MemoryManager::PatchedFault MemoryManager::patched_site_fault(u64 rip)
{
    std::lock_guard lock(m_lock);
    // Where in which site the thread was: the rewrite it met is done
    // (under this lock), so the site holds its old bytes or the jump.
    enum class At { Start, Syscall, Compare };
    auto find = [&](u64 back, bool read_site) {
        auto it = rip >= back ? m_patched_sites.find(rip - back) : m_patched_sites.end();
        return it != m_patched_sites.end() && it->second.read_site == read_site ? it : m_patched_sites.end();
    };
    auto record = m_patched_sites.end();
    At at = At::Start;
    if (record = find(5, false); record != m_patched_sites.end())
        at = At::Syscall;
    else if (record = find(kReadSyscall, true); record != m_patched_sites.end())
        at = At::Syscall;
    else if (record = find(kReadCompare, true); record != m_patched_sites.end())
        at = At::Compare;
    else
        record = m_patched_sites.find(rip);
    if (record == m_patched_sites.end())
        return PatchedFault::None;
    const PatchedSite& known = record->second;
    std::array<u8, kSiteSize> now;
    if (!m_as->read(record->first, now))
        return PatchedFault::None;
    if (known.patched && now == known.jump)
        return at == At::Syscall ? PatchedFault::Syscall
               : at == At::Compare ? PatchedFault::Compare
                                   : PatchedFault::Retry;
    // Put back since: run the old bytes again. Other bytes there are the
    // guest's own: its fault.
    return now == known.original ? PatchedFault::Retry : PatchedFault::None;
}

void MemoryManager::unpatch_locked(u64 start, u64 end, bool restore)
{
    if (m_patched_sites.empty())
        return;
    auto it = m_patched_sites.lower_bound(start >= kLongestSite ? start - kLongestSite + 1 : 0);
    while (it != m_patched_sites.end() && it->first < end) {
        PatchedSite& s = it->second;
        if (it->first + s.length() <= start) {
            ++it;
            continue;
        }
        if (!restore) {
            // The memory is replaced (still mapped as it was, here). Bytes
            // of the jump outside it stay the program's: put them back
            // first (a site across a page boundary, or a read site's `cmp`
            // tail, never written, alone in the range).
            if (s.patched && (it->first < start || it->first + kSiteSize > end))
                (void)write_site_locked(it->first, s.original, s.read_site);
            it = m_patched_sites.erase(it);
            continue;
        }
        if (s.patched)
            (void)write_site_locked(it->first, s.original, s.read_site);
        s.patched = false;
        ++it;
    }
}

void MemoryManager::stop_patching_locked()
{
    m_patching_stopped = true;
    unpatch_locked(0, kTaskSize, true);
}

void MemoryManager::stop_syscall_patching()
{
    std::lock_guard lock(m_lock);
    stop_patching_locked();
}

void MemoryManager::replace_memory_locked(u64 start, u64 end)
{
    auto table = m_as->patch_table();
    if (table.mapped && start < table.end && table.start < end && !m_patching_stopped)
        stop_patching_locked();
    unpatch_locked(start, end, false);
}

KResult<void> MemoryManager::msync(u64 addr, u64 length, int flags)
{
    if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC))
        return err(Errno::INVAL);
    if ((flags & MS_ASYNC) && (flags & MS_SYNC))
        return err(Errno::INVAL);
    if (!page_aligned(addr))
        return err(Errno::INVAL);
    u64 len = page_round_up(length);
    if (len < length || overflows(addr, len))
        return err(Errno::NOMEM);
    if (len == 0)
        return {};
    std::lock_guard lock(m_lock);
    if (!range_mapped_locked(addr, addr + len))
        return err(Errno::NOMEM);
    return {};
}

void MemoryManager::set_brk_start(u64 start)
{
    std::lock_guard lock(m_lock);
    m_brk_start = m_brk = start;
}

u64 MemoryManager::brk(u64 new_brk)
{
    std::unique_lock lock(m_lock);
    if (new_brk < m_brk_start)
        return m_brk;
    u64 old_top = page_round_up(m_brk);
    u64 new_top = page_round_up(new_brk);
    if (new_top > old_top) {
        if (overflows(old_top, new_top - old_top) || !range_free_locked(old_top, new_top))
            return m_brk;
        replace_memory_locked(old_top, new_top);
        platform::MapRequest req { old_top, new_top - old_top, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
        if (!m_as->map(req))
            return m_brk;
        Vma v;
        v.start = old_top;
        v.end = new_top;
        v.prot = PROT_READ | PROT_WRITE;
        v.flags = MAP_PRIVATE | MAP_ANONYMOUS;
        v.name = "[heap]";
        // Huge pages from 2 MiB: the heap's own pieces below then too (not
        // what the guest advised itself, nor what it mapped over them),
        // so that the new piece joins them in one host mapping.
        u64 heap = page_round_up(m_brk_start);
        if (new_top - heap >= kHugePageSize) {
            for (auto it = m_vmas.lower_bound(heap); it != m_vmas.end() && it->first < old_top; ++it) {
                if (it->second.name == "[heap]" && it->second.huge_pages == Vma::HugePages::Unadvised)
                    advise_huge_pages_locked(it->second);
            }
            advise_huge_pages_locked(v);
        }
        // Merge with the heap below so maps shows one [heap].
        auto below = m_vmas.upper_bound(old_top);
        if (below != m_vmas.begin() && std::prev(below)->second.end == old_top && std::prev(below)->second.name == "[heap]"
            && std::prev(below)->second.huge_pages == v.huge_pages)
            std::prev(below)->second.end = new_top;
        else
            m_vmas.emplace(old_top, v);
    } else if (new_top < old_top) {
        replace_memory_locked(new_top, old_top);
        if (!m_as->unmap(new_top, old_top - new_top))
            return m_brk;
        (void)unmap_locked(new_top, old_top);
    }
    m_brk = new_brk;
    return m_brk;
}

KResult<void> MemoryManager::copy_out(u64 addr, std::span<const u8> data)
{
    if (data.size() <= kMaxOutputOnReturn && platform::CallerScope::outputs_last() && !overflows(addr, data.size())
        && writable_anonymous(addr, addr + data.size()))
        return m_as->write_on_return(addr, data);
    return m_as->write(addr, data);
}

bool MemoryManager::writable_anonymous(u64 start, u64 end)
{
    std::lock_guard lock(m_lock);
    auto it = m_vmas.upper_bound(start);
    if (it == m_vmas.begin())
        return false;
    for (--it; it != m_vmas.end() && it->second.start < end; ++it) {
        const Vma& v = it->second;
        if (v.start > start || v.end <= start || v.file || !(v.prot & PROT_WRITE))
            return false;
        start = v.end;
        if (start >= end)
            return true;
    }
    return false;
}

u64 MemoryManager::total_vm()
{
    std::lock_guard lock(m_lock);
    u64 total = 0;
    for (auto& [start, v] : m_vmas)
        total += v.end - v.start;
    return total;
}

namespace {

// One line of /proc/PID/maps (show_map_vma): the name from column 73.
std::string maps_line(u64 start, u64 end, int prot, bool shared, u64 offset, u64 dev, u64 ino, const std::string& name)
{
    std::string l = fmt::format("{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ", start, end, prot & PROT_READ ? 'r' : '-',
                                prot & PROT_WRITE ? 'w' : '-', prot & PROT_EXEC ? 'x' : '-', shared ? 's' : 'p', offset,
                                major(dev), minor(dev), ino);
    if (!name.empty()) {
        if (l.size() < 73)
            l.append(73 - l.size(), ' ');
        l += name;
    }
    return l + '\n';
}

} // namespace

std::string MemoryManager::smaps_rollup_text()
{
    u64 start = 0, end = 0;
    {
        std::lock_guard lock(m_lock);
        if (!m_vmas.empty()) {
            start = m_vmas.begin()->second.start;
            end = std::prev(m_vmas.end())->second.end;
        }
    }
    // The figures are the host process's (the stub's own few pages too).
    auto body = m_as->memory_rollup();
    return maps_line(start, end, 0, false, 0, 0, 0, "[rollup]") + body.value_or("");
}

std::string MemoryManager::maps_text()
{
    std::lock_guard lock(m_lock);
    std::string out;
    auto line = [&](u64 start, u64 end, int prot, bool shared, u64 offset, u64 dev, u64 ino, const std::string& name) {
        out += maps_line(start, end, prot, shared, offset, dev, ino, name);
    };
    for (auto& [start, v] : m_vmas) {
        u64 dev = 0, ino = 0;
        if (v.file) {
            if (auto a = v.file->inode().attr()) {
                dev = a->dev;
                ino = a->ino;
            }
        }
        line(v.start, v.end, v.prot, v.flags & MAP_SHARED, v.file ? v.offset : 0, dev, ino, v.name);
    }
    if (m_vdso_base)
        line(m_vdso_base, m_vdso_base + host_vdso().size(), PROT_READ | PROT_EXEC, false, 0, 0, 0, "[vdso]");
    line(0xffffffffff600000ULL, 0xffffffffff601000ULL, PROT_EXEC, false, 0, 0, 0, "[vsyscall]");
    return out;
}

} // namespace umk::kernel
