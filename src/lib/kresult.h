#pragma once

// Errors inside the kernel: every guest-visible failure is an Errno carried
// by KResult<T>; TRY() is the one way to propagate it (g++ 12 has no
// std::expected::and_then).

#include "lib/errno_list.h"

#include <expected>
#include <string_view>
#include <utility>

namespace umk {

// ENOENT & co. are macros, so the enumerators drop the leading E.
enum class Errno : int {
#define UMK_ERRNO_ENUM(name, value) name = value,
    UMK_ERRNO_LIST(UMK_ERRNO_ENUM)
#undef UMK_ERRNO_ENUM
};

// "ENOENT" for Errno::NOENT; "E?" followed by nothing for unknown values.
std::string_view errno_name(Errno);
std::string_view errno_name(int value);

template <class T>
using KResult = std::expected<T, Errno>;

inline std::unexpected<Errno> err(Errno e) { return std::unexpected(e); }

} // namespace umk

#define UMK_CONCAT2(a, b) a##b
#define UMK_CONCAT(a, b) UMK_CONCAT2(a, b)
#define TRY(expr) TRY_IMPL(expr, UMK_CONCAT(_try_, __COUNTER__))
#define TRY_IMPL(expr, r) ({ auto&& r = (expr); \
    { if (!r) [[unlikely]] return std::unexpected(r.error()); } *std::move(r); })
