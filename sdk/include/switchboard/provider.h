/*
 * switchboard/provider.h - the Switchboard provider ABI.
 *
 * This header is the only thing that crosses the boundary between the Switchboard host and a
 * provider plugin. It is plain C11 so that a plugin can be built with any compiler, standard
 * library or Boost version, or in any language with a C FFI. Nothing C++ crosses: no class, no
 * exception, no std:: or Boost type.
 *
 * Shape
 *   A plugin is a shared library that exports exactly one symbol, SB_ENTRY_SYMBOL. The host calls
 *   it with the ABI version it speaks; the plugin answers with a table of function pointers
 *   (sb_provider) that lives as long as the library is loaded, or NULL when it cannot serve that
 *   host. Plugins do no I/O: they turn JSON documents and HTTP messages into other JSON documents
 *   and HTTP messages; the host owns sockets, time, retries and concurrency.
 *
 * Data
 *   - Strings are sb_str views: (pointer, length), UTF-8, not NUL-terminated. A view handed to a
 *     function is borrowed for the duration of that call only: copy what you keep.
 *   - Structured data crosses as UTF-8 JSON text (the documents are described beside each
 *     function). New fields may appear in any document at any minor version: readers ignore
 *     fields they do not know.
 *   - Results go out through the host-provided sb_output sink. The plugin calls its functions with
 *     views of its own memory; the host copies what it is given before the callback returns. So
 *     the plugin never hands the host memory to free, and the host never frees plugin memory.
 *   - Every function returns an sb_status. On failure the plugin first calls out->set_error with
 *     a message that says what failed, on which input, and what to do about it.
 *   - A C++ plugin must never let an exception escape through this interface (the SDK's C++
 *     layer catches everything at the boundary and turns it into SB_STATUS_INTERNAL).
 *
 * Threading
 *   Each function carries a tag: [thread-safe] may be called from any thread at any time;
 *   [instance] may be called from any thread but never concurrently on the same instance, unless
 *   the manifest says "thread_safe": true, in which case it is [thread-safe] too.
 *
 * Evolution rules (the ABI never breaks silently)
 *   1. Every struct that crosses, except the frozen value types sb_str, sb_abi_version and
 *      sb_header, begins with `uint32_t struct_size` (sizeof as the writer compiled it) and
 *      `sb_abi_version abi` (the version the writer was built against).
 *   2. Structs only grow at their end. A reader checks SB_HAS_FIELD before using a field that was
 *      added after 1.0; a writer never reads past the size it was given.
 *   3. A field, function or constant is never removed, reordered, retyped or renumbered. A
 *      changed signature becomes a new function with a `_v2` suffix appended after the old one.
 *   4. Appending is a minor version bump (SB_ABI_VERSION_MINOR). Anything else is a major bump,
 *      and a host refuses plugins of another major version.
 *   5. Optional features are looked up by id ("switchboard.name/rev") through get_extension, which
 *      answers NULL when the feature is absent, so the table itself rarely needs to change.
 *   6. Status codes, log levels and every other enumeration are fixed-width integers; new values
 *      may be added, so readers treat an unknown value as the closest general one.
 *   A test in sdk/tests keeps a hash of this file per version: editing it without bumping the
 *   version fails the build's tests.
 */
#ifndef SWITCHBOARD_PROVIDER_H
#define SWITCHBOARD_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SB_ABI_VERSION_MAJOR 1
#define SB_ABI_VERSION_MINOR 1

/* The one symbol a plugin exports. */
#define SB_ENTRY_SYMBOL "switchboard_provider_entry"

#if defined(_WIN32)
#define SB_EXPORT __declspec(dllexport)
#else
#define SB_EXPORT __attribute__((visibility("default")))
#endif

/* Whether a struct received from the other side is large enough to hold `member`. */
#define SB_HAS_FIELD(ptr, type, member) \
    ((ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* ---- frozen value types ------------------------------------------------------------------ */

typedef struct sb_abi_version {
    uint16_t major;
    uint16_t minor;
} sb_abi_version;

/* A borrowed UTF-8 string view; `data` may be NULL when `size` is 0. */
typedef struct sb_str {
    const char *data;
    size_t size;
} sb_str;

/* One HTTP header. Names compare case-insensitively. */
typedef struct sb_header {
    sb_str name;
    sb_str value;
} sb_header;

/* ---- status codes ------------------------------------------------------------------------ */

typedef int32_t sb_status;

/* The call did what was asked. */
#define SB_STATUS_OK ((sb_status)0)
/* A passing failure: the same call may succeed later (throttled, server error). The retry-after
 * hint, if any, is given to out->set_error. */
#define SB_STATUS_TRANSIENT ((sb_status)1)
/* A failure for good: the same input will fail again (rejected by the vendor's rules). */
#define SB_STATUS_PERMANENT ((sb_status)2)
/* The instance configuration is wrong (missing credential, malformed endpoint, ...). */
#define SB_STATUS_INVALID_CONFIG ((sb_status)3)
/* The vendor refused the credentials, or a callback failed its signature check. */
#define SB_STATUS_AUTHENTICATION ((sb_status)4)
/* The plugin does not implement this function or feature. */
#define SB_STATUS_UNSUPPORTED ((sb_status)5)
/* A bug or an unexpected condition inside the plugin. */
#define SB_STATUS_INTERNAL ((sb_status)6)

/* ---- log levels (sb_host.log) ------------------------------------------------------------ */

typedef int32_t sb_log_level;
#define SB_LOG_DEBUG ((sb_log_level)1)
#define SB_LOG_INFO ((sb_log_level)2)
#define SB_LOG_WARNING ((sb_log_level)3)
#define SB_LOG_ERROR ((sb_log_level)4)

/* ---- HTTP messages ----------------------------------------------------------------------- */

/* A request: what encode functions produce, and what a vendor posted to the host for receipts.
 * `url` is absolute ("https://host/path?query"). All views are borrowed for the call. */
typedef struct sb_http_request {
    uint32_t struct_size;
    sb_abi_version abi;
    sb_str method;
    sb_str url;
    const sb_header *headers;
    size_t header_count;
    sb_str body;
} sb_http_request;

/* A vendor's answer, handed to decode functions. All views are borrowed for the call. */
typedef struct sb_http_response {
    uint32_t struct_size;
    sb_abi_version abi;
    int32_t status;
    const sb_header *headers;
    size_t header_count;
    sb_str body;
} sb_http_response;

/* ---- the host side ----------------------------------------------------------------------- */

/* Where a call's results go. Provided by the host for one call; the plugin may call each function
 * at most once per call, and the host copies every view before the callback returns.
 * Ownership: host-owned, valid for the duration of the call. */
typedef struct sb_output {
    uint32_t struct_size;
    sb_abi_version abi;
    void *context;
    /* The call's JSON result document. */
    void (*write_json)(void *context, sb_str json);
    /* The HTTP request produced by an encode function. */
    void (*write_request)(void *context, const sb_http_request *request);
    /* Why the call failed. `retry_after_ms` is the vendor's hint for SB_STATUS_TRANSIENT, or -1. */
    void (*set_error)(void *context, sb_str message, int64_t retry_after_ms);
} sb_output;

/* Services the host offers an instance. Ownership: host-owned, valid until destroy() returns. */
typedef struct sb_host {
    uint32_t struct_size;
    sb_abi_version abi;
    void *context;
    /* The configured name of this instance ("uspeedo-hk"), for messages. */
    sb_str instance_name;
    /* [thread-safe] Writes one line to the host's log. Never pass secrets. */
    void (*log)(void *context, sb_log_level level, sb_str message);
    /* [thread-safe] A host extension by id ("switchboard.name/rev"), or NULL when absent. */
    const void *(*get_extension)(void *context, const char *id);
} sb_host;

/* ---- route steps ------------------------------------------------------------------------- */

/* The keys of a route step the host reads itself (since 1.1 listed here; the same in 1.0). Every
 * other key is the plugin's (template, sender, params, ...). Documents carry the whole step, host
 * keys included. Usable as an array initializer: static const char *const keys[] = {SB_HOST_STEP_KEYS}; */
#define SB_HOST_STEP_KEYS "provider", "channel", "receipt_wait", "schedule", "on_unknown"

/* ---- the plugin side --------------------------------------------------------------------- */

/* An instance: one configured account of a vendor. Opaque to the host. */
typedef struct sb_instance sb_instance;

/* The function table a plugin returns from its entry point.
 * Ownership: plugin-owned, static, valid while the library is loaded. */
typedef struct sb_provider {
    uint32_t struct_size;
    sb_abi_version abi;

    /* [thread-safe] Writes the manifest, a JSON object:
     *   {"name": "uspeedo",               lower-case [a-z0-9_-], the file is <name>.so
     *    "version": "1.2.0",
     *    "abi": "1.0",                    the ABI the plugin was built against
     *    "description": "...",
     *    "channels": ["sms"],
     *    "max_recipients_per_call": 1000,
     *    "grouping": ["template", "sender"],  recipients in one call share these step fields
     *    "rate_limits": {"requests_per_second": 10, "recipients_per_second": 0},  0: no limit
     *    "receipts": "none" | "push" | "pull",
     *    "thread_safe": false,            whether [instance] functions may run concurrently
     *    "transient_errors": ["..."],     vendor codes the plugin classifies as transient
     *    "vendor_scheduling": false,      whether encode() can have the vendor hold a call
     *                                     until the batch's send_at_unix_ms
     *    "config_schema": {...},          JSON Schema of the configuration given to create()
     *    "step_schema": {...}}            (1.1, optional) JSON Schema of a route step's own keys
     *   Since 1.1 the host checks every configuration against config_schema, and every route step
     *   on this plugin (without SB_HOST_STEP_KEYS) against step_schema, before the plugin sees
     *   them, and names every breach; the subset of JSON Schema it reads: type, enum, const,
     *   required, properties, additionalProperties, minimum, maximum, exclusiveMinimum,
     *   exclusiveMaximum, minLength, maxLength, pattern, items, minItems, maxItems, allOf, anyOf,
     *   oneOf, if/then/else. A 1.0 host ignores step_schema. */
    sb_status (*manifest)(const sb_output *out);

    /* [thread-safe] Creates an instance from its configuration (a JSON object that matches
     * config_schema; secrets already resolved by the host). On success stores the instance in
     * *instance; on failure returns SB_STATUS_INVALID_CONFIG (or another status) with a message
     * naming the field. `host` stays valid until destroy() returns. */
    sb_status (*create)(const sb_host *host, sb_str config_json, sb_instance **instance,
                        const sb_output *out);

    /* [instance] Frees an instance and everything it allocated. Never fails. */
    void (*destroy)(sb_instance *instance);

    /* [instance] Checks recipients and their content against the vendor's rules, many at once.
     * Input:  {"channel": "sms", "step": {...route step...},
     *          "recipients": [{"to": "+85255311111", "params": {"code": "123456"}}, ...]}
     * Output: {"verdicts": [{"ok": true} | {"ok": false, "field": "to", "reason": "..."}, ...]},
     *         exactly one verdict per recipient, in input order. "field" names the recipient's
     *         "to" or "params.<name>", or "step.<key>" when the step itself is wrong: at start the
     *         host validates one sample recipient with empty params for every route step, and
     *         reports a verdict on "step.<key>" as a problem of that step's configuration. */
    sb_status (*validate)(sb_instance *instance, sb_str request_json, const sb_output *out);

    /* [instance] Encodes one batch into exactly one HTTP request (out->write_request), signed
     * for `now_unix_ms`, the host's current time in milliseconds since the Unix epoch.
     * Batch:  {"id": "...", "job_id": "...", "channel": "sms", "step": {...route step...},
     *          "send_at_unix_ms": 0 (optional),
     *          "recipients": [{"id": "...", "to": "...", "params": {...}}, ...]}
     * A batch the vendor cannot take as a whole is refused with SB_STATUS_PERMANENT. */
    sb_status (*encode)(sb_instance *instance, sb_str batch_json, int64_t now_unix_ms,
                        const sb_output *out);

    /* [instance] Decodes the vendor's answer to the request encode() made for `batch_json`.
     * Output: {"outcomes": [{"id": "<recipient id>",
     *                        "result": "accepted" | "rejected" | "transient" | "unknown",
     *                        "message_id": "...", "code": "...", "reason": "...",
     *                        "retry_after_ms": 1000}, ...]}, one per recipient of the batch.
     * A non-OK status instead classifies the whole batch (e.g. SB_STATUS_TRANSIENT for HTTP 503,
     * SB_STATUS_AUTHENTICATION for a refused signature) with the reason in set_error. */
    sb_status (*decode)(sb_instance *instance, sb_str batch_json, const sb_http_response *response,
                        const sb_output *out);

    /* [instance] Push receipts: verifies and parses a status callback the vendor posted to the
     * host. A forged callback answers SB_STATUS_AUTHENTICATION, a malformed one
     * SB_STATUS_PERMANENT. NULL, or SB_STATUS_UNSUPPORTED, when the vendor does not push.
     * Output: {"receipts": [{"message_id": "...", "to": "...",
     *                        "status": "delivered" | "undelivered" | "pending",
     *                        "code": "...", "reason": "...", "at_unix_ms": 0}, ...],
     *          "reply": {"status": 200, "content_type": "...", "body": "..."}}  what the host
     *          answers the vendor (optional: 200 with an empty body). */
    sb_status (*parse_receipt)(sb_instance *instance, const sb_http_request *callback,
                               int64_t now_unix_ms, const sb_output *out);

    /* [instance] Pull receipts: encodes one status query into an HTTP request.
     * Query: {"message_ids": ["..."], "since_unix_ms": 0}. NULL, or SB_STATUS_UNSUPPORTED, when
     * the vendor offers no polling. */
    sb_status (*encode_receipt_query)(sb_instance *instance, sb_str query_json,
                                      int64_t now_unix_ms, const sb_output *out);

    /* [instance] Pull receipts: decodes the answer to encode_receipt_query() into the same
     * {"receipts": [...]} document parse_receipt() writes. */
    sb_status (*decode_receipt_query)(sb_instance *instance, sb_str query_json,
                                      const sb_http_response *response, const sb_output *out);

    /* [thread-safe] A plugin extension by id ("switchboard.name/rev"), or NULL when absent.
     * The pointer is plugin-owned and valid while the library is loaded. */
    const void *(*get_extension)(const char *id);
} sb_provider;

/* The entry point: the host passes the ABI version it speaks; the plugin answers with its table,
 * or NULL when it cannot serve that host. [thread-safe] */
typedef const sb_provider *(*sb_entry_fn)(sb_abi_version host_abi);

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_PROVIDER_H */
