#!/usr/bin/env bash
# Writes the seed corpus fuzz/seeds/: one valid packet of each of the 14 types (the golden vectors of
# tests/unit/protocol, written by hand from the standard), plus a few streams. Re-run after editing;
# the files are committed so that fuzzing needs no generation step.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p seeds

seed() {  # seed NAME "HEX BYTES"
  local hex=${2// /}
  printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')" > "seeds/$1.bin"
}

seed 01_connect_minimal      "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 61 62"
seed 01_connect_full         "10 1E 00 04 4D 51 54 54 04 EC 00 0A 00 01 63 00 03 77 2F 74 00 03 62 79 65 00 01 75 00 02 70 00"
seed 02_connack              "20 02 01 00"
seed 03_publish_qos0         "30 07 00 03 61 2F 62 68 69"
seed 03_publish_qos1         "3B 08 00 03 61 2F 62 12 34 78"
seed 03_publish_qos2         "34 05 00 01 74 FF FF"
seed 04_puback               "40 02 12 34"
seed 05_pubrec               "50 02 00 01"
seed 06_pubrel               "62 02 FF FF"
seed 07_pubcomp              "70 02 AB CD"
seed 08_subscribe            "82 0C 00 0A 00 03 61 2F 2B 01 00 01 23 02"
seed 09_suback               "90 05 00 0A 01 02 80"
seed 10_unsubscribe          "A2 0A 00 0B 00 03 61 2F 2B 00 01 23"
seed 11_unsuback             "B0 02 00 0B"
seed 12_pingreq              "C0 00"
seed 13_pingresp             "D0 00"
seed 14_disconnect           "E0 00"
# A server's side of a session: CONNACK, SUBACK, a QoS 1 and a QoS 2 PUBLISH, PUBREL, PINGRESP.
seed 20_server_stream        "20 02 00 00 90 03 00 01 01 32 09 00 03 61 2F 62 00 02 68 69 34 08 00 03 61 2F 62 00 03 78 62 02 00 03 D0 00"
# A PUBLISH with a 200-byte payload (2-byte remaining length), then a PUBACK.
seed 21_large_publish        "32 CD 01 00 01 74 00 05 $(printf '70%.0s' $(seq 200)) 40 02 00 05"
# MQTT 5.0 (the decoder target runs every input at both levels): properties, reason codes, AUTH.
seed 30_v5_connect           "10 0F 00 04 4D 51 54 54 05 02 00 3C 00 00 02 61 62"
seed 31_v5_connack_props     "20 13 00 00 10 21 00 0A 22 00 05 27 00 00 10 00 12 00 02 69 64"
seed 32_v5_publish_props     "32 16 00 03 61 2F 62 00 01 0C 23 00 01 01 01 26 00 01 6B 00 01 76 68 69"
seed 33_v5_puback_reason     "40 09 00 01 10 05 1F 00 02 6F 6B"
seed 34_v5_pubrec_refused    "50 03 00 02 80"
seed 35_v5_suback            "90 04 00 01 00 01"
seed 36_v5_unsuback          "B0 04 00 01 00 11"
seed 37_v5_disconnect        "E0 08 8B 06 1F 00 03 62 79 65"
seed 38_v5_auth              "F0 0A 18 08 15 00 05 53 43 52 41 4D"
seed 39_v5_subscribe_options "82 0B 00 0A 02 0B 01 00 03 61 2F 2B 2D"
# A 5.0 server's side: CONNACK, SUBACK, a QoS 2 PUBLISH, PUBREL, DISCONNECT.
seed 40_v5_server_stream     "20 03 00 00 00 90 04 00 01 00 01 34 09 00 03 61 2F 62 00 03 00 78 62 02 00 03 E0 00"
