// Threads that run an executor's work at a chosen scheduling priority: the daemon runs its API
// handlers at the normal one and its jobs (store writes, plugin codecs) a little below, so that a
// busy send never makes an API read wait for a time slice.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>
#include <vector>

namespace switchboard::host {

class worker_pool {
public:
    // `threads` threads at `niceness` (0: as the process; higher: yields to it), running until stop().
    worker_pool(unsigned threads, int niceness);
    ~worker_pool();
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    boost::asio::any_io_executor executor() { return context_.get_executor(); }
    // Drops what is queued, lets what runs finish, and waits for the threads.
    void stop();

private:
    boost::asio::io_context context_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy_;
    std::vector<std::thread> threads_;
};

} // namespace switchboard::host
