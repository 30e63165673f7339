/* Compiled as C11 and as C++17 with -Wall -Wextra -pedantic -Werror by the abi_header_* tests:
 * provider.h and the extension headers must stay clean in both languages. */
#include <switchboard/extensions/message_ids.h>
#include <switchboard/provider.h>

#include <string.h>

static sb_status check_manifest(const sb_output *out) {
    sb_str text = {"{}", 2};
    out->write_json(out->context, text);
    return SB_STATUS_OK;
}

int main(void) {
    sb_provider table;
    sb_http_request request;
    memset(&table, 0, sizeof table);
    memset(&request, 0, sizeof request);
    table.struct_size = (uint32_t)sizeof table;
    table.manifest = check_manifest;
    request.struct_size = (uint32_t)sizeof request;
    return SB_HAS_FIELD(&table, sb_provider, get_extension) && SB_HAS_FIELD(&request, sb_http_request, body) ? 0 : 1;
}
