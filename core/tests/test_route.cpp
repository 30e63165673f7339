// Routes with destination rules and weighted steps: how they are read, which chain and which
// choice a recipient gets, and where it goes when a step fails it.
#include <switchboard/core/route.hpp>

#include "route_progress.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>

using namespace switchboard::core;
namespace json = boost::json;

namespace {

// +86 → SMN then VMS; +852 → uSpeedo A/B at 70/30; everyone else → WhatsApp then uSpeedo A.
const char* const by_destination = R"({"rules": [
  {"name": "mainland", "countries": ["cn"], "steps": [
     {"provider": "smn", "channel": "sms", "template": "T"},
     {"provider": "vms", "channel": "voice"}]},
  {"name": "hong-kong", "prefixes": ["+852"], "steps": [
     {"channel": "sms", "template": "U", "providers": [{"provider": "uspeedo-a", "weight": 70},
                                                       {"provider": "uspeedo-b", "weight": 30}]}]},
  {"name": "everyone-else", "steps": [
     {"provider": "cams", "channel": "whatsapp"},
     {"provider": "uspeedo-a", "channel": "sms"}]}]})";

route read(const std::string& text, std::vector<std::string>& problems) {
    return read_route("r", json::parse(text), "routes.r", problems);
}

route read_good(const std::string& text) {
    std::vector<std::string> problems;
    route r = read(text, problems);
    INFO((problems.empty() ? std::string() : problems.front()));
    REQUIRE(problems.empty());
    return r;
}

std::vector<std::string> problems_of(const std::string& text) {
    std::vector<std::string> problems;
    read(text, problems);
    return problems;
}

} // namespace

TEST_CASE("route: rules and weighted steps are read into chains of steps", "[core][route]") {
    const route r = read_good(by_destination);
    REQUIRE(r.chains.size() == 3);
    REQUIRE(r.steps.size() == 6);
    CHECK(has_destination_rules(r));
    CHECK(r.chains[0].rule == "mainland");
    CHECK(r.chains[0].countries == std::vector<std::string>{"CN"});   // upper case, as libphonenumber names them
    CHECK((r.chains[1].first_step == 2 && r.chains[1].end_step == 4));
    CHECK(r.steps[2].provider == "uspeedo-a");
    CHECK(r.steps[3].provider == "uspeedo-b");
    CHECK((r.steps[2].weight == 70 && r.steps[3].weight == 30));
    CHECK(r.steps[2].group == r.steps[3].group);
    CHECK(is_weighted_choice(r, 3));
    CHECK_FALSE(is_weighted_choice(r, 4));
    CHECK((r.chains[2].first_step == 4 && r.chains[2].end_step == 6));
    CHECK(r.steps[3].where == ".rules[1].steps[0].providers[1]");
    CHECK(r.steps[3].step_where == ".rules[1].steps[0]");
    // The plugin sees the step as one provider's, with the step's own settings.
    const json::object plugin_step = json::parse(r.steps[3].step_json).as_object();
    CHECK(plugin_step.at("provider") == "uspeedo-b");
    CHECK(plugin_step.at("template") == "U");
    CHECK_FALSE(plugin_step.contains("providers"));
    CHECK(chain_of(r, 4).rule == "everyone-else");

    const route plain = read_good(R"([{"provider": "a", "channel": "sms"}, {"provider": "b", "channel": "voice"}])");
    CHECK_FALSE(has_destination_rules(plain));
    REQUIRE(plain.chains.size() == 1);
    CHECK(plain.chains[0].end_step == 2);
}

TEST_CASE("route: each mistake in rules and weighted steps is named by its path", "[core][route]") {
    const std::vector<std::string> found = problems_of(R"({"rules": [
      {"name": "all", "steps": [{"provider": "a", "channel": "sms"}]},
      {"name": "all", "countries": ["XX"], "prefixes": ["852"], "steps": [
         {"provider": "a", "channel": "sms", "providers": [{"provider": "b", "weight": 0}, {"provider": "b"}]}]},
      {"name": "ids", "prefixes": ["+1"], "steps": [{"provider": "m", "channel": "messenger"}], "weight": 2}]})");
    const auto has = [&found](const std::string& text) {
        return std::any_of(found.begin(), found.end(), [&](const std::string& p) { return p.starts_with(text); });
    };
    CHECK(has("routes.r.rules[1].name: 'all' names an earlier rule too"));
    CHECK(has("routes.r.rules[1].countries[0]: 'XX' is not a country libphonenumber knows"));
    CHECK(has("routes.r.rules[1].prefixes[0]: '852' is not the beginning of an E.164 number"));
    CHECK(has("routes.r.rules[1]: never used: rule 'all' before it has no countries or prefixes"));
    CHECK(has("routes.r.rules[1].steps[0].provider: a step names either one \"provider\" or weighted \"providers\""));
    CHECK(has("routes.r.rules[1].steps[0].providers[0].weight: expected a whole number from 1 to 1000000, found 0"));
    CHECK(has("routes.r.rules[1].steps[0].providers[1].provider: 'b' is named twice in this step"));
    CHECK(has("routes.r.rules[2].weight: unknown key"));
    CHECK(has("routes.r.rules[2].steps[0].channel: rules choose by phone number, but 'messenger'"));
    CHECK(problems_of(R"({"rules": []})") == std::vector<std::string>{
        "routes.r.rules: expected a non-empty array of rules, each {\"name\", \"countries\" or \"prefixes\", \"steps\"}"});
    CHECK(problems_of(R"([{"channel": "sms", "providers": []}])") == std::vector<std::string>{
        "routes.r[0].providers: expected a non-empty array of {\"provider\": name, \"weight\": share}"});
}

TEST_CASE("route: a recipient takes the first rule its country or prefix matches", "[core][route]") {
    const route r = read_good(by_destination);
    CHECK(chain_for(r, "+8613800138000", "CN")->rule == "mainland");
    CHECK(chain_for(r, "+85255311111", "HK")->rule == "hong-kong");     // by prefix
    CHECK(chain_for(r, "+6581234567", "SG")->rule == "everyone-else");
    const route no_catch_all = read_good(R"({"rules": [{"name": "hk", "prefixes": ["+852"],
                                             "steps": [{"provider": "a", "channel": "sms"}]}]})");
    CHECK(chain_for(no_catch_all, "+6581234567", "SG") == nullptr);
}

TEST_CASE("route: a weighted step splits recipients by weight, the same way every time", "[core][route]") {
    route r = read_good(by_destination);
    r.seed = choice_seed("job-1");
    const route_chain& hong_kong = r.chains[1];
    std::map<int, int> by_step;
    std::map<std::string, int> first_choice;
    for (int i = 0; i < 10'000; ++i) {
        const std::string address = "+8525531" + std::to_string(1000 + i);
        const int step = first_step(r, hong_kong, address);
        ++by_step[step];
        first_choice[address] = step;
    }
    CHECK(by_step.size() == 2);
    CHECK(by_step[2] >= 6'700);   // 70 % ± 3 %
    CHECK(by_step[2] <= 7'300);
    CHECK(by_step[2] + by_step[3] == 10'000);
    // The same recipient of the same job: the same choice, as after a restart.
    route again = read_good(by_destination);
    again.seed = choice_seed("job-1");
    for (const auto& [address, step] : first_choice)
        REQUIRE(first_step(again, again.chains[1], address) == step);
    // Another job draws again: some recipients land elsewhere.
    again.seed = choice_seed("job-2");
    const auto moved = std::count_if(first_choice.begin(), first_choice.end(), [&](const auto& choice) {
        return first_step(again, again.chains[1], choice.first) != choice.second;
    });
    CHECK(moved > 1'000);
    // An unweighted first step is the chain's first.
    CHECK(first_step(r, r.chains[0], "+8613800138000") == 0);
}

TEST_CASE("route: a failed choice goes to the step's other choices, then on along its own chain only", "[core][route]") {
    route r = read_good(by_destination);
    r.seed = 7;
    CHECK(next_step(r, 2, "+85255311111", {2}, {}) == 3);
    CHECK(next_step(r, 3, "+85255311111", {3}, {}) == 2);
    CHECK(next_step(r, 3, "+85255311111", {2, 3}, {}) == std::nullopt);   // the end of the hong-kong chain
    CHECK(next_step(r, 2, "+85255311111", {2}, {"uspeedo-b"}) == std::nullopt);   // it took the recipient once
    CHECK(next_step(r, 0, "+8613800138000", {0}, {}) == 1);
    CHECK(next_step(r, 1, "+8613800138000", {0, 1}, {}) == std::nullopt);
    CHECK(next_step(r, 4, "+6581234567", {4}, {}) == 5);
    CHECK(next_step(r, 4, "+6581234567", {4}, {"uspeedo-a"}) == std::nullopt);
    CHECK(next_step(r, 5, "+6581234567", {4, 5}, {}) == std::nullopt);
}

TEST_CASE("route: fall_back moves a recipient from one weighted choice to the other, then ends it", "[core][route]") {
    route r = read_good(by_destination);
    recipient_update u;
    u.to = "+85255311111";
    u.step = first_step(r, r.chains[1], u.to);
    const int first = u.step;
    record_step(u, r, {step_result::failed, "E1", "refused"}, 100);
    fall_back(u, r, 100);
    CHECK(u.state == recipient_state::queued);
    CHECK(u.step == (first == 2 ? 3 : 2));
    record_step(u, r, {step_result::failed, "E2", "refused again"}, 200);
    fall_back(u, r, 200);
    CHECK(u.state == recipient_state::failed);
    CHECK(u.reason.find("uspeedo-a") != std::string::npos);
    CHECK(u.reason.find("uspeedo-b") != std::string::npos);
}

TEST_CASE("route: stored with a job, a route keeps its rules and seed, and one stored before rules still reads", "[core][route]") {
    route r = read_good(by_destination);
    r.seed = 0xfedcba9876543210ULL;
    const route back = route_from_json(route_to_json(r));
    CHECK(back.seed == r.seed);
    CHECK(back.chains.size() == 3);
    CHECK(back.steps.size() == 6);
    CHECK(back.steps[3].step_json == r.steps[3].step_json);
    // A plain route is stored as daemons before rules stored it, so that one rolled back still reads it.
    route plain = read_good(R"([{"provider": "a", "channel": "sms"}])");
    plain.seed = 5;
    const json::object stored = json::parse(route_to_json(plain)).as_object();
    CHECK(stored.at("steps").as_array().size() == 1);
    CHECK_FALSE(stored.contains("definition"));
    CHECK(route_from_json(route_to_json(plain)).seed == 5);
    const route old = route_from_json(R"({"name": "otp", "steps": [{"provider": "a", "channel": "sms"}]})");
    CHECK(old.name == "otp");
    CHECK(old.steps.size() == 1);
    CHECK(old.seed == 0);
}
