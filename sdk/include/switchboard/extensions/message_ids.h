/*
 * switchboard/extensions/message_ids.h - extension "switchboard.message_ids/1".
 *
 * For vendors whose message ids a plugin can name without the vendor's answer (CAMS: the TaskId
 * the call carried and the recipient's number; VMS: the SingleOpenId the call gave each item).
 * When a call is sent but its answer never comes, the host asks the plugin for these ids and
 * records them on the recipients whose outcome is unknown, so that the vendor's receipts, which
 * name them, still find those recipients and settle them: delivered, or undelivered and on along
 * their route.
 *
 * A plugin offers it through get_extension(SB_EXT_MESSAGE_IDS); a plugin without it answers NULL,
 * and its recipients with unknown outcomes stay unknown. Revisions of this extension get a new id
 * ("switchboard.message_ids/2"); this struct only grows at its end (provider.h's rules 1 and 2).
 */
#ifndef SWITCHBOARD_EXTENSIONS_MESSAGE_IDS_H
#define SWITCHBOARD_EXTENSIONS_MESSAGE_IDS_H

#include <switchboard/provider.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SB_EXT_MESSAGE_IDS "switchboard.message_ids/1"

typedef struct sb_ext_message_ids {
    uint32_t struct_size;
    sb_abi_version abi;

    /* [instance] For `batch_json` (the batch as encode() took it), the message id the vendor's
     * receipts will name for each recipient the plugin can tell, with or without the vendor's
     * answer to the call:
     *   {"message_ids": [{"id": "<recipient id>", "message_id": "..."}, ...]}
     * Recipients it cannot tell are left out. */
    sb_status (*message_ids)(sb_instance *instance, sb_str batch_json, const sb_output *out);
} sb_ext_message_ids;

#ifdef __cplusplus
}
#endif

#endif /* SWITCHBOARD_EXTENSIONS_MESSAGE_IDS_H */
