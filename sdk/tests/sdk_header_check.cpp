// Compiled as C++17 with -Wall -Wextra -pedantic -Werror by the sdk_headers_* test: the SDK's
// C++ layer must build cleanly for plugin authors on C++17.
#include <switchboard/sdk.hpp>
#include <switchboard/sdk/harness.hpp>   // for plugins' own tests, not in sdk.hpp

int main() { return switchboard::sdk::hex("\x01").size() == 2 ? 0 : 1; }
