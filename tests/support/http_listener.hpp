// A loopback HTTP server for tests to point a vendor simulator's --receipt-url at: it answers every
// request 200 with an empty body and keeps the requests, in the order they arrived, for the test
// to read. It serves on a thread of its own, so the test can block while it waits.
#pragma once

#include <switchboard/core/http_message.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace switchboard::testing {

class http_listener {
public:
    http_listener();  // listening on 127.0.0.1 at a free port once constructed
    ~http_listener();
    http_listener(const http_listener&) = delete;
    http_listener& operator=(const http_listener&) = delete;

    // "http://127.0.0.1:PORT", no trailing slash.
    const std::string& url() const noexcept;

    // The requests received so far; each one's url is absolute (url() + the target as received),
    // as the daemon hands callbacks to a plugin.
    std::vector<core::http_request> received() const;

    // Waits until at least `count` requests have arrived or `timeout` passes, and returns them all.
    std::vector<core::http_request> wait_for(std::size_t count,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace switchboard::testing
