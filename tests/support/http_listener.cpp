#include "http_listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace switchboard::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
}

struct http_listener::impl {
    net::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::string url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    mutable std::mutex mutex;
    mutable std::condition_variable arrived;
    std::vector<core::http_request> requests;
    std::thread thread;

    void keep(http::request<http::string_body>& raw) {
        core::http_request r{std::string(raw.method_string()), url + std::string(raw.target()), {}, std::move(raw.body())};
        for (const auto& field : raw)
            r.headers.push_back({std::string(field.name_string()), std::string(field.value())});
        {
            const std::lock_guard lock(mutex);
            requests.push_back(std::move(r));
        }
        arrived.notify_all();
    }

    // Keep-alive, as the simulators' HTTP client pools its connections.
    net::awaitable<void> serve(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> raw;
            auto [read_ec, read] = co_await http::async_read(stream, buffer, raw, tuple_awaitable);
            if (read_ec)
                co_return;
            const bool keep_alive = raw.keep_alive();
            keep(raw);
            http::response<http::string_body> answer{http::status::ok, 11};
            answer.keep_alive(keep_alive);
            answer.prepare_payload();
            auto [write_ec, written] = co_await http::async_write(stream, answer, tuple_awaitable);
            if (write_ec || !keep_alive)
                co_return;
        }
    }

    net::awaitable<void> accept() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(tuple_awaitable);
            if (ec)
                co_return;
            net::co_spawn(io, serve(std::move(socket)), net::detached);
        }
    }
};

http_listener::http_listener() : impl_(std::make_unique<impl>()) {
    net::co_spawn(impl_->io, impl_->accept(), net::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

http_listener::~http_listener() {
    impl_->io.stop();
    impl_->thread.join();
}

const std::string& http_listener::url() const noexcept { return impl_->url; }

std::vector<core::http_request> http_listener::received() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

std::vector<core::http_request> http_listener::wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    impl_->arrived.wait_for(lock, timeout, [&] { return impl_->requests.size() >= count; });
    return impl_->requests;
}

} // namespace switchboard::testing
