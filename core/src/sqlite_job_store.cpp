#include <switchboard/core/sqlite_job_store.hpp>

#include "sqlite_calls_in_flight.hpp"
#include "sqlite_connection.hpp"
#include "sqlite_schema.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace switchboard::core {
namespace {

using sqlite::among;
using sqlite::calls_in_flight;
using sqlite::connection;
using sqlite::index_runs;
using sqlite::job_calls;
using sqlite::statement;
using sqlite::transaction;

constexpr const char* recipient_columns =
    "idx, recipient, ref, params, state, step, attempts, next_attempt_at_ms, provider, message_id, code, reason, "
    "history";

// Reads recipient_columns, starting at column `first`.
recipient read_recipient(const statement& s, int first = 0) {
    recipient r;
    r.index = s.integer(first);
    r.to = s.text(first + 1);
    r.ref = s.text(first + 2);
    r.params_json = s.text(first + 3);
    r.state = static_cast<recipient_state>(s.integer(first + 4));
    r.step = static_cast<int>(s.integer(first + 5));
    r.attempts = static_cast<int>(s.integer(first + 6));
    r.next_attempt_at_ms = s.integer(first + 7);
    r.provider = s.text(first + 8);
    r.message_id = s.text(first + 9);
    r.code = s.text(first + 10);
    r.reason = s.text(first + 11);
    r.history_json = s.text(first + 12);
    return r;
}

constexpr const char* job_columns =
    "id, route, created_at_ms, state, recipient_count, finished_at_ms, COALESCE(idempotency_key, ''), request_hash, "
    "deadline_ms, route_json, region, cancelled, send_at_ms";

job read_job(const statement& s) {
    return job{s.text(0),  s.text(1),    s.integer(2), static_cast<job_state>(s.integer(3)), s.integer(4), s.integer(5),
               s.text(6),  s.text(7),    s.integer(8), s.text(9), s.text(10), s.integer(11) != 0,
               s.integer(12)};
}

std::int64_t number(recipient_state state) { return static_cast<std::int64_t>(state); }

// The partial indexes of schema version 3 name states by number: queued is 0, the rare ones 4 and up.
static_assert(static_cast<int>(recipient_state::queued) == 0 && static_cast<int>(recipient_state::sending) == 1 &&
              static_cast<int>(recipient_state::accepted) == 2 && static_cast<int>(recipient_state::delivered) == 3 &&
              static_cast<int>(recipient_state::awaiting_receipt) == 9);

// How to find a job's recipients in one state: the index that holds them, and the terms that let
// SQLite use it (states as literals: a partial index serves only a query whose terms imply its
// own). Recipients in the common states (in a call, accepted, delivered) are walked in the job's
// own order. Both go after "FROM recipients" or "UPDATE recipients"; the one parameter is the job.
struct state_filter {
    std::string index;   // "INDEXED BY ..." or "NOT INDEXED"
    std::string where;   // "job_id = ? AND state = ..."
};

state_filter in_state(recipient_state state) {
    const std::string n = std::to_string(number(state));
    if (state == recipient_state::queued)
        return {"INDEXED BY recipients_due", "job_id = ? AND state = 0"};
    if (number(state) >= 4)
        return {"INDEXED BY recipients_by_rare_state", "job_id = ? AND state >= 4 AND state = " + n};
    return {"NOT INDEXED", "job_id = ? AND state = " + n};
}

// A term true for the recipients at the indexes of `runs` ("0": none). The indexes are the store's
// own numbers, written as literals. A few runs are a term each; more are one list (SQLite refuses an
// expression over 1,000 terms deep, and a call may take recipients scattered over the job).
std::string any_of(const index_runs& runs) {
    if (runs.empty())
        return "0";
    constexpr std::size_t most_terms = 64;
    std::string terms;
    if (runs.size() <= most_terms) {
        for (const auto& [first, last] : runs)
            terms += (terms.empty() ? "(idx BETWEEN " : " OR idx BETWEEN ") + std::to_string(first) + " AND " +
                     std::to_string(last);
        return terms + ")";
    }
    for (const auto& [first, last] : runs)
        for (std::int64_t index = first; index <= last; ++index)
            terms += (terms.empty() ? "" : ",") + std::to_string(index);
    return "idx IN (SELECT value FROM json_each('[" + terms + "]'))";
}

// An exclusive hold on the store file for as long as this process uses it. SQLite's own locks let
// a second process in (WAL readers and writers take turns), and two daemons on one file would each
// take the other's calls in flight for lost and settle them: only one daemon may own a store.
// flock(2) locks are separate from the POSIX locks SQLite takes, so neither disturbs the other; the
// descriptor stays open until SQLite has closed the file (closing any descriptor of a file drops
// the process's POSIX locks on it).
class exclusive_hold {
public:
    explicit exclusive_hold(const std::string& file) {
        fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (fd_ < 0)
            throw store_error("cannot open the store " + file + ": " + std::generic_category().message(errno) +
                              " (check that its directory exists and is writable)");
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            const int error = errno;
            ::close(fd_);
            if (error == EWOULDBLOCK)
                throw store_error("store " + file + " is in use by another switchboard process: an SQLite store "
                                  "belongs to one daemon (stop the other one, or give this one its own store file; "
                                  "daemons that share their jobs use a PostgreSQL store)");
            throw store_error("cannot lock the store " + file + ": " + std::generic_category().message(error));
        }
    }
    ~exclusive_hold() { ::close(fd_); }
    exclusive_hold(const exclusive_hold&) = delete;
    exclusive_hold& operator=(const exclusive_hold&) = delete;

private:
    int fd_ = -1;
};

// How a write changed a job's counts: state -> recipients gained (negative: lost).
using count_changes = std::map<std::int64_t, std::int64_t>;

// Whether two updates write the same values (their indexes aside): neighbours that do are one write.
bool same_values(const recipient_update& a, const recipient_update& b) {
    return a.state == b.state && a.step == b.step && a.attempts == b.attempts &&
           a.next_attempt_at_ms == b.next_attempt_at_ms && a.provider == b.provider && a.message_id == b.message_id &&
           a.code == b.code && a.reason == b.reason && a.history_json == b.history_json;
}

// A store file that exists but is empty was truncated, or made by something else: starting on it
// would start from nothing, and forget every job and idempotency key it held.
const std::string& not_emptied(const std::string& file) {
    std::error_code ec;
    if (std::filesystem::exists(file, ec) && std::filesystem::file_size(file, ec) == 0 && !ec)
        throw store_error("store " + file + " is an empty file: it was truncated, or made by something else; restore it "
                          "from a backup, or remove it to start with an empty store");
    return file;
}

// Room a recipient may still need until it is final. Measured on schema 3: a recipient takes some
// 165 bytes when stored, and its outcome (state, message id, the step in its history, an index
// entry) adds some 245; a fallback adds another step's worth.
constexpr std::int64_t room_per_pending_recipient = 512;
// And room kept beyond that, so that a store never fills to its last page.
constexpr std::int64_t room_margin = 64 * 1024;

// Writes go through one connection, reads through another: in WAL mode a reader never waits for a
// writer, so the API's reads are not held up by a vendor call's outcomes being written.
class sqlite_job_store final : public job_store {
public:
    sqlite_job_store(const std::filesystem::path& file, std::int64_t max_bytes)
        : file_(not_emptied(file.string())), hold_(file_), writer_(file_, false), max_bytes_(max_bytes) {
        // Before WAL and before any table: later it has no effect on a new file.
        writer_.exec("PRAGMA auto_vacuum = INCREMENTAL");
        writer_.exec("PRAGMA journal_mode=WAL");
        writer_.exec("PRAGMA synchronous=FULL");
        writer_.exec("PRAGMA foreign_keys=ON");
        refuse_damage();
        sqlite::migrate(writer_, file_);
        calls_.load(writer_);
        if (max_bytes > 0)
            limit_size(max_bytes);
        reader_ = std::make_unique<connection>(file_, true);
    }

    std::string write_problem() override {
        std::lock_guard probing(probe_mutex_);
        const auto now = std::chrono::steady_clock::now();
        // A write under way proves little either way, and the probe must not wait behind a large one.
        const auto lock = writer_.try_lock();
        if (now - last_probe_ < std::chrono::seconds(1) || !lock.owns_lock())
            return last_problem_;
        last_probe_ = now;
        last_problem_.clear();
        try {
            transaction tx(writer_);
            writer_.exec("UPDATE health SET probed_at_ms = " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                    std::chrono::system_clock::now().time_since_epoch())
                                                                    .count()));
            tx.commit();
            if (const std::int64_t short_by = room_missing(0); short_by > 0)
                last_problem_ = "the store is nearly full: " + std::to_string(short_by / 1024) +
                                " KiB more are needed to record the outcomes of the work it holds";
        } catch (const store_error& e) {
            last_problem_ = e.what();
        }
        return last_problem_;
    }

    void create_job(const job& j, const std::vector<recipient>& recipients) override {
        const auto lock = writer_.lock();
        keep_room_for(recipients.size());
        transaction tx(writer_);
        statement existing(writer_, "SELECT 1 FROM jobs WHERE id = ? OR idempotency_key = ?");
        existing.bind(1, j.id).bind(2, j.idempotency_key);
        if (existing.step())
            throw std::invalid_argument("job " + j.id + " or idempotency key '" + j.idempotency_key + "' exists already");
        statement insert_job(writer_, "INSERT INTO jobs (id, route, created_at_ms, state, recipient_count, idempotency_key, "
                                      "request_hash, deadline_ms, route_json, region, send_at_ms) "
                                      "VALUES (?,?,?,?,?,NULLIF(?, ''),?,?,?,?,?)");
        insert_job.bind(1, j.id).bind(2, j.route).bind(3, j.created_at_ms).bind(4, static_cast<std::int64_t>(j.state))
            .bind(5, j.recipient_count).bind(6, j.idempotency_key).bind(7, j.request_hash).bind(8, j.deadline_ms)
            .bind(9, j.route_json).bind(10, j.region).bind(11, j.send_at_ms);
        insert_job.run();
        insert_recipients(j.id, recipients);
        tx.commit();
    }

    void append_recipients(const std::string& job_id, const std::vector<recipient>& recipients) override {
        const auto lock = writer_.lock();
        keep_room_for(recipients.size());
        transaction tx(writer_);
        insert_recipients(job_id, recipients);
        statement count(writer_, "UPDATE jobs SET recipient_count = recipient_count + ? WHERE id = ?");
        count.bind(1, static_cast<std::int64_t>(recipients.size())).bind(2, job_id);
        count.run();
        if (writer_.changes() != 1)
            throw std::out_of_range("no job " + job_id);
        tx.commit();
    }

    std::optional<job> find_job(const std::string& id) const override {
        return one_job(std::string("SELECT ") + job_columns + " FROM jobs WHERE id = ?", id);
    }

    std::optional<job> find_job_by_idempotency_key(const std::string& key) const override {
        return one_job(std::string("SELECT ") + job_columns + " FROM jobs WHERE idempotency_key = ?", key);
    }

    std::vector<job> recent_jobs(std::size_t limit, std::size_t offset, std::optional<job_state> state) const override {
        const auto lock = reader_->lock();
        // state -1 stands for any: one statement for both.
        statement s(*reader_, std::string("SELECT ") + job_columns +
                                  " FROM jobs WHERE ?1 < 0 OR state = ?1 ORDER BY created_at_ms DESC, id DESC LIMIT ?2 OFFSET ?3");
        s.bind(1, state ? static_cast<std::int64_t>(*state) : std::int64_t{-1}).bind(2, clamp(limit)).bind(3, clamp(offset));
        std::vector<job> out;
        while (s.step())
            out.push_back(read_job(s));
        return out;
    }

    std::vector<job> unfinished_jobs() const override {
        const auto lock = reader_->lock();
        statement s(*reader_, std::string("SELECT ") + job_columns +
                                  " FROM jobs WHERE state != ? OR id IN (SELECT job_id FROM job_counts WHERE state IN (0, 1, 9) "
                                  "AND count > 0) ORDER BY created_at_ms");
        s.bind(1, static_cast<std::int64_t>(job_state::finished));
        std::vector<job> out;
        while (s.step())
            out.push_back(read_job(s));
        return out;
    }

    void set_job_state(const std::string& id, job_state state) override {
        const auto lock = writer_.lock();
        statement s(writer_, "UPDATE jobs SET state = ? WHERE id = ?");
        s.bind(1, static_cast<std::int64_t>(state)).bind(2, id);
        s.run();
    }

    void finish_job(const std::string& id, std::int64_t at_ms) override {
        const auto lock = writer_.lock();
        statement s(writer_, "UPDATE jobs SET state = ?, finished_at_ms = ? WHERE id = ?");
        s.bind(1, static_cast<std::int64_t>(job_state::finished)).bind(2, at_ms).bind(3, id);
        s.run();
    }

    std::size_t delete_finished_before(std::int64_t before_ms) override {
        const auto lock = writer_.lock();
        std::size_t deleted = 0;
        {
            transaction tx(writer_);
            statement s(writer_, "DELETE FROM jobs WHERE state = ? AND finished_at_ms < ?");
            s.bind(1, static_cast<std::int64_t>(job_state::finished)).bind(2, before_ms);
            s.run();
            deleted = static_cast<std::size_t>(writer_.changes());
            tx.commit();
            if (deleted > 0)
                calls_.load(writer_);  // a deleted job's calls went with it
        }
        if (deleted > 0)
            writer_.exec("PRAGMA incremental_vacuum");  // the file shrinks, instead of only its free pages growing
        return deleted;
    }

    std::vector<recipient> recipients(const std::string& job_id, std::int64_t from_index, std::size_t limit,
                                      std::optional<recipient_state> state, const std::string& provider) const override {
        // Those in a call are queued in their rows: the terms read them as sending, to their call's provider.
        const job_calls calls = calls_.of_job(job_id);
        const std::string in_call = "(state = 0 AND " + any_of(calls.all) + ")";
        state_filter f = state ? in_state(*state) : state_filter{"", "job_id = ?"};
        if (state == recipient_state::queued)
            f.where += " AND NOT " + in_call;
        else if (state == recipient_state::sending)
            f.where = "job_id = ? AND (state = 1 OR " + in_call + ")";
        if (!provider.empty()) {
            const auto to_provider = calls.by_provider.find(provider);
            f.where += " AND ((provider = ? AND NOT " + in_call + ") OR (state = 0 AND " +
                       any_of(to_provider == calls.by_provider.end() ? index_runs{} : to_provider->second) + "))";
        }
        const std::string sql = std::string("SELECT ") + recipient_columns + " FROM recipients " + f.index + " WHERE " +
                                f.where + " AND idx >= ? ORDER BY idx LIMIT ?";
        const auto lock = reader_->lock();
        statement s(*reader_, sql);
        s.bind(1, job_id);
        const int next = provider.empty() ? 2 : 3;
        if (!provider.empty())
            s.bind(2, provider);
        s.bind(next, from_index).bind(next + 1, clamp(limit));
        std::vector<recipient> out;
        while (s.step())
            out.push_back(as_in_call(read_recipient(s), calls));
        return out;
    }

    std::size_t add_suppressions(const std::vector<suppression>& entries) override {
        const auto lock = writer_.lock();
        transaction tx(writer_);
        statement insert(writer_, "INSERT INTO suppressions (address, channel, reason, created_at_ms) VALUES (?, ?, ?, ?) "
                                  "ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, "
                                  "created_at_ms = excluded.created_at_ms");
        std::size_t added = 0;
        statement existed(writer_, "SELECT 1 FROM suppressions WHERE address = ? AND channel = ?");
        for (const suppression& e : entries) {
            existed.bind(1, e.address).bind(2, e.channel);
            added += existed.step() ? 0 : 1;
            existed.reset();
            insert.bind(1, e.address).bind(2, e.channel).bind(3, e.reason).bind(4, e.created_at_ms);
            insert.run();
        }
        tx.commit();
        return added;
    }

    bool remove_suppression(const std::string& address, const std::string& channel) override {
        const auto lock = writer_.lock();
        statement remove(writer_, "DELETE FROM suppressions WHERE address = ? AND channel = ?");
        remove.bind(1, address).bind(2, channel);
        remove.run();
        return writer_.changes() > 0;
    }

    std::vector<suppression> suppressions(std::size_t offset, std::size_t limit) const override {
        const auto lock = reader_->lock();
        statement s(*reader_, "SELECT address, channel, reason, created_at_ms FROM suppressions ORDER BY address, channel "
                              "LIMIT ? OFFSET ?");
        s.bind(1, clamp(limit)).bind(2, clamp(offset));
        std::vector<suppression> out;
        while (s.step())
            out.push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
        return out;
    }

    suppression_index find_suppressions(const std::vector<std::string>& addresses) const override {
        const auto lock = reader_->lock();
        // Asked for every page taken in and every call made: an empty list, the usual case, is
        // told by one row's absence, not by looking up ten thousand addresses.
        statement any(*reader_, "SELECT 1 FROM suppressions LIMIT 1");
        if (addresses.empty() || !any.step())
            return {};
        const std::set<std::string> distinct(addresses.begin(), addresses.end());
        const std::vector<std::string> unique(distinct.begin(), distinct.end());
        constexpr std::size_t per_query = 500;   // a few hundred addresses a query, through the primary key
        suppression_index out;
        for (std::size_t start = 0; start < unique.size(); start += per_query) {
            const std::size_t count = std::min(per_query, unique.size() - start);
            std::string sql = "SELECT address, channel, reason, created_at_ms FROM suppressions WHERE address IN (?";
            for (std::size_t i = 1; i < count; ++i)
                sql += ",?";
            sql += ")";
            statement s(*reader_, sql);
            for (std::size_t i = 0; i < count; ++i)
                s.bind(static_cast<int>(1 + i), unique[start + i]);
            while (s.step())
                out[s.text(0)].push_back({s.text(0), s.text(1), s.text(2), s.integer(3)});
        }
        return out;
    }

    std::vector<failure_group> failure_groups(const std::string& job_id, std::size_t limit) const override {
        const auto lock = reader_->lock();
        // Through the partial index of the rare states: a job's million accepted rows are not read.
        statement s(*reader_, "SELECT state, code, reason, COUNT(*) AS n FROM recipients INDEXED BY recipients_by_rare_state "
                              "WHERE job_id = ? AND state >= 4 AND state IN (4, 5, 6, 7, 8, 10) GROUP BY state, code, reason "
                              "ORDER BY n DESC, state, code, reason LIMIT ?");
        s.bind(1, job_id).bind(2, clamp(limit));
        std::vector<failure_group> out;
        while (s.step())
            out.push_back({static_cast<recipient_state>(s.integer(0)), s.text(1), s.text(2),
                           s.integer(3)});
        return out;
    }

    std::vector<recipient> due_recipients(const std::string& job_id, std::int64_t now_ms, std::size_t limit,
                                          recipient_state state) const override {
        // Calls due come in the order they came due; waits that are over, earliest first. Each
        // through its own partial index (named: SQLite may otherwise walk the whole job).
        std::string sql = std::string("SELECT ") + recipient_columns;
        if (state == recipient_state::queued)
            sql += " FROM recipients INDEXED BY recipients_due WHERE job_id = ? AND state = 0 AND next_attempt_at_ms <= ? "
                   "AND NOT " + any_of(calls_.of_job(job_id).all) + " ORDER BY next_attempt_at_ms, idx LIMIT ?";
        else if (state == recipient_state::awaiting_receipt)
            sql += " FROM recipients INDEXED BY recipients_awaiting_until WHERE job_id = ? AND state = 9 "
                   "AND next_attempt_at_ms <= ? ORDER BY next_attempt_at_ms LIMIT ?";
        else
            throw std::invalid_argument(std::string("recipients in state ") + to_string(state) + " are never due");
        const auto lock = reader_->lock();
        statement s(*reader_, sql);
        s.bind(1, job_id).bind(2, now_ms).bind(3, clamp(limit));
        std::vector<recipient> out;
        while (s.step())
            out.push_back(read_recipient(s));
        return out;
    }

    std::optional<std::int64_t> next_due_at(const std::string& job_id) const override {
        const std::string not_in_call = "NOT " + any_of(calls_.of_job(job_id).all);
        const auto lock = reader_->lock();
        statement s(*reader_, "SELECT (SELECT MIN(next_attempt_at_ms) FROM recipients INDEXED BY recipients_due "
                              "WHERE job_id = ?1 AND state = 0 AND " + not_in_call + "), "
                              "(SELECT MIN(next_attempt_at_ms) FROM recipients INDEXED BY recipients_awaiting_until "
                              "WHERE job_id = ?1 AND state = 9)");
        s.bind(1, job_id);
        std::optional<std::int64_t> earliest;
        if (s.step())
            for (int column : {0, 1})
                if (!s.is_null(column))
                    earliest = std::min(earliest.value_or(INT64_MAX), s.integer(column));
        return earliest;
    }

    std::map<std::string, std::int64_t> first_indexes(const std::string& job_id,
                                                      const std::vector<std::string>& addresses) const override {
        const auto lock = reader_->lock();
        // A few hundred addresses a query, through the address index, named: left to itself SQLite
        // may walk the whole job in idx order.
        constexpr std::size_t per_query = 500;
        std::map<std::string, std::int64_t> out;
        for (std::size_t start = 0; start < addresses.size(); start += per_query) {
            const std::size_t count = std::min(per_query, addresses.size() - start);
            std::string sql = "SELECT recipient, MIN(idx) FROM recipients INDEXED BY recipients_by_address "
                              "WHERE job_id = ? AND state NOT IN (?, ?) AND recipient IN (?";
            for (std::size_t i = 1; i < count; ++i)
                sql += ",?";
            sql += ") GROUP BY recipient";
            statement s(*reader_, sql);
            s.bind(1, job_id).bind(2, number(recipient_state::skipped_invalid)).bind(3, number(recipient_state::skipped_duplicate));
            for (std::size_t i = 0; i < count; ++i)
                s.bind(static_cast<int>(4 + i), addresses[start + i]);
            while (s.step())
                out.emplace(s.text(0), s.integer(1));
        }
        return out;
    }

    std::vector<std::pair<std::string, recipient>> find_by_message_id(const std::string& provider,
                                                                     const std::string& message_id,
                                                                     const std::string& to) const override {
        const auto lock = reader_->lock();
        // The index narrows to one vendor call's recipients; the address picks the one a receipt names.
        statement s(*reader_, std::string("SELECT job_id, ") + recipient_columns +
                                  " FROM recipients WHERE provider = ?1 AND message_id = ?2 AND message_id != ''"
                                  " AND (?3 = '' OR ltrim(recipient, '+') = ltrim(?3, '+'))");
        s.bind(1, provider).bind(2, message_id).bind(3, to);
        std::vector<std::pair<std::string, recipient>> out;
        std::map<std::string, job_calls> calls;   // of the jobs the rows are in
        while (s.step()) {
            std::string job_id = s.text(0);
            auto job = calls.find(job_id);
            if (job == calls.end())
                job = calls.emplace(job_id, calls_.of_job(job_id)).first;
            recipient r = as_in_call(read_recipient(s, 1), job->second);
            if (r.provider == provider)   // not one in a call to another provider, whose row names this one
                out.emplace_back(std::move(job_id), std::move(r));
        }
        return out;
    }

    std::size_t keep_early_receipts(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                                    std::int64_t forget_before_ms, std::size_t most_kept) override {
        const auto lock = writer_.lock();
        transaction tx(writer_);
        statement forget(writer_, "DELETE FROM early_receipts WHERE received_at_ms < ?");
        forget.bind(1, forget_before_ms);
        forget.run();
        statement count(writer_, "SELECT COUNT(*) FROM early_receipts");
        const auto held = static_cast<std::size_t>(count.step() ? count.integer(0) : 0);
        const std::size_t room = most_kept > held ? most_kept - held : 0;
        statement insert(writer_, "INSERT INTO early_receipts (provider, message_id, recipient, status, code, reason, "
                                  "received_at_ms) VALUES (?,?,?,?,?,?,?)");
        const std::size_t kept = std::min(room, receipts.size());
        for (std::size_t i = 0; i < kept; ++i) {
            const delivery_receipt& r = receipts[i];
            insert.bind(1, provider).bind(2, r.message_id).bind(3, r.to).bind(4, r.status).bind(5, r.code)
                .bind(6, r.reason).bind(7, r.received_at_ms);
            insert.run();
        }
        tx.commit();
        return kept;
    }

    std::vector<delivery_receipt> take_early_receipts(const std::string& provider,
                                                      const std::vector<std::string>& message_ids) override {
        if (!holds_early_receipts(provider))
            return {};  // as almost always: no write (and no sync) after every call for nothing
        const auto lock = writer_.lock();
        transaction tx(writer_);
        statement select(writer_, "SELECT message_id, recipient, status, code, reason, received_at_ms FROM early_receipts "
                                  "WHERE provider = ? AND message_id = ?");
        statement remove(writer_, "DELETE FROM early_receipts WHERE provider = ? AND message_id = ?");
        std::vector<delivery_receipt> taken;
        for (const std::string& id : message_ids) {
            select.bind(1, provider).bind(2, id);
            while (select.step())
                taken.push_back({select.text(0), select.text(1), select.text(2), select.text(3), select.text(4),
                                 select.integer(5)});
            select.reset();
            remove.bind(1, provider).bind(2, id);
            remove.run();
        }
        tx.commit();
        return taken;
    }

    std::vector<std::string> awaiting_message_ids(const std::string& provider, const std::string& after,
                                                  std::size_t limit) const override {
        const auto lock = reader_->lock();
        statement s(*reader_, "SELECT DISTINCT message_id FROM recipients WHERE provider = ? AND state = 9 AND message_id > ? "
                              "ORDER BY message_id LIMIT ?");
        s.bind(1, provider).bind(2, after).bind(3, clamp(limit));
        std::vector<std::string> out;
        while (s.step())
            out.push_back(s.text(0));
        return out;
    }

    std::map<recipient_state, std::int64_t> count_by_state(const std::string& job_id) const override {
        const auto lock = reader_->lock();
        std::map<recipient_state, std::int64_t> counts;
        for (recipient_state state : all_recipient_states)
            counts[state] = 0;
        statement s(*reader_, "SELECT state, count FROM job_counts WHERE job_id = ?");
        s.bind(1, job_id);
        while (s.step())
            counts[static_cast<recipient_state>(s.integer(0))] = s.integer(1);
        return counts;
    }

    std::map<job_state, std::int64_t> jobs_by_state() const override {
        const auto lock = reader_->lock();
        std::map<job_state, std::int64_t> counts;
        statement s(*reader_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
        while (s.step())
            counts[static_cast<job_state>(s.integer(0))] = s.integer(1);
        return counts;
    }

    std::map<recipient_state, std::int64_t> recipients_by_state() const override {
        const auto lock = reader_->lock();
        std::map<recipient_state, std::int64_t> counts;
        for (recipient_state state : all_recipient_states)
            counts[state] = 0;
        statement s(*reader_, "SELECT state, SUM(count) FROM job_counts GROUP BY state");
        while (s.step())
            counts[static_cast<recipient_state>(s.integer(0))] = s.integer(1);
        return counts;
    }

    std::size_t cancel_job(const std::string& job_id) override {
        const auto lock = writer_.lock();
        transaction tx(writer_);
        statement flag(writer_, "UPDATE jobs SET cancelled = 1 WHERE id = ?");
        flag.bind(1, job_id);
        flag.run();
        std::size_t cancelled = 0;
        std::vector<std::int64_t> out_of_calls;   // none: those in a call finish as the vendor answers
        for (const auto& [from, to] : {std::pair{recipient_state::queued, recipient_state::cancelled},
                                       std::pair{recipient_state::awaiting_receipt, recipient_state::accepted}}) {
            recipient_update example;
            example.state = from;
            stop_at_cancel(example);
            const std::size_t moved = move_all(job_id, from, to, example.code, example.reason, out_of_calls);
            if (to == recipient_state::cancelled)
                cancelled = moved;
        }
        tx.commit();
        return cancelled;
    }

    std::size_t settle_all(const std::string& job_id, recipient_state from, recipient_state to,
                           const std::string& code, const std::string& reason) override {
        const auto lock = writer_.lock();
        transaction tx(writer_);
        std::vector<std::int64_t> out_of_calls;
        const std::size_t settled = move_all(job_id, from, to, code, reason, out_of_calls);
        tx.commit();
        calls_.release(job_id, out_of_calls);
        return settled;
    }

    std::vector<std::int64_t> claim(const std::string& job_id, const std::vector<std::int64_t>& indexes,
                                    const std::string& provider) override {
        const auto lock = writer_.lock();
        transaction tx(writer_);
        if (is_cancelled(job_id))
            return {};
        // Those still queued and in no call are taken by one row for the call; their own rows stay.
        const index_runs in_call = calls_.of_job(job_id).all;
        std::vector<std::int64_t> taken;   // in index order, as states_of gives them
        for (const auto& [index, state] : states_of(job_id, indexes))
            if (state == number(recipient_state::queued) && !among(in_call, index))
                taken.push_back(index);
        if (taken.empty())
            return {};
        const std::int64_t call = calls_.write_call(writer_, job_id, provider, taken);
        const auto n = static_cast<std::int64_t>(taken.size());
        add_counts(job_id, {{number(recipient_state::queued), -n}, {number(recipient_state::sending), n}});
        tx.commit();
        calls_.take(call, job_id, provider, taken);
        std::vector<std::int64_t> claimed;
        claimed.reserve(taken.size());
        for (std::int64_t index : indexes)
            if (std::binary_search(taken.begin(), taken.end(), index))
                claimed.push_back(index);
        return claimed;
    }

    void apply(const std::string& job_id, const std::vector<recipient_update>& updates) override {
        const auto lock = writer_.lock();
        transaction tx(writer_);
        std::vector<std::int64_t> out_of_calls;
        for (std::int64_t changed : update(job_id, updates, std::nullopt, out_of_calls))
            if (changed < 0)
                throw std::out_of_range("job " + job_id + " has no recipient " + std::to_string(-changed - 1));
        tx.commit();
        calls_.release(job_id, out_of_calls);
    }

    std::vector<std::int64_t> apply_if(const std::string& job_id, recipient_state expected,
                                       const std::vector<recipient_update>& updates) override {
        const auto lock = writer_.lock();
        transaction tx(writer_);
        std::vector<std::int64_t> changed;
        std::vector<std::int64_t> out_of_calls;
        for (std::int64_t index : update(job_id, updates, expected, out_of_calls))
            if (index >= 0)
                changed.push_back(index);
        tx.commit();
        calls_.release(job_id, out_of_calls);
        return changed;
    }

private:
    static std::int64_t clamp(std::size_t limit) { return static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)); }

    std::optional<job> one_job(const std::string& sql, const std::string& key) const {
        const auto lock = reader_->lock();
        statement s(*reader_, sql);
        s.bind(1, key);
        return s.step() ? std::optional<job>(read_job(s)) : std::nullopt;
    }

    bool holds_early_receipts(const std::string& provider) const {
        const auto lock = reader_->lock();
        statement s(*reader_, "SELECT 1 FROM early_receipts WHERE provider = ? LIMIT 1");
        s.bind(1, provider);
        return s.step();
    }

    // A recipient as its row has it, and sending when it is in one of `calls` (its row says queued).
    static recipient as_in_call(recipient r, const job_calls& calls) {
        if (r.state != recipient_state::queued)
            return r;
        if (const std::string* provider = calls.provider_of(r.index)) {
            r.state = recipient_state::sending;
            ++r.attempts;
            r.provider = *provider;
        }
        return r;
    }

    bool is_cancelled(const std::string& job_id) {
        statement flag(writer_, "SELECT cancelled FROM jobs WHERE id = ?");
        flag.bind(1, job_id);
        return flag.step() && flag.integer(0) != 0;
    }

    // Moves every recipient of the job in state `from` to `to`, inside the caller's transaction;
    // those it took out of a call are added to `out_of_calls`, for calls_.release() once committed.
    std::size_t move_all(const std::string& job_id, recipient_state from, recipient_state to, const std::string& code,
                         const std::string& reason, std::vector<std::int64_t>& out_of_calls) {
        state_filter f = in_state(from);
        if (from == recipient_state::queued)
            f.where += " AND NOT " + any_of(calls_.of_job(job_id).all);
        statement s(writer_, "UPDATE recipients " + f.index + " SET state = ?, code = ?, reason = ? WHERE " + f.where);
        s.bind(1, number(to)).bind(2, code).bind(3, reason).bind(4, job_id);
        s.run();
        std::int64_t moved = writer_.changes();
        if (from == recipient_state::sending)
            moved += end_calls(job_id, to, code, reason, out_of_calls);
        add_counts(job_id, {{number(from), -moved}, {number(to), moved}});
        return static_cast<std::size_t>(moved);
    }

    // Moves the job's recipients in a call to `to`, as their call's outcome would: an attempt more,
    // at their call's provider. Inside the caller's transaction; see move_all.
    std::int64_t end_calls(const std::string& job_id, recipient_state to, const std::string& code,
                           const std::string& reason, std::vector<std::int64_t>& out_of_calls) {
        std::int64_t moved = 0;
        std::vector<std::int64_t> ended;
        for (const auto& [provider, runs] : calls_.of_job(job_id).by_provider) {
            statement s(writer_, "UPDATE recipients SET state = ?, code = ?, reason = ?, attempts = attempts + 1, "
                                 "provider = ? WHERE job_id = ? AND state = 0 AND " + any_of(runs));
            s.bind(1, number(to)).bind(2, code).bind(3, reason).bind(4, provider).bind(5, job_id);
            s.run();
            moved += writer_.changes();
            for (const auto& [first, last] : runs)
                for (std::int64_t index = first; index <= last; ++index)
                    ended.push_back(index);
        }
        const std::vector<std::int64_t> released = calls_.write_release(writer_, job_id, ended);
        out_of_calls.insert(out_of_calls.end(), released.begin(), released.end());
        return moved;
    }

    // The state each recipient at `indexes` has in its row, read a run of neighbours at a time.
    std::map<std::int64_t, std::int64_t> states_of(const std::string& job_id, std::vector<std::int64_t> indexes) {
        std::sort(indexes.begin(), indexes.end());
        indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
        statement s(writer_, "SELECT idx, state FROM recipients WHERE job_id = ? AND idx BETWEEN ? AND ?");
        std::map<std::int64_t, std::int64_t> states;
        for (std::size_t first = 0; first < indexes.size();) {
            std::size_t last = first;
            while (last + 1 < indexes.size() && indexes[last + 1] == indexes[last] + 1)
                ++last;
            s.bind(1, job_id).bind(2, indexes[first]).bind(3, indexes[last]);
            while (s.step())
                states.emplace_hint(states.end(), s.integer(0), s.integer(1));
            s.reset();
            first = last + 1;
        }
        return states;
    }

    // Writes the updates that find their recipient (in state `expected`, when given; held to the
    // cancel when the job is cancelled); per update, its index when it was written, or
    // -(index + 1) when not. Neighbours that write the same values are one statement. A recipient
    // written is out of its call, if it was in one: added to `out_of_calls`, as for move_all.
    std::vector<std::int64_t> update(const std::string& job_id, const std::vector<recipient_update>& updates,
                                     std::optional<recipient_state> expected, std::vector<std::int64_t>& out_of_calls) {
        const bool cancelled = is_cancelled(job_id);
        std::vector<std::int64_t> indexes;
        indexes.reserve(updates.size());
        for (const recipient_update& u : updates)
            indexes.push_back(u.index);
        std::map<std::int64_t, std::int64_t> states = states_of(job_id, indexes);
        const index_runs in_call = calls_.of_job(job_id).all;
        for (auto& [index, state] : states)
            if (state == number(recipient_state::queued) && among(in_call, index))
                state = number(recipient_state::sending);
        std::vector<recipient_update> writes;
        std::vector<std::int64_t> changed;
        count_changes counts;
        changed.reserve(updates.size());
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
            writes.push_back(std::move(u));
        }
        write_runs(job_id, writes);
        add_counts(job_id, counts);
        if (!in_call.empty()) {
            std::vector<std::int64_t> written;
            written.reserve(writes.size());
            for (const recipient_update& u : writes)
                written.push_back(u.index);
            const std::vector<std::int64_t> released = calls_.write_release(writer_, job_id, written);
            out_of_calls.insert(out_of_calls.end(), released.begin(), released.end());
        }
        return changed;
    }

    void write_runs(const std::string& job_id, const std::vector<recipient_update>& writes) {
        statement s(writer_, "UPDATE recipients SET state = ?, step = ?, attempts = ?, next_attempt_at_ms = ?, provider = ?, "
                             "message_id = ?, code = ?, reason = ?, history = ? WHERE job_id = ? AND idx BETWEEN ? AND ?");
        for (std::size_t first = 0; first < writes.size();) {
            std::size_t last = first;
            while (last + 1 < writes.size() && writes[last + 1].index == writes[last].index + 1 &&
                   same_values(writes[last + 1], writes[first]))
                ++last;
            const recipient_update& u = writes[first];
            s.bind(1, number(u.state)).bind(2, static_cast<std::int64_t>(u.step)).bind(3, static_cast<std::int64_t>(u.attempts))
                .bind(4, u.next_attempt_at_ms).bind(5, u.provider).bind(6, u.message_id).bind(7, u.code).bind(8, u.reason)
                .bind(9, u.history_json).bind(10, job_id).bind(11, u.index).bind(12, writes[last].index);
            s.run();
            first = last + 1;
        }
    }

    void add_counts(const std::string& job_id, const count_changes& counts) {
        statement add(writer_, "INSERT INTO job_counts (job_id, state, count) VALUES (?, ?, ?) "
                               "ON CONFLICT (job_id, state) DO UPDATE SET count = count + excluded.count");
        for (const auto& [state, n] : counts) {
            if (n == 0)
                continue;
            add.bind(1, job_id).bind(2, state).bind(3, n);
            add.run();
        }
    }

    void insert_recipients(const std::string& job_id, const std::vector<recipient>& recipients) {
        statement insert(writer_, "INSERT INTO recipients (job_id, idx, recipient, ref, params, state, step, attempts, "
                                  "next_attempt_at_ms, provider, message_id, code, reason, history) "
                                  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        count_changes arrived;
        for (const recipient& r : recipients) {
            insert.bind(1, job_id).bind(2, r.index).bind(3, r.to).bind(4, r.ref).bind(5, r.params_json)
                .bind(6, number(r.state)).bind(7, static_cast<std::int64_t>(r.step))
                .bind(8, static_cast<std::int64_t>(r.attempts)).bind(9, r.next_attempt_at_ms).bind(10, r.provider)
                .bind(11, r.message_id).bind(12, r.code).bind(13, r.reason).bind(14, r.history_json);
            insert.run();
            ++arrived[number(r.state)];
        }
        add_counts(job_id, arrived);
    }

    // A damaged file is refused at start, before it takes work it cannot keep: SQLite reports damage
    // only when a query reaches the damaged page, and a daemon would fail on it again and again.
    void refuse_damage() {
        statement check(writer_, "PRAGMA quick_check(1)");
        const std::string verdict = check.step() ? check.text(0) : "no answer";
        if (verdict != "ok")
            throw store_error("store " + file_ + " is damaged (" + verdict + "): restore it from a backup, or move it away "
                              "to start with an empty store");
    }

    // Bytes of room the store lacks to take `arriving` new recipients and still record the outcomes
    // of every recipient not final yet (0: none lacking). Room is the configured largest size less
    // what is used, and never more than the disk has free.
    std::int64_t room_missing(std::size_t arriving) {
        statement pending(writer_, "SELECT COALESCE(SUM(count), 0) FROM job_counts WHERE state IN (0, 1, 9)");
        const std::int64_t unfinished = pending.step() ? pending.integer(0) : 0;
        const std::int64_t needed =
            (unfinished + static_cast<std::int64_t>(arriving)) * room_per_pending_recipient + room_margin;
        std::int64_t room = INT64_MAX;
        if (max_bytes_ > 0) {
            statement pages(writer_, "SELECT (SELECT page_count FROM pragma_page_count()) - "
                                     "(SELECT freelist_count FROM pragma_freelist_count()), "
                                     "(SELECT page_size FROM pragma_page_size())");
            if (pages.step())
                room = max_bytes_ - pages.integer(0) * pages.integer(1);
        }
        std::error_code ec;
        const std::filesystem::space_info disk = std::filesystem::space(std::filesystem::path(file_).parent_path(), ec);
        if (!ec)
            room = std::min<std::int64_t>(room, static_cast<std::int64_t>(disk.available));
        return std::max<std::int64_t>(needed - room, 0);
    }

    // Refuses new recipients (store_full, nothing written) that would leave the work already taken
    // without room for its outcomes: a vendor's answer that cannot be recorded is a recipient lost.
    void keep_room_for(std::size_t arriving) {
        if (const std::int64_t short_by = room_missing(arriving); short_by > 0)
            throw store_full("store " + file_ + " is full: it lacks " + std::to_string(short_by / 1024 + 1) +
                             " KiB to take " + std::to_string(arriving) + " more recipient(s) and still record the "
                             "outcomes of those not final yet (free disk space, or raise store.max_size_mb)");
    }

    // A file that reaches `max_bytes` refuses further growth with SQLITE_FULL, as a full disk would.
    void limit_size(std::int64_t max_bytes) {
        statement page(writer_, "PRAGMA page_size");
        const std::int64_t page_size = page.step() ? page.integer(0) : 4096;
        writer_.exec("PRAGMA max_page_count = " + std::to_string(std::max<std::int64_t>(max_bytes / page_size, 1)));
    }

    std::string file_;
    exclusive_hold hold_;                  // released after both connections close: members die in reverse order
    connection writer_;
    std::unique_ptr<connection> reader_;   // opened once the writer has made the schema
    calls_in_flight calls_;                // changed under the writer's lock, once the change is committed
    std::int64_t max_bytes_;               // 0: as far as the disk allows
    std::mutex probe_mutex_;               // guards the two below
    std::chrono::steady_clock::time_point last_probe_{};
    std::string last_problem_;             // what the last write probe found
};

} // namespace

std::unique_ptr<job_store> open_sqlite_job_store(const std::filesystem::path& file, std::int64_t max_bytes) {
    return std::make_unique<sqlite_job_store>(file, max_bytes);
}

} // namespace switchboard::core
