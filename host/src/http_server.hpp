// The daemon's HTTP server: Beast over Asio coroutines, keep-alive, and bounds on what a client
// may make it hold (request size, header and idle time). Routing is the handler's business.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::host {

struct http_server_request {
    std::string method;
    std::string target;   // path and query as received
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string client;   // the API client's name, once its key is checked
    std::string peer;     // the address the connection came from ("127.0.0.1"), as inet_ntop writes it
};

struct http_server_response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers = {};   // besides Content-Type (Allow, WWW-Authenticate)
};

struct http_server_limits {
    std::size_t max_body_bytes = 16 * 1024 * 1024;      // over it: 413
    std::size_t max_header_bytes = 16 * 1024;           // headers; over it: 431 (a request line over 8 KiB: 414)
    std::size_t max_connections = 1024;                 // open at once (lowered to fit the open-file limit); past it: 503
    std::chrono::milliseconds header_timeout{10'000};   // from a request's first byte to its last header; then closed
    std::chrono::milliseconds body_timeout{60'000};     // to receive its body; then closed
    std::chrono::milliseconds idle_timeout{60'000};     // between requests on a kept-alive connection
};

// Reading one request from bytes, as the server does: a request (when whole), or the refusal the
// server answers with (status, code, message), or neither while more is to come.
struct http_read_result {
    std::optional<http_server_request> request;
    int refusal_status = 0;
    std::string refusal_code;
    std::string refusal_message;
};
http_read_result read_http_request(std::string_view bytes, const http_server_limits& limits);

using http_handler = std::function<http_server_response(const http_server_request&)>;
// Answers a request, or declines it (nullopt); runs on the I/O thread, so it must never block.
using http_quick_handler = std::function<std::optional<http_server_response>(const http_server_request&)>;

class http_server {
public:
    // Listens on `listen` ("HOST:PORT"; port 0 picks a free one), with connections on `io`. Each
    // request goes to `quick` first, on the I/O thread; what it declines goes to `handler`, which
    // runs on `work` (its own threads: store calls and phone parsing never hold the sockets up).
    // Throws std::runtime_error when the address is malformed or cannot be bound.
    http_server(boost::asio::any_io_executor io, boost::asio::any_io_executor work, const std::string& listen,
                http_quick_handler quick, http_handler handler, http_server_limits limits);
    ~http_server();

    // "http://127.0.0.1:8080": where the server actually listens.
    std::string url() const;
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

} // namespace switchboard::host
