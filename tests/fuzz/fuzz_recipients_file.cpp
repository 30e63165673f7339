// The recipients file `switchboard send` reads: the first byte picks CSV or JSON, the rest is the file.
#include "recipients_file.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace switchboard::host;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        if (data[0] % 2 == 0)
            parse_recipients_csv(text, "fuzz.csv");
        else
            parse_recipients_json(text, "fuzz.json");
    } catch (const recipients_file_error&) {
    }
    return 0;
}
