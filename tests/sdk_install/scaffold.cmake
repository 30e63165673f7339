# What a third-party author does: installs the SDK into a fresh prefix, has `switchboard plugins
# new` write a project, builds it out of tree with find_package(SwitchboardSDK), and runs its own
# tests: the harness's unit test and `switchboard plugins check`. Prints the time it all took.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DSWITCHBOARD=... -DLAUNCHER=... -P scaffold.cmake
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

include(${CMAKE_CURRENT_LIST_DIR}/run.cmake)

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component sdk)
string(TIMESTAMP started "%s")
run(${SWITCHBOARD} plugins new demo-sms --dir ${WORK_DIR})
set(project ${WORK_DIR}/demo-sms)
set(launcher "")
if(LAUNCHER)
    set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run(${CMAKE_COMMAND} -S ${project} -B ${project}/build -G Ninja -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${prefix} -DSWITCHBOARD_PROGRAM=${SWITCHBOARD} ${launcher})
run(${CMAKE_COMMAND} --build ${project}/build)
run(${CMAKE_CTEST_COMMAND} --test-dir ${project}/build --output-on-failure)
if(NOT run_output MATCHES "100% tests passed, 0 tests failed out of 2")
    message(FATAL_ERROR "the generated project's two tests (unit, conformance) did not both run and pass:\n${run_output}")
endif()
string(TIMESTAMP finished "%s")
math(EXPR seconds "${finished} - ${started}")
message(STATUS "plugins new -> built -> unit test and plugins check passed: ${seconds} s")

# A second `plugins new` into the same place refuses, and leaves the project as it was.
execute_process(COMMAND ${SWITCHBOARD} plugins new demo-sms --dir ${WORK_DIR} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "exists and is not empty")
    message(FATAL_ERROR "plugins new over an existing project must refuse, got ${rc}: ${err}")
endif()
