// The PostgreSQL store's connections: a fixed number opened at start, lent to one caller at a time.
// A connection found lost (the server restarted, the network broke) is connected again when it is
// next lent, no more often than the backoff allows: while the server is away every store call
// fails at once with store_error (the API answers 503) instead of piling up behind connect attempts.
#pragma once

#include "postgres_connection.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace switchboard::core::postgres {

class connection_pool {
public:
    // Opens `count` connections (each running `session` on each new session); throws store_error
    // when the first cannot be made. `after_reconnect`
    // runs after a lost connection was made again, before it is lent (it may throw to refuse it).
    connection_pool(const std::string& conninfo, const std::string& where, const std::string& session,
                    std::size_t count, std::function<void()> after_reconnect);

    // A connection lent for as long as it lives.
    class lease {
    public:
        lease(connection_pool& pool, std::unique_ptr<connection> c) : pool_(&pool), c_(std::move(c)) {}
        lease(lease&& other) noexcept = default;
        ~lease();
        connection& operator*() const noexcept { return *c_; }
        connection* operator->() const noexcept { return c_.get(); }

    private:
        connection_pool* pool_;
        std::unique_ptr<connection> c_;
    };

    // Waits for a free connection. Throws store_error when it was lost and cannot be made again now.
    lease take();
    // A free connection if there is one now.
    std::optional<lease> try_take();

private:
    void give_back(std::unique_ptr<connection> c);
    // Makes a lost connection again, or throws while the backoff since the last failure lasts.
    void revive(connection& c);
    lease ready(std::unique_ptr<connection> c);

    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::function<void()> after_reconnect_;

    std::mutex revive_mutex_;   // guards the three below; one reconnect at a time
    std::chrono::steady_clock::time_point next_try_{};
    std::chrono::milliseconds backoff_{0};
    std::string last_failure_;
};

} // namespace switchboard::core::postgres
