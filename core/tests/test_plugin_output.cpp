// What the host says about a plugin's malformed document: where and why, in words, never where in
// Boost the reading failed.
#include "plugin_output.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using switchboard::core::plain_reason;
using switchboard::core::plugin_output_array;
using switchboard::core::plugin_output_error;

namespace {

std::string refusal(std::string_view text) {
    try {
        plugin_output_array(text, "outcomes");
    } catch (const plugin_output_error& e) {
        return e.what();
    }
    return "read";
}

} // namespace

TEST_CASE("plugin output: a document is read for its array", "[plugin_output]") {
    const boost::json::array outcomes = plugin_output_array(R"({"outcomes": [{"id": "0"}, {"id": "1"}]})", "outcomes");
    REQUIRE(outcomes.size() == 2);
    CHECK(outcomes[1].at("id") == "1");
}

TEST_CASE("plugin output: what is not JSON is named by where it stops, with no source location", "[plugin_output]") {
    const std::string truncated = refusal(R"({"outcomes": [{"id": "0"},)");
    CHECK_THAT(truncated, Catch::StartsWith("not JSON: "));
    CHECK_THAT(truncated, Catch::Contains("at byte 26 of 26, starting '{\"outcomes\": [{\"id\": \"0\"},'"));
    CHECK_THAT(refusal("<html>502 Bad Gateway</html>"), Catch::StartsWith("not JSON: ") && Catch::Contains("at byte 0 of 28"));
    for (const std::string& reason : {truncated, refusal("<html>")}) {
        CHECK_THAT(reason, !Catch::Contains("boost") && !Catch::Contains(".hpp"));
    }
}

TEST_CASE("plugin output: a document of another shape says what was expected", "[plugin_output]") {
    CHECK(refusal("[1, 2]") == "expected a JSON object, found array");
    CHECK(refusal(R"({"outcome": []})") == R"(expected an array "outcomes" in its document)");
    CHECK(refusal(R"({"outcomes": {}})") == R"(expected an array "outcomes" in its document)");
}

TEST_CASE("plugin output: Boost.JSON's own errors read without their source location", "[plugin_output]") {
    try {
        (void)boost::json::parse(R"({"outcomes": [1,)");
        FAIL("a truncated document was parsed");
    } catch (const std::exception& e) {
        REQUIRE_THAT(std::string(e.what()), Catch::Contains(".hpp"));   // what plain_reason leaves out
        CHECK(plain_reason(e) == "incomplete JSON");
    }
    CHECK(plain_reason(std::runtime_error("the plugin's own words")) == "the plugin's own words");
}
