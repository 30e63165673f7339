// The batches an instance has encoded and not yet decoded, kept parsed. The host hands decode() (or
// the message_ids extension) the very document it gave encode(), so the trampolines take the batch
// from here instead of parsing a thousand recipients a second time. A batch is known by its
// document's whole text: equal text, equal batch, so a batch found here is exactly what parsing
// would give. Bounded: the oldest is dropped first (a call that was never sent is never decoded),
// and a batch not found is simply parsed.
#pragma once

#include <switchboard/sdk/messages.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace switchboard::sdk {

class batches_in_flight {
public:
    // A few calls in flight for each of several jobs; a parsed batch of 1000 costs some 200 KB.
    static constexpr std::size_t capacity = 16;

    void remember(std::string_view document, std::shared_ptr<const batch> parsed) {
        entry e{std::string(document), std::move(parsed)};  // copied before the lock: 70 KB for 1000
        const std::lock_guard<std::mutex> lock(mutex_);     // an instance may be thread_safe
        if (entries_.size() == capacity)
            entries_.pop_front();
        entries_.push_back(std::move(e));
    }

    // The batch parsed from `document`, removed from the cache; nullptr when it is not here.
    std::shared_ptr<const batch> take(std::string_view document) {
        const std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->document == document) {
                std::shared_ptr<const batch> found = std::move(it->parsed);
                entries_.erase(it);
                return found;
            }
        return nullptr;
    }

    std::size_t size() const {
        const std::lock_guard<std::mutex> lock(mutex_);
        return entries_.size();
    }

private:
    struct entry {
        std::string document;
        std::shared_ptr<const batch> parsed;
    };
    mutable std::mutex mutex_;
    std::deque<entry> entries_;  // oldest first
};

} // namespace switchboard::sdk
