// Everything a plugin author needs, in one include.
#pragma once

#include <switchboard/provider.h>
#include <switchboard/sdk/batches_in_flight.hpp>
#include <switchboard/sdk/clock.hpp>
#include <switchboard/sdk/crypto.hpp>
#include <switchboard/sdk/encoding.hpp>
#include <switchboard/sdk/endpoint.hpp>
#include <switchboard/sdk/error.hpp>
#include <switchboard/sdk/form.hpp>
#include <switchboard/sdk/http_status.hpp>
#include <switchboard/sdk/json.hpp>
#include <switchboard/sdk/messages.hpp>
#include <switchboard/sdk/provider.hpp>
#include <switchboard/sdk/settings.hpp>
#include <switchboard/sdk/template_text.hpp>
#include <switchboard/sdk/text.hpp>
