#pragma once

// ELF64 program-header parsing and #! script parsing for execve.
// Pure logic: the file is reached only through the caller's read_at.
//
// Linux: fs/binfmt_elf.c load_elf_binary / load_elf_phdrs / load_elf_interp,
// fs/binfmt_script.c load_script.

#include "lib/kresult.h"
#include "lib/types.h"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace umk::exec {

// mmap PROT_* bits (include/uapi/asm-generic/mman-common.h).
inline constexpr u32 kProtRead = 0x1;
inline constexpr u32 kProtWrite = 0x2;
inline constexpr u32 kProtExec = 0x4;

// Highest user address + 1 on x86-64 with 4-level paging (TASK_SIZE_MAX).
inline constexpr u64 kTaskSize = 0x7ffffffff000;

// #! line buffer size (BINPRM_BUF_SIZE): only this much of a script is read.
inline constexpr usize kBinprmBufSize = 256;

struct LoadSegment {
    u64 vaddr;   // p_vaddr, unbiased
    u64 memsz;   // p_memsz
    u64 filesz;  // p_filesz (<= memsz)
    u64 offset;  // p_offset (congruent to vaddr modulo kPageSize when filesz > 0)
    u32 prot;    // kProt* bits from p_flags
};

struct ElfImage {
    bool is_dyn;                          // ET_DYN (PIE / ld.so) vs ET_EXEC
    u64 entry;                            // e_entry (unbiased)
    std::vector<LoadSegment> segments;    // PT_LOAD in file order (unbiased)
    std::optional<std::string> interp;    // PT_INTERP path (first PT_INTERP, up to its first NUL)
    // Address of the program headers in memory, unbiased: e_phoff translated
    // through the (last) PT_LOAD whose file range holds it, as Linux computes
    // AT_PHDR; if none holds it, PT_PHDR's p_vaddr; else 0.
    u64 phdr_vaddr;
    u16 phnum, phentsize;
    // PT_GNU_STACK has PF_X. Without PT_GNU_STACK this is false: since Linux
    // 5.8 a missing PT_GNU_STACK means "exec-none" for x86-64 tasks
    // (arch/x86/include/asm/elf.h elf_read_implies_exec).
    bool exec_stack;
    u64 min_vaddr, max_vaddr;             // page-rounded span of the PT_LOADs
    // Largest power-of-two p_align of the PT_LOADs, at least kPageSize: the
    // alignment Linux gives an ET_DYN load bias (maximum_alignment).
    u64 max_align;
};

// What the file is being loaded as. Linux reports the same defects with
// different errors for the two (load_elf_binary's interpreter checks).
enum class ElfRole {
    Executable,   // the file named by execve
    Interpreter,  // the PT_INTERP of an executable: header defects are ELIBBAD
};

// Reads up to span.size() bytes at offset; returns the count (short only at EOF).
using ReadAt = std::function<KResult<usize>(u64 offset, std::span<u8>)>;

// Parses and validates an x86-64 ELF64 executable the way load_elf_binary
// does, without mapping anything. Errors, Executable role:
//   ENOEXEC  not ELF64/little-endian/x86-64, not ET_EXEC/ET_DYN, e_phentsize
//            != 56, phdr table empty or > 4096 bytes, phdrs unreadable,
//            PT_INTERP size outside 2..PATH_MAX or not NUL-terminated
//   EIO      PT_INTERP string past EOF (or read_at's own error)
//   EINVAL   no PT_LOAD, p_filesz > p_memsz, segment outside [0, kTaskSize),
//            p_offset not congruent to p_vaddr, ET_EXEC entry >= kTaskSize
// Interpreter role: header/phdr defects are ELIBBAD, a header past EOF is
// EIO, p_filesz > p_memsz and out-of-range segments are ENOMEM; PT_INTERP is
// ignored. Linux detects the EINVAL/ENOMEM cases after the point of no
// return (the task then dies with SIGSEGV); umk finds them up front.
KResult<ElfImage> parse_elf(u64 file_size, const ReadAt& read_at,
                            ElfRole role = ElfRole::Executable);

struct Shebang {
    std::string interpreter;
    std::optional<std::string> argument;  // the rest of the line, trimmed; may be ""
};

// Parses a "#!" line as load_script does. first_bytes is the start of the file
// (only the first kBinprmBufSize bytes are looked at; shorter is zero-padded).
// Returns nullopt if the file does not start with "#!"; ENOEXEC if there is no
// interpreter name, or if the line has no newline within kBinprmBufSize bytes
// and the interpreter name may be truncated (no space/tab/NUL after it).
// A truncated argument is fine (the interpreter re-reads the script). A NUL
// right after "#!" yields interpreter "" (Linux then fails open_exec: ENOENT).
KResult<std::optional<Shebang>> parse_shebang(std::span<const u8> first_bytes);

} // namespace umk::exec
