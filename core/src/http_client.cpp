#include <switchboard/core/http_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <openssl/x509.h>

#include <sys/socket.h>

#include <cerrno>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace switchboard::core {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

const char* to_string(http_failure failure) noexcept {
    switch (failure) {
    case http_failure::none: return "none";
    case http_failure::not_sent: return "not sent";
    case http_failure::outcome_unknown: return "sent, outcome unknown";
    }
    return "unknown";
}

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
constexpr std::uint32_t max_response_header_bytes = 64 * 1024;

// Where a URL points, split the way a connection needs it.
struct endpoint_target {
    bool tls = false;
    bool host_is_address = false;
    std::string host;            // without brackets
    std::string port;
    std::string host_header;     // host[:port] as written in the URL
    std::string path_and_query;

    std::string pool_key() const { return (tls ? "https://" : "http://") + host_header; }
};

std::optional<endpoint_target> parse_target(const std::string& url, std::string& error) {
    const auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) {
        error = "'" + url + "' is not an absolute URL (" + parsed.error().message() + ")";
        return std::nullopt;
    }
    const boost::urls::url_view& u = *parsed;
    endpoint_target t;
    if (u.scheme() == "https")
        t.tls = true;
    else if (u.scheme() != "http") {
        error = "'" + url + "': only http and https are supported";
        return std::nullopt;
    }
    t.host = u.host_address();
    if (t.host.empty()) {
        error = "'" + url + "' has no host";
        return std::nullopt;
    }
    t.host_is_address = u.host_type() == boost::urls::host_type::ipv4 || u.host_type() == boost::urls::host_type::ipv6;
    t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
    t.host_header = std::string(u.encoded_host_and_port());
    t.path_and_query = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
    if (u.has_query())
        t.path_and_query += "?" + std::string(u.encoded_query());
    return t;
}

// One kept-alive connection. Its sockets, its timers and every coroutine step that touches it run
// on its own strand: Beast's stream timeouts race the socket otherwise when the io_context has
// several threads.
struct connection {
    net::any_io_executor strand;
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;

    beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

    // An idle connection the server has closed (or sent something unasked on) must not carry a
    // request: the request would be lost without a trace. A non-blocking peek tells.
    bool still_open() {
        if (buffer.size() != 0 || !lowest().socket().is_open())
            return false;
        char byte = 0;
        const ssize_t n = ::recv(lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
};

std::string describe_tls_failure(const boost::system::error_code& ec, beast::ssl_stream<beast::tcp_stream>& stream,
                                 const std::string& ca_file) {
    const long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK)
        return std::string("the server's certificate is not trusted: ") + X509_verify_cert_error_string(verify) +
               (ca_file.empty() ? " (if it uses a private CA, configure its CA file)"
                                : " (checked against CA file " + ca_file + ")");
    return ec.message();
}

http_result failed(http_failure failure, std::string error) {
    http_result r;
    r.failure = failure;
    r.error = std::move(error);
    return r;
}

std::string millis(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

} // namespace

struct http_client::impl : std::enable_shared_from_this<impl> {
    net::any_io_executor executor;
    http_client_options options;
    ssl::context tls_context{ssl::context::tls_client};
    std::once_flag tls_loaded;
    std::string tls_setup_error;

    mutable std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> idle;

    impl(net::any_io_executor ex, http_client_options opts) : executor(std::move(ex)), options(std::move(opts)) {}

    // Loads the CA store before the first TLS connection, not when the client is made: parsing the
    // system's bundle costs some 5 ms of CPU, which a client that only speaks plain HTTP (loopback,
    // a proxy that terminates TLS) never needs to pay. Every TLS connection comes through here first,
    // so the context is complete before any connection uses it.
    void load_tls_trust() {
        std::call_once(tls_loaded, [this] {
            boost::system::error_code ec;
            tls_context.set_verify_mode(ssl::verify_peer, ec);
            if (options.ca_file.empty())
                tls_context.set_default_verify_paths(ec);
            else
                tls_context.load_verify_file(options.ca_file, ec);
            if (ec)
                tls_setup_error = "cannot load " + (options.ca_file.empty() ? std::string("the system CA store")
                                                                            : "CA file " + options.ca_file) +
                                  ": " + ec.message();
        });
    }

    std::unique_ptr<connection> take_idle(const std::string& key) {
        std::lock_guard lock(mutex);
        auto it = idle.find(key);
        while (it != idle.end() && !it->second.empty()) {
            std::unique_ptr<connection> c = std::move(it->second.back());
            it->second.pop_back();
            if (c->still_open())
                return c;
        }
        return nullptr;
    }

    void put_idle(const std::string& key, std::unique_ptr<connection> c) {
        c->lowest().expires_never();
        std::lock_guard lock(mutex);
        std::vector<std::unique_ptr<connection>>& pool = idle[key];
        if (pool.size() < options.max_idle_per_host)
            pool.push_back(std::move(c));
    }

    // Opens a connection; returns why it could not, or an empty string.
    net::awaitable<std::string> open(connection& c, const endpoint_target& t) {
        const std::string where = t.host + ":" + t.port;
        if (t.tls)
            load_tls_trust();
        if (t.tls && !tls_setup_error.empty())
            co_return tls_setup_error;
        tcp::resolver resolver(c.strand);
        auto [resolve_ec, endpoints] = co_await resolver.async_resolve(t.host, t.port, tuple_awaitable);
        if (resolve_ec)
            co_return "cannot resolve " + where + ": " + resolve_ec.message();

        if (t.tls)
            c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(c.strand, tls_context);
        else
            c.plain = std::make_unique<beast::tcp_stream>(c.strand);
        c.lowest().expires_after(options.connect_timeout);
        auto [connect_ec, connected] = co_await c.lowest().async_connect(endpoints, tuple_awaitable);
        if (connect_ec == beast::error::timeout)
            co_return "no connection to " + where + " within " + millis(options.connect_timeout);
        if (connect_ec)
            co_return "cannot connect to " + where + ": " + connect_ec.message();
        c.lowest().socket().set_option(tcp::no_delay(true));
        if (!t.tls)
            co_return std::string();

        // SNI is for names only (RFC 6066); the certificate is checked against the name or address.
        if (!t.host_is_address && SSL_set_tlsext_host_name(c.tls->native_handle(), t.host.c_str()) != 1)
            co_return "cannot set the TLS server name for " + t.host;
        c.tls->set_verify_callback(ssl::host_name_verification(t.host));
        auto [handshake_ec] = co_await c.tls->async_handshake(ssl::stream_base::client, tuple_awaitable);
        if (handshake_ec == beast::error::timeout)
            co_return "no TLS handshake with " + where + " within " + millis(options.connect_timeout);
        if (handshake_ec)
            co_return "TLS handshake with " + where + " failed: " +
                      describe_tls_failure(handshake_ec, *c.tls, options.ca_file);
        co_return std::string();
    }

    template <class Stream>
    net::awaitable<http_result> exchange(Stream& stream, connection& c, const endpoint_target& t,
                                         const http::request<http::string_body>& request, bool& keep_alive) {
        const std::string where = t.pool_key();
        c.lowest().expires_after(options.request_timeout);
        auto [write_ec, written] = co_await http::async_write(stream, request, tuple_awaitable);
        if (write_ec)
            co_return failed(written == 0 ? http_failure::not_sent : http_failure::outcome_unknown,
                                  "sending the request to " + where + " failed: " + write_ec.message());

        http::response_parser<http::string_body> parser;
        parser.body_limit(options.max_response_bytes);
        parser.header_limit(max_response_header_bytes);
        auto [read_ec, read] = co_await http::async_read(stream, c.buffer, parser, tuple_awaitable);
        if (read_ec) {
            std::string why = read_ec == beast::error::timeout ? "no complete answer within " + millis(options.request_timeout)
                              : read_ec == http::error::body_limit
                                  ? "the answer is larger than " + std::to_string(options.max_response_bytes) + " bytes"
                                  : "reading the answer failed: " + read_ec.message();
            co_return failed(http_failure::outcome_unknown, "request sent to " + where + ", but " + why);
        }
        http::response<http::string_body> response = parser.release();
        keep_alive = response.keep_alive();
        http_result result;
        result.response.status = static_cast<int>(response.result_int());
        for (const auto& field : response)
            result.response.headers.push_back({std::string(field.name_string()), std::string(field.value())});
        result.response.body = std::move(response.body());
        co_return std::move(result);  // explicit: GCC 12 copies a named local bit for bit
    }

    static http::request<http::string_body> to_beast(const http_request& request, const endpoint_target& t) {
        http::request<http::string_body> out;
        const http::verb verb = http::string_to_verb(request.method);
        if (verb == http::verb::unknown)
            out.method_string(request.method);
        else
            out.method(verb);
        out.target(t.path_and_query);
        out.version(11);
        out.set(http::field::host, t.host_header);
        for (const http_header& h : request.headers)
            out.insert(h.name, h.value);
        if (out.find(http::field::user_agent) == out.end())
            out.set(http::field::user_agent, "switchboard");
        out.body() = request.body;
        out.prepare_payload();
        return out;
    }

    net::awaitable<http_result> send(http_request request) {
        std::string error;
        const std::optional<endpoint_target> t = parse_target(request.url, error);
        if (!t)
            co_return failed(http_failure::not_sent, error);
        http::request<http::string_body> beast_request;
        try {
            beast_request = to_beast(request, *t);
        } catch (const std::exception& e) {
            co_return failed(http_failure::not_sent, "cannot build the request to " + request.url + ": " + e.what());
        }

        std::unique_ptr<connection> c = take_idle(t->pool_key());
        const bool fresh = !c;
        if (fresh) {
            c = std::make_unique<connection>();
            c->strand = net::make_strand(executor);
        }
        const net::any_io_executor strand = c->strand;
        http_result result = co_await net::co_spawn(
            strand, on_connection(std::move(c), fresh, *t, std::move(beast_request)), net::use_awaitable);
        co_return std::move(result);  // explicit: GCC 12 copies a named local bit for bit
    }

    // Runs on the connection's strand: opens it if fresh, exchanges one request, pools it again.
    net::awaitable<http_result> on_connection(std::unique_ptr<connection> c, bool fresh, endpoint_target t,
                                              http::request<http::string_body> request) {
        if (fresh) {
            const std::string why = co_await open(*c, t);
            if (!why.empty())
                co_return failed(http_failure::not_sent, why);
        }
        // No co_await inside ?: GCC 12 miscompiles it.
        bool keep_alive = false;
        http_result result;
        if (c->tls)
            result = co_await exchange(*c->tls, *c, t, request, keep_alive);
        else
            result = co_await exchange(*c->plain, *c, t, request, keep_alive);
        if (result.ok() && keep_alive)
            put_idle(t.pool_key(), std::move(c));
        co_return std::move(result);  // explicit: GCC 12 copies a named local bit for bit
    }
};

http_client::http_client(net::any_io_executor executor, http_client_options options)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options))) {}

http_client::~http_client() = default;

net::awaitable<http_result> http_client::send(http_request request) {
    // The frame keeps the implementation alive even if this client is destroyed meanwhile.
    const std::shared_ptr<impl> self = impl_;
    http_result result = co_await self->send(std::move(request));
    co_return std::move(result);  // explicit: GCC 12 copies a named local bit for bit
}

std::size_t http_client::idle_connections() const {
    std::lock_guard lock(impl_->mutex);
    std::size_t count = 0;
    for (const auto& [key, pool] : impl_->idle)
        count += pool.size();
    return count;
}

http_result fetch(http_request request, const http_client_options& options) {
    net::io_context io;
    http_client client(io.get_executor(), options);
    auto result = net::co_spawn(io, client.send(std::move(request)), net::use_future);
    io.run();
    return result.get();
}

} // namespace switchboard::core
