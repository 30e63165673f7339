// The shared body of every vendor simulator: a loopback HTTP(S) server that hands each API call to
// the vendor's own logic, injects faults at configured rates, records every call for tests to
// read, pushes the receipts a vendor would push, and answers control requests under /_simulator/.
//
//   GET  /_simulator/calls    every recorded call, oldest first, as a JSON array
//   GET  /_simulator/pushes   every receipt push made so far, oldest first, as a JSON array of
//                             {"call_seq": 3, "url": "...", "body_bytes": 412, "receipts": 2,
//                              "status": 200 | "error": "...", "at_unix_ms": ...}; "receipts" is
//                             the length of a JSON array body (1 for an object), absent otherwise
//   POST /_simulator/faults   replace the fault settings (JSON, see faults::from_json)
//   POST /_simulator/reset    forget recorded calls, pushes and vendor state; pushes still waiting
//                             for their delay are dropped
//
// Receipts: with server_options::receipt_url set, every API call the vendor processed (any fault
// but server_error, throttle, malformed and vendor_error, which answer without processing) is
// handed to vendor_api::receipt_callbacks, and the requests it returns are sent receipt_delay_ms
// later, one after the other, on the server's own event loop: the answer to the call never waits
// for them. A push that fails is logged, not retried. A push log entry's at_unix_ms is when the
// push was answered.
#pragma once

#include <switchboard/core/http_message.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::simulator {

struct request {
    std::string method;
    std::string target;   // path and query as received
    std::vector<core::http_header> headers;
    std::string body;

    const std::string* header(std::string_view name) const { return core::find_header(headers, name); }
    std::string_view path() const { return std::string_view(target).substr(0, target.find('?')); }
};

struct response {
    int status = 200;
    std::vector<core::http_header> headers;
    std::string body;

    static response json(int status, const boost::json::value& body);
};

// Faults, each a fraction of API calls in [0, 1]. Calls are drawn in this order, so the rates add.
struct faults {
    double reset = 0;          // process the call, then close the connection without an answer
    double delay = 0;          // process the call, then answer after delay_ms
    double server_error = 0;   // answer 503 without processing
    double throttle = 0;       // answer 429 (Retry-After: 1) without processing
    double malformed = 0;      // answer 200 with a body that is not JSON, without processing
    double vendor_error = 0;   // answer with the vendor's own transient error, without processing
    std::int64_t delay_ms = 0;
    std::set<std::string> block_list;        // numbers the vendor refuses, as the vendor reports refusals
    std::set<std::string> undelivered_list;  // numbers the vendor accepts, whose receipt says undelivered
    std::set<std::string> silent_list;       // numbers the vendor accepts, whose receipt never comes

    // {"reset": 0.1, "delay": 0, "delay_ms": 0, "server_error": 0, "throttle": 0, "malformed": 0,
    //  "vendor_error": 0, "block_list": ["+85255310000"], "undelivered_list": [...], "silent_list": [...]};
    // throws std::invalid_argument naming the field.
    static faults from_json(std::string_view text);
    boost::json::object to_json() const;
};

enum class fault { none, reset, delay, server_error, throttle, malformed, vendor_error };
const char* to_string(fault f) noexcept;

// A vendor's API as the simulator implements it.
class vendor_api {
public:
    virtual ~vendor_api() = default;

    // Answers one call. Fill `record` with what tests should see of it (numbers received,
    // signature verdict, what was accepted). `vendor_error` asks for the vendor's own transient
    // error instead of processing.
    virtual response handle(const request& call, const faults& settings, bool vendor_error,
                            std::int64_t now_unix_ms, boost::json::object& record) = 0;

    // Forgets all state (accepted messages, receipts).
    virtual void reset() = 0;

    // The receipt pushes the vendor would make for one recorded call (`record` as handle() filled
    // it), addressed to `receipt_url`. Vendors whose receipts are pulled push nothing.
    virtual std::vector<core::http_request> receipt_callbacks([[maybe_unused]] const boost::json::object& record,
                                                              [[maybe_unused]] const std::string& receipt_url) {
        return {};
    }
};

// Whether `list` names `number`, written with or without the leading '+' (vendors drop it).
bool listed(const std::set<std::string>& list, std::string_view number);

struct server_options {
    std::string listen = "127.0.0.1:0";
    std::string tls_cert;   // PEM; with tls_key, serve HTTPS
    std::string tls_key;
    std::string faults_json;
    std::uint64_t seed = 1;
    std::size_t max_body_bytes = 16 * 1024 * 1024;
    std::string receipt_url;              // where the vendor pushes receipts; empty: no pushes
    std::int64_t receipt_delay_ms = 100;  // from a call to its receipts: pushed, or available to pull
};

// A simulator's command line: the server's options (--listen, --tls-cert, --tls-key, --faults,
// --seed, --receipt-url, --receipt-delay-ms) and the vendor's own. Keeps the argument parser out
// of every simulator's main().
class command_line {
public:
    explicit command_line(const std::string& description);
    ~command_line();
    command_line(const command_line&) = delete;
    command_line& operator=(const command_line&) = delete;

    // A vendor option; the value's default is shown in --help.
    void add(const std::string& flag, std::string& value, const std::string& help);
    void add(const std::string& flag, std::int64_t& value, const std::string& help);
    void add(const std::string& flag, std::size_t& value, const std::string& help);

    // Parses argv into `server` and the vendor options. Returns the exit code when the program
    // should end now (after --help, or a usage error it has reported), nothing to go on.
    std::optional<int> parse(int argc, char** argv, server_options& server);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Serves `api` until SIGTERM or SIGINT. Prints "listening on http://127.0.0.1:PORT" (or https)
// on stdout once it accepts connections. Returns the process exit code.
int run(vendor_api& api, const server_options& options);

} // namespace switchboard::simulator
