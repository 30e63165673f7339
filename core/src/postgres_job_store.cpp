// The job store on PostgreSQL. The same contract as the SQLite store, written for many writers: a
// page of recipients, a call's claim and a call's outcomes are one statement each (arrays
// unnested on the server), every write that depends on what it read locks those rows first (the
// job's row, then its recipients in index order, then its counts in state order, so that two
// writers never wait on each other in a circle), and per-state counts are kept by the store's code.
//
// Several daemons may share the database: each holds a lease (a row in daemons) that it renews, and
// every write it makes is fenced by it — checked in the same transaction, so a daemon that was
// paused or cut off past its lease writes nothing more, and the recipients it had in a call are
// settled by the others as after a crash. Work due is split among the live daemons by recipient
// index, calls are paced over all of them (rate_turns), and tasks that run once have one leader.
#include <switchboard/core/postgres_job_store.hpp>

#include <switchboard/core/cluster.hpp>

#include "postgres_connection_pool.hpp"
#include "postgres_schema.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

#include <unistd.h>

namespace switchboard::core {
namespace {

using postgres::arg;
using postgres::array_of;
using postgres::connection;
using postgres::connection_pool;
using postgres::result;
using postgres::transaction;

constexpr std::size_t rows_per_statement = 10'000;   // a page's recipients go in statements of this many at most

constexpr const char* recipient_columns =
    "idx, recipient, ref, params, state, step, attempts, next_attempt_at_ms, provider, message_id, code, reason, "
    "history";
// Calls are spaced at this share of a provider's rate: a little wider than one daemon's
// rate_limiter spaces them (0.95), as calls from several processes reach the vendor with more
// spread in their delays.
constexpr double pacing_margin = 0.9;

// Every session's settings. The store's queries each touch a page of rows through an index, and
// they are planned before a job of a million rows just written has statistics: the range of a
// batch's indexes (idx BETWEEN) steers them to the primary key, and no query starts parallel workers
// (their start costs more than these queries take).
//
// And every session's limits. A daemon paused in the middle of a transaction (SIGSTOP, a stall) holds
// its row locks until its session ends: the server ends a session idle inside a transaction after
// half a lease, so that the others can take its work over, and a statement waits no longer than
// `lock_wait` for a lock before it fails (and is tried again) rather than hang.
std::string session_settings(std::chrono::milliseconds lease, std::chrono::milliseconds lock_wait) {
    return "SET idle_in_transaction_session_timeout = " + std::to_string(std::max<std::int64_t>(lease.count() / 2, 500)) +
           "; SET lock_timeout = " + std::to_string(lock_wait.count()) + "; SET max_parallel_workers_per_gather = 0";
}

// A lease id no other daemon has: 128 random bits.
std::string new_daemon_id() {
    std::random_device random;
    std::string id;
    for (int i = 0; i < 4; ++i) {
        char part[9];
        std::snprintf(part, sizeof part, "%08x", random());
        id += part;
    }
    return id;
}

std::string host_name() {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    return name;
}

recipient read_recipient(const result& r, int row, int first = 0) {
    recipient out;
    out.index = r.integer(row, first);
    out.to = r.text(row, first + 1);
    out.ref = r.text(row, first + 2);
    out.params_json = r.text(row, first + 3);
    out.state = static_cast<recipient_state>(r.integer(row, first + 4));
    out.step = static_cast<int>(r.integer(row, first + 5));
    out.attempts = static_cast<int>(r.integer(row, first + 6));
    out.next_attempt_at_ms = r.integer(row, first + 7);
    out.provider = r.text(row, first + 8);
    out.message_id = r.text(row, first + 9);
    out.code = r.text(row, first + 10);
    out.reason = r.text(row, first + 11);
    out.history_json = r.text(row, first + 12);
    return out;
}

std::vector<recipient> read_recipients(const result& r) {
    std::vector<recipient> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row)
        out.push_back(read_recipient(r, row));
    return out;
}

constexpr const char* job_columns =
    "id, route, created_at_ms, state, recipient_count, finished_at_ms, COALESCE(idempotency_key, ''), request_hash, "
    "deadline_ms, route_json, region, cancelled::int, send_at_ms";

std::vector<job> read_jobs(const result& r) {
    std::vector<job> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(job{r.text(i, 0), r.text(i, 1), r.integer(i, 2), static_cast<job_state>(r.integer(i, 3)),
                          r.integer(i, 4), r.integer(i, 5), r.text(i, 6), r.text(i, 7), r.integer(i, 8), r.text(i, 9),
                          r.text(i, 10), r.integer(i, 11) != 0, r.integer(i, 12)});
    return out;
}

std::int64_t number(recipient_state state) { return static_cast<std::int64_t>(state); }
std::string literal(recipient_state state) { return std::to_string(number(state)); }

std::int64_t clamp(std::size_t n) { return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX)); }

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// How a write changed a job's counts: state -> recipients gained (negative: lost).
using count_changes = std::map<std::int64_t, std::int64_t>;

// One column of a page of rows, as an array parameter.
template <class T, class F>
std::string column(const std::vector<T>& rows, std::size_t first, std::size_t last, F field) {
    if constexpr (std::is_same_v<std::decay_t<decltype(field(rows[0]))>, std::string>) {
        std::vector<std::string> values;
        for (std::size_t i = first; i < last; ++i)
            values.push_back(field(rows[i]));
        return array_of(values);
    } else {
        std::vector<std::int64_t> values;
        for (std::size_t i = first; i < last; ++i)
            values.push_back(static_cast<std::int64_t>(field(rows[i])));
        return array_of(values);
    }
}

class postgres_job_store final : public job_store, public cluster {
public:
    explicit postgres_job_store(const postgres_store_settings& settings)
        : where_(settings.where), lease_(settings.lease), id_(new_daemon_id()),
          lease_connection_(settings.conninfo, settings.where, session_settings(settings.lease, settings.lease / 4)),
          pool_(settings.conninfo, settings.where, session_settings(settings.lease, settings.lease / 4), settings.connections, [] {}) {
        // The schema first, under its own lock: daemons starting together find it made once.
        postgres::migrate(*pool_.take());
        join();
    }

    ~postgres_job_store() override {
        // Leaves at once rather than after its lease: its calls in flight were settled at the stop.
        try {
            if (!lease_lost_)
                pool_.take()->exec("DELETE FROM daemons WHERE id = $1", {id_});
        } catch (const store_error& e) {
            spdlog::warn("store: could not leave the daemons on {}: {}; the lease ends by itself", where_, e.what());
        }
    }

    cluster* shared() noexcept override { return this; }
    const std::string& daemon_id() const noexcept override { return id_; }
    bool lease_current() const noexcept override { return std::chrono::steady_clock::now() < lease_until(); }
    std::size_t daemons() const noexcept override { return members_.load(); }
    std::chrono::milliseconds lease() const noexcept override { return lease_; }

    void renew() override {
        if (lease_lost_)
            throw lease_lost(lease_lost_reason());
        // On a connection of its own: a renewal never waits for the pool, whatever the daemon is busy with.
        std::lock_guard lock(lease_mutex_);
        if (lease_connection_.broken())
            lease_connection_.reconnect();
        const auto asked = std::chrono::steady_clock::now();
        // Renewing takes no lock a fenced write holds (those hold the row FOR KEY SHARE): it never
        // waits behind a large page of recipients being written.
        if (lease_connection_
                .exec("UPDATE daemons SET expires_at = now() + $2 * interval '1 millisecond' WHERE id = $1 "
                      "AND expires_at > now() RETURNING 1",
                      {id_, lease_.count()})
                .rows() == 0) {
            lease_lost_ = true;
            throw lease_lost(lease_lost_reason());
        }
        lease_until_ns_ = (asked + lease_).time_since_epoch().count();
        // Ending a lease waits for the writes under way under it (the others then see what it wrote),
        // for a quarter of a lease at most: a renewal is never held up for long.
        try {
            const result ended =
                lease_connection_.exec("DELETE FROM daemons WHERE expires_at < now() RETURNING id, host, pid");
            for (int i = 0; i < ended.rows(); ++i)
                spdlog::warn("store: daemon {} (host {}, pid {}) stopped renewing its lease: its calls in flight are "
                             "settled as unknown and its work taken over",
                             ended.text(i, 0), ended.text(i, 1), ended.text(i, 2));
        } catch (const store_error& e) {
            spdlog::warn("store: leases that ended are not cleared yet: {}", e.what());
        }
        count_members(lease_connection_);
    }

    std::vector<std::string> jobs_with_orphans() const override {
        const result r = reader()->exec("SELECT DISTINCT job_id FROM recipients WHERE state = 1 AND daemon NOT IN "
                                        "(SELECT id FROM daemons)");
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(r.text(i, 0));
        return out;
    }

    std::vector<recipient> orphaned_in_flight(const std::string& job_id, caller whose) const override {
        const std::string of = whose == caller::this_daemon ? "daemon = $2" : "daemon NOT IN (SELECT id FROM daemons)";
        return read_recipients(reader()->exec(std::string("SELECT ") + recipient_columns +
                                                  " FROM recipients WHERE job_id = $1 AND state = 1 AND " + of +
                                                  " ORDER BY idx",
                                              whose == caller::this_daemon ? std::vector<arg>{job_id, id_}
                                                                           : std::vector<arg>{job_id}));
    }

    std::chrono::milliseconds reserve_turn(const std::string& provider, double requests_per_second,
                                           double recipients_per_second, std::size_t recipients) override {
        const auto interval_us = [](double rate, double units) -> std::int64_t {
            return rate > 0 ? static_cast<std::int64_t>(units * 1e6 / (rate * pacing_margin)) : 0;
        };
        const std::int64_t call_us = interval_us(requests_per_second, 1);
        const std::int64_t recipients_us = interval_us(recipients_per_second, static_cast<double>(recipients));
        if (call_us == 0 && recipients_us == 0)
            return std::chrono::milliseconds{0};
        auto c = pool_.take();
        ensure_turns(*c, provider);
        // One statement: the row's lock orders the daemons, and each turn starts where the last ended.
        const result r = c->exec(
            "UPDATE rate_turns SET next_call_us = GREATEST(next_call_us, next_recipient_us, " + std::string(db_now_us) +
                ") + $2, next_recipient_us = GREATEST(next_call_us, next_recipient_us, " + db_now_us +
                ") + $3 WHERE provider = $1 RETURNING next_call_us - $2 - " + db_now_us,
            {provider, call_us, recipients_us});
        const std::int64_t wait_us = r.rows() == 0 ? 0 : r.integer(0, 0);
        return std::chrono::milliseconds(std::max<std::int64_t>(wait_us, 0) / 1000);
    }

    void hold(const std::string& provider, std::chrono::milliseconds wait) override {
        auto c = pool_.take();
        ensure_turns(*c, provider);
        c->exec("UPDATE rate_turns SET next_call_us = GREATEST(next_call_us, " + std::string(db_now_us) +
                    " + $2) WHERE provider = $1",
                {provider, static_cast<std::int64_t>(wait.count()) * 1000});
    }

    bool lead(const std::string& task, std::chrono::milliseconds term) override {
        fenced_write c(*this);
        const bool leads = c->exec("INSERT INTO leads (task, daemon, until) VALUES ($1, $2, now() + $3 * interval '1 millisecond') "
                              "ON CONFLICT (task) DO UPDATE SET daemon = excluded.daemon, until = excluded.until "
                              "WHERE leads.daemon = excluded.daemon OR leads.until < now() RETURNING 1",
                              {task, id_, term.count()})
                               .rows() == 1;
        c.commit();
        return leads;
    }

    std::string write_problem() override {
        std::lock_guard probing(probe_mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_probe_ < std::chrono::seconds(1))
            return last_problem_;
        // A probe must not wait behind the writes it would vouch for: with every connection busy,
        // the store is evidently answering.
        try {
            const std::optional<connection_pool::lease> c = pool_.try_take();
            if (!c)
                return last_problem_;
            last_probe_ = now;
            last_problem_.clear();
            if (lease_lost_)
                throw lease_lost(lease_lost_reason());
            (*c)->exec("UPDATE health SET probed_at_ms = $1", {now_ms()});
        } catch (const store_error& e) {
            last_probe_ = now;
            last_problem_ = e.what();
        }
        return last_problem_;
    }

    void create_job(const job& j, const std::vector<recipient>& recipients) override {
        fenced_write c(*this);
        try {
            c->exec("INSERT INTO jobs (id, route, created_at_ms, state, recipient_count, idempotency_key, request_hash, "
                    "deadline_ms, route_json, region, send_at_ms) VALUES ($1,$2,$3,$4,$5,NULLIF($6, ''),$7,$8,$9,$10,$11)",
                    {j.id, j.route, j.created_at_ms, static_cast<int>(j.state), j.recipient_count, j.idempotency_key,
                     j.request_hash, j.deadline_ms, j.route_json, j.region, j.send_at_ms});
        } catch (const postgres::duplicate_key&) {
            throw std::invalid_argument("job " + j.id + " or idempotency key '" + j.idempotency_key + "' exists already");
        }
        insert_recipients(*c, j.id, recipients);
        c.commit();
    }

    void append_recipients(const std::string& job_id, const std::vector<recipient>& recipients) override {
        fenced_write c(*this);
        const result counted = c->exec("UPDATE jobs SET recipient_count = recipient_count + $1 WHERE id = $2",
                                       {clamp(recipients.size()), job_id});
        if (counted.changed() != 1)
            throw std::out_of_range("no job " + job_id);
        insert_recipients(*c, job_id, recipients);
        c.commit();
    }

    std::optional<job> find_job(const std::string& id) const override {
        return one_job(std::string("SELECT ") + job_columns + " FROM jobs WHERE id = $1", id);
    }

    std::optional<job> find_job_by_idempotency_key(const std::string& key) const override {
        return one_job(std::string("SELECT ") + job_columns + " FROM jobs WHERE idempotency_key = $1", key);
    }

    std::vector<job> recent_jobs(std::size_t limit, std::size_t offset, std::optional<job_state> state) const override {
        const std::string only = state ? " WHERE state = " + std::to_string(static_cast<int>(*state)) : "";
        return read_jobs(reader()->exec(std::string("SELECT ") + job_columns + " FROM jobs" + only +
                                            " ORDER BY created_at_ms DESC, id DESC LIMIT $1 OFFSET $2",
                                        {clamp(limit), clamp(offset)}));
    }

    std::vector<job> unfinished_jobs() const override {
        return read_jobs(reader()->exec(std::string("SELECT ") + job_columns +
                                        " FROM jobs WHERE state != $1 OR id IN (SELECT job_id FROM job_counts "
                                        "WHERE state IN (0, 1, 9) AND count > 0) ORDER BY created_at_ms, id",
                                        {static_cast<int>(job_state::finished)}));
    }

    void set_job_state(const std::string& id, job_state state) override {
        // A finished job stays finished: another daemon may have ended it while this one started it.
        write_one("UPDATE jobs SET state = $1 WHERE id = $2 AND (state != $3 OR $1 = $3)",
                  {static_cast<int>(state), id, static_cast<int>(job_state::finished)});
    }

    void finish_job(const std::string& id, std::int64_t at_ms) override {
        write_one("UPDATE jobs SET state = $1, finished_at_ms = $2 WHERE id = $3",
                  {static_cast<int>(job_state::finished), at_ms, id});
    }

    std::size_t delete_finished_before(std::int64_t before_ms) override {
        return static_cast<std::size_t>(write_one("DELETE FROM jobs WHERE state = $1 AND finished_at_ms < $2",
                                                  {static_cast<int>(job_state::finished), before_ms}));
    }

    std::vector<recipient> recipients(const std::string& job_id, std::int64_t from_index, std::size_t limit,
                                      std::optional<recipient_state> state, const std::string& provider) const override {
        const std::string in_state = state ? " AND state = " + literal(*state) : "";
        return read_recipients(reader()->exec(std::string("SELECT ") + recipient_columns +
                                                  " FROM recipients WHERE job_id = $1" + in_state +
                                                  " AND idx >= $2 AND ($3 = '' OR provider = $3) ORDER BY idx LIMIT $4",
                                              {job_id, from_index, provider, clamp(limit)}));
    }

    std::size_t add_suppressions(const std::vector<suppression>& entries) override {
        // One row per address and channel, the last entry winning as if they came one by one: a
        // statement may not change one row twice.
        std::map<std::pair<std::string, std::string>, const suppression*> latest;
        for (const suppression& e : entries)
            latest[{e.address, e.channel}] = &e;
        std::vector<suppression> rows;
        for (const auto& [key, e] : latest)
            rows.push_back(*e);
        std::size_t added = 0;
        fenced_write c(*this);
        for (std::size_t first = 0; first < rows.size(); first += rows_per_statement) {
            const std::size_t last = std::min(rows.size(), first + rows_per_statement);
            const result r = c->exec(
                "INSERT INTO suppressions (address, channel, reason, created_at_ms) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) "
                "ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, created_at_ms = excluded.created_at_ms "
                "RETURNING (xmax = 0)",
                {column(rows, first, last, [](const suppression& s) { return s.address; }),
                 column(rows, first, last, [](const suppression& s) { return s.channel; }),
                 column(rows, first, last, [](const suppression& s) { return s.reason; }),
                 column(rows, first, last, [](const suppression& s) { return s.created_at_ms; })});
            for (int i = 0; i < r.rows(); ++i)
                added += r.text(i, 0) == "t" ? 1 : 0;
        }
        c.commit();
        return added;
    }

    bool remove_suppression(const std::string& address, const std::string& channel) override {
        return write_one("DELETE FROM suppressions WHERE address = $1 AND channel = $2", {address, channel}) > 0;
    }

    std::vector<suppression> suppressions(std::size_t offset, std::size_t limit) const override {
        return read_suppressions(reader()->exec("SELECT address, channel, reason, created_at_ms FROM suppressions "
                                                "ORDER BY address, channel LIMIT $1 OFFSET $2",
                                                {clamp(limit), clamp(offset)}));
    }

    suppression_index find_suppressions(const std::vector<std::string>& addresses) const override {
        suppression_index out;
        for (suppression& s : read_suppressions(reader()->exec(
                 "SELECT address, channel, reason, created_at_ms FROM suppressions WHERE address = ANY($1::text[]) "
                 "ORDER BY address, channel",
                 {array_of(addresses)})))
            out[s.address].push_back(std::move(s));
        return out;
    }

    std::vector<failure_group> failure_groups(const std::string& job_id, std::size_t limit) const override {
        const result r = reader()->exec(
            "SELECT state, code, reason, COUNT(*) AS n FROM recipients WHERE job_id = $1 AND state >= 4 "
            "AND state IN (4, 5, 6, 7, 8, 10) GROUP BY state, code, reason "
            "ORDER BY n DESC, state, code COLLATE \"C\", reason COLLATE \"C\" LIMIT $2",
            {job_id, clamp(limit)});
        std::vector<failure_group> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back({static_cast<recipient_state>(r.integer(i, 0)), r.text(i, 1), r.text(i, 2), r.integer(i, 3)});
        return out;
    }

    std::vector<recipient> due_recipients(const std::string& job_id, std::int64_t now, std::size_t limit,
                                          recipient_state state) const override {
        if (state != recipient_state::queued && state != recipient_state::awaiting_receipt)
            throw std::invalid_argument(std::string("recipients in state ") + to_string(state) + " are never due");
        // This daemon's share first; when it has none due, anyone's: a share whose daemon does not
        // send this job (its configuration lacks the route, it is stuck) is sent by the others.
        const std::pair<std::int64_t, std::int64_t> share = my_share();
        const std::int64_t members = share.first;
        const std::int64_t position = share.second;
        const auto due = [&](const std::string& which) {
            return read_recipients(reader()->exec(std::string("SELECT ") + recipient_columns +
                                                      " FROM recipients WHERE job_id = $1 AND state = " + literal(state) +
                                                      " AND next_attempt_at_ms <= $2" + which +
                                                      " ORDER BY next_attempt_at_ms, idx LIMIT $3",
                                                  {job_id, now, clamp(limit), members, position}));
        };
        std::vector<recipient> mine = due(" AND idx % $4 = $5");
        if (!mine.empty() || members == 1)
            return mine;
        return due(" AND $4 > 0 AND $5 >= 0");   // the parameters are used, not the share
    }

    std::optional<std::int64_t> next_due_at(const std::string& job_id) const override {
        const auto [members, position] = my_share();
        // This daemon's share's next due time, or else anyone's (see due_recipients).
        const std::string earliest = "LEAST((SELECT MIN(next_attempt_at_ms) FROM recipients WHERE job_id = $1 AND "
                                     "state = 0 AND %s), (SELECT MIN(next_attempt_at_ms) FROM recipients WHERE "
                                     "job_id = $1 AND state = 9 AND %s))";
        const auto of = [&](const std::string& share) {
            std::string sql = earliest;
            for (std::size_t at; (at = sql.find("%s")) != std::string::npos;)
                sql.replace(at, 2, share);
            return sql;
        };
        const result r = reader()->exec("SELECT COALESCE(" + of("idx % $2 = $3") + ", " + of("$2 > 0 AND $3 >= 0") + ")",
                                        {job_id, members, position});
        if (r.rows() == 0 || r.is_null(0, 0))
            return std::nullopt;
        return r.integer(0, 0);
    }

    std::map<std::string, std::int64_t> first_indexes(const std::string& job_id,
                                                      const std::vector<std::string>& addresses) const override {
        const result r = reader()->exec("SELECT recipient, MIN(idx) FROM recipients WHERE job_id = $1 AND state NOT IN (" +
                                            literal(recipient_state::skipped_invalid) + ", " +
                                            literal(recipient_state::skipped_duplicate) +
                                            ") AND recipient = ANY($2::text[]) GROUP BY recipient",
                                        {job_id, array_of(addresses)});
        std::map<std::string, std::int64_t> out;
        for (int i = 0; i < r.rows(); ++i)
            out.emplace(r.text(i, 0), r.integer(i, 1));
        return out;
    }

    std::vector<std::pair<std::string, recipient>> find_by_message_id(const std::string& provider,
                                                                     const std::string& message_id,
                                                                     const std::string& to) const override {
        const result r = reader()->exec(std::string("SELECT job_id, ") + recipient_columns +
                                            " FROM recipients WHERE provider = $1 AND message_id = $2 AND message_id != ''"
                                            " AND ($3 = '' OR ltrim(recipient, '+') = ltrim($3, '+')) ORDER BY job_id, idx",
                                        {provider, message_id, to});
        std::vector<std::pair<std::string, recipient>> out;
        for (int i = 0; i < r.rows(); ++i)
            out.emplace_back(r.text(i, 0), read_recipient(r, i, 1));
        return out;
    }

    std::size_t keep_early_receipts(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                                    std::int64_t forget_before_ms, std::size_t most_kept) override {
        fenced_write c(*this);
        // Keepers take turns, so that together they never keep more than most_kept.
        c->exec("LOCK TABLE early_receipts IN SHARE ROW EXCLUSIVE MODE");
        c->exec("DELETE FROM early_receipts WHERE received_at_ms < $1", {forget_before_ms});
        const auto held = static_cast<std::size_t>(c->exec("SELECT COUNT(*) FROM early_receipts").integer(0, 0));
        const std::size_t kept = std::min(most_kept > held ? most_kept - held : 0, receipts.size());
        for (std::size_t first = 0; first < kept; first += rows_per_statement) {
            const std::size_t last = std::min(kept, first + rows_per_statement);
            c->exec("INSERT INTO early_receipts (provider, message_id, recipient, status, code, reason, received_at_ms) "
                    "SELECT $1, m, t, s, c, w, at FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
                    "$7::bigint[]) WITH ORDINALITY AS r(m, t, s, c, w, at, n) ORDER BY n",
                    {provider, column(receipts, first, last, [](const delivery_receipt& r) { return r.message_id; }),
                     column(receipts, first, last, [](const delivery_receipt& r) { return r.to; }),
                     column(receipts, first, last, [](const delivery_receipt& r) { return r.status; }),
                     column(receipts, first, last, [](const delivery_receipt& r) { return r.code; }),
                     column(receipts, first, last, [](const delivery_receipt& r) { return r.reason; }),
                     column(receipts, first, last, [](const delivery_receipt& r) { return r.received_at_ms; })});
        }
        c.commit();
        return kept;
    }

    std::vector<delivery_receipt> take_early_receipts(const std::string& provider,
                                                      const std::vector<std::string>& message_ids) override {
        if (reader()->exec("SELECT 1 FROM early_receipts WHERE provider = $1 LIMIT 1", {provider}).rows() == 0)
            return {};  // as almost always: no write after every call for nothing
        fenced_write c(*this);
        const result r = c->exec(
            "DELETE FROM early_receipts WHERE provider = $1 AND message_id = ANY($2::text[]) "
            "RETURNING message_id, recipient, status, code, reason, received_at_ms, seq",
            {provider, array_of(message_ids)});
        c.commit();
        // In the order asked for, and as they came for each message.
        std::map<std::string, std::size_t> asked;
        for (std::size_t i = 0; i < message_ids.size(); ++i)
            asked.emplace(message_ids[i], i);
        std::vector<std::tuple<std::size_t, std::int64_t, delivery_receipt>> taken;
        for (int i = 0; i < r.rows(); ++i)
            taken.emplace_back(asked[r.text(i, 0)], r.integer(i, 6),
                               delivery_receipt{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4),
                                                r.integer(i, 5)});
        std::sort(taken.begin(), taken.end(),
                  [](const auto& a, const auto& b) { return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b)); });
        std::vector<delivery_receipt> out;
        for (auto& t : taken)
            out.push_back(std::move(std::get<2>(t)));
        return out;
    }

    std::vector<std::string> awaiting_message_ids(const std::string& provider, const std::string& after,
                                                  std::size_t limit) const override {
        const result r = reader()->exec("SELECT DISTINCT message_id FROM recipients WHERE provider = $1 AND state = 9 "
                                        "AND message_id > $2 ORDER BY message_id LIMIT $3",
                                        {provider, after, clamp(limit)});
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(r.text(i, 0));
        return out;
    }

    std::map<recipient_state, std::int64_t> count_by_state(const std::string& job_id) const override {
        return recipient_counts(reader()->exec("SELECT state, count FROM job_counts WHERE job_id = $1", {job_id}));
    }

    std::map<job_state, std::int64_t> jobs_by_state() const override {
        const result r = reader()->exec("SELECT state, COUNT(*) FROM jobs GROUP BY state");
        std::map<job_state, std::int64_t> counts;
        for (int i = 0; i < r.rows(); ++i)
            counts[static_cast<job_state>(r.integer(i, 0))] = r.integer(i, 1);
        return counts;
    }

    std::map<recipient_state, std::int64_t> recipients_by_state() const override {
        return recipient_counts(reader()->exec("SELECT state, SUM(count) FROM job_counts GROUP BY state"));
    }

    std::size_t cancel_job(const std::string& job_id) override {
        fenced_write c(*this);
        c->exec("UPDATE jobs SET cancelled = true WHERE id = $1", {job_id});
        std::size_t cancelled = 0;
        for (const auto& [from, to] : {std::pair{recipient_state::queued, recipient_state::cancelled},
                                       std::pair{recipient_state::awaiting_receipt, recipient_state::accepted}}) {
            recipient_update example;
            example.state = from;
            stop_at_cancel(example);
            const std::size_t moved = move_all(*c, job_id, from, to, example.code, example.reason);
            if (to == recipient_state::cancelled)
                cancelled = moved;
        }
        c.commit();
        return cancelled;
    }

    std::size_t settle_all(const std::string& job_id, recipient_state from, recipient_state to,
                           const std::string& code, const std::string& reason) override {
        fenced_write c(*this);
        lock_job(*c, job_id);
        const std::size_t settled = move_all(*c, job_id, from, to, code, reason);
        c.commit();
        return settled;
    }

    std::vector<std::int64_t> claim(const std::string& job_id, const std::vector<std::int64_t>& indexes,
                                    const std::string& provider) override {
        return claim_where(job_id, indexes, provider, {});
    }

    std::vector<std::int64_t> claim_as_read(const std::string& job_id, const std::vector<recipient>& candidates,
                                            const std::string& provider) override {
        std::vector<std::int64_t> indexes;
        std::map<std::int64_t, std::pair<int, int>> as_read;   // index -> step, attempts
        for (const recipient& r : candidates) {
            indexes.push_back(r.index);
            as_read.emplace(r.index, std::pair{r.step, r.attempts});
        }
        return claim_where(job_id, indexes, provider, as_read);
    }

private:
    // Claims those of `indexes` still queued and, for those in `as_read`, still at the step and
    // attempt they were read at: another daemon may have sent one meanwhile, and its receipt moved
    // it on to the next step, queued again there.
    std::vector<std::int64_t> claim_where(const std::string& job_id, const std::vector<std::int64_t>& indexes,
                                          const std::string& provider,
                                          const std::map<std::int64_t, std::pair<int, int>>& as_read) {
        fenced_write c(*this);
        if (lock_job(*c, job_id).value_or(true))
            return {};  // cancelled, or gone
        std::vector<std::int64_t> sorted = indexes;
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        if (sorted.empty())
            return {};
        // Locked first, then those still as read taken: by their primary key both times (a condition
        // on the state would draw the planner to the partial index of queued recipients, whole).
        const result r = c->exec("SELECT idx, state, step, attempts FROM recipients WHERE job_id = $1 AND idx BETWEEN $3 "
                                 "AND $4 AND idx = ANY($2::bigint[]) ORDER BY idx FOR UPDATE",
                                 {job_id, array_of(sorted), sorted.front(), sorted.back()});
        std::vector<std::int64_t> queued;
        for (int i = 0; i < r.rows(); ++i) {
            const std::int64_t index = r.integer(i, 0);
            const auto read = as_read.find(index);
            if (r.integer(i, 1) == number(recipient_state::queued) &&
                (read == as_read.end() ||
                 (r.integer(i, 2) == read->second.first && r.integer(i, 3) == read->second.second)))
                queued.push_back(index);
        }
        if (!queued.empty())
            c->exec("UPDATE recipients SET state = 1, attempts = attempts + 1, provider = $2, daemon = $4 "
                    "WHERE job_id = $1 AND idx BETWEEN $5 AND $6 AND idx = ANY($3::bigint[])",
                    {job_id, provider, array_of(queued), id_, queued.front(), queued.back()});
        const std::set<std::int64_t> taken(queued.begin(), queued.end());
        const auto n = static_cast<std::int64_t>(taken.size());
        add_counts(*c, job_id, {{number(recipient_state::queued), -n}, {number(recipient_state::sending), n}});
        c.commit();
        std::vector<std::int64_t> claimed;
        for (std::int64_t index : indexes)
            if (taken.count(index) != 0)
                claimed.push_back(index);
        return claimed;
    }

public:
    void apply(const std::string& job_id, const std::vector<recipient_update>& updates) override {
        fenced_write c(*this);
        for (std::int64_t changed : update(*c, job_id, updates, std::nullopt))
            if (changed < 0)
                throw std::out_of_range("job " + job_id + " has no recipient " + std::to_string(-changed - 1));
        c.commit();
    }

    std::vector<std::int64_t> apply_if(const std::string& job_id, recipient_state expected,
                                       const std::vector<recipient_update>& updates) override {
        fenced_write c(*this);
        std::vector<std::int64_t> changed;
        for (std::int64_t index : update(*c, job_id, updates, expected))
            if (index >= 0)
                changed.push_back(index);
        c.commit();
        return changed;
    }

private:
    connection_pool::lease reader() const { return pool_.take(); }

    // A write of this daemon: a transaction that holds this daemon's lease row to its end, FOR KEY
    // SHARE (a daemon ending the lease waits for it; a renewal does not), refused when the lease has ended.
    class fenced_write {
    public:
        explicit fenced_write(const postgres_job_store& store) : c_(store.writer()), tx_(*c_) { store.check_lease(*c_); }
        connection& operator*() const noexcept { return *c_; }
        connection* operator->() const noexcept { return &*c_; }
        void commit() { tx_.commit(); }

    private:
        connection_pool::lease c_;
        transaction tx_;
    };

    connection_pool::lease writer() const {
        if (lease_lost_)
            throw lease_lost(lease_lost_reason());
        return pool_.take();
    }

    // One statement as a fenced write; the rows it changed.
    std::int64_t write_one(const std::string& sql, const std::vector<arg>& args) {
        fenced_write c(*this);
        const std::int64_t changed = c->exec(sql, args).changed();
        c.commit();
        return changed;
    }

    void check_lease(connection& c) const {
        if (c.exec("SELECT 1 FROM daemons WHERE id = $1 AND expires_at > now() FOR KEY SHARE", {id_}).rows() == 0) {
            lease_lost_ = true;
            throw lease_lost(lease_lost_reason());
        }
    }

    std::string lease_lost_reason() const {
        return "this daemon's lease (" + id_ + ") on the PostgreSQL store at " + where_ + " has ended: it was paused or "
               "cut off from the database for longer than store.lease_ms (" + std::to_string(lease_.count()) +
               " ms), and the other daemons have taken over its calls in flight; it writes and sends nothing more "
               "(start it again to rejoin)";
    }

    // Registers this daemon with a lease of its own.
    void join() {
        const auto asked = std::chrono::steady_clock::now();
        auto c = pool_.take();
        transaction tx(*c);
        c->exec("INSERT INTO daemons (id, host, pid, expires_at) VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')",
                {id_, host_name(), static_cast<std::int64_t>(::getpid()), lease_.count()});
        count_members(*c);
        tx.commit();
        lease_until_ns_ = (asked + lease_).time_since_epoch().count();
    }

    // The live daemons, and this one's place among them: work due is split by recipient index.
    void count_members(connection& c) {
        const result r = c.exec("SELECT COUNT(*), COUNT(*) FILTER (WHERE id < $1) FROM daemons WHERE expires_at > now()",
                                {id_});
        members_ = static_cast<std::size_t>(std::max<std::int64_t>(r.integer(0, 0), 1));
        position_ = static_cast<std::size_t>(r.integer(0, 1)) % members_;
    }

    std::pair<std::int64_t, std::int64_t> my_share() const {
        const std::size_t members = members_.load();
        return {static_cast<std::int64_t>(members), static_cast<std::int64_t>(position_.load() % members)};
    }

    std::chrono::steady_clock::time_point lease_until() const noexcept {
        return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(lease_until_ns_.load()));
    }

    void ensure_turns(connection& c, const std::string& provider) {
        std::lock_guard lock(turns_mutex_);
        if (turns_made_.count(provider) != 0)
            return;
        c.exec("INSERT INTO rate_turns (provider) VALUES ($1) ON CONFLICT DO NOTHING", {provider});
        turns_made_.insert(provider);
    }

    // The database's clock in microseconds: one clock for every daemon's turns.
    static constexpr const char* db_now_us = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

    std::optional<job> one_job(const std::string& sql, const std::string& key) const {
        std::vector<job> found = read_jobs(reader()->exec(sql, {key}));
        if (found.empty())
            return std::nullopt;
        return std::move(found.front());
    }

    static std::vector<suppression> read_suppressions(const result& r) {
        std::vector<suppression> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), r.integer(i, 3)});
        return out;
    }

    static std::map<recipient_state, std::int64_t> recipient_counts(const result& r) {
        std::map<recipient_state, std::int64_t> counts;
        for (recipient_state state : all_recipient_states)
            counts[state] = 0;
        for (int i = 0; i < r.rows(); ++i)
            counts[static_cast<recipient_state>(r.integer(i, 0))] = r.integer(i, 1);
        return counts;
    }

    // Locks the job's row against a cancel for the rest of the transaction; whether it is
    // cancelled, or nothing when there is no such job.
    static std::optional<bool> lock_job(connection& c, const std::string& job_id) {
        const result r = c.exec("SELECT cancelled FROM jobs WHERE id = $1 FOR SHARE", {job_id});
        if (r.rows() == 0)
            return std::nullopt;
        return r.text(0, 0) == "t";
    }

    // Moves every recipient of the job in state `from` to `to`, inside the caller's transaction.
    static std::size_t move_all(connection& c, const std::string& job_id, recipient_state from, recipient_state to,
                                const std::string& code, const std::string& reason) {
        // Locked in index order first, as claims and outcomes lock them: no two writers wait in a circle.
        const std::int64_t moved =
            c.exec("UPDATE recipients SET state = $2, code = $3, reason = $4 WHERE job_id = $1 AND idx IN (SELECT idx "
                   "FROM recipients WHERE job_id = $1 AND state = " + literal(from) + " ORDER BY idx FOR UPDATE)",
                   {job_id, number(to), code, reason})
                .changed();
        add_counts(c, job_id, {{number(from), -moved}, {number(to), moved}});
        return static_cast<std::size_t>(moved);
    }

    // Locks the recipients at `sorted` (indexes in order, no repeats) for the rest of the
    // transaction, in index order; the state of each that exists.
    static std::map<std::int64_t, std::int64_t> lock_states(connection& c, const std::string& job_id,
                                                            const std::vector<std::int64_t>& sorted) {
        std::map<std::int64_t, std::int64_t> states;
        if (sorted.empty())
            return states;
        const result r = c.exec("SELECT idx, state FROM recipients WHERE job_id = $1 AND idx BETWEEN $3 AND $4 "
                                "AND idx = ANY($2::bigint[]) ORDER BY idx FOR UPDATE",
                                {job_id, array_of(sorted), sorted.front(), sorted.back()});
        for (int i = 0; i < r.rows(); ++i)
            states.emplace_hint(states.end(), r.integer(i, 0), r.integer(i, 1));
        return states;
    }

    // Writes the updates that find their recipient (in state `expected`, when given; held to the
    // cancel when the job is cancelled); per update, its index when it was written, or
    // -(index + 1) when not. The recipients are locked before their states are read.
    static std::vector<std::int64_t> update(connection& c, const std::string& job_id,
                                            const std::vector<recipient_update>& updates,
                                            std::optional<recipient_state> expected) {
        const bool cancelled = lock_job(c, job_id).value_or(false);
        std::vector<std::int64_t> indexes;
        for (const recipient_update& u : updates)
            indexes.push_back(u.index);
        std::sort(indexes.begin(), indexes.end());
        indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
        std::map<std::int64_t, std::int64_t> states = lock_states(c, job_id, indexes);

        std::map<std::int64_t, recipient_update> writes;   // by index: the last update of a recipient wins
        std::vector<std::int64_t> changed;
        count_changes counts;
        for (recipient_update u : updates) {
            const auto found = states.find(u.index);
            if (found == states.end() || (expected && found->second != number(*expected)) ||
                (cancelled && !stop_at_cancel(u))) {
                changed.push_back(-(u.index + 1));
                continue;
            }
            --counts[found->second];
            ++counts[number(u.state)];
            found->second = number(u.state);  // a second update of the same recipient sees this one
            changed.push_back(u.index);
            writes.insert_or_assign(u.index, std::move(u));
        }
        std::vector<recipient_update> rows;
        for (auto& [index, u] : writes)
            rows.push_back(std::move(u));
        write_rows(c, job_id, rows);
        add_counts(c, job_id, counts);
        return changed;
    }

    static void write_rows(connection& c, const std::string& job_id, const std::vector<recipient_update>& rows) {
        using u = recipient_update;
        for (std::size_t first = 0; first < rows.size(); first += rows_per_statement) {
            const std::size_t last = std::min(rows.size(), first + rows_per_statement);
            c.exec("UPDATE recipients AS r SET state = u.state, step = u.step, attempts = u.attempts, "
                   "next_attempt_at_ms = u.next, provider = u.provider, message_id = u.message_id, code = u.code, "
                   "reason = u.reason, history = u.history "
                   "FROM unnest($2::bigint[], $3::smallint[], $4::int[], $5::int[], $6::bigint[], $7::text[], $8::text[], "
                   "$9::text[], $10::text[], $11::text[]) "
                   "AS u(idx, state, step, attempts, next, provider, message_id, code, reason, history) "
                   "WHERE r.job_id = $1 AND r.idx BETWEEN $12 AND $13 AND r.idx = u.idx",
                   {job_id, column(rows, first, last, [](const u& x) { return x.index; }),
                    column(rows, first, last, [](const u& x) { return number(x.state); }),
                    column(rows, first, last, [](const u& x) { return x.step; }),
                    column(rows, first, last, [](const u& x) { return x.attempts; }),
                    column(rows, first, last, [](const u& x) { return x.next_attempt_at_ms; }),
                    column(rows, first, last, [](const u& x) { return x.provider; }),
                    column(rows, first, last, [](const u& x) { return x.message_id; }),
                    column(rows, first, last, [](const u& x) { return x.code; }),
                    column(rows, first, last, [](const u& x) { return x.reason; }),
                    column(rows, first, last, [](const u& x) { return x.history_json; }), rows[first].index,
                    rows[last - 1].index});
        }
    }

    static void add_counts(connection& c, const std::string& job_id, const count_changes& changes) {
        std::vector<std::int64_t> states;
        std::vector<std::int64_t> counts;
        for (const auto& [state, n] : changes) {   // in state order: writers lock count rows in one order
            if (n == 0)
                continue;
            states.push_back(state);
            counts.push_back(n);
        }
        if (states.empty())
            return;
        c.exec("INSERT INTO job_counts (job_id, state, count) SELECT $1, s, n FROM unnest($2::smallint[], $3::bigint[]) "
               "AS t(s, n) ON CONFLICT (job_id, state) DO UPDATE SET count = job_counts.count + excluded.count",
               {job_id, array_of(states), array_of(counts)});
    }

    static void insert_recipients(connection& c, const std::string& job_id, const std::vector<recipient>& recipients) {
        using r = recipient;
        count_changes arrived;
        for (std::size_t first = 0; first < recipients.size(); first += rows_per_statement) {
            const std::size_t last = std::min(recipients.size(), first + rows_per_statement);
            c.exec("INSERT INTO recipients (job_id, idx, recipient, ref, params, state, step, attempts, next_attempt_at_ms, "
                   "provider, message_id, code, reason, history) SELECT $1, * FROM unnest($2::bigint[], $3::text[], "
                   "$4::text[], $5::text[], $6::smallint[], $7::int[], $8::int[], $9::bigint[], $10::text[], $11::text[], "
                   "$12::text[], $13::text[], $14::text[])",
                   {job_id, column(recipients, first, last, [](const r& x) { return x.index; }),
                    column(recipients, first, last, [](const r& x) { return x.to; }),
                    column(recipients, first, last, [](const r& x) { return x.ref; }),
                    column(recipients, first, last, [](const r& x) { return x.params_json; }),
                    column(recipients, first, last, [](const r& x) { return number(x.state); }),
                    column(recipients, first, last, [](const r& x) { return x.step; }),
                    column(recipients, first, last, [](const r& x) { return x.attempts; }),
                    column(recipients, first, last, [](const r& x) { return x.next_attempt_at_ms; }),
                    column(recipients, first, last, [](const r& x) { return x.provider; }),
                    column(recipients, first, last, [](const r& x) { return x.message_id; }),
                    column(recipients, first, last, [](const r& x) { return x.code; }),
                    column(recipients, first, last, [](const r& x) { return x.reason; }),
                    column(recipients, first, last, [](const r& x) { return x.history_json; })});
        }
        for (const recipient& x : recipients)
            ++arrived[number(x.state)];
        add_counts(c, job_id, arrived);
    }

    std::string where_;
    std::chrono::milliseconds lease_;
    std::string id_;                                  // this daemon's lease
    mutable std::atomic<bool> lease_lost_{false};
    std::atomic<std::int64_t> lease_until_ns_{0};     // steady clock: when the lease ends by this daemon's clock
    std::atomic<std::size_t> members_{1};             // live daemons at the last renewal
    std::atomic<std::size_t> position_{0};            // this daemon's place among them
    std::mutex lease_mutex_;                          // guards lease_connection_
    connection lease_connection_;                     // renewals only
    std::mutex turns_mutex_;                          // guards turns_made_
    std::set<std::string> turns_made_;                // providers whose rate_turns row exists
    mutable connection_pool pool_;
    std::mutex probe_mutex_;             // guards the two below
    std::chrono::steady_clock::time_point last_probe_{};
    std::string last_problem_;           // what the last write probe found
};

} // namespace

std::unique_ptr<job_store> open_postgres_job_store(const postgres_store_settings& settings) {
    return std::make_unique<postgres_job_store>(settings);
}

} // namespace switchboard::core
