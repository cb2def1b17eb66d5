#include "kernel/seccomp/filter.h"

#include "kernel/seccomp/notify.h"

#include <linux/filter.h>

#include <cstring>

namespace umk::kernel::seccomp {

namespace {

constexpr u32 kMemWords = 16; // BPF_MEMWORDS

bool is_jump(u16 code) { return BPF_CLASS(code) == BPF_JMP; }

} // namespace

KResult<void> check(std::span<const Insn> program)
{
    if (program.empty() || program.size() > kMaxInsns)
        return err(Errno::INVAL);
    for (usize pc = 0; pc < program.size(); pc++) {
        const Insn& in = program[pc];
        switch (in.code) {
        // seccomp_check_filter: loads only of the 64-byte seccomp_data, 4-aligned.
        case BPF_LD | BPF_W | BPF_ABS:
            if ((in.k & 3) || in.k >= sizeof(Data))
                return err(Errno::INVAL);
            break;
        case BPF_LD | BPF_W | BPF_LEN:
        case BPF_LDX | BPF_W | BPF_LEN:
        case BPF_LD | BPF_IMM:
        case BPF_LDX | BPF_IMM:
        case BPF_MISC | BPF_TAX:
        case BPF_MISC | BPF_TXA:
        case BPF_RET | BPF_K:
        case BPF_RET | BPF_A:
        case BPF_ALU | BPF_ADD | BPF_K:
        case BPF_ALU | BPF_ADD | BPF_X:
        case BPF_ALU | BPF_SUB | BPF_K:
        case BPF_ALU | BPF_SUB | BPF_X:
        case BPF_ALU | BPF_MUL | BPF_K:
        case BPF_ALU | BPF_MUL | BPF_X:
        case BPF_ALU | BPF_DIV | BPF_X:
        case BPF_ALU | BPF_AND | BPF_K:
        case BPF_ALU | BPF_AND | BPF_X:
        case BPF_ALU | BPF_OR | BPF_K:
        case BPF_ALU | BPF_OR | BPF_X:
        case BPF_ALU | BPF_XOR | BPF_K:
        case BPF_ALU | BPF_XOR | BPF_X:
        case BPF_ALU | BPF_LSH | BPF_K:
        case BPF_ALU | BPF_LSH | BPF_X:
        case BPF_ALU | BPF_RSH | BPF_K:
        case BPF_ALU | BPF_RSH | BPF_X:
        case BPF_ALU | BPF_NEG:
        case BPF_ALU | BPF_MOD | BPF_X:
            break;
        case BPF_ALU | BPF_DIV | BPF_K:
        case BPF_ALU | BPF_MOD | BPF_K:
            if (in.k == 0)
                return err(Errno::INVAL);
            break;
        case BPF_LD | BPF_MEM:
        case BPF_LDX | BPF_MEM:
        case BPF_ST:
        case BPF_STX:
            if (in.k >= kMemWords)
                return err(Errno::INVAL);
            break;
        case BPF_JMP | BPF_JA:
            if (in.k >= program.size() - pc - 1)
                return err(Errno::INVAL);
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
        case BPF_JMP | BPF_JEQ | BPF_X:
        case BPF_JMP | BPF_JGE | BPF_K:
        case BPF_JMP | BPF_JGE | BPF_X:
        case BPF_JMP | BPF_JGT | BPF_K:
        case BPF_JMP | BPF_JGT | BPF_X:
        case BPF_JMP | BPF_JSET | BPF_K:
        case BPF_JMP | BPF_JSET | BPF_X:
            if (pc + 1 + in.jt >= program.size() || pc + 1 + in.jf >= program.size())
                return err(Errno::INVAL);
            break;
        default:
            return err(Errno::INVAL);
        }
    }
    if (BPF_CLASS(program.back().code) != BPF_RET)
        return err(Errno::INVAL);
    // Linux's check_load_and_stores: a scratch word is read only after a
    // store on every path. Forward-only jumps make one pass enough.
    std::vector<u16> stored(program.size() + 1, 0xffff);
    stored[0] = 0;
    for (usize pc = 0; pc < program.size(); pc++) {
        const Insn& in = program[pc];
        u16 mem = stored[pc];
        if ((in.code == (BPF_LD | BPF_MEM) || in.code == (BPF_LDX | BPF_MEM)) && !(mem & (1U << in.k)))
            return err(Errno::INVAL);
        if (in.code == BPF_ST || in.code == BPF_STX)
            mem |= static_cast<u16>(1U << in.k);
        auto flow = [&](usize to) { stored[to] &= mem; };
        if (BPF_CLASS(in.code) == BPF_RET)
            continue;
        if (in.code == (BPF_JMP | BPF_JA)) {
            flow(pc + 1 + in.k);
        } else if (is_jump(in.code)) {
            flow(pc + 1 + in.jt);
            flow(pc + 1 + in.jf);
        } else {
            flow(pc + 1);
        }
    }
    return {};
}

u32 run(std::span<const Insn> program, const Data& data)
{
    u32 a = 0, x = 0;
    u32 mem[kMemWords] {};
    const auto* bytes = reinterpret_cast<const u8*>(&data);
    for (usize pc = 0; pc < program.size(); pc++) {
        const Insn& in = program[pc];
        u32 src = BPF_SRC(in.code) == BPF_X ? x : in.k;
        switch (BPF_CLASS(in.code)) {
        case BPF_LD:
            switch (BPF_MODE(in.code)) {
            case BPF_ABS:
                std::memcpy(&a, bytes + in.k, 4);
                break;
            case BPF_LEN:
                a = sizeof(Data);
                break;
            case BPF_IMM:
                a = in.k;
                break;
            case BPF_MEM:
                a = mem[in.k];
                break;
            }
            break;
        case BPF_LDX:
            x = BPF_MODE(in.code) == BPF_LEN ? static_cast<u32>(sizeof(Data)) : BPF_MODE(in.code) == BPF_MEM ? mem[in.k] : in.k;
            break;
        case BPF_ST:
            mem[in.k] = a;
            break;
        case BPF_STX:
            mem[in.k] = x;
            break;
        case BPF_ALU:
            switch (BPF_OP(in.code)) {
            case BPF_ADD: a += src; break;
            case BPF_SUB: a -= src; break;
            case BPF_MUL: a *= src; break;
            case BPF_DIV:
                if (src == 0)
                    return 0; // Linux: a division by zero X ends the program with 0
                a /= src;
                break;
            case BPF_MOD:
                if (src == 0)
                    return 0;
                a %= src;
                break;
            case BPF_AND: a &= src; break;
            case BPF_OR: a |= src; break;
            case BPF_XOR: a ^= src; break;
            case BPF_LSH: a = src >= 32 ? 0 : a << src; break;
            case BPF_RSH: a = src >= 32 ? 0 : a >> src; break;
            case BPF_NEG: a = -a; break;
            }
            break;
        case BPF_JMP: {
            if (BPF_OP(in.code) == BPF_JA) {
                pc += in.k;
                break;
            }
            bool taken = false;
            switch (BPF_OP(in.code)) {
            case BPF_JEQ: taken = a == src; break;
            case BPF_JGT: taken = a > src; break;
            case BPF_JGE: taken = a >= src; break;
            case BPF_JSET: taken = (a & src) != 0; break;
            }
            pc += taken ? in.jt : in.jf;
            break;
        }
        case BPF_RET:
            return BPF_RVAL(in.code) == BPF_A ? a : in.k;
        case BPF_MISC:
            if (BPF_MISCOP(in.code) == BPF_TAX)
                x = a;
            else
                a = x;
            break;
        }
    }
    return kRetKillProcess; // unreachable for checked programs
}

u32 run_all(const Filter& newest, const Data& data, const Filter** winner)
{
    u32 result = kRetAllow;
    for (const Filter* f = &newest; f; f = f->previous.get()) {
        u32 r = run(f->program, data);
        if (static_cast<i32>(r & kRetActionFull) < static_cast<i32>(result & kRetActionFull)) {
            result = r;
            if (winner)
                *winner = f;
        }
    }
    return result;
}

Filter::~Filter()
{
    if (notifier)
        notifier->filter_gone();
}

} // namespace umk::kernel::seccomp
