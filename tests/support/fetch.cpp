#include "fetch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <thread>

#include <stdexcept>

namespace switchboard::testing {

core::http_result fetch(const std::string& method, const std::string& url, const std::string& body,
                        const core::http_client_options& options) {
    return core::fetch({method, url, {{"Content-Type", "application/json"}}, body}, options);
}

struct kept_client::impl {
    explicit impl(const core::http_client_options& options) : client(io.get_executor(), options) {}
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy = boost::asio::make_work_guard(io);
    core::http_client client;
    std::thread runner{[this] { io.run(); }};
};

kept_client::kept_client(const core::http_client_options& options) : impl_(std::make_unique<impl>(options)) {}

kept_client::~kept_client() {
    impl_->busy.reset();
    impl_->io.stop();
    impl_->runner.join();
}

core::http_result kept_client::fetch(const std::string& method, const std::string& url, const std::string& body) {
    core::http_request request{method, url, {{"Content-Type", "application/json"}}, body};
    return boost::asio::co_spawn(impl_->io, impl_->client.send(std::move(request)), boost::asio::use_future).get();
}

boost::json::value fetch_json(const std::string& method, const std::string& url, const std::string& body) {
    const core::http_result r = fetch(method, url, body);
    if (!r.ok())
        throw std::runtime_error(method + " " + url + ": " + r.error);
    if (r.response.status < 200 || r.response.status > 299)
        throw std::runtime_error(method + " " + url + ": HTTP " + std::to_string(r.response.status) + " " + r.response.body);
    return boost::json::parse(r.response.body);
}

} // namespace switchboard::testing
