#include "simulator.hpp"

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

struct simulator_state {
    vendor_api& api;
    faults settings;
    std::mt19937_64 random;
    json::array calls;
    std::int64_t next_seq = 1;
    std::size_t max_body_bytes;
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
        st.api.reset();
        return response::json(200, json::object{});
    }
    return response::json(404, {{"error", "no such control endpoint: " + std::string(path)}});
}

// Runs one API call through the fault plan and the vendor, and records it.
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
                                                     "malformed", "vendor_error", "block_list"};
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
    if (const json::value* v = doc.if_contains("block_list")) {
        if (!v->is_array())
            throw std::invalid_argument("faults.block_list must be an array of numbers as strings");
        for (const json::value& number : v->get_array()) {
            if (!number.is_string())
                throw std::invalid_argument("faults.block_list must be an array of numbers as strings");
            f.block_list.emplace(number.get_string());
        }
    }
    return f;
}

boost::json::object faults::to_json() const {
    json::array blocked;
    for (const std::string& number : block_list)
        blocked.emplace_back(number);
    return {{"reset", reset},       {"delay", delay},         {"delay_ms", delay_ms},
            {"server_error", server_error}, {"throttle", throttle}, {"malformed", malformed},
            {"vendor_error", vendor_error}, {"block_list", std::move(blocked)}};
}

int run(vendor_api& api, const server_options& options) {
    try {
        net::io_context io;
        simulator_state st{api, faults::from_json(options.faults_json), std::mt19937_64(options.seed), {}, 1,
                           options.max_body_bytes};

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
