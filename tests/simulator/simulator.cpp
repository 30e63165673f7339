#include "simulator.hpp"

#include <switchboard/core/http_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <iostream>
#include <random>
#include <stdexcept>

namespace switchboard::simulator {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
constexpr std::chrono::seconds idle_timeout{60};

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double rate(const json::object& doc, std::string_view field) {
    const json::value* v = doc.if_contains(field);
    if (v == nullptr)
        return 0;
    if (!v->is_number() || v->to_number<double>() < 0 || v->to_number<double>() > 1)
        throw std::invalid_argument("faults." + std::string(field) + " must be a number from 0 to 1");
    return v->to_number<double>();
}

// A list of numbers, as strings; empty when absent.
std::set<std::string> numbers(const json::object& doc, std::string_view field) {
    std::set<std::string> out;
    const json::value* v = doc.if_contains(field);
    if (v == nullptr)
        return out;
    const std::string problem = "faults." + std::string(field) + " must be an array of numbers as strings";
    if (!v->is_array())
        throw std::invalid_argument(problem);
    for (const json::value& number : v->get_array()) {
        if (!number.is_string())
            throw std::invalid_argument(problem);
        out.emplace(number.get_string());
    }
    return out;
}

// How long a receipt push may take: CAMS wants the receiver's answer within 3 s, and the other
// vendors document no bound, so one bound for all.
constexpr std::chrono::seconds push_timeout{3};

core::http_client_options push_client_options() {
    core::http_client_options options;
    options.connect_timeout = push_timeout;
    options.request_timeout = push_timeout;
    return options;
}

struct simulator_state {
    simulator_state(vendor_api& vendor, const server_options& options, net::any_io_executor io)
        : api(vendor),
          settings(faults::from_json(options.faults_json)),
          random(options.seed),
          max_body_bytes(options.max_body_bytes),
          executor(io),
          receipt_url(options.receipt_url),
          receipt_delay(options.receipt_delay_ms),
          receipt_client(io, push_client_options()) {}

    vendor_api& api;
    faults settings;
    std::mt19937_64 random;
    json::array calls;
    std::int64_t next_seq = 1;
    std::size_t max_body_bytes;

    net::any_io_executor executor;
    std::string receipt_url;
    std::chrono::milliseconds receipt_delay;
    core::http_client receipt_client;
    json::array pushes;
    std::uint64_t generation = 0;  // bumped by reset: pushes scheduled before it are dropped
};

fault draw_fault(simulator_state& st) {
    const double r = std::uniform_real_distribution<double>(0, 1)(st.random);
    const faults& f = st.settings;
    double edge = 0;
    for (const auto& [share, kind] : {std::pair{f.reset, fault::reset}, {f.delay, fault::delay},
                                      {f.server_error, fault::server_error}, {f.throttle, fault::throttle},
                                      {f.malformed, fault::malformed}, {f.vendor_error, fault::vendor_error}}) {
        edge += share;
        if (r < edge)
            return kind;
    }
    return fault::none;
}

response control(simulator_state& st, const request& call) {
    const std::string_view path = call.path();
    if (call.method == "GET" && path == "/_simulator/calls")
        return response::json(200, st.calls);
    if (call.method == "GET" && path == "/_simulator/pushes")
        return response::json(200, st.pushes);
    if (call.method == "POST" && path == "/_simulator/faults") {
        try {
            st.settings = faults::from_json(call.body);
        } catch (const std::invalid_argument& e) {
            return response::json(400, {{"error", e.what()}});
        }
        return response::json(200, st.settings.to_json());
    }
    if (call.method == "POST" && path == "/_simulator/reset") {
        st.calls.clear();
        st.pushes.clear();
        ++st.generation;
        st.api.reset();
        return response::json(200, json::object{});
    }
    return response::json(404, {{"error", "no such control endpoint: " + std::string(path)}});
}

// How many receipts a push body holds, when the kit can tell: a JSON array's length, 1 for an object.
std::optional<std::size_t> receipts_in(const std::string& body) {
    boost::system::error_code ec;
    const json::value doc = json::parse(body, ec);
    if (ec)
        return std::nullopt;
    if (doc.is_array())
        return doc.get_array().size();
    if (doc.is_object())
        return 1;
    return std::nullopt;
}

// Sends one call's receipt pushes after the delay, one after the other, logging each. A failed
// push is logged, not retried: tests want to see what arrived, not a vendor's retry schedule.
net::awaitable<void> push_receipts(simulator_state& st, std::int64_t call_seq, std::vector<core::http_request> requests,
                                   std::uint64_t generation) {
    net::steady_timer timer(st.executor, st.receipt_delay);
    co_await timer.async_wait(tuple_awaitable);
    for (core::http_request& push : requests) {
        if (generation != st.generation)
            co_return;  // reset since: the vendor has forgotten these messages
        json::object entry{{"call_seq", call_seq}, {"url", push.url}, {"body_bytes", push.body.size()}};
        if (const std::optional<std::size_t> count = receipts_in(push.body))
            entry["receipts"] = *count;
        const core::http_result result = co_await st.receipt_client.send(std::move(push));
        if (generation != st.generation)
            co_return;
        if (result.ok())
            entry["status"] = result.response.status;
        else
            entry["error"] = result.error;
        entry["at_unix_ms"] = now_unix_ms();
        st.pushes.push_back(std::move(entry));
    }
}

// Whether the vendor processed a call that drew `f`: these four answer without processing it.
bool processed(fault f) {
    return f != fault::server_error && f != fault::throttle && f != fault::malformed && f != fault::vendor_error;
}

// Runs one API call through the fault plan and the vendor, records it, and schedules its receipts.
response serve_api_call(simulator_state& st, const request& call, fault& drawn) {
    drawn = draw_fault(st);
    json::object record;
    response answer;
    const std::int64_t now = now_unix_ms();
    switch (drawn) {
    case fault::server_error:
        answer = response::json(503, {{"error", "injected: service unavailable"}});
        break;
    case fault::throttle:
        answer = response::json(429, {{"error", "injected: too many requests"}});
        answer.headers.push_back({"Retry-After", "1"});
        break;
    case fault::malformed:
        answer.status = 200;
        answer.headers.push_back({"Content-Type", "text/html"});
        answer.body = "<html><body>injected: gateway page, not JSON</body></html>";
        break;
    default:
        answer = st.api.handle(call, st.settings, drawn == fault::vendor_error, now, record);
        break;
    }
    record["seq"] = st.next_seq++;
    record["at_unix_ms"] = now;
    record["method"] = call.method;
    record["path"] = call.path();
    record["fault"] = to_string(drawn);
    record["status"] = drawn == fault::reset ? 0 : answer.status;
    if (!st.receipt_url.empty() && processed(drawn)) {
        std::vector<core::http_request> pushes = st.api.receipt_callbacks(record, st.receipt_url);
        if (!pushes.empty())
            net::co_spawn(st.executor, push_receipts(st, record.at("seq").as_int64(), std::move(pushes), st.generation),
                          net::detached);
    }
    st.calls.push_back(std::move(record));
    return answer;
}

request from_beast(http::request<http::string_body>& r) {
    request out;
    out.method = std::string(r.method_string());
    out.target = std::string(r.target());
    for (const auto& field : r)
        out.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    out.body = std::move(r.body());
    return out;
}

http::response<http::string_body> to_beast(const response& answer, bool keep_alive) {
    http::response<http::string_body> out{static_cast<http::status>(answer.status), 11};
    out.set(http::field::server, "switchboard-simulator");
    for (const core::http_header& h : answer.headers)
        out.set(h.name, h.value);
    out.body() = answer.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
}

template <class Stream>
net::awaitable<void> serve_connection(Stream& stream, beast::tcp_stream& lowest, simulator_state& st) {
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(st.max_body_bytes);
        lowest.expires_after(idle_timeout);
        auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
        if (read_ec)
            co_return;
        http::request<http::string_body> raw = parser.release();
        const bool keep_alive = raw.keep_alive();
        const request call = from_beast(raw);

        fault drawn = fault::none;
        const response answer = call.path().rfind("/_simulator/", 0) == 0 ? control(st, call)
                                                                          : serve_api_call(st, call, drawn);
        if (drawn == fault::reset) {
            // An abortive close (RST): the client sees its request vanish after it was processed.
            lowest.socket().set_option(net::socket_base::linger(true, 0));
            lowest.socket().close();
            co_return;
        }
        if (drawn == fault::delay) {
            net::steady_timer timer(lowest.get_executor(), std::chrono::milliseconds(st.settings.delay_ms));
            co_await timer.async_wait(tuple_awaitable);
        }
        lowest.expires_after(idle_timeout);
        const http::response<http::string_body> message = to_beast(answer, keep_alive);
        auto [write_ec, written] = co_await http::async_write(stream, message, tuple_awaitable);
        if (write_ec || !keep_alive)
            co_return;
    }
}

net::awaitable<void> serve_plain(tcp::socket socket, simulator_state& st) {
    beast::tcp_stream stream(std::move(socket));
    co_await serve_connection(stream, stream, st);
}

net::awaitable<void> serve_tls(tcp::socket socket, ssl::context& tls, simulator_state& st) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
    beast::get_lowest_layer(stream).expires_after(idle_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
    if (ec)
        co_return;  // e.g. the client refused our certificate: its problem to report
    co_await serve_connection(stream, beast::get_lowest_layer(stream), st);
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, ssl::context* tls, simulator_state& st) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
        if (ec)
            co_return;
        if (tls != nullptr)
            net::co_spawn(acceptor.get_executor(), serve_tls(std::move(socket), *tls, st), net::detached);
        else
            net::co_spawn(acceptor.get_executor(), serve_plain(std::move(socket), st), net::detached);
    }
}

tcp::endpoint parse_listen(const std::string& listen) {
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos)
        throw std::invalid_argument("--listen must be HOST:PORT, got '" + listen + "'");
    return tcp::endpoint(net::ip::make_address(listen.substr(0, colon)),
                         static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
}

} // namespace

response response::json(int status, const boost::json::value& body) {
    return response{status, {{"Content-Type", "application/json"}}, boost::json::serialize(body)};
}

const char* to_string(fault f) noexcept {
    switch (f) {
    case fault::none: return "none";
    case fault::reset: return "reset";
    case fault::delay: return "delay";
    case fault::server_error: return "server_error";
    case fault::throttle: return "throttle";
    case fault::malformed: return "malformed";
    case fault::vendor_error: return "vendor_error";
    }
    return "none";
}

bool listed(const std::set<std::string>& list, std::string_view number) {
    const std::string given(number);
    if (list.count(given) > 0)
        return true;
    return number.starts_with('+') ? list.count(given.substr(1)) > 0 : list.count("+" + given) > 0;
}

faults faults::from_json(std::string_view text) {
    faults f;
    if (text.empty())
        return f;
    boost::system::error_code ec;
    const json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_object())
        throw std::invalid_argument("faults must be a JSON object");
    const json::object& doc = parsed.get_object();
    static const std::set<std::string_view> known = {"reset", "delay", "delay_ms", "server_error", "throttle",
                                                     "malformed", "vendor_error", "block_list", "undelivered_list",
                                                     "silent_list"};
    for (const auto& [key, value] : doc)
        if (known.count(key) == 0)
            throw std::invalid_argument("faults." + std::string(key) + " is not a fault setting");
    f.reset = rate(doc, "reset");
    f.delay = rate(doc, "delay");
    f.server_error = rate(doc, "server_error");
    f.throttle = rate(doc, "throttle");
    f.malformed = rate(doc, "malformed");
    f.vendor_error = rate(doc, "vendor_error");
    if (f.reset + f.delay + f.server_error + f.throttle + f.malformed + f.vendor_error > 1.0 + 1e-9)
        throw std::invalid_argument("fault rates add up to more than 1");
    if (const json::value* v = doc.if_contains("delay_ms")) {
        if (!v->is_int64() || v->get_int64() < 0)
            throw std::invalid_argument("faults.delay_ms must be a whole number of milliseconds");
        f.delay_ms = v->get_int64();
    }
    f.block_list = numbers(doc, "block_list");
    f.undelivered_list = numbers(doc, "undelivered_list");
    f.silent_list = numbers(doc, "silent_list");
    return f;
}

boost::json::object faults::to_json() const {
    const auto array_of = [](const std::set<std::string>& list) { return json::array(list.begin(), list.end()); };
    return {{"reset", reset},
            {"delay", delay},
            {"delay_ms", delay_ms},
            {"server_error", server_error},
            {"throttle", throttle},
            {"malformed", malformed},
            {"vendor_error", vendor_error},
            {"block_list", array_of(block_list)},
            {"undelivered_list", array_of(undelivered_list)},
            {"silent_list", array_of(silent_list)}};
}

int run(vendor_api& api, const server_options& options) {
    try {
        net::io_context io;
        simulator_state st(api, options, io.get_executor());

        std::unique_ptr<ssl::context> tls;
        if (!options.tls_cert.empty() || !options.tls_key.empty()) {
            tls = std::make_unique<ssl::context>(ssl::context::tls_server);
            tls->use_certificate_chain_file(options.tls_cert);
            tls->use_private_key_file(options.tls_key, ssl::context::pem);
        }
        tcp::acceptor acceptor(io, parse_listen(options.listen));
        std::cout << "listening on " << (tls ? "https" : "http") << "://" << acceptor.local_endpoint().address().to_string()
                  << ":" << acceptor.local_endpoint().port() << std::endl;

        net::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&io](const boost::system::error_code&, int) { io.stop(); });
        net::co_spawn(io, accept_loop(acceptor, tls.get(), st), net::detached);
        io.run();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "simulator: " << e.what() << std::endl;
        return 1;
    }
}

} // namespace switchboard::simulator
