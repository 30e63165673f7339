#include "http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <array>
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

} // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
    net::any_io_executor io;
    net::any_io_executor work;
    tcp::acceptor acceptor;
    http_quick_handler quick;
    http_handler handler;
    http_server_limits limits;

    // The acceptor lives on a strand, so stop() from any thread never races a pending accept.
    impl(net::any_io_executor io_executor, net::any_io_executor work_executor, const std::string& listen,
         http_quick_handler q, http_handler h, http_server_limits l)
        : io(io_executor), work(std::move(work_executor)), acceptor(net::make_strand(io_executor)), quick(std::move(q)),
          handler(std::move(h)), limits(l) {
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
        for (;;) {
            // Each connection on a strand of its own: Beast's stream timeouts race the socket
            // otherwise, since several threads run the io_context.
            auto [ec, socket] = co_await acceptor.async_accept(net::make_strand(io), tuple_awaitable);
            if (ec == net::error::operation_aborted)
                co_return;
            if (ec)
                continue;  // e.g. too many open files: keep serving the connections we have
            const net::any_io_executor strand = socket.get_executor();
            net::co_spawn(strand, serve(beast::tcp_stream(std::move(socket))), net::detached);
        }
    }

    // After refusing a request whose body is still arriving: stop sending, then read and discard
    // for a bounded time, so that the client (still writing) gets to read our answer instead of a
    // connection reset.
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

    net::awaitable<void> serve(beast::tcp_stream stream) {
        const auto self = shared_from_this();
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(limits.max_body_bytes);
            stream.expires_after(limits.idle_timeout);
            auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
            boost::system::error_code body_ec = header_ec;
            if (!header_ec) {
                stream.expires_after(limits.header_timeout);
                auto [ec, body_bytes] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
                body_ec = ec;
            }
            // A declared Content-Length over the limit fails already with the header.
            if (body_ec == http::error::body_limit) {
                const http_server_response too_large{413, "application/json",
                                                     error_body("too_large", "the request body exceeds " +
                                                                                 std::to_string(limits.max_body_bytes) + " bytes")};
                const http::response<http::string_body> message = to_beast(too_large, 11, false);
                co_await http::async_write(stream, message, tuple_awaitable);
                co_await drain(stream);
                co_return;
            }
            if (body_ec)
                co_return;

            http::request<http::string_body> raw = parser.release();
            http_server_request request{std::string(raw.method_string()), std::string(raw.target()), {},
                                        std::move(raw.body()), {}};
            for (const auto& field : raw)
                request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
            std::optional<http_server_response> response = quick ? quick(request) : std::nullopt;
            if (!response)
                response = co_await net::co_spawn(work, answer(request), net::use_awaitable);
            const bool keep_alive = raw.keep_alive();
            stream.expires_after(limits.header_timeout);
            const http::response<http::string_body> message = to_beast(*response, raw.version(), keep_alive);
            auto [write_ec, written] = co_await http::async_write(stream, message, tuple_awaitable);
            if (write_ec || !keep_alive)
                co_return;
        }
    }
};

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
