#include <switchboard/core/sqlite_job_store.hpp>

#include <sqlite3.h>

#include <mutex>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace switchboard::core {
namespace {

constexpr const char* schema_v1 = R"sql(
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    state INTEGER NOT NULL,
    recipient_count INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT UNIQUE,
    request_hash TEXT NOT NULL DEFAULT '',
    deadline_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE recipients (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    ref TEXT NOT NULL,
    params TEXT NOT NULL,
    state INTEGER NOT NULL,
    step INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at_ms INTEGER NOT NULL,
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE INDEX recipients_by_state ON recipients (job_id, state, idx);
-- Counts per state, kept by triggers, so that a job's counts cost the same at 10 or 10 million recipients.
CREATE TABLE job_counts (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    state INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (job_id, state)
) WITHOUT ROWID;
CREATE TRIGGER recipients_counted_on_insert AFTER INSERT ON recipients BEGIN
    INSERT INTO job_counts (job_id, state, count) VALUES (NEW.job_id, NEW.state, 1)
        ON CONFLICT (job_id, state) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER recipients_counted_on_update AFTER UPDATE OF state ON recipients WHEN OLD.state != NEW.state BEGIN
    UPDATE job_counts SET count = count - 1 WHERE job_id = OLD.job_id AND state = OLD.state;
    INSERT INTO job_counts (job_id, state, count) VALUES (NEW.job_id, NEW.state, 1)
        ON CONFLICT (job_id, state) DO UPDATE SET count = count + 1;
END;
)sql";

// Version 2: routes stored with their jobs, a default region per job, the steps each recipient
// tried, and the indexes receipts and duplicate checks look recipients up by.
constexpr const char* schema_v2 = R"sql(
ALTER TABLE jobs ADD COLUMN route_json TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN send_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recipients ADD COLUMN history TEXT NOT NULL DEFAULT '[]';
CREATE INDEX recipients_by_message ON recipients (provider, message_id) WHERE message_id != '';
CREATE INDEX recipients_awaiting_receipt ON recipients (provider, message_id) WHERE state = 9;
CREATE INDEX recipients_by_address ON recipients (job_id, recipient);
CREATE TABLE early_receipts (
    provider TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX early_receipts_by_message ON early_receipts (provider, message_id);
CREATE INDEX early_receipts_by_age ON early_receipts (received_at_ms);
-- Recipients arrive by the thousand: their counts are added once a page (insert_recipients), not by
-- a trigger once a row.
DROP TRIGGER IF EXISTS recipients_counted_on_insert;
CREATE INDEX recipients_awaiting_until ON recipients (job_id, next_attempt_at_ms) WHERE state = 9;
)sql";

constexpr const char* recipient_columns =
    "idx, recipient, ref, params, state, step, attempts, next_attempt_at_ms, provider, message_id, code, reason, "
    "history";

// Throws the store's last error: store_full when it ran out of room, else store_error.
[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    const std::string message = what + ": " + sqlite3_errmsg(db);
    if (sqlite3_errcode(db) == SQLITE_FULL)
        throw store_full(message + " (free disk space, or raise store.max_size_mb, then try again)");
    throw store_error(message);
}

// One prepared statement, reset for reuse when it goes out of scope.
class statement {
public:
    statement(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
            throw store_error(std::string("cannot prepare a store query: ") + sqlite3_errmsg(db));
    }
    ~statement() { sqlite3_finalize(stmt_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int i, const std::string& v) {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    // True while a row is available; throws on errors.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW)
            return true;
        if (rc == SQLITE_DONE)
            return false;
        fail(db_, "store write or read failed");
    }
    void run() {
        step();
        reset();
    }
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
    sqlite3_stmt* raw() const { return stmt_; }
    std::string text(int column) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
        return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
    }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

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

class sqlite_job_store final : public job_store {
public:
    sqlite_job_store(const std::filesystem::path& file, std::int64_t max_bytes) : file_(file.string()), hold_(file_) {
        if (sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK) {
            const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw store_error("cannot open the store " + file_ + ": " + why +
                              " (check that its directory exists and is writable)");
        }
        sqlite3_busy_timeout(db_, 5000);
        try {
            // Before WAL and before any table: later it has no effect on a new file.
            exec("PRAGMA auto_vacuum = INCREMENTAL");
            exec("PRAGMA journal_mode=WAL");
            exec("PRAGMA synchronous=FULL");
            exec("PRAGMA foreign_keys=ON");
            migrate();
            if (max_bytes > 0)
                limit_size(max_bytes);
        } catch (const store_error&) {
            sqlite3_close(db_);
            throw;
        }
    }
    ~sqlite_job_store() override { sqlite3_close(db_); }

    void create_job(const job& j, const std::vector<recipient>& recipients) override {
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        statement existing(db_, "SELECT 1 FROM jobs WHERE id = ? OR idempotency_key = ?");
        existing.bind(1, j.id).bind(2, j.idempotency_key);
        if (existing.step())
            throw std::invalid_argument("job " + j.id + " or idempotency key '" + j.idempotency_key + "' exists already");
        statement insert_job(db_, "INSERT INTO jobs (id, route, created_at_ms, state, recipient_count, idempotency_key, "
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
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        insert_recipients(job_id, recipients);
        statement count(db_, "UPDATE jobs SET recipient_count = recipient_count + ? WHERE id = ?");
        count.bind(1, static_cast<std::int64_t>(recipients.size())).bind(2, job_id);
        count.run();
        if (sqlite3_changes(db_) != 1)
            throw std::out_of_range("no job " + job_id);
        tx.commit();
    }

    std::optional<job> find_job(const std::string& id) const override {
        std::lock_guard lock(mutex_);
        statement s(db_, (std::string("SELECT ") + job_columns + " FROM jobs WHERE id = ?").c_str());
        s.bind(1, id);
        return s.step() ? std::optional<job>(read_job(s)) : std::nullopt;
    }

    std::optional<job> find_job_by_idempotency_key(const std::string& key) const override {
        std::lock_guard lock(mutex_);
        statement s(db_, (std::string("SELECT ") + job_columns + " FROM jobs WHERE idempotency_key = ?").c_str());
        s.bind(1, key);
        return s.step() ? std::optional<job>(read_job(s)) : std::nullopt;
    }

    std::vector<job> recent_jobs(std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        statement s(db_, (std::string("SELECT ") + job_columns + " FROM jobs ORDER BY created_at_ms DESC, id DESC LIMIT ?").c_str());
        s.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
        std::vector<job> out;
        while (s.step())
            out.push_back(read_job(s));
        return out;
    }

    std::vector<job> unfinished_jobs() const override {
        std::lock_guard lock(mutex_);
        static_assert(static_cast<int>(recipient_state::queued) == 0 && static_cast<int>(recipient_state::sending) == 1 &&
                      static_cast<int>(recipient_state::awaiting_receipt) == 9);
        statement s(db_, (std::string("SELECT ") + job_columns +
                          " FROM jobs WHERE state != ? OR id IN (SELECT job_id FROM job_counts WHERE state IN (0, 1, 9) "
                          "AND count > 0) ORDER BY created_at_ms").c_str());
        s.bind(1, static_cast<std::int64_t>(job_state::finished));
        std::vector<job> out;
        while (s.step())
            out.push_back(read_job(s));
        return out;
    }

    void set_job_state(const std::string& id, job_state state) override {
        std::lock_guard lock(mutex_);
        statement s(db_, "UPDATE jobs SET state = ? WHERE id = ?");
        s.bind(1, static_cast<std::int64_t>(state)).bind(2, id);
        s.run();
    }

    void finish_job(const std::string& id, std::int64_t at_ms) override {
        std::lock_guard lock(mutex_);
        statement s(db_, "UPDATE jobs SET state = ?, finished_at_ms = ? WHERE id = ?");
        s.bind(1, static_cast<std::int64_t>(job_state::finished)).bind(2, at_ms).bind(3, id);
        s.run();
    }

    std::size_t delete_finished_before(std::int64_t before_ms) override {
        std::lock_guard lock(mutex_);
        std::size_t deleted = 0;
        {
            transaction tx(*this);
            statement s(db_, "DELETE FROM jobs WHERE state = ? AND finished_at_ms < ?");
            s.bind(1, static_cast<std::int64_t>(job_state::finished)).bind(2, before_ms);
            s.run();
            deleted = static_cast<std::size_t>(sqlite3_changes(db_));
            tx.commit();
        }
        if (deleted > 0)
            exec("PRAGMA incremental_vacuum");  // the file shrinks, instead of only its free pages growing
        return deleted;
    }

    std::vector<recipient> recipients(const std::string& job_id, std::int64_t from_index, std::size_t limit,
                                      std::optional<recipient_state> state) const override {
        std::lock_guard lock(mutex_);
        const std::string sql = std::string("SELECT ") + recipient_columns +
                                (state ? " FROM recipients INDEXED BY recipients_by_state WHERE job_id = ? AND idx >= ? AND state = ?"
                                       : " FROM recipients WHERE job_id = ? AND idx >= ?") +
                                " ORDER BY idx LIMIT ?";
        statement s(db_, sql.c_str());
        s.bind(1, job_id).bind(2, from_index);
        int next = 3;
        if (state)
            s.bind(next++, static_cast<std::int64_t>(*state));
        s.bind(next, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
        std::vector<recipient> out;
        while (s.step())
            out.push_back(read_recipient(s));
        return out;
    }

    std::vector<recipient> due_recipients(const std::string& job_id, std::int64_t now_ms, std::size_t limit,
                                          recipient_state state) const override {
        std::lock_guard lock(mutex_);
        // Waits that are over come earliest first, through their own partial index (state named as a
        // literal, or SQLite cannot use it); calls due come in index order.
        static_assert(static_cast<int>(recipient_state::awaiting_receipt) == 9, "the partial index names it 9");
        // (Named: SQLite otherwise walks the whole job in idx order, past every recipient done.)
        const std::string sql =
            std::string("SELECT ") + recipient_columns +
            (state == recipient_state::awaiting_receipt
                 ? " FROM recipients WHERE job_id = ? AND next_attempt_at_ms <= ? AND state = 9 "
                   "ORDER BY next_attempt_at_ms LIMIT ?"
                 : " FROM recipients INDEXED BY recipients_by_state WHERE job_id = ? AND next_attempt_at_ms <= ? "
                   "AND state = " + std::to_string(static_cast<int>(state)) + " ORDER BY idx LIMIT ?");
        statement s(db_, sql.c_str());
        s.bind(1, job_id).bind(2, now_ms).bind(3, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
        std::vector<recipient> out;
        while (s.step())
            out.push_back(read_recipient(s));
        return out;
    }

    std::optional<std::int64_t> next_due_at(const std::string& job_id) const override {
        std::lock_guard lock(mutex_);
        statement s(db_, "SELECT (SELECT MIN(next_attempt_at_ms) FROM recipients INDEXED BY recipients_by_state "
                         "WHERE job_id = ?1 AND state = 0), "
                         "(SELECT MIN(next_attempt_at_ms) FROM recipients WHERE job_id = ?1 AND state = 9)");
        s.bind(1, job_id);
        std::optional<std::int64_t> earliest;
        if (s.step())
            for (int column : {0, 1})
                if (sqlite3_column_type(s.raw(), column) != SQLITE_NULL)
                    earliest = std::min(earliest.value_or(INT64_MAX), s.integer(column));
        return earliest;
    }

    std::map<std::string, std::int64_t> first_indexes(const std::string& job_id,
                                                      const std::vector<std::string>& addresses) const override {
        std::lock_guard lock(mutex_);
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
            statement s(db_, sql.c_str());
            s.bind(1, job_id).bind(2, static_cast<std::int64_t>(recipient_state::skipped_invalid))
                .bind(3, static_cast<std::int64_t>(recipient_state::skipped_duplicate));
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
        std::lock_guard lock(mutex_);
        // The index narrows to one vendor call's recipients; the address picks the one a receipt names.
        const std::string sql = std::string("SELECT job_id, ") + recipient_columns +
                                " FROM recipients WHERE provider = ?1 AND message_id = ?2 AND message_id != ''"
                                " AND (?3 = '' OR ltrim(recipient, '+') = ltrim(?3, '+'))";
        statement s(db_, sql.c_str());
        s.bind(1, provider).bind(2, message_id).bind(3, to);
        std::vector<std::pair<std::string, recipient>> out;
        while (s.step())
            out.emplace_back(s.text(0), read_recipient(s, 1));
        return out;
    }

    void keep_early_receipts(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                             std::int64_t forget_before_ms) override {
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        statement forget(db_, "DELETE FROM early_receipts WHERE received_at_ms < ?");
        forget.bind(1, forget_before_ms);
        forget.run();
        statement insert(db_, "INSERT INTO early_receipts (provider, message_id, recipient, status, code, reason, "
                              "received_at_ms) VALUES (?,?,?,?,?,?,?)");
        for (const delivery_receipt& r : receipts) {
            insert.bind(1, provider).bind(2, r.message_id).bind(3, r.to).bind(4, r.status).bind(5, r.code)
                .bind(6, r.reason).bind(7, r.received_at_ms);
            insert.run();
        }
        tx.commit();
    }

    std::vector<delivery_receipt> take_early_receipts(const std::string& provider,
                                                      const std::vector<std::string>& message_ids) override {
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        statement select(db_, "SELECT message_id, recipient, status, code, reason, received_at_ms FROM early_receipts "
                              "WHERE provider = ? AND message_id = ?");
        statement remove(db_, "DELETE FROM early_receipts WHERE provider = ? AND message_id = ?");
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
        std::lock_guard lock(mutex_);
        static_assert(static_cast<int>(recipient_state::awaiting_receipt) == 9, "the index names awaiting_receipt as 9");
        statement s(db_, "SELECT DISTINCT message_id FROM recipients WHERE provider = ? AND state = 9 AND message_id > ? "
                         "ORDER BY message_id LIMIT ?");
        s.bind(1, provider).bind(2, after).bind(3, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
        std::vector<std::string> out;
        while (s.step())
            out.push_back(s.text(0));
        return out;
    }

    std::map<recipient_state, std::int64_t> count_by_state(const std::string& job_id) const override {
        std::lock_guard lock(mutex_);
        std::map<recipient_state, std::int64_t> counts;
        for (recipient_state state : all_recipient_states)
            counts[state] = 0;
        statement s(db_, "SELECT state, count FROM job_counts WHERE job_id = ?");
        s.bind(1, job_id);
        while (s.step())
            counts[static_cast<recipient_state>(s.integer(0))] = s.integer(1);
        return counts;
    }

    std::map<job_state, std::int64_t> jobs_by_state() const override {
        std::lock_guard lock(mutex_);
        std::map<job_state, std::int64_t> counts;
        statement s(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
        while (s.step())
            counts[static_cast<job_state>(s.integer(0))] = s.integer(1);
        return counts;
    }

    std::map<recipient_state, std::int64_t> recipients_by_state() const override {
        std::lock_guard lock(mutex_);
        std::map<recipient_state, std::int64_t> counts;
        for (recipient_state state : all_recipient_states)
            counts[state] = 0;
        statement s(db_, "SELECT state, SUM(count) FROM job_counts GROUP BY state");
        while (s.step())
            counts[static_cast<recipient_state>(s.integer(0))] = s.integer(1);
        return counts;
    }

    std::size_t cancel_job(const std::string& job_id) override {
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        statement flag(db_, "UPDATE jobs SET cancelled = 1 WHERE id = ?");
        flag.bind(1, job_id);
        flag.run();
        std::size_t cancelled = 0;
        for (const auto& [from, to] : {std::pair{recipient_state::queued, recipient_state::cancelled},
                                       std::pair{recipient_state::awaiting_receipt, recipient_state::accepted}}) {
            recipient_update example;
            example.state = from;
            stop_at_cancel(example);
            statement s(db_, "UPDATE recipients SET state = ?, code = ?, reason = ? WHERE job_id = ? AND state = ?");
            s.bind(1, static_cast<std::int64_t>(to)).bind(2, example.code).bind(3, example.reason).bind(4, job_id)
                .bind(5, static_cast<std::int64_t>(from));
            s.run();
            if (to == recipient_state::cancelled)
                cancelled = static_cast<std::size_t>(sqlite3_changes(db_));
        }
        tx.commit();
        return cancelled;
    }

    std::size_t settle_all(const std::string& job_id, recipient_state from, recipient_state to,
                           const std::string& code, const std::string& reason) override {
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        statement s(db_, "UPDATE recipients SET state = ?, code = ?, reason = ? WHERE job_id = ? AND state = ?");
        s.bind(1, static_cast<std::int64_t>(to)).bind(2, code).bind(3, reason).bind(4, job_id)
            .bind(5, static_cast<std::int64_t>(from));
        s.run();
        const auto settled = static_cast<std::size_t>(sqlite3_changes(db_));
        tx.commit();
        return settled;
    }

    void apply(const std::string& job_id, const std::vector<recipient_update>& updates) override {
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        for (std::int64_t changed : update(job_id, updates, std::nullopt))
            if (changed < 0)
                throw std::out_of_range("job " + job_id + " has no recipient " + std::to_string(-changed - 1));
        tx.commit();
    }

    std::vector<std::int64_t> apply_if(const std::string& job_id, recipient_state expected,
                                       const std::vector<recipient_update>& updates) override {
        std::lock_guard lock(mutex_);
        transaction tx(*this);
        std::vector<std::int64_t> changed;
        for (std::int64_t index : update(job_id, updates, expected))
            if (index >= 0)
                changed.push_back(index);
        tx.commit();
        return changed;
    }

private:
    // Rolls back unless committed: a failure half way leaves the store as it was.
    class transaction {
    public:
        explicit transaction(sqlite_job_store& store) : store_(store) { store_.exec("BEGIN IMMEDIATE"); }
        ~transaction() {
            if (!committed_)
                sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
        void commit() {
            store_.exec("COMMIT");
            committed_ = true;
        }

    private:
        sqlite_job_store& store_;
        bool committed_ = false;
    };

    // Writes the updates (only to recipients in state `expected`, when given); per update, its index
    // when a row changed, or -(index + 1) when none did.
    std::vector<std::int64_t> update(const std::string& job_id, const std::vector<recipient_update>& updates,
                                     std::optional<recipient_state> expected) {
        statement s(db_, expected ? "UPDATE recipients SET state = ?, step = ?, attempts = ?, next_attempt_at_ms = ?, "
                                    "provider = ?, message_id = ?, code = ?, reason = ?, history = ? "
                                    "WHERE job_id = ? AND idx = ? AND state = ?"
                                  : "UPDATE recipients SET state = ?, step = ?, attempts = ?, next_attempt_at_ms = ?, "
                                    "provider = ?, message_id = ?, code = ?, reason = ?, history = ? "
                                    "WHERE job_id = ? AND idx = ?");
        statement flag(db_, "SELECT cancelled FROM jobs WHERE id = ?");
        flag.bind(1, job_id);
        const bool cancelled = flag.step() && flag.integer(0) != 0;
        std::vector<std::int64_t> changed;
        changed.reserve(updates.size());
        for (recipient_update u : updates) {
            if (cancelled && !stop_at_cancel(u)) {
                changed.push_back(-(u.index + 1));
                continue;
            }
            s.bind(1, static_cast<std::int64_t>(u.state)).bind(2, static_cast<std::int64_t>(u.step))
                .bind(3, static_cast<std::int64_t>(u.attempts)).bind(4, u.next_attempt_at_ms).bind(5, u.provider)
                .bind(6, u.message_id).bind(7, u.code).bind(8, u.reason).bind(9, u.history_json).bind(10, job_id)
                .bind(11, u.index);
            if (expected)
                s.bind(12, static_cast<std::int64_t>(*expected));
            s.run();
            changed.push_back(sqlite3_changes(db_) == 1 ? u.index : -(u.index + 1));
        }
        return changed;
    }

    void insert_recipients(const std::string& job_id, const std::vector<recipient>& recipients) {
        statement insert(db_, "INSERT INTO recipients (job_id, idx, recipient, ref, params, state, step, attempts, "
                              "next_attempt_at_ms, provider, message_id, code, reason, history) "
                              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        for (const recipient& r : recipients) {
            insert.bind(1, job_id).bind(2, r.index).bind(3, r.to).bind(4, r.ref).bind(5, r.params_json)
                .bind(6, static_cast<std::int64_t>(r.state)).bind(7, static_cast<std::int64_t>(r.step))
                .bind(8, static_cast<std::int64_t>(r.attempts)).bind(9, r.next_attempt_at_ms).bind(10, r.provider)
                .bind(11, r.message_id).bind(12, r.code).bind(13, r.reason).bind(14, r.history_json);
            insert.run();
        }
        std::map<recipient_state, std::int64_t> arrived;
        for (const recipient& r : recipients)
            ++arrived[r.state];
        statement count(db_, "INSERT INTO job_counts (job_id, state, count) VALUES (?, ?, ?) "
                             "ON CONFLICT (job_id, state) DO UPDATE SET count = count + excluded.count");
        for (const auto& [state, n] : arrived) {
            count.bind(1, job_id).bind(2, static_cast<std::int64_t>(state)).bind(3, n);
            count.run();
        }
    }

    void exec(const char* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
            sqlite3_free(message);
            fail(db_, "store " + file_);
        }
    }

    // A file that reaches `max_bytes` refuses further growth with SQLITE_FULL, as a full disk would.
    void limit_size(std::int64_t max_bytes) {
        statement page(db_, "PRAGMA page_size");
        const std::int64_t page_size = page.step() ? page.integer(0) : 4096;
        exec(("PRAGMA max_page_count = " + std::to_string(std::max<std::int64_t>(max_bytes / page_size, 1))).c_str());
    }

    int user_version() {
        statement s(db_, "PRAGMA user_version");
        return s.step() ? static_cast<int>(s.integer(0)) : 0;
    }

    // Schema changes are numbered migrations; a file from a newer build is refused, not guessed at.
    void migrate() {
        const int found = user_version();
        if (found > sqlite_schema_version)
            throw store_error("store " + file_ + " has schema version " + std::to_string(found) +
                              ", newer than this switchboard's " + std::to_string(sqlite_schema_version) +
                              ": run the newer switchboard, or point the store at another file");
        if (found == sqlite_schema_version)
            return;
        transaction tx(*this);
        if (found < 1)
            exec(schema_v1);
        if (found < 2)
            exec(schema_v2);
        exec(("PRAGMA user_version = " + std::to_string(sqlite_schema_version)).c_str());
        tx.commit();
    }

    std::string file_;
    exclusive_hold hold_;   // released after db_ is closed: members are destroyed in reverse order
    sqlite3* db_ = nullptr;
    mutable std::mutex mutex_;
};

} // namespace

std::unique_ptr<job_store> open_sqlite_job_store(const std::filesystem::path& file, std::int64_t max_bytes) {
    return std::make_unique<sqlite_job_store>(file, max_bytes);
}

} // namespace switchboard::core
