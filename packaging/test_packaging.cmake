# Checks the installation and the Debian packages of a built tree:
#  1. `cmake --install` with DESTDIR and the prefix /usr (the packages' layout) puts the binary, the
#     five plugins, the SDK with its CMake package, the systemd unit and the example configuration
#     where they belong, and nothing anywhere else; the installed binary lists the installed
#     plugins, and `config check` accepts the installed example configuration with the variables
#     of the installed environment.example;
#  2. an installation into another prefix names that prefix in its unit, and a second one keeps an
#     edited configuration;
#  3. cpack builds switchboard and switchboard-dev .deb files with the expected control fields
#     (Depends computed, conffiles, maintainer scripts) and contents, and the unpacked package runs.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DCPACK=... -DDPKG_DEB=... -DVERSION=...
#         -P test_packaging.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\nstdout:\n${out}\nstderr:\n${err}")
    endif()
    set(run_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_files root)
    foreach(file IN LISTS ARGN)
        if(NOT EXISTS ${root}/${file})
            message(FATAL_ERROR "missing from the installation in ${root}: ${file}")
        endif()
    endforeach()
endfunction()

function(expect_match what text regex)
    if(NOT text MATCHES "${regex}")
        message(FATAL_ERROR "${what} does not match '${regex}':\n${text}")
    endif()
endfunction()

function(expect_unit unit bindir configdir)
    file(READ ${unit} text)
    foreach(line IN ITEMS
            "ExecStart=${bindir}/switchboard serve --config ${configdir}/switchboard.json"
            "EnvironmentFile=-${configdir}/environment"
            "User=switchboard" "StateDirectory=switchboard" "KillSignal=SIGTERM"
            "ProtectSystem=strict" "WantedBy=multi-user.target")
        string(FIND "${text}" "\n${line}\n" found)
        if(found EQUAL -1)
            message(FATAL_ERROR "${unit} has no line '${line}':\n${text}")
        endif()
    endforeach()
    if(text MATCHES "@[A-Z_]+@")
        message(FATAL_ERROR "${unit} has a placeholder left: ${CMAKE_MATCH_0}")
    endif()
endfunction()

set(plugins cams smn uspeedo vms webhook)
set(server_files usr/bin/switchboard usr/lib/systemd/system/switchboard.service
    etc/switchboard/switchboard.json etc/switchboard/environment.example)
foreach(plugin IN LISTS plugins)
    list(APPEND server_files usr/lib/switchboard/plugins/${plugin}.so)
endforeach()
set(sdk_files usr/include/switchboard/provider.h usr/include/switchboard/sdk/provider.hpp
    usr/lib/cmake/SwitchboardSDK/SwitchboardSDKConfig.cmake
    usr/lib/cmake/SwitchboardSDK/SwitchboardSDKConfigVersion.cmake
    usr/lib/cmake/SwitchboardSDK/SwitchboardSDKTargets.cmake
    usr/share/switchboard/sdk-examples/webhook/CMakeLists.txt
    usr/share/switchboard/sdk-examples/README.md)

# Every plugin listed, each from <plugin_dir>; the list succeeds.
function(expect_plugins_listed binary plugin_dir)
    run(${binary} plugins list)
    foreach(plugin IN LISTS plugins)
        expect_match("plugins list" "${run_output}" "(^|\n)${plugin} +[0-9]")
        string(FIND "${run_output}" "${plugin_dir}/${plugin}.so\n" found)
        if(found EQUAL -1)
            message(FATAL_ERROR "plugins list does not show ${plugin_dir}/${plugin}.so:\n${run_output}")
        endif()
    endforeach()
endfunction()

# `config check` on <config> with the variables of <environment_file>; no secret may be shown. The
# store's directory is the one the package's state directory gives (/var/lib/switchboard), here made
# under <state_root> instead, as config check requires it to exist.
function(expect_config_ok binary config environment_file state_root)
    file(STRINGS ${environment_file} lines REGEX "^[A-Z_][A-Z0-9_]*=")
    list(LENGTH lines count)
    if(count LESS 4)
        message(FATAL_ERROR "${environment_file} defines ${count} variable(s), expected 4:\n${lines}")
    endif()
    file(MAKE_DIRECTORY ${state_root}/var/lib/switchboard)
    file(READ ${config} text)
    string(REPLACE "\"/var/lib/switchboard/" "\"${state_root}/var/lib/switchboard/" text "${text}")
    get_filename_component(checked ${config} DIRECTORY)
    set(checked ${checked}/checked-switchboard.json)
    file(WRITE ${checked} "${text}")
    run(${CMAKE_COMMAND} -E env ${lines} ${binary} config check ${checked})
    file(REMOVE ${checked})
    expect_match("config check ${config}" "${run_output}"
        "switchboard\\.json: ok: 2 provider\\(s\\), 2 route\\(s\\), listening on 127\\.0\\.0\\.1:8080, store ${state_root}/var/lib/switchboard/switchboard\\.db\n")
    foreach(line IN LISTS lines)
        string(REGEX REPLACE "^[^=]*=" "" value "${line}")
        string(FIND "${run_output}" "${value}" found)
        if(NOT found EQUAL -1)
            message(FATAL_ERROR "config check shows the secret '${value}':\n${run_output}")
        endif()
    endforeach()
endfunction()

# ---- 1. cmake --install with DESTDIR and the prefix /usr ------------------------------------------
set(root ${WORK_DIR}/root)
run(${CMAKE_COMMAND} -E env DESTDIR=${root} ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix /usr)
expect_files(${root} ${server_files} ${sdk_files})
expect_unit(${root}/usr/lib/systemd/system/switchboard.service /usr/bin /etc/switchboard)

# Nothing else: no simulator, test program or fixture, nothing outside these folders.
file(GLOB_RECURSE installed RELATIVE ${root} ${root}/*)
foreach(file IN LISTS installed)
    if(NOT file MATCHES "^(usr/bin/switchboard|usr/lib/switchboard/plugins/[a-z]+\\.so|usr/lib/systemd/system/switchboard\\.service|etc/switchboard/[a-z.]+|usr/include/switchboard/.*|usr/lib/cmake/SwitchboardSDK/.*|usr/share/switchboard/.*|usr/share/doc/switchboard/.*)$")
        message(FATAL_ERROR "the installation has an unexpected file: ${file}")
    endif()
endforeach()

expect_plugins_listed(${root}/usr/bin/switchboard ${root}/usr/lib/switchboard/plugins)
expect_config_ok(${root}/usr/bin/switchboard ${root}/etc/switchboard/switchboard.json
                 ${root}/etc/switchboard/environment.example ${WORK_DIR}/state)
message(STATUS "cmake --install: every file in place; the installed binary loads the installed plugins and accepts the example configuration")

# ---- 2. another prefix; an edited configuration survives a reinstallation ------------------------
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component runtime)
expect_files(${prefix} bin/switchboard lib/systemd/system/switchboard.service
    etc/switchboard/switchboard.json etc/switchboard/environment.example)
expect_unit(${prefix}/lib/systemd/system/switchboard.service ${prefix}/bin ${prefix}/etc/switchboard)
file(APPEND ${prefix}/etc/switchboard/switchboard.json "// edited by the operator\n")
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component runtime)
file(READ ${prefix}/etc/switchboard/switchboard.json edited)
expect_match("the edited configuration after a second installation" "${edited}" "// edited by the operator\n$")
expect_files(${prefix} etc/switchboard/switchboard.json.new)

# ---- 3. the Debian packages ------------------------------------------------------------------------
string(TIMESTAMP started "%s")
run(${CPACK} --config ${BUILD_DIR}/CPackConfig.cmake -B ${WORK_DIR}/packages)
string(TIMESTAMP finished "%s")
math(EXPR seconds "${finished} - ${started}")
message(STATUS "cpack: ${seconds} s")

file(GLOB server_deb ${WORK_DIR}/packages/switchboard_${VERSION}-1_*.deb)
file(GLOB dev_deb ${WORK_DIR}/packages/switchboard-dev_${VERSION}-1_all.deb)
file(GLOB all_debs ${WORK_DIR}/packages/*.deb)
list(LENGTH server_deb n_server)
list(LENGTH dev_deb n_dev)
list(LENGTH all_debs n_all)
if(NOT n_server EQUAL 1 OR NOT n_dev EQUAL 1 OR NOT n_all EQUAL 2)
    message(FATAL_ERROR "expected switchboard_${VERSION}-1_<arch>.deb and switchboard-dev_${VERSION}-1_all.deb, cpack made: ${all_debs}")
endif()

function(expect_field deb field regex)
    run(${DPKG_DEB} --field ${deb} ${field})
    expect_match("${field} of ${deb}" "${run_output}" "${regex}")
endfunction()

# switchboard: the control fields and files.
expect_field(${server_deb} Package "^switchboard\n$")
expect_field(${server_deb} Version "^${VERSION}-1\n$")
expect_field(${server_deb} Maintainer "^[^\n]+ <[^\n]+@[^\n]+>\n$")
expect_field(${server_deb} Description "^[^\n]+\n [^\n]+")
# (dpkg-shlibdeps may name a virtual package the library's package provides, such as
# libphonenumber8-protobuf32 or libspdlog1.10-fmt9.)
foreach(dependency IN ITEMS adduser libc6 libstdc\\+\\+6 libphonenumber8 libboost-json1\\.81\\.0
        libboost-url1\\.81\\.0 libspdlog1\\.10 libfmt9 libsqlite3-0 libssl3)
    expect_field(${server_deb} Depends "(^|, )${dependency}(-[a-z0-9.]+)?( \\(|,|\n)")
endforeach()
run(${DPKG_DEB} --info ${server_deb})
foreach(member IN ITEMS conffiles postinst prerm postrm md5sums)
    expect_match("dpkg-deb --info ${server_deb}" "${run_output}" " lines +(\\* +)?${member}[ \n]")
endforeach()
run(${DPKG_DEB} --info ${server_deb} conffiles)
if(NOT run_output STREQUAL "/etc/switchboard/switchboard.json\n/etc/switchboard/environment.example\n")
    message(FATAL_ERROR "the conffiles of ${server_deb} are:\n${run_output}")
endif()
run(${DPKG_DEB} --contents ${server_deb})
set(listing "${run_output}")
foreach(file IN LISTS server_files)
    string(FIND "${listing}" " ./${file}\n" found)
    if(found EQUAL -1)
        message(FATAL_ERROR "${server_deb} has no ./${file}:\n${listing}")
    endif()
endforeach()
if(listing MATCHES " \\./usr/include/")
    message(FATAL_ERROR "${server_deb} holds the SDK's headers, which belong in switchboard-dev:\n${listing}")
endif()
expect_match("the contents of ${server_deb}" "${listing}" " root/root +[0-9]+ [^\n]* \\./usr/bin/switchboard\n")

# The unpacked package: its unit names /usr and /etc, and its stripped binary loads its plugins.
set(unpacked ${WORK_DIR}/unpacked)
run(${DPKG_DEB} --extract ${server_deb} ${unpacked})
expect_unit(${unpacked}/usr/lib/systemd/system/switchboard.service /usr/bin /etc/switchboard)
expect_plugins_listed(${unpacked}/usr/bin/switchboard ${unpacked}/usr/lib/switchboard/plugins)
expect_config_ok(${unpacked}/usr/bin/switchboard ${unpacked}/etc/switchboard/switchboard.json
                 ${unpacked}/etc/switchboard/environment.example ${WORK_DIR}/state)
file(SIZE ${unpacked}/usr/bin/switchboard size)
if(size GREATER 30000000)
    message(FATAL_ERROR "the packaged binary has ${size} bytes: not stripped?")
endif()

# switchboard-dev: the SDK only.
expect_field(${dev_deb} Package "^switchboard-dev\n$")
expect_field(${dev_deb} Architecture "^all\n$")
expect_field(${dev_deb} Description "^SDK for Switchboard provider plugins\n ")
expect_field(${dev_deb} Depends "libboost-json1\\.81-dev")
run(${DPKG_DEB} --contents ${dev_deb})
set(listing "${run_output}")
foreach(file IN LISTS sdk_files)
    string(FIND "${listing}" " ./${file}\n" found)
    if(found EQUAL -1)
        message(FATAL_ERROR "${dev_deb} has no ./${file}:\n${listing}")
    endif()
endforeach()
if(listing MATCHES " \\./(usr/bin|etc)/")
    message(FATAL_ERROR "${dev_deb} holds more than the SDK:\n${listing}")
endif()
message(STATUS "the packages: ${server_deb} ${dev_deb}")
