#include "serve_command.hpp"

#include "api_access.hpp"
#include "config.hpp"
#include "console_site.hpp"
#include "http_server.hpp"
#include "jobs_api.hpp"
#include "lease_keeper.hpp"
#include "logging.hpp"
#include "plugins_command.hpp"
#include "provider_setup.hpp"
#include "metrics.hpp"
#include "receipts_api.hpp"
#include "status_api.hpp"
#include "suppressions_api.hpp"
#include "worker_pool.hpp"

#include <switchboard/core/allocator_tuning.hpp>
#include <switchboard/core/http_client.hpp>
#include <switchboard/core/cluster.hpp>
#include <switchboard/core/job_store.hpp>
#include <switchboard/core/plugin.hpp>
#include <switchboard/core/postgres_job_store.hpp>
#include <switchboard/core/sqlite_job_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>

#include <sys/prctl.h>
#include <iostream>
#include <thread>

namespace switchboard::host {

namespace net = boost::asio;

namespace {

std::unique_ptr<core::job_store> open_store(const daemon_config& config) {
    if (config.postgres_store) {
        std::unique_ptr<core::job_store> store = core::open_postgres_job_store(*config.postgres_store);
        spdlog::info("store: PostgreSQL at {}, {} connection(s)", config.postgres_store->where,
                     config.postgres_store->connections);
        return store;
    }
    if (config.sqlite_store.empty()) {
        spdlog::warn("no store configured: jobs live in memory and are lost when the daemon stops "
                     "(set \"store\": {{\"sqlite\": \"FILE\"}} to keep them)");
        return core::make_memory_job_store();
    }
    std::unique_ptr<core::job_store> store = core::open_sqlite_job_store(config.sqlite_store, config.store_max_bytes);
    spdlog::info("store: {}", config.sqlite_store.string());
    return store;
}

// Deletes finished jobs older than the retention, now and every hour, so the store stays bounded.
// On a shared store one daemon at a time does it.
net::awaitable<void> keep_retention(core::job_store& store, std::chrono::hours retention) {
    net::steady_timer hourly(co_await net::this_coro::executor);
    for (;;) {
        const auto cutoff = std::chrono::system_clock::now() - retention;
        const std::int64_t cutoff_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(cutoff.time_since_epoch()).count();
        try {
            core::cluster* shared = store.shared();
            if (shared == nullptr || shared->lead("retention", std::chrono::hours(2)))
                if (const std::size_t deleted = store.delete_finished_before(cutoff_ms); deleted > 0)
                    spdlog::info("retention: deleted {} job(s) finished more than {} h ago", deleted, retention.count());
        } catch (const core::store_error& e) {
            spdlog::error("retention: {}; trying again in an hour", e.what());
        }
        hourly.expires_after(std::chrono::hours(1));
        co_await hourly.async_wait(net::use_awaitable);
    }
}

// Waits until no vendor call is under way, or the grace period is over.
net::awaitable<void> wait_for_calls(const core::dispatcher& dispatcher, std::chrono::milliseconds grace) {
    const auto deadline = std::chrono::steady_clock::now() + grace;
    net::steady_timer tick(co_await net::this_coro::executor);
    while (dispatcher.calls_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
        tick.expires_after(std::chrono::milliseconds(20));
        co_await tick.async_wait(net::use_awaitable);
    }
}

// The daemon with its configuration loaded: until it is told to stop. Throws what keeps it from starting.
int run_daemon(daemon_config& config) {
    {
        const std::function<void()> reopen_log = start_logging(config.log);
        if (config.plugin_dirs.empty())
            config.plugin_dirs.push_back(default_plugin_dir());
        // The store first: a store that cannot be used is the one thing to report.
        const std::unique_ptr<core::job_store> store = open_store(config);
        const core::provider_map providers = create_providers(config);

        // Sockets on the I/O threads; API handlers on a pool of their own, jobs (store calls, plugin
        // codecs) on another: neither a slow disk nor a large submission holds a connection up, and
        // an API read never queues behind a job's writes.
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        const unsigned io_threads = std::max(1u, cores / 2);
        shutdown_io_context io(static_cast<int>(io_threads));
        worker_pool work(std::max(4u, cores), 5);
        worker_pool api_workers(std::max(2u, cores), 0);
        core::http_client http(io.get_executor(), config.http);
        core::dispatcher dispatcher(work.executor(), *store, config.routes, providers, http, config.dispatch);
        // On a shared store the lease is kept from here on, before the jobs are resumed (a long
        // resume must not outlast it). A daemon whose lease ended stops, and exits 75
        // (EX_TEMPFAIL): its supervisor starts it again, and it rejoins with a new lease.
        std::atomic<int> exit_code{0};
        std::function<void()> stop_all;   // set once the server runs; until then, the I/O context stops
        std::optional<lease_keeper> keeper;
        if (core::cluster* shared = store->shared())
            keeper.emplace(*shared, dispatcher, config.postgres_store->lease, [&] {
                exit_code = 75;
                net::post(io, [&] { stop_all ? stop_all() : io.stop(); });
            });
        jobs_api api(*store, dispatcher, config.routes, providers, config.default_region, config.jobs);
        std::map<std::string, std::string> receipt_tokens;
        for (const provider_config& p : config.providers) {
            if (!p.receipt_token.empty())
                receipt_tokens.emplace(p.name, p.receipt_token);
            else if (providers.at(p.name)->owner().manifest().receipts == "push")
                spdlog::warn("provider {}: receipts are taken at /v1/receipts/{} without a receipt_token: only its "
                             "plugin's own check (if its vendor signs callbacks) stands between that URL and forged "
                             "receipts",
                             p.name, p.name);
        }
        receipts_api receipts(dispatcher, providers, std::move(receipt_tokens), config.receipt_origin);
        metrics observed(*store);
        dispatcher.observe(observed);
        status_api status(observed, dispatcher, providers, config.routes);
        suppressions_api suppressions(*store, providers, config.default_region);

        http_server_limits limits = config.server;
        limits.max_body_bytes = config.max_request_bytes;
        const api_access access(config.api_keys, config.open_api);
        if (config.open_api)
            spdlog::warn("open_api is set: the API takes requests without keys");
        const http_handler guarded_api = access.guard([&](const http_server_request& r) {
            if (std::optional<http_server_response> answer = status.handle(r))
                return *answer;
            if (std::optional<http_server_response> answer = suppressions.handle(r))
                return *answer;
            return api.handle(r);
        });
        const auto route_request = [&](const http_server_request& r) {
            // Vendors push receipts without an API key: their plugin (and token) vouches for them.
            return r.target.rfind(receipts_path_prefix, 0) == 0 ? receipts.handle(r) : guarded_api(r);
        };
        // Liveness on the I/O thread itself: it answers while every worker is busy. So does the
        // console, whose pages are in memory.
        const auto quick = [&config](const http_server_request& r) -> std::optional<http_server_response> {
            if (r.method == "GET" && r.target.substr(0, r.target.find('?')) == "/healthz")
                return http_server_response{200, "application/json", R"({"status":"ok"})"};
            return config.console ? serve_console(r) : std::nullopt;
        };
        // The port before any work: a start that cannot listen must leave the store as it found it.
        http_server server(io.get_executor(), api_workers.executor(), config.listen, quick, route_request, limits);
        dispatcher.resume_unfinished();
        dispatcher.start_receipt_polling();
        net::co_spawn(work.executor(), keep_retention(*store, config.retention), [](std::exception_ptr error) {
            if (error)
                spdlog::error("retention stopped: the store failed");
        });

        // SIGHUP: logrotate moved the log file away; write to a new one under its name.
        net::signal_set hangups(io, SIGHUP);
        std::function<void(const boost::system::error_code&, int)> on_hangup = [&](const boost::system::error_code& ec, int) {
            if (ec)
                return;
            reopen_log();
            hangups.async_wait(on_hangup);
        };
        hangups.async_wait(on_hangup);

        net::signal_set signals(io, SIGINT, SIGTERM);
        std::atomic<bool> stopping{false};
        const std::function<void()> stop = [&] {
            if (stopping.exchange(true))
                return;
            server.stop();
            hangups.cancel();
            signals.cancel();
            dispatcher.stop_sending();
            net::co_spawn(io, wait_for_calls(dispatcher, config.shutdown_grace), [&io](std::exception_ptr) { io.stop(); });
        };
        signals.async_wait([&](const boost::system::error_code& ec, int signal) {
            if (ec)
                return;
            spdlog::info("signal {}: stopping; calls in flight get up to {} ms to finish", signal,
                         config.shutdown_grace.count());
            net::post(io, stop);
        });
        stop_all = stop;
        std::cout << "listening on " << server.url() << std::endl;
        if (config.console)
            std::cout << "console at " << server.url() << "/console/" << std::endl;
        spdlog::info("serving {} provider(s), {} route(s) on {}", providers.size(), config.routes.size(), server.url());

        std::vector<std::thread> pool;
        for (unsigned i = 1; i < io_threads; ++i)
            pool.emplace_back([&io] { io.run(); });
        io.run();
        for (std::thread& t : pool)
            t.join();
        keeper.reset();
        api_workers.stop();
        work.stop();
        try {
            if (const std::size_t abandoned = dispatcher.abandon_in_flight(); abandoned > 0)
                spdlog::warn("stopped with {} recipient(s) still in a vendor call: recorded as unknown, not resent",
                             abandoned);
        } catch (const core::store_error& e) {
            // They stay recorded as in a call, and the next start makes them unknown all the same.
            spdlog::error("recipients still in a vendor call could not be recorded as unknown now: {}", e.what());
        }
        // Handlers still queued (a vendor call the grace period cut short, a request in progress) go
        // now, while every context and everything they point to is still there.
        io.shutdown();
        api_workers.shut_down();
        work.shut_down();
        spdlog::info("stopped");
        return exit_code.load();
    }
}

} // namespace

int serve(const std::filesystem::path& config_file) {
    start_early_logging();
    // A core dump would hold every API key and vendor secret: this process makes none.
    ::prctl(PR_SET_DUMPABLE, 0);
    core::tune_allocator_for_calls();
    std::optional<daemon_config> config;
    try {
        config = load_config(config_file);
        return run_daemon(*config);
    } catch (const config_error& e) {
        // A value misplaced in the configuration may be quoted: never the secret it came from.
        for (const std::string& problem : e.problems())
            std::cerr << "error: " << (config ? redact(*config, problem) : problem) << '\n';
    } catch (const std::exception& e) {
        std::cerr << "error: " << (config ? redact(*config, e.what()) : std::string(e.what())) << '\n';
    }
    return 1;
}

} // namespace switchboard::host
