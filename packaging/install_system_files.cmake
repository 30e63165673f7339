# Installs the systemd unit and the example configuration. Included at installation time (from
# cmake_install.cmake, by `cmake --install` and by CPack), because where these go and what the
# unit names depend on the prefix actually installed to, which `cmake --install --prefix` and CPack
# (always /usr) choose after configuration. Expects, set by packaging/CMakeLists.txt:
#   SWITCHBOARD_PACKAGING_DIR   this folder
#   SWITCHBOARD_STAGING_DIR     a folder of the build tree for the configured unit
#   SWITCHBOARD_BINDIR          CMAKE_INSTALL_BINDIR, SWITCHBOARD_SYSCONFDIR CMAKE_INSTALL_SYSCONFDIR
#
# The configuration directory follows GNUInstallDirs' rule for CMAKE_INSTALL_FULL_SYSCONFDIR:
# /etc for the prefix /usr (the package), /etc/opt/... for /opt/..., <prefix>/etc otherwise.
# The unit goes to <prefix>/lib/systemd/system (/usr/lib/systemd/system for the package;
# systemd also reads /usr/local/lib/systemd/system).

set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "(.)/+$" "\\1" prefix "${prefix}")

function(switchboard_absolute out dir)
    if(IS_ABSOLUTE "${dir}")
        set(${out} "${dir}" PARENT_SCOPE)
    elseif(dir STREQUAL "etc" AND prefix STREQUAL "/usr")
        set(${out} "/etc" PARENT_SCOPE)
    elseif(dir STREQUAL "etc" AND prefix MATCHES "^/opt/")
        set(${out} "/etc${prefix}" PARENT_SCOPE)
    else()
        set(${out} "${prefix}/${dir}" PARENT_SCOPE)
    endif()
endfunction()
switchboard_absolute(bindir "${SWITCHBOARD_BINDIR}")
switchboard_absolute(sysconfdir "${SWITCHBOARD_SYSCONFDIR}")
set(SWITCHBOARD_BINARY "${bindir}/switchboard")
set(SWITCHBOARD_CONFIG_DIR "${sysconfdir}/switchboard")

# The unit, with this installation's paths.
# (One staged copy per destination, so that installations to several places never share one.)
string(MD5 tag "$ENV{DESTDIR}${prefix}")
set(staged "${SWITCHBOARD_STAGING_DIR}/${tag}/switchboard.service")
configure_file("${SWITCHBOARD_PACKAGING_DIR}/switchboard.service.in" "${staged}" @ONLY)
file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE FILES "${staged}")

# The configuration and the environment file's template. An operator's edited switchboard.json is
# never overwritten by a later `cmake --install`: the new example goes beside it as
# switchboard.json.new. (The .deb marks both files as conffiles, so dpkg asks instead.)
set(config_dir "$ENV{DESTDIR}${SWITCHBOARD_CONFIG_DIR}")
if(EXISTS "${config_dir}/switchboard.json")
    file(SHA256 "${config_dir}/switchboard.json" installed_hash)
    file(SHA256 "${SWITCHBOARD_PACKAGING_DIR}/switchboard.json" new_hash)
    if(NOT installed_hash STREQUAL new_hash)
        message(STATUS "Keeping: ${config_dir}/switchboard.json (changed locally); the example is switchboard.json.new")
        file(INSTALL DESTINATION "${SWITCHBOARD_CONFIG_DIR}" TYPE FILE
             FILES "${SWITCHBOARD_PACKAGING_DIR}/switchboard.json" RENAME switchboard.json.new)
        set(keep_config TRUE)
    endif()
endif()
if(NOT keep_config)
    file(INSTALL DESTINATION "${SWITCHBOARD_CONFIG_DIR}" TYPE FILE FILES "${SWITCHBOARD_PACKAGING_DIR}/switchboard.json")
endif()
file(INSTALL DESTINATION "${SWITCHBOARD_CONFIG_DIR}" TYPE FILE FILES "${SWITCHBOARD_PACKAGING_DIR}/environment.example")
