#pragma once

// A guest address space: the VMA bookkeeping (what /proc/PID/maps shows,
// what mmap/munmap/mprotect/mremap/brk check against) over the platform's
// host process, which it drives with stub ops. Linux: mm/mmap.c.
//
// Lock order: MemoryManager::m_lock, then the platform's op lock.

#include "kernel/vfs/file.h"
#include "platform/context.h"

#include <array>
#include <map>

namespace umk::kernel {

// The identity of a MAP_SHARED|MAP_ANONYMOUS mapping, kept across fork
// (shared futexes are keyed by it).
struct SharedAnon : RefCounted { };

// A futex's identity: (address space, address) for private futexes and
// private memory, (backing object, offset) for shared memory, so that
// processes sharing a mapping meet on one key. Linux: get_futex_key.
struct FutexKey {
    const void* object { nullptr };
    u64 offset { 0 };
    bool operator==(const FutexKey&) const = default;
};

struct Vma {
    u64 start { 0 };
    u64 end { 0 };
    int prot { 0 };
    int flags { 0 }; // MAP_SHARED / MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN
    RefPtr<File> file;
    u64 offset { 0 };
    std::string name; // "[heap]", "[stack]", or the file's path
    bool dontfork { false }; // MADV_DONTFORK
    bool wipeonfork { false }; // MADV_WIPEONFORK
    bool noexec { false };   // a file on a noexec mount when mapped: never PROT_EXEC (no VM_MAYEXEC)
    // Transparent huge pages: umk's own MADV_HUGEPAGE (docs/design.md,
    // "Huge pages for large guest mappings"), or the guest's own advice,
    // which takes over from ours.
    enum class HugePages : u8 { Unadvised, Ours, Guests } huge_pages { HugePages::Unadvised };
    RefPtr<SharedAnon> shared_anon; // MAP_SHARED|MAP_ANONYMOUS
};

class MemoryManager : public RefCounted {
public:
    explicit MemoryManager(std::unique_ptr<platform::AddressSpace> as, u64 vdso_base);

    platform::AddressSpace& address_space() { return *m_as; }
    u64 vdso_base() const { return m_vdso_base; }
    u64 vdso_size() const;

    // mmap(2) after the syscall layer checked the file's access mode.
    KResult<u64> mmap(u64 addr, u64 length, int prot, int flags, RefPtr<File> file, u64 offset,
                      std::string name = {});
    KResult<void> munmap(u64 addr, u64 length);
    KResult<void> mprotect(u64 addr, u64 length, int prot);
    KResult<u64> mremap(u64 old_addr, u64 old_length, u64 new_length, int flags, u64 new_addr);
    KResult<void> madvise(u64 addr, u64 length, int advice);
    // msync(2): validates; the pages are host pages of memfds or of
    // read-only host files, so there is nothing of umk's to write back.
    KResult<void> msync(u64 addr, u64 length, int flags);
    u64 brk(u64 new_brk);
    FutexKey futex_key(u64 addr, bool shared);
    // The 4-aligned word at `addr` is mapped readable and writable (EFAULT).
    KResult<void> check_user_word(u64 addr);
    // A mapping holds `addr` (EFAULT).
    KResult<void> check_mapped(u64 addr);
    // A debugger's write (ptrace, /proc/PID/mem; Linux's FOLL_FORCE): a
    // read-only private page (a breakpoint in text) is opened for it.
    KResult<void> force_write(u64 addr, std::span<const u8> data);
    // A debugger's read (ptrace, /proc/PID/mem): guest memory, and the
    // [vdso] that lies above the guest's range.
    KResult<void> force_read(u64 addr, std::span<u8> out);
    // Syscall-site patching (docs/design.md, "Syscall-site patching").
    // A syscall trapped at `rip` (after its instruction): the 32nd trap
    // of a `mov $nr,%eax; syscall`, or of read's `xor %eax,%eax; syscall;
    // cmp $-4096,%rax`, in private, executable, read-only memory patches
    // that site, so its later calls skip the trap.
    void note_trapped_syscall(u64 rip, u64 nr);
    // A SIGILL or SIGSEGV at `rip` where a patch put a faulting byte: a
    // thread that was at a patched site's `syscall` (Syscall: run the
    // call in rax, as if from rip + 2), at a read site's `cmp` (Compare:
    // compare rax with -4096 and go on at rip + 6), or that met bytes
    // that changed since (Retry).
    enum class PatchedFault { None, Syscall, Compare, Retry };
    PatchedFault patched_site_fault(u64 rip);
    // Every site back as it was, and no more patches (a debugger attached).
    void stop_syscall_patching();
    // MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED was called.
    std::atomic<bool> membarrier_registered { false };
    // prctl(PR_SET_THP_DISABLE) (docs/design.md, "Huge pages for large
    // guest mappings"): the host process's huge pages off, and no more of
    // our MADV_HUGEPAGE.
    KResult<void> set_thp_disable(u64 disable, u64 flags);
    // PR_GET_THP_DISABLE: 0, 1, or 3 (1 | PR_THP_DISABLE_EXCEPT_ADVISED).
    int thp_disable() const { return m_thp_disable.load(); }
    // fork(2): a copy-on-write copy in a new host process.
    KResult<RefPtr<MemoryManager>> fork();
    void set_brk_start(u64 start);

    // Top-down free range of `length` bytes below the mmap base.
    KResult<u64> find_free(u64 length, u64 align = kPageSize);
    u64 mmap_base() const { return m_mmap_base; }
    void set_mmap_base(u64 b) { m_mmap_base = b; }

    std::string maps_text();
    // /proc/PID/smaps_rollup.
    std::string smaps_rollup_text();
    u64 total_vm();

    // Guest memory (EFAULT on unmapped ranges).
    KResult<void> copy_in(u64 addr, std::span<u8> out) { return m_as->read(addr, out); }
    // Small outputs of a call that writes them last (CallerScope) into
    // writable anonymous memory may wait until the thread returns
    // (AddressSpace::write_on_return).
    KResult<void> copy_out(u64 addr, std::span<const u8> data);
    // A NUL-terminated string of at most `max` bytes (ENAMETOOLONG beyond).
    KResult<std::string> copy_in_string(u64 addr, usize max) { return m_as->read_string(addr, max); }

private:
    KResult<void> unmap_locked(u64 start, u64 end);
    void split_locked(u64 at);
    bool range_free_locked(u64 start, u64 end);
    bool range_mapped_locked(u64 start, u64 end);
    // [start, end) is mapped writable, anonymous, throughout.
    bool writable_anonymous(u64 start, u64 end);
    // Patched sites in [start, end): their bytes written back (restore),
    // or forgotten where the memory is replaced or dropped (before the
    // change; their bytes outside the range written back).
    void unpatch_locked(u64 start, u64 end, bool restore);
    // [start, end) gets new memory or none (map, unmap, brk): its sites
    // are forgotten, and over the platform's jump table patching ends
    // first.
    void replace_memory_locked(u64 start, u64 end);
    void stop_patching_locked();
    // Anonymous memory the guest maps in large pieces (a big malloc, a
    // heap grown past 2 MiB) gets the host's transparent huge pages: `v`
    // becomes ours and the host is told, unless the guest turned them off.
    void advise_huge_pages_locked(Vma& v);
    // The patch steps at `site`: each write one that leaves every byte
    // sequence a thread may be in the middle of valid.
    KResult<void> write_site_locked(u64 site, const std::array<u8, 7>& to, bool read_site);
    KResult<void> force_write_locked(u64 addr, std::span<const u8> data);

    std::unique_ptr<platform::AddressSpace> m_as;
    u64 m_vdso_base;
    std::mutex m_lock;
    std::map<u64, Vma> m_vmas; // by start
    u64 m_brk_start { 0 };
    u64 m_brk { 0 };
    std::atomic<int> m_thp_disable { 0 }; // PR_GET_THP_DISABLE's answer
    u64 m_mmap_base { 0 };
    struct PatchedSite {
        std::array<u8, 7> original, jump;
        bool read_site { false }; // xor %eax,%eax; syscall; cmp $-4096,%rax
        bool patched { false };   // false: written back (or the patch failed)
        // The bytes the site's pattern covers (the patch writes 7).
        constexpr usize length() const { return read_site ? 10 : 7; }
    };
    std::map<u64, PatchedSite> m_patched_sites; // by site address; at most UMK_MAX_SITES
    // Traps seen per site before a patch, without a lock: entry
    // hash(site) holds site << 8 | count (a site that shares an entry with
    // another starts over); kNeverPatch counts a site that cannot be.
    std::array<std::atomic<u64>, 1024> m_trapped_sites {};
    std::atomic<bool> m_patching_stopped { false };
};

} // namespace umk::kernel
