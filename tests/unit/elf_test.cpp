// ELF and #! parsing: real binaries from the host, and hand-built headers for
// everything Linux rejects (fs/binfmt_elf.c, fs/binfmt_script.c).

#include "kernel/exec/elf.h"

#include <gtest/gtest.h>

#include <elf.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

namespace umk::exec {
namespace {

std::vector<u8> read_host_file(const char* path)
{
    std::ifstream in(path, std::ios::binary);
    return { std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>() };
}

ReadAt reader_for(const std::vector<u8>& file)
{
    return [&file](u64 offset, std::span<u8> out) -> KResult<usize> {
        if (offset >= file.size())
            return 0;
        usize n = std::min<u64>(out.size(), file.size() - offset);
        std::memcpy(out.data(), file.data() + offset, n);
        return n;
    };
}

KResult<ElfImage> parse(const std::vector<u8>& file, ElfRole role = ElfRole::Executable)
{
    return parse_elf(file.size(), reader_for(file), role);
}

// A minimal static ET_EXEC: header, phdrs right after it, one page of text.
struct ElfBuilder {
    Elf64_Ehdr ehdr {};
    std::vector<Elf64_Phdr> phdrs;
    std::vector<std::pair<u64, std::string>> blobs;  // bytes placed at an offset
    u64 size = 2 * kPageSize;

    ElfBuilder()
    {
        std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
        ehdr.e_ident[EI_CLASS] = ELFCLASS64;
        ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
        ehdr.e_ident[EI_VERSION] = EV_CURRENT;
        ehdr.e_type = ET_EXEC;
        ehdr.e_machine = EM_X86_64;
        ehdr.e_version = EV_CURRENT;
        ehdr.e_entry = 0x401000;
        ehdr.e_phoff = sizeof(Elf64_Ehdr);
        ehdr.e_ehsize = sizeof(Elf64_Ehdr);
        ehdr.e_phentsize = sizeof(Elf64_Phdr);
        // Headers + text, then data+bss.
        phdrs.push_back(load(0x400000, 0, kPageSize + 0x10, kPageSize + 0x10, PF_R | PF_X));
        phdrs.push_back(load(0x403000 + 0x10, kPageSize + 0x10, 0x100, 0x2000, PF_R | PF_W));
    }

    static Elf64_Phdr load(u64 vaddr, u64 offset, u64 filesz, u64 memsz, u32 flags)
    {
        Elf64_Phdr p {};
        p.p_type = PT_LOAD;
        p.p_flags = flags;
        p.p_offset = offset;
        p.p_vaddr = p.p_paddr = vaddr;
        p.p_filesz = filesz;
        p.p_memsz = memsz;
        p.p_align = kPageSize;
        return p;
    }

    void add_interp(std::string path_with_nul, u64 offset = 0x800)
    {
        Elf64_Phdr p {};
        p.p_type = PT_INTERP;
        p.p_flags = PF_R;
        p.p_offset = offset;
        p.p_vaddr = 0x400000 + offset;
        p.p_filesz = p.p_memsz = path_with_nul.size();
        phdrs.insert(phdrs.begin(), p);
        blobs.emplace_back(offset, std::move(path_with_nul));
    }

    void add_gnu_stack(u32 flags)
    {
        Elf64_Phdr p {};
        p.p_type = PT_GNU_STACK;
        p.p_flags = flags;
        phdrs.push_back(p);
    }

    std::vector<u8> build()
    {
        if (ehdr.e_phnum == 0)
            ehdr.e_phnum = phdrs.size();
        std::vector<u8> file(size, 0);
        std::memcpy(file.data(), &ehdr, sizeof(ehdr));
        usize phdr_bytes = phdrs.size() * sizeof(Elf64_Phdr);
        if (phdr_bytes && ehdr.e_phoff <= file.size() && phdr_bytes <= file.size() - ehdr.e_phoff)
            std::memcpy(file.data() + ehdr.e_phoff, phdrs.data(), phdr_bytes);
        for (auto const& [offset, bytes] : blobs)
            std::memcpy(file.data() + offset, bytes.data(), bytes.size());
        return file;
    }
};

TEST(ElfParse, HostTrueIsDynamicPie)
{
    auto file = read_host_file("/bin/true");
    ASSERT_GT(file.size(), sizeof(Elf64_Ehdr));
    auto image = parse(file);
    ASSERT_TRUE(image) << errno_name(image.error());

    Elf64_Ehdr ehdr;
    std::memcpy(&ehdr, file.data(), sizeof(ehdr));
    EXPECT_TRUE(image->is_dyn);
    EXPECT_EQ(image->entry, ehdr.e_entry);
    EXPECT_EQ(image->phnum, ehdr.e_phnum);
    EXPECT_EQ(image->phentsize, sizeof(Elf64_Phdr));
    ASSERT_TRUE(image->interp);
    EXPECT_EQ(*image->interp, "/lib64/ld-linux-x86-64.so.2");
    EXPECT_FALSE(image->exec_stack);
    ASSERT_GE(image->segments.size(), 2u);

    // Cross-check against the program headers and PT_PHDR.
    std::vector<Elf64_Phdr> phdrs(ehdr.e_phnum);
    std::memcpy(phdrs.data(), file.data() + ehdr.e_phoff, phdrs.size() * sizeof(Elf64_Phdr));
    usize load_index = 0;
    for (auto const& p : phdrs) {
        if (p.p_type == PT_PHDR) {
            EXPECT_EQ(image->phdr_vaddr, p.p_vaddr);
        }
        if (p.p_type != PT_LOAD)
            continue;
        ASSERT_LT(load_index, image->segments.size());
        auto const& seg = image->segments[load_index++];
        EXPECT_EQ(seg.vaddr, p.p_vaddr);
        EXPECT_EQ(seg.memsz, p.p_memsz);
        EXPECT_EQ(seg.filesz, p.p_filesz);
        EXPECT_EQ(seg.offset, p.p_offset);
        u32 prot = ((p.p_flags & PF_R) ? kProtRead : 0) | ((p.p_flags & PF_W) ? kProtWrite : 0)
            | ((p.p_flags & PF_X) ? kProtExec : 0);
        EXPECT_EQ(seg.prot, prot);
    }
    EXPECT_EQ(load_index, image->segments.size());
    EXPECT_EQ(image->min_vaddr, page_round_down(image->segments.front().vaddr));
    EXPECT_TRUE(page_aligned(image->max_vaddr));
    EXPECT_GT(image->max_vaddr, image->min_vaddr);
    EXPECT_GE(image->max_align, kPageSize);
}

TEST(ElfParse, HostDynamicLoader)
{
    auto file = read_host_file("/lib64/ld-linux-x86-64.so.2");
    ASSERT_GT(file.size(), sizeof(Elf64_Ehdr));
    for (auto role : { ElfRole::Executable, ElfRole::Interpreter }) {
        auto image = parse(file, role);
        ASSERT_TRUE(image) << errno_name(image.error());
        EXPECT_TRUE(image->is_dyn);
        EXPECT_FALSE(image->interp);
        EXPECT_EQ(image->min_vaddr, 0u);
        EXPECT_FALSE(image->segments.empty());
        // No PT_PHDR: AT_PHDR comes from the PT_LOAD holding e_phoff.
        EXPECT_EQ(image->phdr_vaddr, sizeof(Elf64_Ehdr));
    }
}

TEST(ElfParse, MinimalStaticExec)
{
    ElfBuilder b;
    b.add_gnu_stack(PF_R | PF_W);
    auto file = b.build();
    auto image = parse(file);
    ASSERT_TRUE(image) << errno_name(image.error());
    EXPECT_FALSE(image->is_dyn);
    EXPECT_EQ(image->entry, 0x401000u);
    EXPECT_FALSE(image->interp);
    EXPECT_FALSE(image->exec_stack);
    ASSERT_EQ(image->segments.size(), 2u);
    EXPECT_EQ(image->segments[0].prot, kProtRead | kProtExec);
    EXPECT_EQ(image->segments[1].prot, kProtRead | kProtWrite);
    EXPECT_EQ(image->segments[1].filesz, 0x100u);
    EXPECT_EQ(image->segments[1].memsz, 0x2000u);
    EXPECT_EQ(image->phdr_vaddr, 0x400000u + sizeof(Elf64_Ehdr));
    EXPECT_EQ(image->phnum, 3);
    EXPECT_EQ(image->min_vaddr, 0x400000u);
    EXPECT_EQ(image->max_vaddr, 0x406000u);  // 0x403010 + 0x2000 rounded up
}

TEST(ElfParse, GnuStack)
{
    ElfBuilder exec_stack;
    exec_stack.add_gnu_stack(PF_R | PF_W | PF_X);
    EXPECT_TRUE(parse(exec_stack.build())->exec_stack);

    // x86-64 since Linux 5.8: no PT_GNU_STACK means no executable stack.
    ElfBuilder none;
    EXPECT_FALSE(parse(none.build())->exec_stack);

    // The last one wins.
    ElfBuilder both;
    both.add_gnu_stack(PF_R | PF_W | PF_X);
    both.add_gnu_stack(PF_R | PF_W);
    EXPECT_FALSE(parse(both.build())->exec_stack);
}

TEST(ElfParse, PhdrFallsBackToPtPhdr)
{
    ElfBuilder b;
    b.ehdr.e_phoff = kPageSize + 0x200;  // past the first PT_LOAD's file bytes and the second's
    Elf64_Phdr phdr {};
    phdr.p_type = PT_PHDR;
    phdr.p_vaddr = 0x7777000;
    b.phdrs.push_back(phdr);
    auto image = parse(b.build());
    ASSERT_TRUE(image) << errno_name(image.error());
    EXPECT_EQ(image->phdr_vaddr, 0x7777000u);
}

TEST(ElfParse, Interp)
{
    ElfBuilder b;
    b.add_interp(std::string("/lib/ld.so\0", 11));
    auto image = parse(b.build());
    ASSERT_TRUE(image) << errno_name(image.error());
    ASSERT_TRUE(image->interp);
    EXPECT_EQ(*image->interp, "/lib/ld.so");

    // The interpreter's own PT_INTERP is never read.
    ElfBuilder as_interp;
    as_interp.add_interp("no terminator");
    image = parse(as_interp.build(), ElfRole::Interpreter);
    ASSERT_TRUE(image) << errno_name(image.error());
    EXPECT_FALSE(image->interp);
}

TEST(ElfParse, OnlyFirstInterpCounts)
{
    ElfBuilder b;
    b.add_interp("bogus, never read", 0x900);
    b.add_interp(std::string("/first\0", 7));
    auto image = parse(b.build());
    ASSERT_TRUE(image) << errno_name(image.error());
    EXPECT_EQ(*image->interp, "/first");
}

TEST(ElfParse, BadInterp)
{
    ElfBuilder no_nul;
    no_nul.add_interp("/lib/ld.so");
    EXPECT_EQ(parse(no_nul.build()).error(), Errno::NOEXEC);

    ElfBuilder too_short;
    too_short.add_interp(std::string("\0", 1));
    EXPECT_EQ(parse(too_short.build()).error(), Errno::NOEXEC);

    ElfBuilder too_long;
    too_long.add_interp(std::string(4097, '\0'), 0x1100);
    too_long.size = 3 * kPageSize;
    EXPECT_EQ(parse(too_long.build()).error(), Errno::NOEXEC);

    ElfBuilder past_eof;
    past_eof.add_interp(std::string("/x\0", 3));
    past_eof.phdrs[0].p_offset = 1 << 20;
    past_eof.blobs.clear();
    EXPECT_EQ(parse(past_eof.build()).error(), Errno::IO);
}

TEST(ElfParse, BadHeaders)
{
    auto expect_noexec = [](ElfBuilder b, const char* what) {
        auto file = b.build();
        auto image = parse(file);
        ASSERT_FALSE(image) << what;
        EXPECT_EQ(image.error(), Errno::NOEXEC) << what << ": " << errno_name(image.error());
        image = parse(file, ElfRole::Interpreter);
        ASSERT_FALSE(image) << what;
        EXPECT_EQ(image.error(), Errno::LIBBAD) << what << ": " << errno_name(image.error());
    };
    ElfBuilder b;
    b.ehdr.e_ident[0] = 0x7e;
    expect_noexec(b, "magic");
    b = {};
    b.ehdr.e_ident[EI_CLASS] = ELFCLASS32;
    expect_noexec(b, "class");
    b = {};
    b.ehdr.e_ident[EI_DATA] = ELFDATA2MSB;
    expect_noexec(b, "big endian");
    b = {};
    b.ehdr.e_machine = EM_386;
    expect_noexec(b, "machine");
    b = {};
    b.ehdr.e_type = ET_REL;
    expect_noexec(b, "ET_REL");
    b = {};
    b.ehdr.e_type = ET_CORE;
    expect_noexec(b, "ET_CORE");
    b = {};
    b.ehdr.e_phentsize = sizeof(Elf64_Phdr) + 8;
    expect_noexec(b, "phentsize");
    b = {};
    b.phdrs.clear();  // e_phnum == 0
    expect_noexec(b, "no phdrs");
    b = {};
    b.ehdr.e_phnum = 74;  // 74 * 56 > 4096 (load_elf_phdrs)
    b.size = 3 * kPageSize;
    expect_noexec(b, "huge phnum");
    b = {};
    b.ehdr.e_phnum = 0xffff;  // PN_XNUM
    expect_noexec(b, "PN_XNUM");
    b = {};
    b.ehdr.e_phoff = 2 * kPageSize - 60;  // table runs past EOF
    expect_noexec(b, "truncated phdrs");
    b = {};
    b.ehdr.e_phoff = ~u64 { 0 } - 8;  // offset + size wraps
    expect_noexec(b, "wrapping phoff");
}

TEST(ElfParse, MaxPhnumAccepted)
{
    ElfBuilder b;
    while (b.phdrs.size() < 73) {  // 73 * 56 = 4088 <= 4096
        Elf64_Phdr note {};
        note.p_type = PT_NOTE;
        b.phdrs.push_back(note);
    }
    auto image = parse(b.build());
    ASSERT_TRUE(image) << errno_name(image.error());
    EXPECT_EQ(image->phnum, 73);
}

TEST(ElfParse, ShortFiles)
{
    std::vector<u8> empty;
    EXPECT_EQ(parse(empty).error(), Errno::NOEXEC);
    EXPECT_EQ(parse(empty, ElfRole::Interpreter).error(), Errno::IO);
    std::vector<u8> magic_only = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    EXPECT_EQ(parse(magic_only).error(), Errno::NOEXEC);
    EXPECT_EQ(parse(magic_only, ElfRole::Interpreter).error(), Errno::IO);
}

TEST(ElfParse, BadSegments)
{
    auto expect = [](ElfBuilder b, Errno exec_error, Errno interp_error, const char* what) {
        auto file = b.build();
        auto image = parse(file);
        ASSERT_FALSE(image) << what;
        EXPECT_EQ(image.error(), exec_error) << what << ": " << errno_name(image.error());
        image = parse(file, ElfRole::Interpreter);
        ASSERT_FALSE(image) << what;
        EXPECT_EQ(image.error(), interp_error) << what << ": " << errno_name(image.error());
    };
    ElfBuilder b;
    b.phdrs[1].p_filesz = b.phdrs[1].p_memsz + 1;
    expect(b, Errno::INVAL, Errno::NOMEM, "filesz > memsz");
    b = {};
    b.phdrs[1].p_vaddr = 0xfffffffffffff010;  // vaddr + memsz wraps
    expect(b, Errno::INVAL, Errno::NOMEM, "wrapping vaddr");
    b = {};
    b.ehdr.e_type = ET_DYN;
    b.phdrs[1].p_vaddr = 0xfffffffffffff010;
    expect(b, Errno::INVAL, Errno::NOMEM, "wrapping vaddr, ET_DYN");
    b = {};
    b.phdrs[1].p_vaddr = kTaskSize - 0x1000 + 0x10;  // ET_EXEC above TASK_SIZE
    expect(b, Errno::INVAL, Errno::NOMEM, "past TASK_SIZE");
    b = {};
    b.phdrs[1].p_memsz = ~u64 { 0 } / 2;
    expect(b, Errno::INVAL, Errno::NOMEM, "huge memsz");
    b = {};
    b.phdrs[1].p_offset += 8;  // offset no longer congruent with vaddr
    expect(b, Errno::INVAL, Errno::INVAL, "incongruent offset");
    b = {};
    b.phdrs.clear();
    Elf64_Phdr note {};
    note.p_type = PT_NOTE;
    b.phdrs.push_back(note);
    expect(b, Errno::INVAL, Errno::INVAL, "no PT_LOAD");
    b = {};
    b.ehdr.e_entry = kTaskSize;
    expect(b, Errno::INVAL, Errno::INVAL, "entry past TASK_SIZE");
}

TEST(ElfParse, ZeroFileszNeedsNoCongruence)
{
    ElfBuilder b;
    b.phdrs[1].p_filesz = 0;
    b.phdrs[1].p_offset = 0x123;
    auto image = parse(b.build());
    ASSERT_TRUE(image) << errno_name(image.error());
    EXPECT_EQ(image->segments[1].filesz, 0u);
}

// --- #! ---

KResult<std::optional<Shebang>> shebang(std::string_view text)
{
    return parse_shebang(std::span(reinterpret_cast<const u8*>(text.data()), text.size()));
}

TEST(Shebang, NotAScript)
{
    EXPECT_EQ(*shebang("\x7f" "ELF"), std::nullopt);
    EXPECT_EQ(*shebang(""), std::nullopt);
    EXPECT_EQ(*shebang("#"), std::nullopt);
    EXPECT_EQ(*shebang("# !/bin/sh\n"), std::nullopt);
}

TEST(Shebang, InterpreterOnly)
{
    auto s = shebang("#!/bin/sh\necho hi\n");
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/bin/sh");
    EXPECT_FALSE((*s)->argument);

    s = shebang("#! \t/bin/sh \t \nrest");
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/bin/sh");
    EXPECT_FALSE((*s)->argument);

    s = shebang("#!/bin/sh");  // short file, no newline: NUL padding terminates
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/bin/sh");
    EXPECT_FALSE((*s)->argument);
}

TEST(Shebang, OneArgumentIsTheRestOfTheLine)
{
    auto s = shebang("#!/usr/bin/env -S python3 -u  \t\nprint(1)\n");
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/usr/bin/env");
    ASSERT_TRUE((*s)->argument);
    EXPECT_EQ(*(*s)->argument, "-S python3 -u");

    s = shebang("#!  /bin/bash\t-e\n");
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/bin/bash");
    EXPECT_EQ((*s)->argument, "-e");

    s = shebang("#!/bin/sh -x\r\n");  // CR is not whitespace to Linux
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->argument, "-x\r");
}

TEST(Shebang, NulBeforeNewline)
{
    // strnchr stops at the NUL, so the line ends there.
    auto s = shebang(std::string_view("#!/bin/sh\0 -x\n", 14));
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/bin/sh");
    EXPECT_FALSE((*s)->argument);

    // A NUL right after the separator gives an empty argument, as in Linux.
    s = shebang(std::string_view("#!/bin/sh \0x", 12));
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/bin/sh");
    EXPECT_EQ((*s)->argument, "");
}

TEST(Shebang, NoInterpreter)
{
    EXPECT_EQ(shebang("#!\n").error(), Errno::NOEXEC);
    EXPECT_EQ(shebang("#!   \t \n").error(), Errno::NOEXEC);
    EXPECT_EQ(shebang(std::string(300, ' ').insert(0, "#!")).error(), Errno::NOEXEC);
}

TEST(Shebang, NulRightAfterBang)
{
    // Linux finds an empty name here and fails later in open_exec("") (ENOENT).
    auto s = shebang("#!");
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "");
    EXPECT_FALSE((*s)->argument);
}

TEST(Shebang, LongLines)
{
    // Name fills the buffer with no space/NUL after it: possibly truncated.
    std::string name = "/" + std::string(300, 'a');
    EXPECT_EQ(shebang("#!" + name + "\n").error(), Errno::NOEXEC);

    // Name complete, argument truncated: fine; the last buffer byte is dropped.
    std::string line = "#!/bin/sh " + std::string(400, 'x') + "\n";
    auto s = shebang(line);
    ASSERT_TRUE(s && *s);
    EXPECT_EQ((*s)->interpreter, "/bin/sh");
    ASSERT_TRUE((*s)->argument);
    EXPECT_EQ(*(*s)->argument, std::string(kBinprmBufSize - 1 - 10, 'x'));

    // Newline exactly at the last buffer byte.
    std::string exact = "#!/bin/sh " + std::string(kBinprmBufSize - 11, 'y') + "\n";
    ASSERT_EQ(exact.size(), kBinprmBufSize);
    s = shebang(exact);
    ASSERT_TRUE(s && *s);
    EXPECT_EQ(*(*s)->argument, std::string(kBinprmBufSize - 11, 'y'));

    // Only the first kBinprmBufSize bytes are looked at.
    std::string late_space = "#!" + std::string(kBinprmBufSize - 2, 'b') + " arg\n";
    EXPECT_EQ(shebang(late_space).error(), Errno::NOEXEC);
}

} // namespace
} // namespace umk::exec
