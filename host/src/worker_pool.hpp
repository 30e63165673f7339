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

// An io_context whose queued handlers can be destroyed before the context itself. The daemon's
// contexts hold each other's executors (a vendor call runs on the I/O context for a job's strand on
// the workers', an API request waits on the workers for a connection on the I/O context): a handler
// destroyed with one context must not find another already gone, so each drops its handlers, with
// shutdown(), while all of them are still there.
class shutdown_io_context : public boost::asio::io_context {
public:
    using boost::asio::io_context::io_context;
    using boost::asio::execution_context::shutdown;
};

class worker_pool {
public:
    // `threads` threads at `niceness` (0: as the process; higher: yields to it), running until stop().
    worker_pool(unsigned threads, int niceness);
    ~worker_pool();
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    boost::asio::any_io_executor executor() { return context_.get_executor(); }
    // Lets what runs finish and waits for the threads; what is queued stays until shut_down().
    void stop();
    // After stop(): destroys every handler still queued (see shutdown_io_context).
    void shut_down() { context_.shutdown(); }

private:
    shutdown_io_context context_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy_;
    std::vector<std::thread> threads_;
};

} // namespace switchboard::host
