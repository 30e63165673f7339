// Bytes over a plain TCP connection, for tests that must say what no HTTP client would: malformed
// requests, requests cut short, connections held open.
#pragma once

#include <chrono>
#include <string>

namespace switchboard::testing {

class raw_connection {
public:
    // Connects to the host and port of `url` ("http://127.0.0.1:8080"). Throws std::runtime_error.
    explicit raw_connection(const std::string& url);
    ~raw_connection();
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    void send(const std::string& bytes);
    // Everything the peer sends until it closes the connection or `timeout` passes.
    std::string read_until_closed(std::chrono::milliseconds timeout);
    // Whether the peer closed the connection (or reset it) within `timeout`.
    bool closed_within(std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
};

// The status code of an HTTP response's first line ("HTTP/1.1 400 Bad Request" -> 400), or 0.
int status_of(const std::string& response);

} // namespace switchboard::testing
