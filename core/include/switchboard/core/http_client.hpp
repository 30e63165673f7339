// The HTTP client every vendor call goes through: HTTP and HTTPS (OpenSSL, certificates verified
// against the system store or a configured CA file, SNI), keep-alive connection pools per host,
// connect and read deadlines, and a response-size cap. Its result tells "never sent" (safe to
// send again) from "sent, outcome unknown" (the retry policy decides).
#pragma once

#include <switchboard/core/http_message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace switchboard::core {

struct http_client_options {
    std::chrono::milliseconds connect_timeout{5'000};    // resolve + TCP connect + TLS handshake
    std::chrono::milliseconds request_timeout{30'000};   // write the request + read the whole answer
    std::size_t max_response_bytes = 8 * 1024 * 1024;
    std::size_t max_idle_per_host = 16;
    std::string ca_file;                                  // PEM bundle; empty: the system store
};

enum class http_failure {
    none,             // a complete response arrived (whatever its status)
    not_sent,         // the request never left: bad URL, DNS, connect, TLS. Safe to send again.
    outcome_unknown,  // the request was (possibly) delivered but no complete answer came back
};

const char* to_string(http_failure failure) noexcept;

struct http_result {
    http_failure failure = http_failure::none;
    std::string error;        // what failed, where, and why, when failure != none
    http_response response;   // when failure == none

    bool ok() const noexcept { return failure == http_failure::none; }
};

class http_client {
public:
    http_client(boost::asio::any_io_executor executor, http_client_options options);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // Sends one request and reads its response. Never throws for network failures: they come
    // back classified in the result. Safe to call from several coroutines at once.
    boost::asio::awaitable<http_result> send(http_request request);

    // Connections kept open for reuse, over all hosts (for tests and metrics).
    std::size_t idle_connections() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// Sends one request on a private event loop and waits for its result: for command-line tools and
// tests, never for the daemon, which shares one client and one loop.
http_result fetch(http_request request, const http_client_options& options = {});

} // namespace switchboard::core
