// Umbrella header: the whole public API of libnmqtt.
#pragma once

#include "nmqtt/client.hpp"
#include "nmqtt/error.hpp"
#include "nmqtt/options.hpp"
#include "nmqtt/protocol/decode.hpp"
#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/packets.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/protocol/topic.hpp"
#include "nmqtt/result.hpp"
#include "nmqtt/session/session.hpp"
#include "nmqtt/types.hpp"
