#include "kernel/exec/exec.h"

#include "kernel/abi/auxv.h"
#include "kernel/exec/elf.h"
#include "kernel/exec/initial_stack.h"
#include "kernel/kernel.h"
#include "kernel/vfs/path.h"
#include "platform/seccomp_trap/layout.h"

#include <fcntl.h>
#include <sys/personality.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>

#include <cstring>
#include <sys/stat.h>

namespace umk::kernel {

namespace {

constexpr int kMaxInterpreterDepth = 4; // BINPRM_MAX_RECURSION
constexpr u64 kTaskSize = UMK_GUEST_TASK_SIZE;
// ELF_ET_DYN_BASE: 2/3 of Linux's 47-bit address space, as on Linux (below
// our smaller TASK_SIZE too), so that a PIE loads where it loads natively
// under ADDR_NO_RANDOMIZE (gdb, setarch -R) and debug output compares.
constexpr u64 kEtDynBase = page_round_down(0x7ffffffff000ULL / 3 * 2);
static_assert(kEtDynBase < kTaskSize / 4 * 3);
constexpr u64 kStackGap = 128ULL << 20;

u64 random_u64()
{
    u64 v = 0;
    while (getrandom(&v, sizeof v, 0) != sizeof v) {
    }
    return v;
}

// `bits` bits of page-granular randomness, as Linux's mmap_rnd_bits.
u64 random_bits(int bits) { return (random_u64() & ((1ULL << bits) - 1)) * kPageSize; }

int prot_of(u32 elf_prot)
{
    return (elf_prot & exec::kProtRead ? PROT_READ : 0) | (elf_prot & exec::kProtWrite ? PROT_WRITE : 0)
        | (elf_prot & exec::kProtExec ? PROT_EXEC : 0);
}

// A file exec reads: writers are held off meanwhile (ETXTBSY where one
// has it open), and the executable's denial goes to the process.
struct Opened {
    RefPtr<Dentry> dentry;
    RefPtr<File> file;
    u64 size;
    WriteDenial denial;
};

KResult<Opened> open_executable(Thread& t, RefPtr<Dentry> dentry)
{
    auto attr = TRY(check_executable(t, *dentry));
    auto denial = TRY(WriteDenial::take(dentry->inode()));
    auto file = TRY(dentry->inode().open(O_RDONLY));
    file->set_dentry(dentry);
    return Opened { dentry, file, static_cast<u64>(attr.size), std::move(denial) };
}

// An interpreter's path (a script's #!, an ELF's PT_INTERP), from the
// caller's working directory.
KResult<Opened> open_executable(Thread& t, const std::string& path)
{
    auto fs = t.process().fs();
    PathContext ctx { fs.root, fs.cwd, t.process().creds() };
    return open_executable(t, TRY(resolve_path(ctx, path, Follow::Yes)));
}

exec::ReadAt reader_for(File& file)
{
    return [&file](u64 offset, std::span<u8> out) -> KResult<usize> {
        usize done = 0;
        while (done < out.size()) {
            usize n = TRY(file.read(out.subspan(done), offset + done));
            if (n == 0)
                break;
            done += n;
        }
        return done;
    };
}

// Maps the PT_LOADs of `image` at `bias`; returns the end of the highest
// segment (for brk). The rest of the page of a writable segment's file
// part (where its bss starts) must be zeroed once the maps are made: its
// start goes into `bss_starts`.
KResult<u64> map_image(MemoryManager& mm, const exec::ElfImage& image, RefPtr<File> file, u64 bias,
                       const std::string& name, std::vector<u64>& bss_starts)
{
    if (image.is_dyn) {
        // Reserve the whole span first so the holes between segments stay
        // ours, as Linux's total_mapping_size does.
        TRY(mm.mmap(bias + image.min_vaddr, image.max_vaddr - image.min_vaddr, PROT_NONE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, nullptr, 0));
    }
    u64 highest = 0;
    for (auto& seg : image.segments) {
        int prot = prot_of(seg.prot);
        u64 start = page_round_down(bias + seg.vaddr);
        u64 file_end = bias + seg.vaddr + seg.filesz;
        u64 mem_end = bias + seg.vaddr + seg.memsz;
        if (seg.filesz > 0) {
            u64 len = page_round_up(file_end) - start;
            TRY(mm.mmap(start, len, prot, MAP_PRIVATE | MAP_FIXED, file, page_round_down(seg.offset), name));
        }
        if (seg.memsz > seg.filesz) {
            // The rest of the last file page is zeroed later; anonymous
            // pages for the remainder.
            if (seg.filesz > 0 && !page_aligned(file_end) && (prot & PROT_WRITE))
                bss_starts.push_back(file_end);
            u64 anon_start = seg.filesz > 0 ? page_round_up(file_end) : start;
            if (page_round_up(mem_end) > anon_start)
                TRY(mm.mmap(anon_start, page_round_up(mem_end) - anon_start, prot,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, nullptr, 0));
        }
        highest = std::max(highest, mem_end);
    }
    return highest;
}

std::string basename_of(const std::string& path)
{
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The name Linux's dentry of the file has (for comm): a detached one
// (a memfd) carries what /proc shows for it, "/memfd:NAME (deleted)".
std::string dentry_name(const Dentry& d)
{
    std::string name = basename_of(d.name());
    constexpr std::string_view kDeleted = " (deleted)";
    if (d.detached() && name.ends_with(kDeleted))
        name.resize(name.size() - kDeleted.size());
    return name;
}

} // namespace

KResult<InodeAttr> check_executable(Thread& t, Dentry& dentry)
{
    auto attr = TRY(dentry.inode().attr());
    if (!S_ISREG(attr.mode) || (dentry.mount_flags() & MS_NOEXEC))
        return err(Errno::ACCES);
    TRY(check_access(attr, t.process().creds(), kMayExec));
    return attr;
}

KResult<void> do_execve(Thread& t, ExecFile file, std::vector<std::string> argv, std::vector<std::string> envp)
{
    Kernel& kernel = t.kernel();
    const std::string execfn = file.filename;
    std::string path = file.filename;
    Opened exe = TRY(open_executable(t, file.dentry));
    for (int depth = 0;; depth++) {
        if (depth > 0)
            exe = TRY(open_executable(t, path));
        std::array<u8, exec::kBinprmBufSize> head {};
        usize n = TRY(reader_for(*exe.file)(0, head));
        auto shebang = TRY(exec::parse_shebang(std::span(head.data(), n)));
        if (!shebang)
            break;
        if (depth >= kMaxInterpreterDepth)
            return err(Errno::LOOP);
        // Linux's BINPRM_FLAGS_PATH_INACCESSIBLE: the interpreter could
        // not open the script.
        if (depth == 0 && file.filename_inaccessible)
            return err(Errno::NOENT);
        // argv becomes: interpreter [argument] path argv[1..]
        std::vector<std::string> new_argv { shebang->interpreter };
        if (shebang->argument)
            new_argv.push_back(*shebang->argument);
        new_argv.push_back(path);
        for (usize i = 1; i < argv.size(); i++)
            new_argv.push_back(std::move(argv[i]));
        argv = std::move(new_argv);
        path = shebang->interpreter;
    }

    auto image = TRY(exec::parse_elf(exe.size, reader_for(*exe.file), exec::ElfRole::Executable));
    std::optional<Opened> interp;
    std::optional<exec::ElfImage> interp_image;
    if (image.interp) {
        auto opened = open_executable(t, *image.interp);
        if (!opened)
            return err(opened.error() == Errno::ACCES ? Errno::ACCES : opened.error());
        interp = std::move(*opened);
        interp_image = TRY(exec::parse_elf(interp->size, reader_for(*interp->file), exec::ElfRole::Interpreter));
    }

    // A fresh address space: errors from here on still leave the old image.
    auto as = TRY(kernel.platform().create_address_space());
    u64 vdso = as->vdso_base();
    auto mm = make_ref<MemoryManager>(std::move(as), vdso);
    // PR_SET_THP_DISABLE holds across execve (the first process has no
    // address space before it).
    if (auto old = t.process().mm_ref(); old && old->thp_disable())
        TRY(mm->set_thp_disable(1, static_cast<u64>(old->thp_disable() & ~1)));
    // Nobody else uses the new address space yet: its maps go in batches.
    TRY(mm->address_space().defer_maps(true));

    auto stack_limit = t.process().rlimit(RLIMIT_STACK);
    u64 stack_size = std::clamp<u64>(stack_limit.cur, 128 * 1024, 1ULL << 30);
    // personality(ADDR_NO_RANDOMIZE): the layout without random offsets.
    bool randomize = !(t.process().personality.load() & ADDR_NO_RANDOMIZE);
    auto random_pages = [&](int bits) { return randomize ? random_bits(bits) : u64 { 0 }; };
    u64 stack_top = page_round_down(kTaskSize - random_pages(22));
    mm->set_mmap_base(page_round_down(stack_top - std::max(stack_size, kStackGap) - random_pages(28)));

    u64 bias = image.is_dyn ? ((kEtDynBase + random_pages(28)) & ~(image.max_align - 1)) - image.min_vaddr : 0;
    std::vector<u64> bss_starts;
    u64 exe_end = TRY(map_image(*mm, image, exe.file, bias, exe.dentry->path(), bss_starts));
    u64 entry = bias + image.entry;
    u64 interp_bias = 0;
    if (interp) {
        u64 span = interp_image->max_vaddr - interp_image->min_vaddr;
        interp_bias = TRY(mm->find_free(span, interp_image->max_align)) - interp_image->min_vaddr;
        TRY(map_image(*mm, *interp_image, interp->file, interp_bias, interp->dentry->path(), bss_starts));
        entry = interp_bias + interp_image->entry;
    }
    mm->set_brk_start(page_round_up(exe_end) + random_pages(13));

    TRY(mm->mmap(stack_top - stack_size, stack_size, PROT_READ | PROT_WRITE | (image.exec_stack ? PROT_EXEC : 0),
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE | MAP_GROWSDOWN, nullptr, 0, "[stack]"));

    // The new credentials: set-user-ID and set-group-ID programs, and the
    // capability sets (Credentials::for_exec). Linux's LSM_UNSAFE_PTRACE: a tracer without CAP_SYS_PTRACE over the
    // new ids would keep control of them: nothing is gained then.
    bool untrusted_tracer = false;
    if (auto link = t.ptrace_link()) {
        std::lock_guard tree(t.kernel().tree_lock());
        untrusted_tracer = link->tracer && !link->tracer->creds().has(kCapSysPtrace);
    }
    auto exe_attr = TRY(exe.dentry->inode().attr());
    if (exe.dentry->mount_flags() & MS_NOSUID)
        exe_attr.mode &= ~(S_ISUID | S_ISGID); // Linux's mnt_may_suid
    bool secure = false;
    auto creds = t.process().creds().for_exec(exe_attr.mode, exe_attr.uid, exe_attr.gid, t.no_new_privs,
                                              untrusted_tracer, secure);
    std::vector<exec::AuxEntry> aux;
    if (vdso)
        aux.push_back({ abi::kAtSysinfoEhdr, vdso });
    aux.push_back({ abi::kAtMinsigstksz, getauxval(AT_MINSIGSTKSZ) });
    aux.push_back({ abi::kAtHwcap, getauxval(AT_HWCAP) });
    aux.push_back({ abi::kAtPagesz, kPageSize });
    aux.push_back({ abi::kAtClktck, 100 });
    aux.push_back({ abi::kAtPhdr, bias + image.phdr_vaddr });
    aux.push_back({ abi::kAtPhent, image.phentsize });
    aux.push_back({ abi::kAtPhnum, image.phnum });
    aux.push_back({ abi::kAtBase, interp_bias });
    aux.push_back({ abi::kAtFlags, 0 });
    aux.push_back({ abi::kAtEntry, bias + image.entry });
    aux.push_back({ abi::kAtUid, creds.uid });
    aux.push_back({ abi::kAtEuid, creds.euid });
    aux.push_back({ abi::kAtGid, creds.gid });
    aux.push_back({ abi::kAtEgid, creds.egid });
    aux.push_back({ abi::kAtSecure, secure ? 1U : 0U });
    aux.push_back({ abi::kAtHwcap2, getauxval(AT_HWCAP2) });

    std::array<u8, 16> random {};
    for (usize i = 0; i < 16; i += 8) {
        u64 r = random_u64();
        std::memcpy(random.data() + i, &r, 8);
    }
    auto stack = TRY(exec::build_initial_stack(stack_top, argv, envp, aux, execfn, random, stack_limit.cur));
    TRY(mm->address_space().defer_maps(false));
    for (u64 start : bss_starts) {
        std::vector<u8> zeros(page_round_up(start) - start, 0);
        TRY(mm->copy_out(start, zeros));
    }
    TRY(mm->copy_out(stack.sp, stack.bytes));

    // The point of no return: the new image replaces the old one. Other
    // threads end first (Linux's de_thread); the caller takes the
    // leader's tid. Its own robust futexes and clear_child_tid are
    // handled as Linux's exec_mm_release.
    Process& process = t.process();
    if (!process.kill_other_threads(t))
        return err(Errno::AGAIN); // another thread's execve won, or the process is dying
    t.set_tid(process.pid());
    if (auto link = t.ptrace_link())
        link->tid = process.pid();
    t.mm_release();
    // An address space another process goes on using (CLONE_VM) keeps
    // running without our host thread.
    if (auto old_mm = process.mm_ref(); old_mm && !process.mm_borrowed) {
        if (kernel.mm_used_elsewhere(process, *old_mm)) {
            t.context().exit_thread();
            old_mm->address_space().release_thread(t.context());
        } else {
            process.retire_mm_usage();
        }
    }
    platform::Context& context = mm->address_space().main_context();
    process.set_mm(mm);
    process.mm_borrowed = false;
    t.set_context(context);
    t.borrowed_context = false;
    process.unshare_fds(); // Linux's unshare_files: a CLONE_FILES table stays with the others
    process.fds().close_on_exec();
    process.reset_sigactions_for_exec();
    process.set_exe(exe.dentry, std::move(exe.denial));
    process.set_comm(file.comm_from_dentry ? dentry_name(*file.dentry) : basename_of(execfn));
    // Linux's mm->saved_auxv, for /proc/PID/auxv: the pairs up to AT_NULL.
    process.saved_auxv.clear();
    for (u64 off = stack.auxv_addr - stack.sp; off + 16 <= stack.bytes.size(); off += 16) {
        process.saved_auxv.insert(process.saved_auxv.end(), stack.bytes.begin() + static_cast<std::ptrdiff_t>(off),
                                  stack.bytes.begin() + static_cast<std::ptrdiff_t>(off + 16));
        u64 type;
        std::memcpy(&type, stack.bytes.data() + off, 8);
        if (type == 0)
            break;
    }
    process.arg_start = stack.arg_start;
    process.arg_end = stack.arg_end;
    process.env_start = stack.env_start;
    process.env_end = stack.env_end;
    t.sigaltstack = abi::Stack { 0, 2 /* SS_DISABLE */, 0, 0 };
    t.clear_child_tid = 0;
    t.robust_list = 0;
    process.set_creds(creds);
    if (secure) {
        // A secure exec: no parent-death signal from the old ids, not
        // dumpable (ptrace, /proc/PID/mem only for root), no
        // personality flags that weaken the layout.
        process.pdeath_signal = 0;
        process.dumpable = false;
        process.personality = process.personality.load() & ~u32 { ADDR_NO_RANDOMIZE | 0x0400000 /* READ_IMPLIES_EXEC */ };
    } else {
        process.dumpable = true;
    }
    process.set_did_exec();
    process.timers.cancel_all(kernel, true); // POSIX timers; interval timers stay
    process.release_vfork(); // a vfork parent goes on

    platform::Registers& regs = t.regs();
    regs = platform::Registers {};
    regs[platform::Registers::RIP] = entry;
    regs[platform::Registers::RSP] = stack.sp;
    regs[platform::Registers::EFLAGS] = 0x202;
    regs[platform::Registers::CS] = 0x33; // __USER_CS, __USER_DS: what ptrace shows
    regs[platform::Registers::SS] = 0x2b;
    return {};
}

} // namespace umk::kernel
