// The start of a text that came from outside, for a message about it: enough to recognise it,
// never the whole of it (a 10 MB route name must not come back in a 10 MB answer or log line).
#pragma once

#include <string>
#include <string_view>

namespace switchboard::core {

// `text` when it has at most `shown` bytes; else its first `shown` bytes, cut before a UTF-8
// character that would not fit whole, then "..." and how long the whole was.
inline std::string excerpt(std::string_view text, std::size_t shown = 64) {
    if (text.size() <= shown)
        return std::string(text);
    std::size_t cut = shown;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
        --cut;  // text[cut] continues a character: cut before the character starts
    return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " bytes)";
}

} // namespace switchboard::core
