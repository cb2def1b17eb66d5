#include "kernel/exec/initial_stack.h"

#include "kernel/abi/auxv.h"

#include <algorithm>
#include <cstring>

namespace umk::exec {

namespace {

constexpr std::string_view kPlatform = "x86_64";  // ELF_PLATFORM, NUL added on the stack

// What strnlen_user would see in a guest copy of s.
std::string_view c_string(std::string_view s)
{
    return s.substr(0, s.find('\0'));
}

// Where a string landed, relative to nothing yet: addresses are final.
struct PlacedString {
    u64 addr;
    std::string_view text;
};

// The auxiliary vector in Linux's order, AT_NULL included.
std::vector<AuxEntry> complete_auxv(std::span<const AuxEntry> aux, u64 random_addr,
                                    u64 execfn_addr, u64 platform_addr)
{
    AuxEntry const random { abi::kAtRandom, random_addr };
    AuxEntry const execfn { abi::kAtExecfn, execfn_addr };
    AuxEntry const platform { abi::kAtPlatform, platform_addr };

    auto const secure = std::ranges::find(aux, abi::kAtSecure, &AuxEntry::type);
    auto const hwcap2 = std::ranges::find(aux, abi::kAtHwcap2, &AuxEntry::type);
    // create_elf_tables: ... AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN,
    // AT_PLATFORM, AT_EXECFD, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN.
    bool const tail_after_hwcap2 = secure != aux.end() && hwcap2 != aux.end() && hwcap2 > secure;

    std::vector<AuxEntry> out;
    out.reserve(aux.size() + 4);
    bool placed_random = false, placed_tail = false;
    for (auto it = aux.begin(); it != aux.end(); ++it) {
        out.push_back(*it);
        if (it == secure) {
            out.push_back(random);
            placed_random = true;
            if (!tail_after_hwcap2) {
                out.push_back(execfn);
                out.push_back(platform);
                placed_tail = true;
            }
        } else if (it == hwcap2 && tail_after_hwcap2) {
            out.push_back(execfn);
            out.push_back(platform);
            placed_tail = true;
        }
    }
    if (!placed_random)
        out.push_back(random);
    if (!placed_tail) {
        out.push_back(execfn);
        out.push_back(platform);
    }
    out.push_back({ abi::kAtNull, 0 });
    return out;
}

} // namespace

KResult<InitialStack> build_initial_stack(u64 stack_top, std::span<const std::string> argv,
                                          std::span<const std::string> envp,
                                          std::span<const AuxEntry> aux, std::string_view execfn,
                                          std::array<u8, 16> random_bytes, u64 stack_limit)
{
    if (!page_aligned(stack_top) || stack_top == 0)
        return err(Errno::INVAL);
    for (auto const& entry : aux) {
        if (entry.type == abi::kAtNull || entry.type == abi::kAtRandom
            || entry.type == abi::kAtExecfn || entry.type == abi::kAtPlatform)
            return err(Errno::INVAL);
    }
    if (argv.size() > kMaxArgStrings || envp.size() > kMaxArgStrings)
        return err(Errno::TOOBIG);

    // bprm_stack_limits: the strings may take a quarter of the stack limit
    // (at most 3/4 of _STK_LIM, at least ARG_MAX), less a pointer for each.
    u64 limit = std::min(kStkLim / 4 * 3, stack_limit / 4);
    limit = std::max(limit, kArgMax);
    u64 const ptr_size = (std::max<u64>(argv.size(), 1) + envp.size()) * sizeof(u64);
    if (limit <= ptr_size)
        return err(Errno::TOOBIG);
    limit -= ptr_size;

    // bprm_mm_init leaves one NULL pointer at the very top.
    u64 p = stack_top - sizeof(u64);
    if (p < limit)
        return err(Errno::TOOBIG);
    u64 const argmin = p - limit;

    // copy_string_kernel / copy_strings, top down: execfn, then envp and argv
    // each from the last string to the first.
    auto place = [&](std::string_view text) -> KResult<PlacedString> {
        u64 const len = text.size() + 1;
        if (len > kMaxArgStrlen || p - argmin < len)
            return err(Errno::TOOBIG);
        p -= len;
        return PlacedString { p, text };
    };
    PlacedString const execfn_placed = TRY(place(c_string(execfn)));
    u64 const env_end = p;

    std::vector<PlacedString> env_placed(envp.size());
    for (usize i = envp.size(); i-- > 0;)
        env_placed[i] = TRY(place(c_string(envp[i])));
    u64 const env_start = p;

    std::vector<PlacedString> arg_placed(std::max<usize>(argv.size(), 1));
    if (argv.empty()) {
        arg_placed[0] = TRY(place(""));  // do_execveat_common: never argc == 0
    } else {
        for (usize i = argv.size(); i-- > 0;)
            arg_placed[i] = TRY(place(c_string(argv[i])));
    }
    u64 const arg_start = p;
    u64 const argc = arg_placed.size();
    u64 const envc = env_placed.size();

    // create_elf_tables.
    p &= ~u64 { 15 };  // arch_align_stack, no randomization
    u64 const aux_count = aux.size() + 4;
    u64 const items = (argc + 1) + (envc + 1) + 1;
    u64 const below_strings = kPlatform.size() + 1 + random_bytes.size()
        + (2 * aux_count + items) * sizeof(u64) + 15;
    if (p < below_strings)
        return err(Errno::FAULT);
    p -= kPlatform.size() + 1;
    u64 const platform_addr = p;
    p -= random_bytes.size();
    u64 const random_addr = p;

    std::vector<AuxEntry> const auxv = complete_auxv(aux, random_addr, execfn_placed.addr, platform_addr);
    u64 const ei_index = 2 * auxv.size();  // STACK_ADD(p, ei_index)
    u64 const sp = (p - ei_index * sizeof(u64) - items * sizeof(u64)) & ~u64 { 15 };  // STACK_ROUND

    InitialStack stack {};
    stack.sp = sp;
    stack.argv_addr = sp + sizeof(u64);
    stack.envp_addr = stack.argv_addr + (argc + 1) * sizeof(u64);
    stack.auxv_addr = stack.envp_addr + (envc + 1) * sizeof(u64);
    stack.arg_start = arg_start;
    stack.arg_end = env_start;
    stack.env_start = env_start;
    stack.env_end = env_end;
    stack.bytes.assign(stack_top - sp, 0);

    auto put_bytes = [&](u64 addr, std::span<const u8> data) {
        std::memcpy(stack.bytes.data() + (addr - sp), data.data(), data.size());
    };
    auto put_u64 = [&](u64 addr, u64 value) {
        std::memcpy(stack.bytes.data() + (addr - sp), &value, sizeof(value));
    };
    auto put_string = [&](PlacedString const& s) {  // the NUL is already there
        put_bytes(s.addr, std::span(reinterpret_cast<const u8*>(s.text.data()), s.text.size()));
    };

    put_u64(sp, argc);
    for (u64 i = 0; i < argc; ++i)
        put_u64(stack.argv_addr + i * sizeof(u64), arg_placed[i].addr);
    for (u64 i = 0; i < envc; ++i)
        put_u64(stack.envp_addr + i * sizeof(u64), env_placed[i].addr);
    for (u64 i = 0; i < auxv.size(); ++i) {
        put_u64(stack.auxv_addr + 2 * i * sizeof(u64), auxv[i].type);
        put_u64(stack.auxv_addr + (2 * i + 1) * sizeof(u64), auxv[i].value);
    }
    put_bytes(random_addr, random_bytes);
    put_bytes(platform_addr, std::span(reinterpret_cast<const u8*>(kPlatform.data()), kPlatform.size()));
    for (auto const& s : arg_placed)
        put_string(s);
    for (auto const& s : env_placed)
        put_string(s);
    put_string(execfn_placed);
    return stack;
}

} // namespace umk::exec
