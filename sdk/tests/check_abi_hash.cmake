# cmake -DHEADER=provider.h -DHASHES=abi_hashes.txt -DFROZEN=<frozen 1.0 copy> -P check_abi_hash.cmake
# Fails when provider.h differs from the hash recorded for the version it declares.
file(STRINGS ${HEADER} lines REGEX "#define SB_ABI_VERSION_(MAJOR|MINOR) ")
string(REGEX REPLACE ".*MAJOR ([0-9]+).*" "\\1" major "${lines}")
string(REGEX REPLACE ".*MINOR ([0-9]+).*" "\\1" minor "${lines}")
set(version "${major}.${minor}")
file(SHA256 ${HEADER} actual)

file(STRINGS ${HASHES} recorded REGEX "^[0-9]+\\.[0-9]+ [0-9a-f]+$")
set(expected "")
foreach(line IN LISTS recorded)
    if(line MATCHES "^${major}\\.${minor} ([0-9a-f]+)$")
        set(expected ${CMAKE_MATCH_1})
    endif()
endforeach()

if(expected STREQUAL "")
    message(FATAL_ERROR "ABI ${version} has no recorded hash. If this version is new, add the line\n"
                        "  ${version} ${actual}\nto ${HASHES}.")
endif()
if(NOT actual STREQUAL expected)
    message(FATAL_ERROR "provider.h changed but still declares ABI ${version} (recorded ${expected}, "
                        "now ${actual}). Bump SB_ABI_VERSION_MINOR for a change appended at the end of a "
                        "struct or a new function, SB_ABI_VERSION_MAJOR for anything else; then record the "
                        "new version's hash in ${HASHES}.")
endif()

# The frozen 1.0 header the fixture plugins build against must be 1.0 exactly.
file(STRINGS ${HASHES} frozen_line REGEX "^1\\.0 ")
string(REGEX REPLACE "^1\\.0 " "" frozen_expected "${frozen_line}")
file(SHA256 ${FROZEN} frozen_actual)
if(NOT frozen_actual STREQUAL frozen_expected)
    message(FATAL_ERROR "${FROZEN} is not the ABI 1.0 header it claims to be: restore it from the 1.0 release")
endif()
message(STATUS "provider.h matches the recorded hash of ABI ${version}")
