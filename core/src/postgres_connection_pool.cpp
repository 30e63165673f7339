#include "postgres_connection_pool.hpp"

#include <algorithm>

namespace switchboard::core::postgres {

namespace {
constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds longest_backoff{5000};
} // namespace

connection_pool::connection_pool(const std::string& conninfo, const std::string& where, const std::string& session,
                                 std::size_t count, std::function<void()> after_reconnect)
    : after_reconnect_(std::move(after_reconnect)) {
    for (std::size_t i = 0; i < std::max<std::size_t>(count, 1); ++i)
        idle_.push_back(std::make_unique<connection>(conninfo, where, session));
}

connection_pool::lease::~lease() {
    if (c_)
        pool_->give_back(std::move(c_));
}

void connection_pool::give_back(std::unique_ptr<connection> c) {
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(c));
    }
    freed_.notify_one();
}

connection_pool::lease connection_pool::take() {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [this] { return !idle_.empty(); });
    std::unique_ptr<connection> c = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    return ready(std::move(c));
}

std::optional<connection_pool::lease> connection_pool::try_take() {
    std::unique_lock lock(mutex_);
    if (idle_.empty())
        return std::nullopt;
    std::unique_ptr<connection> c = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    return ready(std::move(c));
}

connection_pool::lease connection_pool::ready(std::unique_ptr<connection> c) {
    lease lent(*this, std::move(c));   // back to the pool, lost or not, whatever happens below
    if (lent->broken())
        revive(*lent);
    return lent;
}

void connection_pool::revive(connection& c) {
    std::lock_guard lock(revive_mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_try_)
        throw store_error(last_failure_ + "; trying again in " +
                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(next_try_ - now).count()) +
                          " ms");
    try {
        c.reconnect();
        after_reconnect_();
        backoff_ = std::chrono::milliseconds{0};
    } catch (const store_error& e) {
        backoff_ = std::clamp(backoff_ * 2, first_backoff, longest_backoff);
        next_try_ = std::chrono::steady_clock::now() + backoff_;
        last_failure_ = e.what();
        throw;
    }
}

} // namespace switchboard::core::postgres
