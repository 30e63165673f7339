# Installs the SDK into a fresh prefix, builds the installed webhook example as a separate CMake
# project with find_package(SwitchboardSDK), and checks that the host loads the result and that
# the plugin exports exactly one symbol.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DSWITCHBOARD=... -DNM=... -DLAUNCHER=... -P build_example.cmake
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    set(run_output "${out}" PARENT_SCOPE)
endfunction()

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

set(plugin ${WORK_DIR}/build/webhook.so)
run(${SWITCHBOARD} plugins inspect ${plugin} --json)
if(NOT run_output MATCHES "\"name\":\"webhook\"")
    message(FATAL_ERROR "the separately built plugin's manifest is not the webhook's:\n${run_output}")
endif()

run(${NM} -D --defined-only ${plugin})
string(REGEX MATCHALL "[^\n]+" symbols "${run_output}")
list(LENGTH symbols count)
if(NOT count EQUAL 1 OR NOT run_output MATCHES " T switchboard_provider_entry\n")
    message(FATAL_ERROR "the plugin must export exactly switchboard_provider_entry, it exports:\n${run_output}")
endif()
message(STATUS "built ${plugin} against the installed SDK; it loads and exports one symbol")
