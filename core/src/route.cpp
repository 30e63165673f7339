#include <switchboard/core/route.hpp>

#include <switchboard/core/config_schema.hpp>
#include <switchboard/core/excerpt.hpp>
#include <switchboard/core/job.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/phone_numbers.hpp>
#include <switchboard/core/plugin_documents.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <stdexcept>

namespace switchboard::core {

namespace json = boost::json;

namespace {

constexpr std::int64_t longest_receipt_wait_ms = 7LL * 24 * 3600 * 1000;

// "120s", "1500ms", "2m", "1h", or a whole number of milliseconds.
std::optional<std::int64_t> duration_ms(const json::value& v) {
    if (v.is_int64())
        return v.get_int64() >= 0 ? std::optional<std::int64_t>(v.get_int64()) : std::nullopt;
    if (!v.is_string())
        return std::nullopt;
    const std::string_view text = v.get_string();
    std::int64_t amount = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
    if (ec != std::errc() || amount < 0)
        return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    for (const auto& [name, scale] : {std::pair<std::string_view, std::int64_t>{"ms", 1}, {"s", 1000}, {"m", 60'000},
                                      {"h", 3'600'000}})
        if (unit == name)
            return amount > longest_receipt_wait_ms / scale ? longest_receipt_wait_ms + 1 : amount * scale;
    return std::nullopt;
}

std::string required_string(const json::object& step, std::string_view key, const std::string& path,
                            std::vector<std::string>& problems) {
    const json::value* v = step.if_contains(key);
    if (v == nullptr || !v->is_string() || v->get_string().empty()) {
        problems.push_back(path + "." + std::string(key) + ": " + (v == nullptr ? "is required" : "expected a non-empty string"));
        return {};
    }
    return std::string(v->get_string());
}

route_step read_step(const json::object& s, const std::string& path, std::vector<std::string>& problems) {
    route_step step;
    step.provider = required_string(s, "provider", path, problems);
    step.channel = required_string(s, "channel", path, problems);
    step.step_json = json::serialize(s);
    if (const json::value* wait = s.if_contains("receipt_wait")) {
        const std::optional<std::int64_t> ms = duration_ms(*wait);
        if (!ms || *ms > longest_receipt_wait_ms)
            problems.push_back(path + ".receipt_wait: expected a duration such as \"120s\", \"500ms\", \"10m\" "
                                      "(at most 7 days), found " + excerpt(json::serialize(*wait)));
        else
            step.receipt_wait_ms = *ms;
    }
    if (const json::value* schedule = s.if_contains("schedule")) {
        const std::string_view text = schedule->is_string() ? std::string_view(schedule->get_string()) : "";
        if (text == "vendor" || text == "host")
            step.vendor_schedules = text == "vendor";
        else
            problems.push_back(path + ".schedule: expected \"host\" (the daemon waits for send_at) or \"vendor\" "
                                      "(the call goes out at once and the vendor holds it), found " +
                               excerpt(json::serialize(*schedule)));
    }
    if (const json::value* policy = s.if_contains("on_unknown")) {
        const std::string_view text = policy->is_string() ? std::string_view(policy->get_string()) : "";
        if (text == "hold")
            step.on_unknown = unknown_outcome_policy::hold;
        else if (text == "resend")
            step.on_unknown = unknown_outcome_policy::resend;
        else if (text == "next_step")
            step.on_unknown = unknown_outcome_policy::next_step;
        else
            problems.push_back(path + ".on_unknown: expected \"hold\", \"resend\" or \"next_step\", found " +
                               excerpt(json::serialize(*policy)));
    }
    return step;
}

// Checks the plugin's own keys of `step` against its manifest's step_schema; false when it breaks it.
bool check_step_schema(const route_step& step, const plugin_manifest& manifest, const std::string& path,
                       std::vector<std::string>& problems) {
    if (manifest.step_schema_json.empty())
        return true;
    const std::vector<std::string> found =
        step_schema_problems(manifest.step_schema_json, step.step_json, path, manifest.name);
    problems.insert(problems.end(), found.begin(), found.end());
    return found.empty();
}

constexpr std::int64_t heaviest_weight = 1'000'000;

// The choices of a weighted step: one route_step per instance, each with the step's own settings.
void read_weighted_choices(const json::object& s, const route_step& common, const std::string& path,
                           std::vector<route_step>& out, std::vector<std::string>& problems) {
    const json::value& choices = s.at("providers");
    if (s.contains("provider"))
        problems.push_back(path + ".provider: a step names either one \"provider\" or weighted \"providers\", not both");
    if (!choices.is_array() || choices.get_array().empty()) {
        problems.push_back(path + ".providers: expected a non-empty array of {\"provider\": name, \"weight\": share}");
        return;
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < choices.get_array().size(); ++i) {
        const std::string choice_path = path + ".providers[" + std::to_string(i) + "]";
        const json::object* choice = choices.get_array()[i].if_object();
        if (choice == nullptr) {
            problems.push_back(choice_path + ": expected {\"provider\": name, \"weight\": share}");
            continue;
        }
        route_step step = common;
        step.provider = required_string(*choice, "provider", choice_path, problems);
        if (!step.provider.empty() && !seen.insert(step.provider).second)
            problems.push_back(choice_path + ".provider: '" + excerpt(step.provider) + "' is named twice in this step");
        if (const json::value* weight = choice->if_contains("weight")) {
            if (!weight->is_int64() || weight->get_int64() < 1 || weight->get_int64() > heaviest_weight)
                problems.push_back(choice_path + ".weight: expected a whole number from 1 to 1000000, found " +
                                   excerpt(json::serialize(*weight)));
            else
                step.weight = static_cast<int>(weight->get_int64());
        }
        for (const auto& [key, value] : *choice)
            if (key != "provider" && key != "weight")
                problems.push_back(choice_path + "." + std::string(key) +
                                   ": unknown key; a weighted choice has \"provider\" and \"weight\" (the step's other "
                                   "settings are the step's)");
        json::object plugin_step = s;
        plugin_step.erase("providers");
        plugin_step["provider"] = step.provider;
        step.step_json = json::serialize(plugin_step);
        step.where += ".providers[" + std::to_string(i) + "]";
        out.push_back(std::move(step));
    }
}

// A chain's steps, appended to r.steps; `where` is the array's place in the route ("", ".rules[0].steps").
void read_steps(const json::value& steps, const std::string& path, const std::string& where, route& r,
                std::vector<std::string>& problems) {
    if (!steps.is_array() || steps.get_array().empty()) {
        problems.push_back(path + where + ": expected a non-empty array of steps");
        return;
    }
    const json::array& list = steps.get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string step_where = where + "[" + std::to_string(i) + "]";
        const std::string step_path = path + step_where;
        if (!list[i].is_object()) {
            problems.push_back(step_path + ": expected an object with provider and channel");
            continue;
        }
        const json::object& s = list[i].get_object();
        const int group = r.steps.empty() ? 0 : r.steps.back().group + 1;
        if (!s.contains("providers")) {
            r.steps.push_back(read_step(s, step_path, problems));
            r.steps.back().group = group;
            r.steps.back().step_where = step_where;
            r.steps.back().where = step_where;
            continue;
        }
        json::object common_settings = s;
        common_settings.erase("providers");
        common_settings["provider"] = "weighted";   // only the step's own settings are read here
        route_step common = read_step(common_settings, step_path, problems);
        common.group = group;
        common.step_where = step_where;
        common.where = step_where;
        read_weighted_choices(s, common, step_path, r.steps, problems);
    }
}

std::vector<std::string> read_string_list(const json::object& rule, std::string_view key, const std::string& path,
                                          std::vector<std::string>& problems) {
    std::vector<std::string> out;
    const json::value* v = rule.if_contains(key);
    if (v == nullptr)
        return out;
    if (!v->is_array() || v->get_array().empty()) {
        problems.push_back(path + "." + std::string(key) + ": expected a non-empty array of strings");
        return out;
    }
    for (std::size_t i = 0; i < v->get_array().size(); ++i) {
        const json::value& item = v->get_array()[i];
        if (item.is_string())
            out.emplace_back(item.get_string());
        else
            problems.push_back(path + "." + std::string(key) + "[" + std::to_string(i) + "]: expected a string");
    }
    return out;
}

void check_countries(std::vector<std::string>& countries, const std::string& path, std::vector<std::string>& problems) {
    for (std::size_t i = 0; i < countries.size(); ++i) {
        std::string& code = countries[i];
        std::transform(code.begin(), code.end(), code.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        if (code.size() != 2 || !is_supported_region(code))
            problems.push_back(path + ".countries[" + std::to_string(i) + "]: '" + excerpt(code) +
                               "' is not a country libphonenumber knows: expected an ISO 3166-1 alpha-2 code such as \"CN\"");
    }
}

void check_prefixes(const std::vector<std::string>& prefixes, const std::string& path, std::vector<std::string>& problems) {
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
        const std::string& p = prefixes[i];
        if (p.size() < 2 || p.size() > 16 || p.front() != '+' || p[1] == '0' ||
            p.find_first_not_of("0123456789", 1) != std::string::npos)
            problems.push_back(path + ".prefixes[" + std::to_string(i) + "]: '" + excerpt(p) +
                               "' is not the beginning of an E.164 number: expected \"+\" and a country code, "
                               "maybe more digits, such as \"+852\" or \"+86138\"");
    }
}

void read_rule(const json::value& item, const std::string& path, std::size_t index, route& r,
               std::vector<std::string>& problems) {
    const std::string where = ".rules[" + std::to_string(index) + "]";
    const std::string rule_path = path + where;
    if (!item.is_object()) {
        problems.push_back(rule_path + ": expected an object with name, countries or prefixes, and steps");
        return;
    }
    const json::object& rule = item.get_object();
    route_chain chain;
    chain.rule = required_string(rule, "name", rule_path, problems);
    for (const route_chain& earlier : r.chains)
        if (!chain.rule.empty() && earlier.rule == chain.rule)
            problems.push_back(rule_path + ".name: '" + excerpt(chain.rule) + "' names an earlier rule too");
    chain.countries = read_string_list(rule, "countries", rule_path, problems);
    chain.prefixes = read_string_list(rule, "prefixes", rule_path, problems);
    check_countries(chain.countries, rule_path, problems);
    check_prefixes(chain.prefixes, rule_path, problems);
    for (const auto& [key, value] : rule)
        if (key != "name" && key != "countries" && key != "prefixes" && key != "steps")
            problems.push_back(rule_path + "." + std::string(key) + ": unknown key; a rule has name, countries, prefixes and steps");
    if (!r.chains.empty() && r.chains.back().countries.empty() && r.chains.back().prefixes.empty())
        problems.push_back(rule_path + ": never used: rule '" + r.chains.back().rule +
                           "' before it has no countries or prefixes and takes everyone; put it last");
    chain.first_step = r.steps.size();
    if (const json::value* steps = rule.if_contains("steps"))
        read_steps(*steps, path, where + ".steps", r, problems);
    else
        problems.push_back(rule_path + ".steps: is required: the steps recipients under this rule take");
    chain.end_step = r.steps.size();
    if (chain.end_step > chain.first_step && !addressed_by_phone_number(r.steps[chain.first_step].channel))
        problems.push_back(path + r.steps[chain.first_step].step_where + ".channel: rules choose by phone number, but '" +
                           r.steps[chain.first_step].channel + "' addresses people by platform ids");
    r.chains.push_back(std::move(chain));
}

void read_rules(const json::object& definition, const std::string& path, route& r, std::vector<std::string>& problems) {
    for (const auto& [key, value] : definition)
        if (key != "rules")
            problems.push_back(path + "." + std::string(key) + ": unknown key; a route is an array of steps or {\"rules\": [...]}");
    const json::value* rules = definition.if_contains("rules");
    if (rules == nullptr || !rules->is_array() || rules->get_array().empty()) {
        problems.push_back(path + ".rules: expected a non-empty array of rules, each {\"name\", \"countries\" or "
                                  "\"prefixes\", \"steps\"}");
        return;
    }
    for (std::size_t i = 0; i < rules->get_array().size(); ++i)
        read_rule(rules->get_array()[i], path, i, r, problems);
}

} // namespace

route read_route(std::string name, const json::value& definition, const std::string& path, std::vector<std::string>& problems) {
    route r{std::move(name), {}, {}, 0, json::serialize(definition)};
    if (definition.is_object()) {
        read_rules(definition.get_object(), path, r, problems);
        return r;
    }
    read_steps(definition, path, "", r, problems);
    r.chains.push_back({"", {}, {}, 0, r.steps.size()});
    return r;
}

bool has_destination_rules(const route& r) {
    return r.chains.size() > 1 || (!r.chains.empty() && !r.chains.front().rule.empty());
}

const route_chain* chain_for(const route& r, std::string_view address, std::string_view country) {
    for (const route_chain& chain : r.chains) {
        const bool anyone = chain.countries.empty() && chain.prefixes.empty();
        const bool by_country = !country.empty() && std::find(chain.countries.begin(), chain.countries.end(), country) != chain.countries.end();
        const bool by_prefix = std::any_of(chain.prefixes.begin(), chain.prefixes.end(),
                                           [&](const std::string& p) { return address.starts_with(p); });
        if (anyone || by_country || by_prefix)
            return &chain;
    }
    return nullptr;
}

bool is_weighted_choice(const route& r, std::size_t step) {
    const int group = r.steps.at(step).group;
    return (step > 0 && r.steps[step - 1].group == group) || (step + 1 < r.steps.size() && r.steps[step + 1].group == group);
}

const route_chain& chain_of(const route& r, std::size_t step) {
    for (const route_chain& chain : r.chains)
        if (step >= chain.first_step && step < chain.end_step)
            return chain;
    throw std::out_of_range("step " + std::to_string(step) + " is on no chain of route '" + r.name + "'");
}

namespace {

// SplitMix64's finaliser: every bit of the input moves about half the bits of the output.
std::uint64_t mixed(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// FNV-1a: stable across compilers and runs, unlike std::hash.
std::uint64_t text_hash(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char c : text)
        h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

// The weighted choice among `candidates` (steps of one group) for this recipient.
std::size_t weighted_choice(const route& r, const std::vector<std::size_t>& candidates, std::string_view address) {
    std::uint64_t total = 0;
    for (const std::size_t s : candidates)
        total += static_cast<std::uint64_t>(r.steps[s].weight);
    const std::uint64_t group = static_cast<std::uint64_t>(r.steps[candidates.front()].group);
    std::uint64_t point = mixed(mixed(r.seed ^ text_hash(address)) + group) % total;
    for (const std::size_t s : candidates) {
        const auto weight = static_cast<std::uint64_t>(r.steps[s].weight);
        if (point < weight)
            return s;
        point -= weight;
    }
    return candidates.back();
}

} // namespace

int first_step(const route& r, const route_chain& chain, std::string_view address) {
    if (!is_weighted_choice(r, chain.first_step))
        return static_cast<int>(chain.first_step);
    std::vector<std::size_t> group;
    for (std::size_t s = chain.first_step; s < chain.end_step && r.steps[s].group == r.steps[chain.first_step].group; ++s)
        group.push_back(s);
    return static_cast<int>(weighted_choice(r, group, address));
}

std::optional<int> next_step(const route& r, std::size_t from, std::string_view address, const std::set<std::size_t>& tried,
                             const std::set<std::string, std::less<>>& took) {
    const route_chain& chain = chain_of(r, from);
    // The step's own other choices first, then each later step in turn.
    std::size_t group_start = from;
    while (group_start > chain.first_step && r.steps[group_start - 1].group == r.steps[from].group)
        --group_start;
    for (std::size_t s = group_start; s < chain.end_step;) {
        std::vector<std::size_t> open;
        const int group = r.steps[s].group;
        for (; s < chain.end_step && r.steps[s].group == group; ++s)
            if (s != from && tried.count(s) == 0 && took.count(r.steps[s].provider) == 0)
                open.push_back(s);
        if (!open.empty())
            return static_cast<int>(weighted_choice(r, open, address));
    }
    return std::nullopt;
}

std::uint64_t choice_seed(std::string_view job_id) { return mixed(text_hash(job_id)); }

namespace {

// The choices of a weighted step share its settings: a problem with them is told once.
void add_problem(std::vector<std::string>& problems, std::string problem) {
    if (std::find(problems.begin(), problems.end(), problem) == problems.end())
        problems.push_back(std::move(problem));
}

} // namespace

void check_route_providers(const route& r, const provider_map& providers, const std::string& path,
                           std::vector<std::string>& problems) {
    for (const route_step& step : r.steps) {
        const std::string step_path = path + step.step_where;
        if (step.provider.empty())
            continue;  // reported as missing already
        const auto provider = providers.find(step.provider);
        if (provider == providers.end()) {
            problems.push_back(path + step.where + ".provider: no provider instance named '" + excerpt(step.provider) + "'");
            continue;
        }
        const plugin_manifest& manifest = provider->second->owner().manifest();
        if (std::find(manifest.channels.begin(), manifest.channels.end(), step.channel) == manifest.channels.end())
            add_problem(problems, step_path + ".channel: provider '" + step.provider + "' has no channel '" +
                                      excerpt(step.channel) + "'");
        if (step.vendor_schedules && !manifest.vendor_scheduling)
            add_problem(problems, step_path + ".schedule: provider '" + step.provider + "' (plugin " + manifest.name +
                                      ") cannot have its vendor hold a call until send_at: remove \"schedule\": \"vendor\"");
        if (step.receipt_wait_ms > 0 && manifest.receipts == "none")
            add_problem(problems, step_path + ".receipt_wait: provider '" + step.provider + "' (plugin " + manifest.name +
                                      ") gets no delivery receipts, so every recipient would wait it out: remove it");
    }
}

std::string missing_provider(const route& r, const provider_map& providers) {
    for (const route_step& step : r.steps)
        if (providers.find(step.provider) == providers.end())
            return "step " + (step.where.starts_with('.') ? step.where.substr(1) : step.where) +
                   " names provider instance '" + step.provider + "', which is not configured";
    return {};
}

void check_route_steps(const route& r, const provider_map& providers, const std::string& path,
                       std::vector<std::string>& problems) {
    for (const route_step& step : r.steps) {
        const std::string step_path = path + step.step_where;
        const auto provider = providers.find(step.provider);
        if (provider == providers.end())
            continue;
        const auto& channels = provider->second->owner().manifest().channels;
        if (std::find(channels.begin(), channels.end(), step.channel) == channels.end())
            continue;
        std::vector<std::string> schema_problems;
        const bool schema_kept = check_step_schema(step, provider->second->owner().manifest(), step_path, schema_problems);
        for (std::string& p : schema_problems)
            add_problem(problems, std::move(p));
        if (!schema_kept)
            continue;   // the plugin would only repeat the first of them
        // A sample recipient: only what the plugin says of the step's own fields counts here.
        recipient sample;
        sample.to = addressed_by_phone_number(step.channel) ? "+85255311111" : "1234567890123456";
        const recipient* samples[] = {&sample};
        const plugin_call_result result = provider->second->validate(validation_document(step, samples));
        if (!result.ok()) {
            problems.push_back(path + step.where + ": provider '" + step.provider + "' cannot check this step: " + result.error);
            continue;
        }
        boost::system::error_code ec;
        const json::value doc = json::parse(result.json, ec);
        const json::value* verdicts = !ec && doc.is_object() ? doc.get_object().if_contains("verdicts") : nullptr;
        if (verdicts == nullptr || !verdicts->is_array() || verdicts->get_array().empty() ||
            !verdicts->get_array().front().is_object())
            continue;
        const json::object& verdict = verdicts->get_array().front().get_object();
        const json::value* field = verdict.if_contains("field");
        const json::value* reason = verdict.if_contains("reason");
        if (field == nullptr || !field->is_string() || !field->get_string().starts_with("step."))
            continue;  // about the sample recipient, not the step
        add_problem(problems, step_path + "." + std::string(field->get_string().subview(5)) + ": " +
                                  (reason != nullptr && reason->is_string() ? std::string(reason->get_string()) : "refused"));
    }
}

std::string route_to_json(const route& r) {
    // A plain route keeps the form daemons before destination rules read ("steps"), so that one
    // rolled back still sends the jobs a newer one accepted.
    bool plain = !has_destination_rules(r);
    for (std::size_t s = 0; plain && s < r.steps.size(); ++s)
        plain = !is_weighted_choice(r, s);
    return json::serialize(json::object{{"name", r.name}, {plain ? "steps" : "definition", json::parse(r.definition_json)},
                                        {"seed", r.seed}});
}

route route_from_json(std::string_view text) {
    boost::system::error_code ec;
    const json::value doc = json::parse(text, ec);
    // Jobs stored before destination rules kept their steps under "steps".
    const json::object* o = !ec ? doc.if_object() : nullptr;
    const json::value* definition = o == nullptr ? nullptr : o->contains("definition") ? &o->at("definition") : o->if_contains("steps");
    if (definition == nullptr)
        throw std::runtime_error("the job's stored route cannot be read");
    std::vector<std::string> problems;
    route r = read_route(o->contains("name") && o->at("name").is_string() ? std::string(o->at("name").get_string()) : "",
                         *definition, "route", problems);
    if (!problems.empty())
        throw std::runtime_error("the job's stored route is not valid: " + problems.front());
    if (const json::value* seed = o->if_contains("seed"); seed != nullptr && seed->is_number())
        r.seed = seed->is_uint64() ? seed->get_uint64() : static_cast<std::uint64_t>(seed->to_number<std::int64_t>());
    return r;
}

std::int64_t first_due_at(const route& r, const recipient& at_step, std::int64_t send_at_ms) {
    const auto step = static_cast<std::size_t>(at_step.step);
    return step < r.steps.size() && r.steps[step].vendor_schedules ? 0 : send_at_ms;
}

bool addressed_by_phone_number(std::string_view channel) {
    // Messenger and Instagram address people by page-scoped ids, never by phone number.
    return channel != "messenger" && channel != "instagram";
}

} // namespace switchboard::core
