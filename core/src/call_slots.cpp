#include "call_slots.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace switchboard::core {

namespace net = boost::asio;

net::awaitable<void> call_slots::acquire() {
    const auto turn = std::make_shared<net::steady_timer>(co_await net::this_coro::executor,
                                                          net::steady_timer::time_point::max());
    {
        std::lock_guard lock(mutex_);
        if (free_ > 0 && waiting_.empty()) {
            --free_;
            co_return;
        }
        waiting_.push_back(turn);
    }
    // release() posts the cancel to this coroutine's strand, where it runs only once this wait has
    // begun: the strand is busy with this coroutine until it suspends here.
    co_await turn->async_wait(net::as_tuple(net::use_awaitable));
}

void call_slots::release() {
    std::shared_ptr<net::steady_timer> next;
    {
        std::lock_guard lock(mutex_);
        if (waiting_.empty()) {
            ++free_;
            return;
        }
        next = std::move(waiting_.front());
        waiting_.pop_front();
    }
    net::post(next->get_executor(), [next] { next->cancel(); });
}

} // namespace switchboard::core
