// decode() reads the batch encode() parsed from the same document instead of parsing it again, and
// never one parsed from another document.
#include <switchboard/sdk.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

namespace sdk = switchboard::sdk;
namespace json = boost::json;

namespace {

// Remembers which batch object each call was handed, and answers one outcome per recipient that
// names the recipient's number, so a decode of the wrong batch shows.
class recording_provider final : public sdk::provider {
public:
    static sdk::manifest describe() {
        sdk::manifest m;
        m.name = "recording";
        m.version = "0.0.1";
        m.channels = {"sms"};
        m.max_recipients_per_call = 1000;
        m.thread_safe = true;
        return m;
    }
    recording_provider(const sdk::host& host, const sdk::object_reader&) : provider(host) {}

    std::atomic<const sdk::batch*> encoded{nullptr};
    std::atomic<const sdk::batch*> decoded{nullptr};
    std::size_t kept() const { return kept_batches(); }

protected:
    std::vector<sdk::verdict> do_validate(const sdk::validation_request& request) override {
        return std::vector<sdk::verdict>(request.recipients.size(), sdk::verdict::valid());
    }
    sdk::http_request do_encode(const sdk::batch& batch, std::int64_t) override {
        if (batch.recipients.front().to == "refuse")
            throw sdk::error(sdk::status::permanent, "refused");
        encoded = &batch;
        sdk::http_request r;
        r.url = "https://vendor.example/send";
        r.body = batch.id;
        return r;
    }
    std::vector<sdk::outcome> do_decode(const sdk::batch& batch, const sdk::http_response&) override {
        decoded = &batch;
        std::vector<sdk::outcome> out;
        for (const sdk::recipient& r : batch.recipients)
            out.push_back(sdk::outcome::accepted(r.id, "sent-to-" + r.to));
        return out;
    }
};

using table = sdk::detail::provider_table<recording_provider>;

struct sink {
    std::string json;
    std::string error;
    sb_output raw{};
    sink() {
        raw.struct_size = sizeof raw;
        raw.abi = {SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};
        raw.context = this;
        raw.write_json = [](void* c, sb_str s) { static_cast<sink*>(c)->json.assign(s.data, s.size); };
        raw.write_request = [](void*, const sb_http_request*) {};
        raw.set_error = [](void* c, sb_str s, std::int64_t) { static_cast<sink*>(c)->error.assign(s.data, s.size); };
    }
};

struct fixture {
    sb_instance* instance = nullptr;
    fixture() {
        sink out;
        REQUIRE(table::create(nullptr, {"{}", 2}, &instance, &out.raw) == SB_STATUS_OK);
    }
    ~fixture() { table::destroy(instance); }
    recording_provider& provider() const { return *reinterpret_cast<recording_provider*>(instance); }

    sb_status encode(const std::string& document) const {
        sink out;
        return table::encode(instance, {document.data(), document.size()}, 0, &out.raw);
    }
    // The numbers the outcomes name, in order; none when decode failed. (No REQUIRE: threads call it.)
    std::vector<std::string> decode(const std::string& document) const {
        sink out;
        sb_http_response answer{};
        answer.struct_size = sizeof answer;
        answer.status = 200;
        if (table::decode(instance, {document.data(), document.size()}, &answer, &out.raw) != SB_STATUS_OK)
            return {};
        std::vector<std::string> numbers;
        const json::value result = json::parse(out.json);
        for (const json::value& o : result.at("outcomes").as_array())
            numbers.emplace_back(o.at("message_id").as_string().subview(sizeof "sent-to-" - 1));
        return numbers;
    }
};

std::string document(const std::string& id, const std::vector<std::string>& numbers) {
    std::string recipients;
    for (std::size_t i = 0; i < numbers.size(); ++i)
        recipients += (i == 0 ? "" : ",") + std::string(R"({"id": "r)") + std::to_string(i) + R"(", "to": ")" +
                      numbers[i] + R"("})";
    return R"({"id": ")" + id + R"(", "channel": "sms", "recipients": [)" + recipients + "]}";
}

} // namespace

TEST_CASE("decode reads the batch encode parsed from the same document", "[sdk][in-flight]") {
    const fixture f;
    const std::string sent = document("b1", {"+85261000001", "+85261000002"});
    REQUIRE(f.encode(sent) == SB_STATUS_OK);
    CHECK(f.provider().kept() == 1);
    CHECK(f.decode(sent) == std::vector<std::string>{"+85261000001", "+85261000002"});
    CHECK(f.provider().decoded.load() == f.provider().encoded.load());
    CHECK(f.provider().kept() == 0);
}

TEST_CASE("a document that differs in any byte is parsed, even with the same batch id", "[sdk][in-flight]") {
    const fixture f;
    const std::string sent = document("b1", {"+85261000001", "+85261000002"});
    const std::string other = document("b1", {"+85261000001", "+85261000009"});
    REQUIRE(f.encode(sent) == SB_STATUS_OK);
    CHECK(f.decode(other) == std::vector<std::string>{"+85261000001", "+85261000009"});
    CHECK(f.provider().decoded.load() != f.provider().encoded.load());
    CHECK(f.decode(sent) == std::vector<std::string>{"+85261000001", "+85261000002"});
}

TEST_CASE("a batch is decoded once from memory, and parsed again if it is decoded again", "[sdk][in-flight]") {
    const fixture f;
    const std::string sent = document("b1", {"+85261000001"});
    REQUIRE(f.encode(sent) == SB_STATUS_OK);
    CHECK(f.decode(sent) == std::vector<std::string>{"+85261000001"});
    CHECK(f.provider().kept() == 0);
    CHECK(f.decode(sent) == std::vector<std::string>{"+85261000001"});
}

TEST_CASE("a batch whose encode failed is not kept", "[sdk][in-flight]") {
    const fixture f;
    const std::string refused = document("b1", {"refuse"});
    REQUIRE(f.encode(refused) == SB_STATUS_PERMANENT);
    CHECK(f.provider().kept() == 0);
    CHECK(f.decode(refused) == std::vector<std::string>{"refuse"});
}

TEST_CASE("only the latest batches are kept: the oldest is dropped, then parsed when decoded", "[sdk][in-flight]") {
    sdk::batches_in_flight kept;
    for (std::size_t i = 0; i <= sdk::batches_in_flight::capacity; ++i)
        kept.remember("doc" + std::to_string(i), std::make_shared<const sdk::batch>());
    CHECK(kept.size() == sdk::batches_in_flight::capacity);
    CHECK(kept.take("doc0") == nullptr);
    CHECK(kept.take("doc1") != nullptr);
    CHECK(kept.take("doc1") == nullptr);

    const fixture f;
    const std::string first = document("first", {"+85261000001"});
    REQUIRE(f.encode(first) == SB_STATUS_OK);
    for (std::size_t i = 0; i < sdk::batches_in_flight::capacity; ++i)
        REQUIRE(f.encode(document("later" + std::to_string(i), {"+85261000002"})) == SB_STATUS_OK);
    CHECK(f.provider().kept() == sdk::batches_in_flight::capacity);
    CHECK(f.decode(first) == std::vector<std::string>{"+85261000001"});
    CHECK(f.provider().kept() == sdk::batches_in_flight::capacity);  // not there: parsed, nothing taken
}

TEST_CASE("a thread-safe provider encodes and decodes from several threads, each decode its own batch", "[sdk][in-flight]") {
    const fixture f;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&f, &wrong, t] {
            for (int i = 0; i < 200; ++i) {
                const std::string number = "+8526" + std::to_string(1000000 + t * 1000 + i);
                const std::string sent = document("b-" + std::to_string(t) + "-" + std::to_string(i), {number});
                if (f.encode(sent) != SB_STATUS_OK || f.decode(sent) != std::vector<std::string>{number})
                    ++wrong;
            }
        });
    for (std::thread& t : threads)
        t.join();
    CHECK(wrong == 0);
}
