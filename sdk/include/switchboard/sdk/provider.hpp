// The C++ layer over provider.h: derive from sdk::provider, describe the plugin in a manifest,
// and export it with SWITCHBOARD_PROVIDER(your_class). The trampolines below are the only code
// the host calls; they are noexcept and turn every exception into a status and a message.
//
//   class my_provider final : public switchboard::sdk::provider {
//   public:
//       static switchboard::sdk::manifest describe();
//       my_provider(const switchboard::sdk::host& host, const switchboard::sdk::object_reader& config);
//   protected:
//       std::vector<sdk::verdict> do_validate(const sdk::validation_request&) override;
//       sdk::http_request do_encode(const sdk::batch&, std::int64_t now_unix_ms) override;
//       std::vector<sdk::outcome> do_decode(const sdk::batch&, const sdk::http_response&) override;
//   };
//   SWITCHBOARD_PROVIDER(my_provider)
#pragma once

#include <switchboard/extensions/message_ids.h>
#include <switchboard/provider.h>
#include <switchboard/sdk/batches_in_flight.hpp>
#include <switchboard/sdk/error.hpp>
#include <switchboard/sdk/messages.hpp>
#include <switchboard/sdk/text.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace switchboard::sdk {

inline std::string_view view(sb_str s) noexcept {
    return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
}
inline sb_str to_sb_str(std::string_view s) noexcept { return sb_str{s.data(), s.size()}; }

// What the host offers an instance: its name and its log.
class host {
public:
    explicit host(const sb_host* raw) noexcept : raw_(raw) {}

    std::string_view instance_name() const noexcept {
        return raw_ != nullptr ? view(raw_->instance_name) : std::string_view();
    }
    // Writes one line to the host's log. Never pass a secret.
    void log(sb_log_level level, std::string_view message) const noexcept {
        if (raw_ != nullptr && raw_->log != nullptr)
            raw_->log(raw_->context, level, to_sb_str(message));
    }
    void debug(std::string_view message) const noexcept { log(SB_LOG_DEBUG, message); }
    void info(std::string_view message) const noexcept { log(SB_LOG_INFO, message); }
    void warning(std::string_view message) const noexcept { log(SB_LOG_WARNING, message); }
    void error(std::string_view message) const noexcept { log(SB_LOG_ERROR, message); }

    const void* extension(const char* id) const noexcept {
        return raw_ != nullptr && raw_->get_extension != nullptr ? raw_->get_extension(raw_->context, id) : nullptr;
    }

private:
    const sb_host* raw_;
};

namespace detail {
template <class Provider>
struct provider_table;
} // namespace detail

// The base of every provider. Public functions are what the trampolines call; they check the
// contract (one verdict per recipient, one outcome per recipient) around the protected hooks
// that a plugin implements.
class provider {
public:
    explicit provider(const sdk::host& host) : host_(host) {}
    virtual ~provider() = default;
    provider(const provider&) = delete;
    provider& operator=(const provider&) = delete;

    std::vector<verdict> validate(const validation_request& request) {
        std::vector<verdict> verdicts = do_validate(request);
        if (verdicts.size() != request.recipients.size())
            throw error(status::internal, "validate produced " + std::to_string(verdicts.size()) +
                                              " verdicts for " + std::to_string(request.recipients.size()) +
                                              " recipients");
        return verdicts;
    }

    http_request encode(const batch& b, std::int64_t now_unix_ms) {
        if (b.recipients.empty())
            throw error(status::permanent, "batch " + b.id + " has no recipients");
        return do_encode(b, now_unix_ms);
    }

    std::vector<outcome> decode(const batch& b, const http_response& response) {
        std::vector<outcome> outcomes = do_decode(b, response);
        check_one_outcome_per_recipient(b, outcomes);
        return outcomes;
    }

    receipt_batch parse_receipt(const http_request& callback, std::int64_t now_unix_ms) {
        return do_parse_receipt(callback, now_unix_ms);
    }
    http_request encode_receipt_query(const receipt_query& query, std::int64_t now_unix_ms) {
        return do_encode_receipt_query(query, now_unix_ms);
    }
    receipt_batch decode_receipt_query(const receipt_query& query, const http_response& response) {
        return do_decode_receipt_query(query, response);
    }
    std::vector<named_message> message_ids(const batch& b) { return do_message_ids(b); }

protected:
    const sdk::host& host() const noexcept { return host_; }
    // How many encoded batches are kept for their decode (see batches_in_flight.hpp).
    std::size_t kept_batches() const { return in_flight_.size(); }

    virtual std::vector<verdict> do_validate(const validation_request& request) = 0;
    virtual http_request do_encode(const batch& b, std::int64_t now_unix_ms) = 0;
    virtual std::vector<outcome> do_decode(const batch& b, const http_response& response) = 0;

    virtual receipt_batch do_parse_receipt(const http_request&, std::int64_t) {
        throw error(status::unsupported, "this provider does not take pushed receipts");
    }
    virtual http_request do_encode_receipt_query(const receipt_query&, std::int64_t) {
        throw error(status::unsupported, "this provider does not offer receipt queries");
    }
    virtual receipt_batch do_decode_receipt_query(const receipt_query&, const http_response&) {
        throw error(status::unsupported, "this provider does not offer receipt queries");
    }
    // The message ids the vendor's receipts will name, known without its answer (extension
    // switchboard.message_ids/1). A provider that overrides this also declares
    //   static constexpr bool names_messages_in_advance = true;
    // so that the SDK offers the extension.
    virtual std::vector<named_message> do_message_ids(const batch&) {
        throw error(status::unsupported, "this provider cannot name its messages without the vendor's answer");
    }

private:
    static void check_one_outcome_per_recipient(const batch& b, const std::vector<outcome>& outcomes) {
        if (in_recipient_order(b, outcomes))  // what nearly every decode writes: nothing to look up
            return;
        std::unordered_map<std::string_view, int> seen;
        seen.reserve(b.recipients.size());
        for (const recipient& r : b.recipients)
            seen.emplace(r.id, 0);
        for (const outcome& o : outcomes) {
            auto it = seen.find(o.id);
            if (it == seen.end())
                throw error(status::internal, "decode produced an outcome for '" + o.id + "', not in batch " + b.id);
            if (++it->second > 1)
                throw error(status::internal, "decode produced two outcomes for '" + o.id + "'");
        }
        if (outcomes.size() != seen.size())
            throw error(status::internal, "decode produced " + std::to_string(outcomes.size()) +
                                              " outcomes for " + std::to_string(seen.size()) + " recipients");
    }

    template <class>
    friend struct detail::provider_table;

    static bool in_recipient_order(const batch& b, const std::vector<outcome>& outcomes) {
        if (outcomes.size() != b.recipients.size())
            return false;
        for (std::size_t i = 0; i < outcomes.size(); ++i)
            if (outcomes[i].id != b.recipients[i].id)
                return false;
        return true;  // ids in a batch are distinct: the host numbers its recipients
    }

    sdk::host host_;
    batches_in_flight in_flight_;  // encoded, awaiting decode (see batches_in_flight.hpp)
};

namespace detail {

inline void set_error(const sb_output* out, std::string_view message, std::int64_t retry_after_ms) noexcept {
    if (out == nullptr || out->set_error == nullptr)
        return;
    if (is_valid_utf8(message)) {
        out->set_error(out->context, to_sb_str(message), retry_after_ms);
        return;
    }
    try {
        out->set_error(out->context, to_sb_str(valid_utf8(message)), retry_after_ms);
    } catch (...) {
        out->set_error(out->context, to_sb_str("the plugin's error message is not UTF-8 (and no memory to repair it)"),
                       retry_after_ms);
    }
}

// Called from inside a catch block: reports the exception in flight and returns its status.
// `field_status` is what a field_error means here (invalid_config in create, permanent elsewhere).
inline sb_status report_current_exception(const sb_output* out, status field_status) noexcept {
    try {
        throw;
    } catch (const error& e) {
        const status code = e.code() == status::ok ? status::internal : e.code();
        set_error(out, e.what(), code == status::transient ? e.retry_after_ms() : -1);
        return static_cast<sb_status>(code);
    } catch (const field_error& e) {
        set_error(out, e.what(), -1);
        return static_cast<sb_status>(field_status);
    } catch (const std::exception& e) {
        try {
            set_error(out, std::string("internal error: ") + e.what(), -1);
        } catch (...) {
            set_error(out, "internal error (and no memory to describe it)", -1);
        }
    } catch (...) {
        set_error(out, "internal error: an exception of unknown type", -1);
    }
    return SB_STATUS_INTERNAL;
}

template <class Body>
sb_status guarded(const sb_output* out, status field_status, Body&& body) noexcept {
    try {
        body();
        return SB_STATUS_OK;
    } catch (...) {
        return report_current_exception(out, field_status);
    }
}

inline void write_json_text(const sb_output* out, const std::string& text) {
    if (out == nullptr || out->write_json == nullptr)
        throw error(status::internal, "the host gave no output for the result");
    // Only inside strings can a byte be invalid (the rest is ASCII), so a repaired text is still the same JSON.
    if (is_valid_utf8(text))
        out->write_json(out->context, to_sb_str(text));
    else
        out->write_json(out->context, to_sb_str(valid_utf8(text)));
}

inline void write_json(const sb_output* out, const json::value& document) { write_json_text(out, json::serialize(document)); }

inline void write_request(const sb_output* out, const http_request& request) {
    if (out == nullptr || out->write_request == nullptr)
        throw error(status::internal, "the host gave no output for the request");
    std::vector<sb_header> headers;
    headers.reserve(request.headers.size());
    for (const header& h : request.headers)
        headers.push_back(sb_header{to_sb_str(h.name), to_sb_str(h.value)});
    sb_http_request raw{};
    raw.struct_size = sizeof raw;
    raw.abi = sb_abi_version{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR};
    raw.method = to_sb_str(request.method);
    raw.url = to_sb_str(request.url);
    raw.headers = headers.data();
    raw.header_count = headers.size();
    raw.body = to_sb_str(request.body);
    out->write_request(out->context, &raw);
}

inline std::vector<header> copy_headers(const sb_header* headers, std::size_t count) {
    std::vector<header> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        out.push_back(header{std::string(view(headers[i].name)), std::string(view(headers[i].value))});
    return out;
}

inline http_response copy_response(const sb_http_response* raw) {
    if (raw == nullptr)
        throw error(status::internal, "the host passed no response");
    return http_response{raw->status, copy_headers(raw->headers, raw->header_count), std::string(view(raw->body))};
}

inline http_request copy_request(const sb_http_request* raw) {
    if (raw == nullptr)
        throw error(status::internal, "the host passed no request");
    return http_request{std::string(view(raw->method)), std::string(view(raw->url)),
                        copy_headers(raw->headers, raw->header_count), std::string(view(raw->body))};
}

inline provider& as_provider(sb_instance* instance) {
    if (instance == nullptr)
        throw error(status::internal, "the host passed no instance");
    return *reinterpret_cast<provider*>(instance);
}

template <class T, class = void>
struct names_messages_in_advance : std::false_type {};
template <class T>
struct names_messages_in_advance<T, std::void_t<decltype(T::names_messages_in_advance)>>
    : std::bool_constant<T::names_messages_in_advance> {};

template <class T, class = void>
struct has_extension : std::false_type {};
template <class T>
struct has_extension<T, std::void_t<decltype(T::extension(std::declval<std::string_view>()))>> : std::true_type {};

// The function table for one provider class.
template <class Provider>
struct provider_table {
    static_assert(std::is_base_of_v<provider, Provider>, "a provider derives from switchboard::sdk::provider");

    static sb_status manifest(const sb_output* out) noexcept {
        return guarded(out, status::internal, [&] { write_json(out, to_json(Provider::describe())); });
    }

    static sb_status create(const sb_host* raw_host, sb_str config_json, sb_instance** instance,
                            const sb_output* out) noexcept {
        return guarded(out, status::invalid_config, [&] {
            if (instance == nullptr)
                throw error(status::internal, "the host passed no place for the instance");
            const json::object config = parse_object(view(config_json), "config");
            std::unique_ptr<provider> created =
                std::make_unique<Provider>(sdk::host(raw_host), object_reader(config, "config"));
            *instance = reinterpret_cast<sb_instance*>(created.release());
        });
    }

    static void destroy(sb_instance* instance) noexcept {
        delete reinterpret_cast<provider*>(instance);
    }

    static sb_status validate(sb_instance* instance, sb_str request_json, const sb_output* out) noexcept {
        return guarded(out, status::permanent, [&] {
            write_json_text(out, verdicts_json(as_provider(instance).validate(validation_request_from_json(view(request_json)))));
        });
    }

    static sb_status encode(sb_instance* instance, sb_str batch_json, std::int64_t now_unix_ms,
                            const sb_output* out) noexcept {
        return guarded(out, status::permanent, [&] {
            provider& p = as_provider(instance);
            auto parsed = std::make_shared<const batch>(batch_from_json(view(batch_json)));
            write_request(out, p.encode(*parsed, now_unix_ms));
            try {
                p.in_flight_.remember(view(batch_json), std::move(parsed));
            } catch (...) {
                // Only a saving lost (no memory to copy the document): decode parses it again.
            }
        });
    }

    // The batch encode() parsed from this very document, or the document parsed now.
    static std::shared_ptr<const batch> encoded_batch(provider& p, sb_str batch_json) {
        if (std::shared_ptr<const batch> known = p.in_flight_.take(view(batch_json)))
            return known;
        return std::make_shared<const batch>(batch_from_json(view(batch_json)));
    }

    static sb_status decode(sb_instance* instance, sb_str batch_json, const sb_http_response* response,
                            const sb_output* out) noexcept {
        return guarded(out, status::permanent, [&] {
            provider& p = as_provider(instance);
            write_json_text(out, outcomes_json(p.decode(*encoded_batch(p, batch_json), copy_response(response))));
        });
    }

    static sb_status parse_receipt(sb_instance* instance, const sb_http_request* callback,
                                   std::int64_t now_unix_ms, const sb_output* out) noexcept {
        return guarded(out, status::permanent, [&] {
            write_json(out, to_json(as_provider(instance).parse_receipt(copy_request(callback), now_unix_ms)));
        });
    }

    static sb_status encode_receipt_query(sb_instance* instance, sb_str query_json, std::int64_t now_unix_ms,
                                          const sb_output* out) noexcept {
        return guarded(out, status::permanent, [&] {
            write_request(out, as_provider(instance).encode_receipt_query(
                                   receipt_query_from_json(view(query_json)), now_unix_ms));
        });
    }

    static sb_status decode_receipt_query(sb_instance* instance, sb_str query_json,
                                          const sb_http_response* response, const sb_output* out) noexcept {
        return guarded(out, status::permanent, [&] {
            write_json(out, to_json(as_provider(instance).decode_receipt_query(
                                receipt_query_from_json(view(query_json)), copy_response(response))));
        });
    }

    static sb_status message_ids(sb_instance* instance, sb_str batch_json, const sb_output* out) noexcept {
        return guarded(out, status::permanent, [&] {
            provider& p = as_provider(instance);
            write_json_text(out, message_ids_json(p.message_ids(*encoded_batch(p, batch_json))));
        });
    }

    static const void* get_extension(const char* id) noexcept {
        if constexpr (names_messages_in_advance<Provider>::value) {
            static const sb_ext_message_ids names{sizeof(sb_ext_message_ids),
                                                  sb_abi_version{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR}, &message_ids};
            if (id != nullptr && std::string_view(id) == SB_EXT_MESSAGE_IDS)
                return &names;
        }
        if constexpr (has_extension<Provider>::value) {
            try {
                return id != nullptr ? Provider::extension(std::string_view(id)) : nullptr;
            } catch (...) {
                return nullptr;
            }
        } else {
            (void)id;
            return nullptr;
        }
    }

    static const sb_provider* get(sb_abi_version) noexcept {
        static const sb_provider table = {
            sizeof(sb_provider),
            sb_abi_version{SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR},
            &manifest,
            &create,
            &destroy,
            &validate,
            &encode,
            &decode,
            &parse_receipt,
            &encode_receipt_query,
            &decode_receipt_query,
            &get_extension,
        };
        return &table;
    }
};

} // namespace detail
} // namespace switchboard::sdk

// Exports `ProviderClass` as this library's provider: the one symbol the host looks up.
#define SWITCHBOARD_PROVIDER(ProviderClass)                                                              \
    extern "C" SB_EXPORT const sb_provider* switchboard_provider_entry(sb_abi_version host_abi) {         \
        return ::switchboard::sdk::detail::provider_table<ProviderClass>::get(host_abi);                  \
    }
