// API bodies read strictly: a key given twice is refused with its path; the canonical form of a
// document does not depend on the order of its keys.
#include "json_body.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

using namespace switchboard::host;
namespace json = boost::json;

TEST_CASE("json body: a key given twice is refused, naming where", "[host][json]") {
    CHECK(read_json_body(R"({"route": "otp", "route": "marketing"})").field == "route");
    CHECK(read_json_body(R"({"route": "otp", "route": "marketing"})").problem == "is given twice: each field must appear once");
    CHECK(read_json_body(R"({"recipients": [{"to": "1"}, {"to": "2", "params": {"a": 1, "a": 2}}]})").field ==
          "recipients[1].params.a");
    CHECK(read_json_body(R"({"a": [[1, 2], {"b": {"c": 1, "c": 2}}]})").field == "a[1].b.c");
    // The same key in two objects is no repeat.
    const json_body fine = read_json_body(R"({"recipients": [{"to": "1"}, {"to": "2"}], "params": {"to": "x"}})");
    CHECK(fine.problem.empty());
    CHECK(fine.document.at("recipients").as_array().size() == 2);
    // Past sixteen keys an object is checked through a hash set: still found.
    std::string many = "{";
    for (int i = 0; i < 40; ++i)
        many += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
    CHECK(read_json_body(many + "\"k7\": 0}").field == "k7");
    CHECK(read_json_body(many + "\"k40\": 0}").problem.empty());
}

TEST_CASE("json body: what is not a JSON object is refused with the reason", "[host][json]") {
    CHECK(read_json_body("{\"route\": ").problem.rfind("the body is not valid JSON", 0) == 0);
    CHECK(read_json_body("[1, 2]").problem == "the body must be a JSON object");
}

TEST_CASE("json body: the canonical form sorts every object's keys and keeps arrays in order", "[host][json]") {
    const json::value a = json::parse(R"({"route": "otp", "params": {"b": 1, "a": [3, {"y": 1, "x": 2}]}})");
    const json::value b = json::parse(R"({"params": {"a": [3, {"x": 2, "y": 1}], "b": 1}, "route": "otp"})");
    CHECK(canonical_json(a) == canonical_json(b));
    CHECK(canonical_json(a) == R"({"params":{"a":[3,{"x":2,"y":1}],"b":1},"route":"otp"})");
    CHECK(canonical_json(json::parse(R"([{"b": 1}, {"a": 1}])")) == R"([{"b":1},{"a":1}])");
}
