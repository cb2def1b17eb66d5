#pragma once

// The syscall table: every x86-64 number, its handler and how complete it
// is (after gVisor's syscall tables). Handlers are `sys_<linux name>` in
// one file per family; the table turns raw registers into their typed
// arguments once.

#include "kernel/task/task.h"

#include <string_view>
#include <type_traits>
#include <utility>

namespace umk::kernel {

// A guest address, never dereferenced by the kernel (copy_in/copy_out).
struct GuestAddr {
    u64 value { 0 };
    bool null() const { return value == 0; }
    GuestAddr operator+(u64 off) const { return GuestAddr { value + off }; }
};

enum class Support : u8 { Supported, Partial, Unimplemented };

using Handler = KResult<u64> (*)(Thread&, const u64 (&)[6]);

struct SyscallEntry {
    Handler handler { nullptr };
    Support support { Support::Unimplemented };
    const char* note { "" }; // what is missing, for Partial
    // The handler writes its results to guest memory as its last act (as
    // Linux's handlers that copy_to_user at their end): small ones may wait
    // until the thread returns (platform::CallerScope).
    bool outputs_last { false };
};

// Entry for `nr`; numbers outside the table get an Unimplemented entry.
const SyscallEntry& syscall_entry(u64 nr);
std::string_view syscall_name(u64 nr); // "" for numbers that are no syscall
u64 syscall_count();

// --- typed arguments ---
template <class T>
T from_register(u64 r)
{
    if constexpr (std::is_same_v<T, GuestAddr>)
        return GuestAddr { r };
    else if constexpr (std::is_integral_v<T> && sizeof(T) == 4)
        return static_cast<T>(static_cast<u32>(r)); // int arguments: the low half
    else
        return static_cast<T>(r);
}

template <auto F>
struct Typed;

template <class... A, KResult<u64> (*F)(Thread&, A...)>
struct Typed<F> {
    static KResult<u64> call(Thread& t, const u64 (&r)[6])
    {
        static_assert(sizeof...(A) <= 6);
        return [&]<usize... I>(std::index_sequence<I...>) {
            return F(t, from_register<A>(r[I])...);
        }(std::index_sequence_for<A...> {});
    }
};

} // namespace umk::kernel
