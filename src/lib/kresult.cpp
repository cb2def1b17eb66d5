#include "lib/kresult.h"

namespace umk {

std::string_view errno_name(int value)
{
    if (value == static_cast<int>(Errno::TOOBIG))
        return "E2BIG";
    switch (value) {
#define UMK_ERRNO_CASE(name, v) case v: return "E" #name;
        UMK_ERRNO_LIST(UMK_ERRNO_CASE)
#undef UMK_ERRNO_CASE
    }
    return "E?";
}

std::string_view errno_name(Errno e) { return errno_name(static_cast<int>(e)); }

} // namespace umk
