// The in-memory job store: a map of jobs, each with its recipients in index order.
#include <switchboard/core/job_store.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <stdexcept>
#include <unordered_map>

namespace switchboard::core {
namespace {

class memory_job_store final : public job_store {
public:
    void create_job(const job& j, const std::vector<recipient>& recipients) override {
        std::lock_guard lock(mutex_);
        if (jobs_.count(j.id) != 0)
            throw std::invalid_argument("job " + j.id + " exists already");
        if (!j.idempotency_key.empty() && find_by_key(j.idempotency_key))
            throw std::invalid_argument("idempotency key " + j.idempotency_key + " is taken");
        entry& e = jobs_.emplace(j.id, entry{j, {}, {}}).first->second;
        add(e, recipients);
    }

    void append_recipients(const std::string& job_id, const std::vector<recipient>& recipients) override {
        std::lock_guard lock(mutex_);
        entry& e = at(job_id);
        add(e, recipients);
        e.header.recipient_count = static_cast<std::int64_t>(e.recipients.size());
    }

    std::string write_problem() override { return {}; }

    std::optional<job> find_job(const std::string& id) const override {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(id);
        return it == jobs_.end() ? std::nullopt : std::optional<job>(it->second.header);
    }

    std::optional<job> find_job_by_idempotency_key(const std::string& key) const override {
        std::lock_guard lock(mutex_);
        return find_by_key(key);
    }

    std::vector<job> recent_jobs(std::size_t limit, std::size_t offset, std::optional<job_state> state) const override {
        std::lock_guard lock(mutex_);
        std::vector<job> all;
        for (const auto& [id, e] : jobs_)
            if (!state || e.header.state == *state)
                all.push_back(e.header);
        std::sort(all.begin(), all.end(), [](const job& a, const job& b) {
            return a.created_at_ms != b.created_at_ms ? a.created_at_ms > b.created_at_ms : a.id > b.id;
        });
        all.erase(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(offset, all.size())));
        if (all.size() > limit)
            all.resize(limit);
        return all;
    }

    std::vector<job> unfinished_jobs() const override {
        std::lock_guard lock(mutex_);
        std::vector<job> out;
        for (const auto& [id, e] : jobs_)
            if (e.header.state != job_state::finished ||
                std::any_of(e.recipients.begin(), e.recipients.end(), [](const recipient& r) { return !is_final(r.state); }))
                out.push_back(e.header);
        return out;
    }

    void set_job_state(const std::string& id, job_state state) override {
        std::lock_guard lock(mutex_);
        at(id).header.state = state;
    }

    void finish_job(const std::string& id, std::int64_t at_ms) override {
        std::lock_guard lock(mutex_);
        entry& e = at(id);
        e.header.state = job_state::finished;
        e.header.finished_at_ms = at_ms;
    }

    std::size_t delete_finished_before(std::int64_t before_ms) override {
        std::lock_guard lock(mutex_);
        return std::erase_if(jobs_, [before_ms](const auto& item) {
            return item.second.header.state == job_state::finished && item.second.header.finished_at_ms < before_ms;
        });
    }

    std::vector<recipient> recipients(const std::string& job_id, std::int64_t from_index, std::size_t limit,
                                      std::optional<recipient_state> state, const std::string& provider) const override {
        std::lock_guard lock(mutex_);
        const std::vector<recipient>& all = at(job_id).recipients;
        std::vector<recipient> out;
        for (std::size_t i = static_cast<std::size_t>(std::max<std::int64_t>(from_index, 0));
             i < all.size() && out.size() < limit; ++i)
            if ((!state || all[i].state == *state) && (provider.empty() || all[i].provider == provider))
                out.push_back(all[i]);
        return out;
    }

    std::size_t add_suppressions(const std::vector<suppression>& entries) override {
        std::lock_guard lock(mutex_);
        std::size_t added = 0;
        for (const suppression& e : entries)
            added += suppressions_.insert_or_assign({e.address, e.channel}, e).second ? 1 : 0;
        return added;
    }

    bool remove_suppression(const std::string& address, const std::string& channel) override {
        std::lock_guard lock(mutex_);
        return suppressions_.erase({address, channel}) > 0;
    }

    std::vector<suppression> suppressions(std::size_t offset, std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        std::vector<suppression> out;
        for (auto it = std::next(suppressions_.begin(), static_cast<std::ptrdiff_t>(std::min(offset, suppressions_.size())));
             it != suppressions_.end() && out.size() < limit; ++it)
            out.push_back(it->second);
        return out;
    }

    suppression_index find_suppressions(const std::vector<std::string>& addresses) const override {
        std::lock_guard lock(mutex_);
        suppression_index out;
        for (const std::string& address : std::set<std::string>(addresses.begin(), addresses.end()))
            for (auto it = suppressions_.lower_bound({address, ""}); it != suppressions_.end() && it->first.first == address; ++it)
                out[address].push_back(it->second);
        return out;
    }

    std::vector<failure_group> failure_groups(const std::string& job_id, std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        std::map<std::tuple<recipient_state, std::string, std::string>, std::int64_t> counted;
        for (const recipient& r : at(job_id).recipients)
            if (is_failure(r.state))
                ++counted[{r.state, r.code, r.reason}];
        std::vector<failure_group> groups;
        for (const auto& [key, count] : counted)
            groups.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
        std::stable_sort(groups.begin(), groups.end(),
                         [](const failure_group& a, const failure_group& b) { return a.count > b.count; });
        if (groups.size() > limit)
            groups.resize(limit);
        return groups;
    }

    std::vector<recipient> due_recipients(const std::string& job_id, std::int64_t now_ms, std::size_t limit,
                                          recipient_state state) const override {
        std::lock_guard lock(mutex_);
        std::vector<const recipient*> due;
        for (const recipient& r : at(job_id).recipients)
            if (r.state == state && r.next_attempt_at_ms <= now_ms)
                due.push_back(&r);
        const auto earlier = [](const recipient* a, const recipient* b) {
            return std::pair(a->next_attempt_at_ms, a->index) < std::pair(b->next_attempt_at_ms, b->index);
        };
        const auto end = due.begin() + static_cast<std::ptrdiff_t>(std::min(limit, due.size()));
        std::partial_sort(due.begin(), end, due.end(), earlier);
        std::vector<recipient> out;
        for (auto it = due.begin(); it != end; ++it)
            out.push_back(**it);
        return out;
    }

    std::optional<std::int64_t> next_due_at(const std::string& job_id) const override {
        std::lock_guard lock(mutex_);
        std::optional<std::int64_t> earliest;
        for (const recipient& r : at(job_id).recipients)
            if ((r.state == recipient_state::queued || r.state == recipient_state::awaiting_receipt) &&
                (!earliest || r.next_attempt_at_ms < *earliest))
                earliest = r.next_attempt_at_ms;
        return earliest;
    }

    std::map<std::string, std::int64_t> first_indexes(const std::string& job_id,
                                                      const std::vector<std::string>& addresses) const override {
        std::lock_guard lock(mutex_);
        const entry& e = at(job_id);
        std::map<std::string, std::int64_t> out;
        for (const std::string& to : addresses)
            if (const auto found = e.first_by_address.find(to); found != e.first_by_address.end())
                out.emplace(to, found->second);
        return out;
    }

    std::vector<std::pair<std::string, recipient>> find_by_message_id(const std::string& provider,
                                                                     const std::string& message_id,
                                                                     const std::string& to) const override {
        const auto unsigned_form = [](std::string_view a) { return a.substr(!a.empty() && a.front() == '+' ? 1 : 0); };
        std::lock_guard lock(mutex_);
        std::vector<std::pair<std::string, recipient>> out;
        for (const auto& [id, e] : jobs_)
            for (const recipient& r : e.recipients)
                if (!message_id.empty() && r.message_id == message_id && r.provider == provider &&
                    (to.empty() || unsigned_form(r.to) == unsigned_form(to)))
                    out.emplace_back(id, r);
        return out;
    }

    std::size_t keep_early_receipts(const std::string& provider, const std::vector<delivery_receipt>& receipts,
                                    std::int64_t forget_before_ms, std::size_t most_kept) override {
        std::lock_guard lock(mutex_);
        std::erase_if(early_receipts_,
                      [forget_before_ms](const auto& kept) { return kept.second.received_at_ms < forget_before_ms; });
        std::size_t kept = 0;
        for (const delivery_receipt& r : receipts)
            if (early_receipts_.size() < most_kept) {
                early_receipts_.emplace_back(provider, r);
                ++kept;
            }
        return kept;
    }

    std::vector<delivery_receipt> take_early_receipts(const std::string& provider,
                                                      const std::vector<std::string>& message_ids) override {
        std::lock_guard lock(mutex_);
        std::vector<delivery_receipt> taken;
        std::erase_if(early_receipts_, [&](const auto& kept) {
            const bool named = kept.first == provider &&
                               std::find(message_ids.begin(), message_ids.end(), kept.second.message_id) != message_ids.end();
            if (named)
                taken.push_back(kept.second);
            return named;
        });
        return taken;
    }

    std::vector<std::string> awaiting_message_ids(const std::string& provider, const std::string& after,
                                                  std::size_t limit) const override {
        std::lock_guard lock(mutex_);
        std::set<std::string> ids;
        for (const auto& [id, e] : jobs_)
            for (const recipient& r : e.recipients)
                if (r.state == recipient_state::awaiting_receipt && r.provider == provider && r.message_id > after)
                    ids.insert(r.message_id);
        std::vector<std::string> out(ids.begin(), ids.end());
        if (out.size() > limit)
            out.resize(limit);
        return out;
    }

    std::map<recipient_state, std::int64_t> count_by_state(const std::string& job_id) const override {
        std::lock_guard lock(mutex_);
        std::map<recipient_state, std::int64_t> counts;
        for (recipient_state s : all_recipient_states)
            counts[s] = 0;
        for (const recipient& r : at(job_id).recipients)
            ++counts[r.state];
        return counts;
    }

    std::size_t settle_all(const std::string& job_id, recipient_state from, recipient_state to,
                           const std::string& code, const std::string& reason) override {
        std::lock_guard lock(mutex_);
        std::size_t settled = 0;
        for (recipient& r : at(job_id).recipients)
            if (r.state == from) {
                r.state = to;
                r.code = code;
                r.reason = reason;
                ++settled;
            }
        return settled;
    }

    std::map<job_state, std::int64_t> jobs_by_state() const override {
        std::lock_guard lock(mutex_);
        std::map<job_state, std::int64_t> counts;
        for (const auto& [id, e] : jobs_)
            ++counts[e.header.state];
        return counts;
    }

    std::map<recipient_state, std::int64_t> recipients_by_state() const override {
        std::lock_guard lock(mutex_);
        std::map<recipient_state, std::int64_t> counts;
        for (recipient_state s : all_recipient_states)
            counts[s] = 0;
        for (const auto& [id, e] : jobs_)
            for (const recipient& r : e.recipients)
                ++counts[r.state];
        return counts;
    }

    std::size_t cancel_job(const std::string& job_id) override {
        std::lock_guard lock(mutex_);
        entry& e = at(job_id);
        e.header.cancelled = true;
        std::size_t cancelled = 0;
        for (recipient& r : e.recipients) {
            recipient_update u = update_of(r);
            stop_at_cancel(u);
            cancelled += u.state == recipient_state::cancelled && r.state == recipient_state::queued ? 1 : 0;
            apply_update(r, u);
        }
        return cancelled;
    }

    std::vector<std::int64_t> apply_if(const std::string& job_id, recipient_state expected,
                                       const std::vector<recipient_update>& updates) override {
        std::lock_guard lock(mutex_);
        entry& e = at(job_id);
        std::vector<std::int64_t> changed;
        for (recipient_update u : updates) {
            recipient& r = at_index(e.recipients, job_id, u.index);
            if (r.state != expected || (e.header.cancelled && !stop_at_cancel(u)))
                continue;
            apply_update(r, u);
            changed.push_back(u.index);
        }
        return changed;
    }

    std::vector<std::int64_t> claim(const std::string& job_id, const std::vector<std::int64_t>& indexes,
                                    const std::string& provider) override {
        std::lock_guard lock(mutex_);
        entry& e = at(job_id);
        std::vector<std::int64_t> claimed;
        if (e.header.cancelled)
            return claimed;
        for (std::int64_t index : indexes) {
            recipient& r = at_index(e.recipients, job_id, index);
            if (r.state != recipient_state::queued)
                continue;
            r.state = recipient_state::sending;
            ++r.attempts;
            r.provider = provider;
            claimed.push_back(index);
        }
        return claimed;
    }

    void apply(const std::string& job_id, const std::vector<recipient_update>& updates) override {
        std::lock_guard lock(mutex_);
        entry& e = at(job_id);
        for (recipient_update u : updates)
            if (!e.header.cancelled || stop_at_cancel(u))
                apply_update(at_index(e.recipients, job_id, u.index), u);
    }

private:
    struct entry {
        job header;
        std::vector<recipient> recipients;
        std::unordered_map<std::string, std::int64_t> first_by_address;   // to -> first recipient not skipped
    };

    // Recipients are skipped only as they arrive, so the address index is kept as they do.
    static void add(entry& e, const std::vector<recipient>& recipients) {
        for (const recipient& r : recipients) {
            e.recipients.push_back(r);
            if (r.state != recipient_state::skipped_invalid && r.state != recipient_state::skipped_duplicate)
                e.first_by_address.emplace(r.to, r.index);
        }
    }

    std::optional<job> find_by_key(const std::string& key) const {
        for (const auto& [id, e] : jobs_)
            if (!key.empty() && e.header.idempotency_key == key)
                return e.header;
        return std::nullopt;
    }

    static recipient& at_index(std::vector<recipient>& all, const std::string& job_id, std::int64_t index) {
        if (index < 0 || static_cast<std::size_t>(index) >= all.size())
            throw std::out_of_range("job " + job_id + " has no recipient " + std::to_string(index));
        return all[static_cast<std::size_t>(index)];
    }

    entry& at(const std::string& id) {
        auto it = jobs_.find(id);
        if (it == jobs_.end())
            throw std::out_of_range("no job " + id);
        return it->second;
    }
    const entry& at(const std::string& id) const { return const_cast<memory_job_store*>(this)->at(id); }

    mutable std::mutex mutex_;
    std::unordered_map<std::string, entry> jobs_;
    std::map<std::pair<std::string, std::string>, suppression> suppressions_;   // (address, channel) -> entry
    std::vector<std::pair<std::string, delivery_receipt>> early_receipts_;  // provider, receipt
};

} // namespace

std::unique_ptr<job_store> make_memory_job_store() { return std::make_unique<memory_job_store>(); }

} // namespace switchboard::core
