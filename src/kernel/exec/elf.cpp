#include "kernel/exec/elf.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace umk::exec {

namespace {

// ELF64 on-disk structures (include/uapi/linux/elf.h). x86-64 only, so the
// little-endian file layout is the host layout.
struct Elf64Ehdr {
    u8 e_ident[16];
    u16 e_type;
    u16 e_machine;
    u32 e_version;
    u64 e_entry;
    u64 e_phoff;
    u64 e_shoff;
    u32 e_flags;
    u16 e_ehsize;
    u16 e_phentsize;
    u16 e_phnum;
    u16 e_shentsize;
    u16 e_shnum;
    u16 e_shstrndx;
};
static_assert(sizeof(Elf64Ehdr) == 64);

struct Elf64Phdr {
    u32 p_type;
    u32 p_flags;
    u64 p_offset;
    u64 p_vaddr;
    u64 p_paddr;
    u64 p_filesz;
    u64 p_memsz;
    u64 p_align;
};
static_assert(sizeof(Elf64Phdr) == 56);

constexpr usize kEiClass = 4;
constexpr usize kEiData = 5;
constexpr u8 kElfClass64 = 2;
constexpr u8 kElfData2Lsb = 1;
constexpr u16 kEtExec = 2;
constexpr u16 kEtDyn = 3;
constexpr u16 kEmX86_64 = 62;

constexpr u32 kPtLoad = 1;
constexpr u32 kPtInterp = 3;
constexpr u32 kPtPhdr = 6;
constexpr u32 kPtGnuStack = 0x6474e551;

constexpr u32 kPfX = 0x1;
constexpr u32 kPfW = 0x2;
constexpr u32 kPfR = 0x4;

constexpr u64 kPathMax = 4096;
// load_elf_phdrs: the whole table must fit in ELF_MIN_ALIGN (and 64 KiB).
constexpr u64 kMaxPhdrTableSize = kPageSize;

// Reads exactly buf.size() bytes at offset; EIO if the file ends first, like
// Linux's elf_read().
KResult<void> read_exact(u64 file_size, const ReadAt& read_at, u64 offset, std::span<u8> buf)
{
    if (offset > file_size || buf.size() > file_size - offset)
        return err(Errno::IO);
    usize done = 0;
    while (done < buf.size()) {
        usize n = TRY(read_at(offset + done, buf.subspan(done)));
        if (n == 0)
            return err(Errno::IO);
        done += std::min(n, buf.size() - done);
    }
    return {};
}

u32 make_prot(u32 p_flags)
{
    u32 prot = 0;
    if (p_flags & kPfR)
        prot |= kProtRead;
    if (p_flags & kPfW)
        prot |= kProtWrite;
    if (p_flags & kPfX)
        prot |= kProtExec;
    return prot;
}

// PT_INTERP: load_elf_binary reads the path with kmalloc(p_filesz) + elf_read
// and insists on a NUL in the last byte; open_exec then uses it as a C string.
KResult<std::string> read_interp(u64 file_size, const ReadAt& read_at, const Elf64Phdr& phdr)
{
    if (phdr.p_filesz > kPathMax || phdr.p_filesz < 2)
        return err(Errno::NOEXEC);
    std::array<u8, kPathMax> buf;
    auto path = std::span(buf).first(phdr.p_filesz);
    TRY(read_exact(file_size, read_at, phdr.p_offset, path));
    if (path.back() != '\0')
        return err(Errno::NOEXEC);
    return std::string(reinterpret_cast<const char*>(path.data()));
}

} // namespace

KResult<ElfImage> parse_elf(u64 file_size, const ReadAt& read_at, ElfRole role)
{
    bool const as_interp = role == ElfRole::Interpreter;
    // Header defects: ENOEXEC lets execve try other formats; for the
    // interpreter, load_elf_binary answers ELIBBAD.
    Errno const bad_header = as_interp ? Errno::LIBBAD : Errno::NOEXEC;
    // Segment defects: load_elf_binary says EINVAL, load_elf_interp ENOMEM.
    Errno const bad_segment = as_interp ? Errno::NOMEM : Errno::INVAL;

    // The executable's header comes from bprm->buf, zero-padded when the file
    // is short; the interpreter's is read with elf_read (EIO when short).
    Elf64Ehdr ehdr {};
    auto ehdr_bytes = std::span(reinterpret_cast<u8*>(&ehdr), sizeof(ehdr));
    if (as_interp)
        TRY(read_exact(file_size, read_at, 0, ehdr_bytes));
    else
        TRY(read_exact(file_size, read_at, 0, ehdr_bytes.first(std::min<u64>(file_size, sizeof(ehdr)))));

    if (std::memcmp(ehdr.e_ident, "\x7f" "ELF", 4) != 0)
        return err(bad_header);
    // Linux's native loader only checks e_machine (32-bit files fail that or go
    // to compat_binfmt_elf); umk has no compat loader, so say it outright.
    if (ehdr.e_ident[kEiClass] != kElfClass64 || ehdr.e_ident[kEiData] != kElfData2Lsb)
        return err(bad_header);
    if (ehdr.e_type != kEtExec && ehdr.e_type != kEtDyn)
        return err(bad_header);
    if (ehdr.e_machine != kEmX86_64)
        return err(bad_header);

    // load_elf_phdrs: any failure there, including a short read, is the
    // header error.
    if (ehdr.e_phentsize != sizeof(Elf64Phdr))
        return err(bad_header);
    u64 const phdrs_size = u64 { ehdr.e_phnum } * sizeof(Elf64Phdr);
    if (phdrs_size == 0 || phdrs_size > kMaxPhdrTableSize)
        return err(bad_header);
    std::vector<Elf64Phdr> phdrs(ehdr.e_phnum);
    if (!read_exact(file_size, read_at, ehdr.e_phoff,
                    std::span(reinterpret_cast<u8*>(phdrs.data()), phdrs_size)))
        return err(bad_header);

    ElfImage image {};
    image.is_dyn = ehdr.e_type == kEtDyn;
    image.entry = ehdr.e_entry;
    image.phnum = ehdr.e_phnum;
    image.phentsize = ehdr.e_phentsize;

    // Only the first PT_INTERP counts (load_elf_binary breaks out of its loop);
    // an interpreter's own PT_INTERP is never looked at.
    if (!as_interp) {
        auto it = std::ranges::find(phdrs, kPtInterp, &Elf64Phdr::p_type);
        if (it != phdrs.end())
            image.interp = TRY(read_interp(file_size, read_at, *it));
    }

    // The last PT_GNU_STACK wins; none means a non-executable stack on x86-64.
    for (auto const& phdr : phdrs) {
        if (phdr.p_type == kPtGnuStack)
            image.exec_stack = (phdr.p_flags & kPfX) != 0;
    }

    bool phdr_in_load = false;
    u64 min_vaddr = ~u64 { 0 };
    u64 max_end = 0;
    u64 max_align = 0;
    for (auto const& phdr : phdrs) {
        if (phdr.p_type != kPtLoad)
            continue;
        // The checks load_elf_binary / load_elf_interp make per PT_LOAD
        // ("set_brk can never work. Avoid overflows."). For ET_DYN they apply
        // to biased addresses; unbiased, the segment must at least not wrap.
        if (phdr.p_filesz > phdr.p_memsz || phdr.p_memsz > kTaskSize)
            return err(bad_segment);
        if (phdr.p_vaddr > ~u64 { 0 } - kPageSize - phdr.p_memsz)
            return err(bad_segment);
        if (!image.is_dyn && (phdr.p_vaddr >= kTaskSize || kTaskSize - phdr.p_memsz < phdr.p_vaddr))
            return err(bad_segment);
        // elf_map() mmaps the file at p_offset - PAGEOFFSET(p_vaddr), which
        // mmap rejects (EINVAL) unless page-aligned and not wrapping.
        if (phdr.p_filesz > 0) {
            u64 const page_offset = phdr.p_vaddr & (kPageSize - 1);
            if ((phdr.p_offset & (kPageSize - 1)) != page_offset)
                return err(Errno::INVAL);
            u64 const map_offset = phdr.p_offset - page_offset;
            u64 const map_size = page_round_up(phdr.p_filesz + page_offset);
            if (map_offset + map_size < map_offset)
                return err(Errno::INVAL);
        }

        image.segments.push_back(LoadSegment {
            .vaddr = phdr.p_vaddr,
            .memsz = phdr.p_memsz,
            .filesz = phdr.p_filesz,
            .offset = phdr.p_offset,
            .prot = make_prot(phdr.p_flags),
        });

        // AT_PHDR: the segment whose file bytes hold the phdr table.
        if (phdr.p_offset <= ehdr.e_phoff && ehdr.e_phoff - phdr.p_offset < phdr.p_filesz) {
            image.phdr_vaddr = ehdr.e_phoff - phdr.p_offset + phdr.p_vaddr;
            phdr_in_load = true;
        }

        min_vaddr = std::min(min_vaddr, page_round_down(phdr.p_vaddr));
        max_end = std::max(max_end, phdr.p_vaddr + phdr.p_memsz);
        if (std::has_single_bit(phdr.p_align))
            max_align = std::max(max_align, phdr.p_align);
    }

    // total_mapping_size() == 0: Linux fails ET_DYN (and any interpreter) with
    // EINVAL; an ET_EXEC without PT_LOAD could only fault, so treat it alike.
    if (image.segments.empty())
        return err(Errno::INVAL);
    // The whole image must fit below TASK_SIZE wherever an ET_DYN is placed.
    if (max_end - min_vaddr > kTaskSize)
        return err(bad_segment);

    if (!phdr_in_load) {
        auto it = std::ranges::find(phdrs, kPtPhdr, &Elf64Phdr::p_type);
        if (it != phdrs.end())
            image.phdr_vaddr = it->p_vaddr;
    }

    // A fixed-address program entered directly (no interpreter) must enter
    // below TASK_SIZE (BAD_ADDR(elf_entry) -> EINVAL).
    if (!image.is_dyn && (as_interp || !image.interp) && image.entry >= kTaskSize)
        return err(Errno::INVAL);

    image.min_vaddr = min_vaddr;
    image.max_vaddr = page_round_up(max_end);
    image.max_align = std::max(kPageSize, page_round_up(max_align));
    return image;
}

namespace {

bool spacetab(char c) { return c == ' ' || c == '\t'; }

// [first, last] inclusive, as in binfmt_script.c.
char* next_non_spacetab(char* first, char* last)
{
    for (; first <= last; ++first) {
        if (!spacetab(*first))
            return first;
    }
    return nullptr;
}

char* next_terminator(char* first, char* last)
{
    for (; first <= last; ++first) {
        if (spacetab(*first) || *first == '\0')
            return first;
    }
    return nullptr;
}

} // namespace

// A line-for-line port of load_script's parsing (Linux >= 5.1), including
// its quirks: the search for '\n' stops at a NUL, and with no newline the
// last buffer byte is never part of the line.
KResult<std::optional<Shebang>> parse_shebang(std::span<const u8> first_bytes)
{
    std::array<char, kBinprmBufSize> buf {};
    auto const n = std::min(first_bytes.size(), buf.size());
    std::memcpy(buf.data(), first_bytes.data(), n);

    if (buf[0] != '#' || buf[1] != '!')
        return std::nullopt;

    char* const buf_end = buf.data() + buf.size() - 1;
    char* i_end = nullptr;
    for (char* c = buf.data(); c <= buf_end && *c != '\0'; ++c) {  // strnchr
        if (*c == '\n') {
            i_end = c;
            break;
        }
    }
    if (!i_end) {
        i_end = next_non_spacetab(buf.data() + 2, buf_end);
        if (!i_end)
            return err(Errno::NOEXEC);  // entire buffer is spaces/tabs
        // No space/tab/NUL after the name: it may be truncated.
        if (!next_terminator(i_end, buf_end))
            return err(Errno::NOEXEC);
        i_end = buf_end;
    }
    while (spacetab(i_end[-1]))
        --i_end;

    char* const i_name = next_non_spacetab(buf.data() + 2, i_end);
    if (!i_name || i_name == i_end)
        return err(Errno::NOEXEC);  // no interpreter name

    char* i_arg = nullptr;
    char* const i_sep = next_terminator(i_name, i_end);
    if (i_sep && *i_sep != '\0')
        i_arg = next_non_spacetab(i_sep, i_end);

    *i_end = '\0';
    Shebang result;
    if (i_arg) {
        *i_sep = '\0';
        result.argument = std::string(i_arg);
    }
    result.interpreter = std::string(i_name);
    return result;
}

} // namespace umk::exec
