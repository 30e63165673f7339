// What one full vendor call costs in each plugin's codec, through the C ABI as the daemon calls it:
// validate the call's recipients, encode the call, decode the vendor's answer. The answer is a real
// one: each vendor's simulator is started and sent the encoded call once. Prints one line per plugin,
// tab-separated: plugin, recipients per call, then validate, encode, decode and their sum in ms
// (the median of the runs), and the reference: Boost.JSON parsing and writing that plugin's batch
// document, measured just before, for how fast the machine was at that moment. Asserts nothing.
//
//   bench_codec [--runs N] [--plugin NAME]
//   bench_codec --wrk-request SIMULATOR_URL DIR   writes DIR/request.lua and DIR/body: one signed
//                                                 full uSpeedo call, for wrk to replay
#include "child_process.hpp"
#include "fetch.hpp"

#include <switchboard/core/allocator_tuning.hpp>
#include <switchboard/core/http_client.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/plugin_documents.hpp>
#include <switchboard/core/route.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>

namespace json = boost::json;
namespace core = switchboard::core;
using namespace switchboard::testing;

namespace {

struct vendor {
    std::string plugin;
    std::string simulator;
    std::vector<std::string> simulator_args;
    json::object config;   // "endpoint" added
    json::object step;     // "provider" added
};

std::vector<vendor> vendors() {
    return {
        {"cams", CAMS_SIMULATOR, {},
         {{"access_key_id", "sim-access-key"}, {"access_key_secret", "sim-access-secret"},
          {"cust_space_id", "cams-sim-space"}, {"from", "8613877770000"}},
         {{"channel", "whatsapp"}, {"template_code", "otp_wa"}, {"language", "en"}, {"params", json::array{"code"}}}},
        {"smn", SMN_SIMULATOR, {"--access-key-id", "bench-ak", "--secret-access-key", "bench-sk", "--project-id", "bench"},
         {{"region", "cn-north-4"}, {"project_id", "bench"}, {"access_key_id", "bench-ak"},
          {"secret_access_key", "bench-sk"}, {"sign_id", "bench-sign"}},
         {{"channel", "sms"}, {"template", "0123456789abcdef0123456789abcdef"}}},
        {"uspeedo", USPEEDO_SIMULATOR, {},
         {{"api_style", "action"}, {"account_id", 1}, {"access_key_id", "sim-access-key"},
          {"access_key_secret", "sim-access-secret"}},
         {{"channel", "sms"}, {"template", "UTA20212831C85C"}, {"sender", "Switchboard"}, {"params", json::array{"code"}}}},
        {"vms", VMS_SIMULATOR, {},
         {{"region", "cn-north-1"}, {"number_pool_no", "NP160084061100694433"}, {"access_key_id", "sim-access-key"},
          {"secret_access_key", "sim-secret-key"}},
         {{"channel", "voice"}, {"type", 1}, {"resource", "res-otp"}, {"params", json::array{"code"}}}},
    };
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// One configured instance of a vendor's plugin, talking to `endpoint`, and the step it sends on.
struct instance {
    std::shared_ptr<core::plugin> plugin;
    std::unique_ptr<core::provider_instance> provider;
    core::route_step step;
};

instance make_instance(const vendor& v, const std::string& endpoint) {
    instance out;
    out.plugin = core::find_plugin(v.plugin, {SWITCHBOARD_PLUGIN_DIR});
    json::object config = v.config;
    config["endpoint"] = endpoint;
    out.provider = out.plugin->create_instance(v.plugin + "-bench", json::serialize(config));
    json::object step = v.step;
    step["provider"] = v.plugin + "-bench";
    std::vector<std::string> problems;
    const core::route r = core::read_route("bench", json::array{step}, "route", problems);
    if (!problems.empty())
        throw std::runtime_error(problems.front());
    out.step = r.steps.front();
    return out;
}

// A full call's recipients: distinct valid numbers, each with a "code" parameter.
std::vector<core::recipient> full_call(const instance& i) {
    std::vector<core::recipient> batch(static_cast<std::size_t>(i.plugin->manifest().max_recipients_per_call));
    for (std::size_t n = 0; n < batch.size(); ++n) {
        char number[32];
        std::snprintf(number, sizeof number, "+85261%06u", static_cast<unsigned>(n % 1'000'000));
        batch[n].index = static_cast<std::int64_t>(n);
        batch[n].to = number;
        batch[n].params_json = R"({"code":")" + std::to_string(100000 + n) + R"("})";
    }
    return batch;
}

double elapsed_ms(const std::function<void()>& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> times) {
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

void require_ok(const core::plugin_call_result& r, const std::string& what) {
    if (!r.ok())
        throw std::runtime_error(what + " failed: " + r.error);
}

int measure_codecs(int runs, const std::string& only) {
    std::printf("plugin\trecipients\tvalidate_ms\tencode_ms\tdecode_ms\ttotal_ms\treference_ms\n");
    for (const vendor& v : vendors()) {
        if (!only.empty() && v.plugin != only)
            continue;
        std::vector<std::string> argv{v.simulator, "--listen", "127.0.0.1:0"};
        argv.insert(argv.end(), v.simulator_args.begin(), v.simulator_args.end());
        child_process simulator(argv);
        const instance i = make_instance(v, wait_for_listening(simulator));
        const std::vector<core::recipient> batch = full_call(i);
        std::vector<const core::recipient*> pointers;
        for (const core::recipient& r : batch)
            pointers.push_back(&r);

        // As the dispatcher does: the documents are built (not timed), then handed over; each call
        // is encoded, then its answer decoded with the same document. The answer is the
        // simulator's to the first call.
        const std::string checked = core::validation_document(i.step, pointers);
        const std::string document = core::batch_document("job_bench", i.step, batch);
        core::plugin_call_result encoded = i.provider->encode(document, now_ms());
        require_ok(encoded, "encode");
        const core::http_result answer = core::fetch(*encoded.request);
        if (!answer.ok())
            throw std::runtime_error(v.plugin + " simulator did not answer: " + answer.error);
        require_ok(i.provider->decode(document, answer.response), "decode");
        // The machine's speed at this moment: Boost.JSON reading and writing this same document, work
        // of the codec's own kind. A neighbour on a shared machine slows both alike.
        std::vector<double> reference_ms;
        for (int run = 0; run < runs; ++run)
            reference_ms.push_back(elapsed_ms([&] {
                if (json::serialize(json::parse(document)).empty())
                    throw std::runtime_error("the reference document vanished");
            }));
        std::vector<double> validate_ms, encode_ms, decode_ms;
        for (int run = 0; run < runs; ++run) {
            validate_ms.push_back(elapsed_ms([&] { require_ok(i.provider->validate(checked), "validate"); }));
            encode_ms.push_back(elapsed_ms([&] { require_ok(i.provider->encode(document, now_ms()), "encode"); }));
            decode_ms.push_back(elapsed_ms([&] { require_ok(i.provider->decode(document, answer.response), "decode"); }));
        }
        const double validate = median(validate_ms), encode = median(encode_ms), decode = median(decode_ms);
        std::printf("%s\t%zu\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\n", v.plugin.c_str(), batch.size(), validate, encode, decode,
                    validate + encode + decode, median(reference_ms));
    }
    return 0;
}

// One signed full uSpeedo call as wrk replays it: the path, headers and body of the encoded request.
int write_wrk_request(const std::string& simulator_url, const std::filesystem::path& dir) {
    const std::vector<vendor> all = vendors();
    const auto uspeedo = std::find_if(all.begin(), all.end(), [](const vendor& v) { return v.plugin == "uspeedo"; });
    const instance i = make_instance(*uspeedo, simulator_url);
    const core::plugin_call_result encoded = i.provider->encode(core::batch_document("job_wrk", i.step, full_call(i)), now_ms());
    require_ok(encoded, "encode");
    const std::string& url = encoded.request->url;
    const std::size_t path_at = url.find('/', url.find("://") + 3);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "body", std::ios::binary) << encoded.request->body;
    std::ofstream lua(dir / "request.lua");
    lua << "-- One signed uSpeedo call of " << i.plugin->manifest().max_recipients_per_call
        << " recipients, replayed as is (written by bench_codec).\n"
        << "wrk.method = \"" << encoded.request->method << "\"\n"
        << "wrk.path = \"" << (path_at == std::string::npos ? "/" : url.substr(path_at)) << "\"\n";
    for (const core::http_header& h : encoded.request->headers)
        lua << "wrk.headers[\"" << h.name << "\"] = \"" << h.value << "\"\n";
    lua << "local file = io.open(\"" << (dir / "body").string() << "\", \"rb\")\n"
        << "wrk.body = file:read(\"*a\")\nfile:close()\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    core::tune_allocator_for_calls();  // as the daemon runs
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() == 3 && args[0] == "--wrk-request")
            return write_wrk_request(args[1], args[2]);
        int runs = 21;
        std::string only;
        for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
            if (args[i] == "--runs")
                runs = std::max(1, std::stoi(args[i + 1]));
            else if (args[i] == "--plugin")
                only = args[i + 1];
            else
                throw std::invalid_argument("unknown option " + args[i]);
        }
        if (args.size() % 2 != 0)
            throw std::invalid_argument("usage: bench_codec [--runs N] [--plugin NAME] | --wrk-request SIMULATOR_URL DIR");
        return measure_codecs(runs, only);
    } catch (const std::exception& e) {
        std::cerr << "bench_codec: " << e.what() << "\n";
        return 1;
    }
}
