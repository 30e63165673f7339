# switchboard_add_provider(<name> SOURCES <file>...)
#
# Builds a provider plugin: a MODULE library named <name>.so that links the SDK, hides every
# symbol but the entry point, and refuses undefined symbols at link time (so a missing dependency
# fails the build, not the daemon at load time).
include_guard(GLOBAL)

set(SWITCHBOARD_PROVIDER_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/provider.map")

function(switchboard_add_provider name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES")
    if(NOT ARG_SOURCES)
        message(FATAL_ERROR "switchboard_add_provider(${name}): SOURCES is required")
    endif()
    add_library(${name} MODULE ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE SwitchboardSDK::sdk)
    set_target_properties(${name} PROPERTIES
        PREFIX ""
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON
        LINK_DEPENDS "${SWITCHBOARD_PROVIDER_VERSION_SCRIPT}")
    target_link_options(${name} PRIVATE
        "LINKER:--version-script=${SWITCHBOARD_PROVIDER_VERSION_SCRIPT}"
        "LINKER:--no-undefined")
endfunction()
