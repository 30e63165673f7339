// The recipients file of `switchboard send`: CSV as RFC 4180 writes it (and spreadsheets save it),
// JSON as the API takes it, and an error that says where for every way a file can be wrong.
#include "recipients_file.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace json = boost::json;
using namespace switchboard::host;

namespace {

std::vector<json::object> csv(std::string_view text) {
    std::vector<json::object> out;
    for (const std::string& item : parse_recipients_csv(text, "list.csv"))
        out.push_back(json::parse(item).as_object());
    return out;
}

std::string csv_error(std::string_view text) {
    try {
        parse_recipients_csv(text, "list.csv");
    } catch (const recipients_file_error& e) {
        return e.what();
    }
    FAIL("no error for: " << text);
    return {};
}

std::string json_error(std::string_view text) {
    try {
        parse_recipients_json(text, "list.json");
    } catch (const recipients_file_error& e) {
        return e.what();
    }
    FAIL("no error for: " << text);
    return {};
}

} // namespace

TEST_CASE("a CSV row gives to, ref and every other column as a named parameter", "[host][csv]") {
    const auto rows = csv("to,ref,code,name\n+85261000001,user-1,123456,Ann\n+85261000002,,654321,Bob\n");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0] == json::parse(R"({"to": "+85261000001", "ref": "user-1", "params": {"code": "123456", "name": "Ann"}})"));
    // An empty ref is left out, and so is an empty parameter cell.
    CHECK(rows[1] == json::parse(R"({"to": "+85261000002", "params": {"code": "654321", "name": "Bob"}})"));
    CHECK(csv("to\n+85261000001")[0] == json::parse(R"({"to": "+85261000001"})"));
    CHECK(csv("code,to\n1,+85261000001\n2,+85261000002\n")[1] == json::parse(R"({"to": "+85261000002", "params": {"code": "2"}})"));
}

TEST_CASE("CSV quoting: commas, doubled quotes and line breaks inside quotes, CRLF, a BOM, blank lines", "[host][csv]") {
    const auto rows = csv("\xEF\xBB\xBFTo,REF,greeting\r\n"
                          "\"+85261000001\",\"Chan, Tai Man\",\"say \"\"hi\"\"\"\r\n"
                          "\r\n"
                          "+85261000002,\"two\r\nlines\",\"\"\r\n"
                          "+85261000003,x,\xE4\xBD\xA0\xE5\xA5\xBD\r\n");
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].at("to") == "+85261000001");   // the BOM is not part of the first column's name
    CHECK(rows[0].at("ref") == "Chan, Tai Man");
    CHECK(rows[0].at("params").at("greeting") == "say \"hi\"");
    CHECK(rows[1].at("ref") == "two\r\nlines");
    CHECK_FALSE(rows[1].contains("params"));     // "" is an empty cell
    CHECK(rows[2].at("params").at("greeting") == "\xE4\xBD\xA0\xE5\xA5\xBD");
    // Spaces around a number are not part of it; a trailing comma is an empty last field.
    CHECK(csv("to,code\n  +85261000001 ,")[0] == json::parse(R"({"to": "+85261000001"})"));
}

TEST_CASE("a bad CSV row is refused with its line, column and what is wrong", "[host][csv]") {
    CHECK(csv_error("to,ref,code\n+85261000001,a,1\n+85261000002,b\n") ==
          "list.csv: line 3: 2 fields, but the header names 3 columns (to, ref, code)");
    CHECK(csv_error("to,ref\n+85261000001,Chan, Tai Man\n") ==
          "list.csv: line 2: 3 fields, but the header names 2 columns (to, ref); put a value that holds a comma in quotes");
    CHECK(csv_error("to,ref,code\n+85261000001,a,1\n ,b,2\n") ==
          "list.csv: line 3, column 1 (to): is empty; every recipient needs a number or id");
    CHECK(csv_error("ref,to\nx,+85261000001\ny,\"\"\n") ==
          "list.csv: line 3, column 2 (to): is empty; every recipient needs a number or id");
    // The line of a row after a quoted line break counts that break.
    CHECK(csv_error("to,ref\n+85261000001,\"a\nb\"\n+85261000002\n") ==
          "list.csv: line 4: 1 field, but the header names 2 columns (to, ref)");
    CHECK_THAT(csv_error("to,ref\n+85261000001,ok\n+85261000002,\"not closed\n+85261000003,x\n"),
               Catch::StartsWith("list.csv: line 3, column 2: the quoted field that starts here is not closed"));
    CHECK_THAT(csv_error("to,ref\n+85261000001,say \"hi\"\n"),
               Catch::StartsWith("list.csv: line 2, column 2: a quote inside a field that does not start with one"));
    CHECK_THAT(csv_error("to,ref\n+85261000001,\"say\" hi\n"),
               Catch::StartsWith("list.csv: line 2, column 2: text after the closing quote"));
    CHECK_THAT(csv_error("to,ref\n+85261000001,Caf\xE9\n"),
               Catch::StartsWith("list.csv: line 2, column 2 (ref): is not UTF-8 text"));
}

TEST_CASE("a CSV header without a 'to' column, or with a nameless or repeated one, is refused", "[host][csv]") {
    CHECK(csv_error("phone,ref\n+85261000001,a\n") ==
          "list.csv: line 1: the header has no 'to' column (the recipient's number or id); its columns: phone, ref");
    CHECK_THAT(csv_error("to;ref;code\n+85261000001;a;1\n"), Catch::EndsWith("only ',' separates them"));
    CHECK(csv_error("to,,code\n1,2,3\n") == "list.csv: line 1, column 2: the header names no column here; every column needs a name");
    CHECK(csv_error("to,code,code\n1,2,3\n") == "list.csv: line 1, column 3: column 'code' is named twice (columns 2 and 3)");
    CHECK(csv_error("") == "list.csv: the file is empty; expected a header row such as to,ref,code and a row per recipient");
    CHECK(csv_error("\xEF\xBB\xBFto,ref\r\n\r\n") == "list.csv: no recipients: the file has a header row and nothing after it");
}

TEST_CASE("a JSON recipients file is an array of recipient objects", "[host][json]") {
    const auto items = parse_recipients_json(
        R"([{"to": "+85261000001", "params": {"code": 123456}, "ref": "a"}, {"to": "+85261000002"}])", "list.json");
    REQUIRE(items.size() == 2);
    CHECK(json::parse(items[0]) == json::parse(R"({"to": "+85261000001", "params": {"code": 123456}, "ref": "a"})"));
    CHECK(json_error("[{\"to\": \"+85261000001\"},\n {\"to\": }]") ==
          "list.json: line 2, column 9: not valid JSON (syntax error)");
    CHECK(json_error(R"([{"to": "+85261000001"}, {"ref": "x"}])") ==
          "list.json: recipients[1].to: is required: the recipient's number or id, as a string");
    CHECK(json_error(R"([{"to": "+85261000001", "params": {"code": [1]}}])") ==
          "list.json: recipients[0].params.code: must be a string or a number");
    CHECK_THAT(json_error(R"({"to": "+85261000001"})"), Catch::StartsWith("list.json: expected a JSON array of recipients"));
    CHECK(json_error("[]") == "list.json: no recipients: the array is empty");
}

TEST_CASE("the format is the file's extension unless --format says otherwise", "[host][csv][json]") {
    CHECK(format_of("a/list.csv", std::nullopt) == recipients_format::csv);
    CHECK(format_of("LIST.CSV", std::nullopt) == recipients_format::csv);
    CHECK(format_of("list.json", std::nullopt) == recipients_format::json);
    CHECK(format_of("list.txt", recipients_format::csv) == recipients_format::csv);
    CHECK(format_of("list.csv", recipients_format::json) == recipients_format::json);
    CHECK_THROWS_WITH(format_of("list.txt", std::nullopt),
                      "list.txt: cannot tell the format from the name (.csv or .json); give --format csv or --format json");

    const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("switchboard-recipients-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(file) << "to,code\n+85261000001,1\n";
    CHECK(read_recipients_file(file, recipients_format::csv).size() == 1);
    CHECK_THROWS_WITH(read_recipients_file(file, recipients_format::json), Catch::StartsWith(file.string() + ": line 1, column ") && Catch::Contains("not valid JSON"));
    std::filesystem::remove(file);
    CHECK_THROWS_WITH(read_recipients_file(file, recipients_format::csv), file.string() + ": cannot be read (No such file or directory)");
}
