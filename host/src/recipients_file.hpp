// The recipients file that `switchboard send` reads: CSV (RFC 4180, a header row naming the
// columns) or a JSON array, turned into the recipient objects of the HTTP API.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::host {

enum class recipients_format { csv, json };

// A file that cannot be read as recipients; what() names the file and where in it: "list.csv:
// line 7, column 3 (code): ...", "list.json: recipients[4].to: ...".
struct recipients_file_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Each recipient as the serialized JSON object the API takes: {"to", "ref", "params"}. Kept as
// text so that a file of millions costs little memory and a page's size is known before it goes.
using recipient_items = std::vector<std::string>;

// CSV: the first row names the columns; `to` is required, `ref` optional, every other column is a
// parameter of that name (an empty cell leaves it out). Fields may be quoted ("a, b", "say ""hi""",
// line breaks inside quotes); CRLF or LF line ends; a UTF-8 byte order mark is skipped; blank lines
// are ignored. Every row must have as many fields as the header. `source` names the file in errors.
recipient_items parse_recipients_csv(std::string_view text, const std::string& source);

// JSON: an array of {"to": "...", "ref": "...", "params": {"name": "value"}}.
recipient_items parse_recipients_json(std::string_view text, const std::string& source);

// "csv" or "json" (as given to --format), by the file's extension when `given` is empty.
recipients_format format_of(const std::filesystem::path& file, const std::optional<recipients_format>& given);

// Reads and parses the file in its format.
recipient_items read_recipients_file(const std::filesystem::path& file, const std::optional<recipients_format>& given);

} // namespace switchboard::host
