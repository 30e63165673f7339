// On a store shared by several daemons: keeps this daemon's lease, on a thread of its own so that a
// busy work pool never delays a renewal, and takes up the work of daemons whose lease ended.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace switchboard::core {
class cluster;
class dispatcher;
} // namespace switchboard::core

namespace switchboard::host {

class lease_keeper {
public:
    // Renews four times a lease from now on. When this daemon's own lease has ended, calls `lost`
    // once (the daemon stops) and renews no more.
    lease_keeper(core::cluster& shared, core::dispatcher& dispatcher, std::chrono::milliseconds lease,
                 std::function<void()> lost);
    // Stops, and waits for a renewal under way.
    ~lease_keeper();
    lease_keeper(const lease_keeper&) = delete;
    lease_keeper& operator=(const lease_keeper&) = delete;

private:
    void run(const std::stop_token& stop);

    core::cluster& shared_;
    core::dispatcher& dispatcher_;
    std::chrono::milliseconds lease_;
    std::function<void()> lost_;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::jthread thread_;   // last: started once everything it uses is there
};

} // namespace switchboard::host
