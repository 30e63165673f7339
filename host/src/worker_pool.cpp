#include "worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include <sys/resource.h>
#include <unistd.h>

namespace switchboard::host {

worker_pool::worker_pool(unsigned threads, int niceness)
    : context_(static_cast<int>(threads)), busy_(boost::asio::make_work_guard(context_)) {
    for (unsigned i = 0; i < threads; ++i)
        threads_.emplace_back([this, niceness] {
            // Linux schedules threads one by one: this sets the calling thread's own niceness.
            if (niceness != 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), niceness) != 0)
                spdlog::warn("cannot lower a worker thread's priority: {}", std::strerror(errno));
            context_.run();
        });
}

worker_pool::~worker_pool() { stop(); }

void worker_pool::stop() {
    busy_.reset();
    context_.stop();
    for (std::thread& t : threads_)
        if (t.joinable())
            t.join();
}

} // namespace switchboard::host
