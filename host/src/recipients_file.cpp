#include "recipients_file.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

namespace switchboard::host {

namespace json = boost::json;

namespace {

constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t extra = 0;
        std::uint32_t code = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            extra = 1;
            code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            code = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= s.size())   // the sequence is cut short by the end of the text
            return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(s[i + k]);
            if ((next & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (next & 0x3F);
        }
        // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
        if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) ||
            (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF)
            return false;
        i += extra + 1;
    }
    return true;
}

std::string trimmed(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && space(s.back()))
        s.remove_suffix(1);
    return std::string(s);
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

struct csv_field {
    std::string value;
    int line = 0;   // where the field starts
};

// RFC 4180 records, one at a time, with the line each starts on.
class csv_reader {
public:
    csv_reader(std::string_view text, const std::string& source) : text_(text), source_(source) {}

    // The next record that is not a blank line; false at the end of the text.
    bool next(std::vector<csv_field>& fields, int& record_line) {
        fields.clear();
        while (pos_ < text_.size() && (text_[pos_] == '\n' || text_.substr(pos_, 2) == "\r\n")) {
            pos_ += text_[pos_] == '\r' ? 2 : 1;
            ++line_;
        }
        if (pos_ >= text_.size())
            return false;
        record_line = line_;
        for (;;) {
            csv_field field{{}, line_};
            if (text_[pos_] == '"')
                read_quoted(field, fields.size() + 1);
            else
                read_plain(field, fields.size() + 1);
            fields.push_back(std::move(field));
            if (pos_ >= text_.size())
                return true;
            if (text_[pos_] == ',') {
                ++pos_;
                if (pos_ >= text_.size()) {   // "a,b," at the very end: the last field is empty
                    fields.push_back({{}, line_});
                    return true;
                }
                continue;
            }
            pos_ += text_[pos_] == '\r' ? 2 : 1;   // the record's line end
            ++line_;
            return true;
        }
    }

private:
    bool at_line_end() const {
        return pos_ >= text_.size() || text_[pos_] == '\n' ||
               (text_[pos_] == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n'));
    }

    [[noreturn]] void fail(int line, std::size_t column, const std::string& what) const {
        throw recipients_file_error(source_ + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                                    ": " + what);
    }

    void read_plain(csv_field& field, std::size_t column) {
        const std::size_t start = pos_;
        while (!at_line_end() && text_[pos_] != ',') {
            if (text_[pos_] == '"')
                fail(line_, column, "a quote inside a field that does not start with one; put the whole field in "
                                    "quotes and double the quotes inside it (\"say \"\"hi\"\"\")");
            ++pos_;
        }
        field.value.assign(text_.substr(start, pos_ - start));
    }

    void read_quoted(csv_field& field, std::size_t column) {
        const int opened_on = line_;
        ++pos_;
        for (;;) {
            if (pos_ >= text_.size())
                fail(opened_on, column, "the quoted field that starts here is not closed (a '\"' is missing)");
            const char c = text_[pos_++];
            if (c == '"') {
                if (pos_ < text_.size() && text_[pos_] == '"') {
                    field.value += '"';
                    ++pos_;
                    continue;
                }
                break;
            }
            if (c == '\n')
                ++line_;
            field.value += c;
        }
        if (!at_line_end() && text_[pos_] != ',')
            fail(line_, column, "text after the closing quote; put the whole field in quotes and double the quotes "
                                "inside it (\"say \"\"hi\"\"\")");
    }

    std::string_view text_;
    const std::string& source_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

std::string column_list(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names)
        out += (out.empty() ? "" : ", ") + name;
    return out;
}

// Line and column (1-based) of a byte offset, for a JSON syntax error.
std::pair<int, int> position_of(std::string_view text, std::size_t offset) {
    int line = 1;
    int column = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            ++column;
        }
    }
    return {line, column};
}

} // namespace

recipient_items parse_recipients_csv(std::string_view text, const std::string& source) {
    if (text.substr(0, byte_order_mark.size()) == byte_order_mark)
        text.remove_prefix(byte_order_mark.size());
    csv_reader reader(text, source);
    std::vector<csv_field> fields;
    int line = 0;
    if (!reader.next(fields, line))
        throw recipients_file_error(source + ": the file is empty; expected a header row such as to,ref,code and a "
                                             "row per recipient");

    // The header: `to`, `ref` (any case), and parameter names as written.
    std::vector<std::string> names;
    std::size_t to_column = 0;
    std::size_t ref_column = 0;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::size_t column = i + 1;
        const std::string name = trimmed(fields[i].value);
        const auto where = source + ": line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
        if (!valid_utf8(name))
            throw recipients_file_error(where + "the column's name is not UTF-8 text; save the file as UTF-8");
        if (name.empty())
            throw recipients_file_error(where + "the header names no column here; every column needs a name");
        const auto earlier = std::find(names.begin(), names.end(), name);
        if (earlier != names.end())
            throw recipients_file_error(where + "column '" + name + "' is named twice (columns " +
                                        std::to_string(earlier - names.begin() + 1) + " and " + std::to_string(column) + ")");
        if (lower(name) == "to") {
            if (to_column != 0)
                throw recipients_file_error(where + "a second 'to' column (the first is column " + std::to_string(to_column) + ")");
            to_column = column;
        } else if (lower(name) == "ref") {
            if (ref_column != 0)
                throw recipients_file_error(where + "a second 'ref' column (the first is column " + std::to_string(ref_column) + ")");
            ref_column = column;
        }
        names.push_back(name);
    }
    if (to_column == 0) {
        std::string hint;
        if (names.size() == 1 && names[0].find(';') != std::string::npos)
            hint = "; the columns seem to be separated by ';', and only ',' separates them";
        throw recipients_file_error(source + ": line " + std::to_string(line) +
                                    ": the header has no 'to' column (the recipient's number or id); its columns: " +
                                    column_list(names) + hint);
    }

    recipient_items items;
    while (reader.next(fields, line)) {
        if (fields.size() != names.size())
            throw recipients_file_error(source + ": line " + std::to_string(line) + ": " + std::to_string(fields.size()) +
                                        (fields.size() == 1 ? " field" : " fields") + ", but the header names " +
                                        std::to_string(names.size()) + " columns (" + column_list(names) + ")" +
                                        (fields.size() > names.size() ? "; put a value that holds a comma in quotes" : ""));
        json::object recipient;
        json::object params;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            const std::size_t column = i + 1;
            const auto where = [&] {
                return source + ": line " + std::to_string(fields[i].line) + ", column " + std::to_string(column) + " (" +
                       names[i] + "): ";
            };
            if (!valid_utf8(fields[i].value))
                throw recipients_file_error(where() + "is not UTF-8 text; save the file as UTF-8 (\"CSV UTF-8\" in a "
                                                      "spreadsheet's Save As)");
            if (column == to_column) {
                std::string to = trimmed(fields[i].value);
                if (to.empty())
                    throw recipients_file_error(where() + "is empty; every recipient needs a number or id");
                recipient["to"] = std::move(to);
            } else if (column == ref_column) {
                if (!fields[i].value.empty())
                    recipient["ref"] = fields[i].value;
            } else if (!fields[i].value.empty()) {
                params[names[i]] = fields[i].value;
            }
        }
        if (!params.empty())
            recipient["params"] = std::move(params);
        items.push_back(json::serialize(recipient));
    }
    if (items.empty())
        throw recipients_file_error(source + ": no recipients: the file has a header row and nothing after it");
    return items;
}

recipient_items parse_recipients_json(std::string_view text, const std::string& source) {
    if (text.substr(0, byte_order_mark.size()) == byte_order_mark)
        text.remove_prefix(byte_order_mark.size());
    json::stream_parser parser;
    boost::system::error_code ec;
    const std::size_t consumed = parser.write(text.data(), text.size(), ec);
    if (!ec)
        parser.finish(ec);
    if (ec) {
        const auto [line, column] = position_of(text, consumed);
        throw recipients_file_error(source + ": line " + std::to_string(line) + ", column " + std::to_string(column) +
                                    ": not valid JSON (" + ec.message() + ")");
    }
    const json::value doc = parser.release();
    if (!doc.is_array())
        throw recipients_file_error(source + ": expected a JSON array of recipients ([{\"to\": \"+852...\", \"ref\": "
                                             "\"...\", \"params\": {\"code\": \"...\"}}])");
    if (doc.get_array().empty())
        throw recipients_file_error(source + ": no recipients: the array is empty");
    recipient_items items;
    items.reserve(doc.get_array().size());
    for (const json::value& item : doc.get_array()) {
        const std::string path = source + ": recipients[" + std::to_string(items.size()) + "]";
        if (!item.is_object())
            throw recipients_file_error(path + ": must be an object with at least \"to\"");
        const json::object& r = item.get_object();
        const json::value* to = r.if_contains("to");
        if (to == nullptr || !to->is_string() || to->get_string().empty())
            throw recipients_file_error(path + ".to: is required: the recipient's number or id, as a string");
        if (const json::value* ref = r.if_contains("ref"); ref != nullptr && !ref->is_string())
            throw recipients_file_error(path + ".ref: must be a string");
        if (const json::value* params = r.if_contains("params")) {
            if (!params->is_object())
                throw recipients_file_error(path + ".params: must be an object of named parameters");
            for (const auto& [name, value] : params->get_object())
                if (!value.is_string() && !value.is_number())
                    throw recipients_file_error(path + ".params." + std::string(name) + ": must be a string or a number");
        }
        items.push_back(json::serialize(item));
    }
    return items;
}

recipients_format format_of(const std::filesystem::path& file, const std::optional<recipients_format>& given) {
    if (given)
        return *given;
    const std::string extension = lower(file.extension().string());
    if (extension == ".csv")
        return recipients_format::csv;
    if (extension == ".json")
        return recipients_format::json;
    throw recipients_file_error(file.string() + ": cannot tell the format from the name (.csv or .json); give "
                                                "--format csv or --format json");
}

recipient_items read_recipients_file(const std::filesystem::path& file, const std::optional<recipients_format>& given) {
    const recipients_format format = format_of(file, given);
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw recipients_file_error(file.string() + ": cannot be read (" + std::strerror(errno) + ")");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw recipients_file_error(file.string() + ": cannot be read (" + std::strerror(errno) + ")");
    return format == recipients_format::csv ? parse_recipients_csv(text.str(), file.string())
                                            : parse_recipients_json(text.str(), file.string());
}

} // namespace switchboard::host
