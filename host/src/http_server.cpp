#include "http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <optional>

#include <sys/resource.h>
#include <stdexcept>

namespace switchboard::host {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

tcp::endpoint parse_listen(const std::string& listen) {
    const std::size_t colon = listen.rfind(':');
    boost::system::error_code ec;
    if (colon != std::string::npos) {
        const net::ip::address address = net::ip::make_address(listen.substr(0, colon), ec);
        char* end = nullptr;
        const long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
        if (!ec && end != nullptr && *end == '\0' && port >= 0 && port <= 65535)
            return tcp::endpoint(address, static_cast<unsigned short>(port));
    }
    throw std::runtime_error("listen address '" + listen + "' is not IP:PORT (for example 127.0.0.1:8080)");
}

std::string error_body(const std::string& code, const std::string& message) {
    return R"({"code":")" + code + R"(","message":")" + message + R"("})";
}

http::response<http::string_body> to_beast(const http_server_response& r, unsigned version, bool keep_alive) {
    http::response<http::string_body> out{static_cast<http::status>(r.status), version};
    out.set(http::field::server, "switchboard");
    out.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers)
        out.set(name, value);
    out.body() = r.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    return out;
}

// How many connections may be open at once: the configured number, within the process's open-file
// limit less a reserve for the store, plugins and vendor connections (accepting past that limit
// fails, and a loop that retries at once spins a core).
std::size_t connection_cap(std::size_t configured) {
    constexpr rlim_t reserved = 128;
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY)
        return configured;
    return std::min<std::size_t>(configured, files.rlim_cur > 2 * reserved ? files.rlim_cur - reserved : files.rlim_cur / 2);
}

constexpr std::size_t longest_request_line = 8192;

struct refusal {
    int status;
    std::string code;
    std::string message;
};

// What a request that cannot be read is answered, when it can be. A request too slow to arrive is
// not: its time is up, and so is its connection's.
std::optional<refusal> refusal_for(const boost::system::error_code& ec, const http_server_limits& limits) {
    // A declared Content-Length over the limit fails already with the header.
    if (ec == http::error::body_limit)
        return refusal{413, "too_large", "the request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes"};
    if (ec == http::error::header_limit)
        return refusal{431, "header_too_large", "the request's header fields exceed " +
                                                    std::to_string(limits.max_header_bytes) + " bytes"};
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::broken_pipe || ec == beast::error::timeout)
        return std::nullopt;  // nobody left to answer
    return refusal{400, "bad_request", "malformed HTTP request: " + ec.message()};
}

bool holds_line_end(const beast::flat_buffer& buffer) {
    return std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()).find("\r\n") !=
           std::string_view::npos;
}

refusal line_too_long() {
    return refusal{414, "uri_too_long", "the request line is longer than " + std::to_string(longest_request_line) + " bytes"};
}

using request_parser = http::request_parser<http::string_body>;

void bound(request_parser& parser, const http_server_limits& limits) {
    parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
}

// What a request whose header is read is refused for before its body is: HTTP/1.1 without Host.
std::optional<refusal> header_refusal(const request_parser& parser) {
    if (parser.get().version() >= 11 && parser.get().find(http::field::host) == parser.get().end())
        return refusal{400, "bad_request", "an HTTP/1.1 request must have a Host header"};
    return std::nullopt;
}

// The address a connection came from, as inet_ntop writes it; an IPv4 client of a dual-stack
// listener as IPv4 ("127.0.0.1", not "::ffff:127.0.0.1"), as operators write trusted proxies.
std::string peer_of(const net::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    net::ip::address address = socket.remote_endpoint(ec).address();
    if (ec)
        return {};
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    return address.to_string();
}

http_server_request to_server_request(http::request<http::string_body>& raw, std::string peer = {}) {
    http_server_request request{std::string(raw.method_string()), std::string(raw.target()), {}, std::move(raw.body()), {},
                                std::move(peer)};
    for (const auto& field : raw)
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    return request;
}

} // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
    net::any_io_executor io;
    net::any_io_executor work;
    tcp::acceptor acceptor;
    http_quick_handler quick;
    http_handler handler;
    http_server_limits limits;
    std::atomic<std::size_t> open_connections{0};

    // The acceptor lives on a strand, so stop() from any thread never races a pending accept.
    impl(net::any_io_executor io_executor, net::any_io_executor work_executor, const std::string& listen,
         http_quick_handler q, http_handler h, http_server_limits l)
        : io(io_executor), work(std::move(work_executor)), acceptor(net::make_strand(io_executor)), quick(std::move(q)),
          handler(std::move(h)), limits(l) {
        limits.max_connections = connection_cap(limits.max_connections);
        const tcp::endpoint endpoint = parse_listen(listen);
        boost::system::error_code ec;
        acceptor.open(endpoint.protocol(), ec);
        if (!ec)
            acceptor.set_option(net::socket_base::reuse_address(true), ec);
        if (!ec)
            acceptor.bind(endpoint, ec);
        if (!ec)
            acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error("cannot listen on " + listen + ": " + ec.message());
    }

    net::awaitable<void> accept_loop() {
        const auto self = shared_from_this();
        net::steady_timer pause(acceptor.get_executor());
        auto last_warning = std::chrono::steady_clock::time_point{};
        for (;;) {
            // Each connection on a strand of its own: Beast's stream timeouts race the socket
            // otherwise, since several threads run the io_context.
            auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(io), tuple_awaitable);
            if (ec == net::error::operation_aborted)
                co_return;
            if (ec) {
                // Out of file descriptors, say: keep serving the connections there are, look again
                // a little later instead of at once (which spins), and say so now and then.
                if (std::chrono::steady_clock::now() - last_warning > std::chrono::seconds(10)) {
                    spdlog::warn("cannot accept connections: {}; {} are open", ec.message(), open_connections.load());
                    last_warning = std::chrono::steady_clock::now();
                }
                pause.expires_after(std::chrono::milliseconds(100));
                co_await pause.async_wait(tuple_awaitable);
                continue;
            }
            const net::any_io_executor strand = socket.get_executor();
            if (open_connections.load() >= limits.max_connections) {
                net::co_spawn(strand, turn_away(beast::tcp_stream(std::move(socket))), net::detached);
                continue;
            }
            ++open_connections;
            net::co_spawn(strand, serve(beast::tcp_stream(std::move(socket))), [self](std::exception_ptr) {
                --self->open_connections;
            });
        }
    }

    // A connection past the limit: told so, and closed.
    net::awaitable<void> turn_away(beast::tcp_stream stream) {
        const auto self = shared_from_this();
        stream.expires_after(std::chrono::seconds(2));
        const http::response<http::string_body> message =
            to_beast({503, "application/json",
                      error_body("too_many_connections", "the server has " + std::to_string(limits.max_connections) +
                                                             " connections open, its limit; try again shortly"),
                      {{"Retry-After", "1"}}},
                     11, false);
        co_await http::async_write(stream, message, tuple_awaitable);
        co_await drain(stream);
    }

    // After refusing a request whose body may still be arriving: stop sending, then read and
    // discard for a bounded time, so that the client (still writing) gets to read our answer
    // instead of a connection reset.
    net::awaitable<void> drain(beast::tcp_stream& stream) {
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream.expires_after(std::chrono::seconds(2));
        std::array<char, 16 * 1024> sink;
        for (;;) {
            auto [ec, n] = co_await stream.async_read_some(net::buffer(sink), tuple_awaitable);
            if (ec)
                co_return;
        }
    }

    // Answers `status` with `code` and `message`, and closes the connection.
    net::awaitable<void> refuse(beast::tcp_stream& stream, int status, const std::string& code, const std::string& message) {
        stream.expires_after(limits.header_timeout);
        const http::response<http::string_body> answer =
            to_beast({status, "application/json", error_body(code, message)}, 11, false);
        co_await http::async_write(stream, answer, tuple_awaitable);
        co_await drain(stream);
    }

    // The handler's answer, on the work executor; a handler that throws is a 500, with the reason logged.
    net::awaitable<http_server_response> answer(const http_server_request& request) {
        try {
            co_return handler(request);
        } catch (const std::exception& e) {
            // The path only: a query may carry a secret (a receipt URL's token).
            spdlog::error("{} {}: {}", request.method, request.target.substr(0, request.target.find('?')), e.what());
        }
        co_return http_server_response{500, "application/json", error_body("internal", "the server failed; see its log")};
    }

    // Waits, up to the idle timeout, for the first byte of the next request, then up to the header
    // timeout for the end of its first line. False: the connection is over (answered when it can be).
    net::awaitable<bool> next_request_begins(beast::tcp_stream& stream, beast::flat_buffer& buffer) {
        if (buffer.size() == 0) {
            stream.expires_after(limits.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), tuple_awaitable);
            buffer.commit(n);
            if (ec)
                co_return false;
        }
        // The request line on its own: past its bound, the target is what is too long (414).
        stream.expires_after(limits.header_timeout);
        while (!holds_line_end(buffer)) {
            if (buffer.size() > longest_request_line) {
                const refusal r = line_too_long();
                co_await refuse(stream, r.status, r.code, r.message);
                co_return false;
            }
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), tuple_awaitable);
            buffer.commit(n);
            if (ec)
                co_return false;
        }
        co_return true;
    }

    net::awaitable<void> serve(beast::tcp_stream stream) {
        const auto self = shared_from_this();
        beast::flat_buffer buffer;
        const std::string peer_address = peer_of(stream.socket());
        for (;;) {
            if (!co_await next_request_begins(stream, buffer))
                co_return;
            // From its first byte, a request has header_timeout for its line and headers.
            request_parser parser;
            bound(parser, limits);
            auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
            if (header_ec) {
                if (const std::optional<refusal> r = refusal_for(header_ec, limits))
                    co_await refuse(stream, r->status, r->code, r->message);
                co_return;
            }
            if (const std::optional<refusal> r = header_refusal(parser)) {
                co_await refuse(stream, r->status, r->code, r->message);
                co_return;
            }
            stream.expires_after(limits.body_timeout);
            auto [body_ec, body_bytes] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
            if (body_ec) {
                if (const std::optional<refusal> r = refusal_for(body_ec, limits))
                    co_await refuse(stream, r->status, r->code, r->message);
                co_return;
            }

            http::request<http::string_body> raw = parser.release();
            const http_server_request request = to_server_request(raw, peer_address);
            std::optional<http_server_response> response = quick ? quick(request) : std::nullopt;
            if (!response)
                response = co_await net::co_spawn(work, answer(request), net::use_awaitable);
            const bool keep_alive = raw.keep_alive();
            stream.expires_after(limits.body_timeout);
            const http::response<http::string_body> message = to_beast(*response, raw.version(), keep_alive);
            auto [write_ec, written] = co_await http::async_write(stream, message, tuple_awaitable);
            if (write_ec || !keep_alive)
                co_return;
        }
    }
};

http_read_result read_http_request(std::string_view bytes, const http_server_limits& limits) {
    const std::size_t line_end = bytes.find("\r\n");
    if (bytes.substr(0, line_end).size() > longest_request_line) {
        const refusal r = line_too_long();
        return {std::nullopt, r.status, r.code, r.message};
    }
    if (line_end == std::string_view::npos)
        return {};  // not whole yet
    request_parser parser;
    bound(parser, limits);
    parser.eager(true);
    boost::system::error_code ec;
    parser.put(net::buffer(bytes.data(), bytes.size()), ec);
    if (ec == http::error::need_more)
        return {};
    if (ec) {
        const std::optional<refusal> r = refusal_for(ec, limits);
        return r ? http_read_result{std::nullopt, r->status, r->code, r->message} : http_read_result{};
    }
    if (const std::optional<refusal> r = header_refusal(parser))
        return {std::nullopt, r->status, r->code, r->message};
    if (!parser.is_done())
        return {};
    http::request<http::string_body> raw = parser.release();
    return {to_server_request(raw), 0, {}, {}};
}

http_server::http_server(net::any_io_executor io, net::any_io_executor work, const std::string& listen,
                         http_quick_handler quick, http_handler handler, http_server_limits limits)
    : impl_(std::make_shared<impl>(std::move(io), std::move(work), listen, std::move(quick), std::move(handler), limits)) {
    net::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), net::detached);
}

http_server::~http_server() { stop(); }

std::string http_server::url() const {
    const tcp::endpoint endpoint = impl_->acceptor.local_endpoint();
    return "http://" + endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void http_server::stop() {
    net::post(impl_->acceptor.get_executor(), [self = impl_] {
        boost::system::error_code ignored;
        self->acceptor.close(ignored);
    });
}

} // namespace switchboard::host
