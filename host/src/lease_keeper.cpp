#include "lease_keeper.hpp"

#include <switchboard/core/cluster.hpp>
#include <switchboard/core/dispatcher.hpp>

#include <spdlog/spdlog.h>

namespace switchboard::host {

lease_keeper::lease_keeper(core::cluster& shared, core::dispatcher& dispatcher, std::chrono::milliseconds lease,
                           std::function<void()> lost)
    : shared_(shared), dispatcher_(dispatcher), lease_(lease), lost_(std::move(lost)),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

lease_keeper::~lease_keeper() {
    thread_.request_stop();
    wake_.notify_all();
}

void lease_keeper::run(const std::stop_token& stop) {
    while (!stop.stop_requested()) {
        try {
            shared_.renew();
            dispatcher_.adopt_shared_work();
        } catch (const core::lease_lost& e) {
            spdlog::critical("{}", e.what());
            lost_();
            return;
        } catch (const core::store_error& e) {
            spdlog::error("store: cannot renew this daemon's lease: {}; trying again", e.what());
        } catch (const std::exception& e) {
            spdlog::error("store: taking up the work of stopped daemons failed: {}; trying again", e.what());
        }
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, stop, lease_ / 4, [] { return false; });
    }
}

} // namespace switchboard::host
