// How many vendor calls may be out at once to one provider instance, over every job: a counting
// gate whose waiters are served in the order they came, so that a one-recipient job waits for the
// next free slot, not for a campaign that asked later. Internal to the dispatcher.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace switchboard::core {

class call_slots {
public:
    explicit call_slots(std::size_t capacity) : free_(capacity) {}

    // Waits until a slot is free, then holds it until release(). The waiting coroutine must run on
    // a strand (or a single-threaded executor): its wake-up is posted there.
    boost::asio::awaitable<void> acquire();
    // Gives the slot to the first waiter, or back to the gate. Thread safe.
    void release();

private:
    std::mutex mutex_;
    std::size_t free_;
    std::deque<std::shared_ptr<boost::asio::steady_timer>> waiting_;
};

} // namespace switchboard::core
