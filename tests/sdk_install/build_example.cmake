# Installs the SDK into a fresh prefix, builds the installed webhook example (C++) and a plugin in
# C alone (C_PLUGIN_SOURCE, in a project(... C)) as separate CMake projects with
# find_package(SwitchboardSDK), and checks that the host loads each and that each exports exactly
# one symbol.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DSWITCHBOARD=... -DNM=... -DLAUNCHER=... -DC_PLUGIN_SOURCE=... -P build_example.cmake
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component sdk)
set(example ${prefix}/share/switchboard/sdk-examples/webhook)
if(NOT EXISTS ${example}/CMakeLists.txt)
    message(FATAL_ERROR "the SDK installation has no example at ${example}")
endif()

set(launcher "")
if(LAUNCHER)
    set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run(${CMAKE_COMMAND} -S ${example} -B ${WORK_DIR}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_STANDARD=17 ${launcher})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)

# The host loads it as the daemon would, and it exports nothing but the entry point.
function(check_plugin plugin name)
    run(${SWITCHBOARD} plugins inspect ${plugin} --json)
    if(NOT run_output MATCHES "\"name\": *\"${name}\"")
        message(FATAL_ERROR "the separately built plugin's manifest is not ${name}'s:\n${run_output}")
    endif()
    run(${NM} -D --defined-only ${plugin})
    string(REGEX MATCHALL "[^\n]+" symbols "${run_output}")
    list(LENGTH symbols count)
    if(NOT count EQUAL 1 OR NOT run_output MATCHES " T switchboard_provider_entry\n")
        message(FATAL_ERROR "${plugin} must export exactly switchboard_provider_entry, it exports:\n${run_output}")
    endif()
    message(STATUS "built ${plugin} against the installed SDK; it loads and exports one symbol")
endfunction()
check_plugin(${WORK_DIR}/build/webhook.so webhook)

# A plugin in C alone: the package must not need a C++ compiler, Boost or OpenSSL for it.
set(c_project ${WORK_DIR}/c-plugin)
file(WRITE ${c_project}/CMakeLists.txt "cmake_minimum_required(VERSION 3.18)
project(c_plugin C)
find_package(SwitchboardSDK REQUIRED)
switchboard_add_provider(fixture_ok SOURCES ${C_PLUGIN_SOURCE})
")
set(c_launcher "")
if(LAUNCHER)
    set(c_launcher -DCMAKE_C_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run(${CMAKE_COMMAND} -S ${c_project} -B ${WORK_DIR}/c-build -G Ninja -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix} ${c_launcher})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/c-build)
check_plugin(${WORK_DIR}/c-build/fixture_ok.so fixture_ok)
