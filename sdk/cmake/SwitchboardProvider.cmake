# switchboard_add_provider(<name> SOURCES <file>...)
#
# Builds a provider plugin: a MODULE library named <name>.so that links the SDK (the C++ helper
# layer, or in a project without C++ the C ABI header alone), hides every
# symbol but the entry point, and refuses undefined symbols at link time (so a missing dependency
# fails the build, not the daemon at load time).
include_guard(GLOBAL)
if(CMAKE_VERSION VERSION_LESS 3.17)
    message(FATAL_ERROR "switchboard_add_provider needs CMake 3.17 or newer (found ${CMAKE_VERSION})")
endif()

function(switchboard_add_provider name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES")
    if(NOT ARG_SOURCES)
        message(FATAL_ERROR "switchboard_add_provider(${name}): SOURCES is required")
    endif()
    # The script sits beside this file, in the source tree and in an installed SDK alike.
    set(version_script "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/provider.map")
    add_library(${name} MODULE ${ARG_SOURCES})
    get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
    if("CXX" IN_LIST languages)
        target_link_libraries(${name} PRIVATE SwitchboardSDK::sdk)
    else()
        target_link_libraries(${name} PRIVATE SwitchboardSDK::abi)
    endif()
    set_target_properties(${name} PROPERTIES
        PREFIX ""
        C_VISIBILITY_PRESET hidden
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON
        LINK_DEPENDS "${version_script}")
    target_link_options(${name} PRIVATE "LINKER:--version-script=${version_script}")
    # With clang's sanitizers or libFuzzer (this project's own checks), the runtime comes with the
    # program that loads the plugin: the plugin's references to it are undefined until then.
    if(NOT (CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND (SWITCHBOARD_SANITIZE OR SWITCHBOARD_FUZZ)))
        target_link_options(${name} PRIVATE "LINKER:--no-undefined")
    endif()
endfunction()
