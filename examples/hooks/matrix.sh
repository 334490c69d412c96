#!/bin/sh
# A ksapp hook that sends the event to a Matrix room (a bot account's access token; the room it has joined):
#   - { on: [tunnel-down, app-frozen], run: [/usr/local/bin/ksapp-matrix, https://matrix.example.org, '!room:example.org', TOKEN], user: nobody }
# The message body is built from the event JSON on stdin with jq (apt-get install jq curl).
set -eu
server=${1:?usage: matrix.sh HOMESERVER ROOM-ID ACCESS-TOKEN}
room=${2:?usage: matrix.sh HOMESERVER ROOM-ID ACCESS-TOKEN}
token=${3:?usage: matrix.sh HOMESERVER ROOM-ID ACCESS-TOKEN}
body=$(jq -c '{msgtype: "m.text", body: ("ksapp: " + .type + (if .app then " (" + .app + ")" else "" end) + ": " + (.detail // ""))}')
txn=$(date +%s%N)
exec curl -fsS --max-time 8 -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data "$body" "$server/_matrix/client/v3/rooms/$(printf %s "$room" | jq -sRr @uri)/send/m.room.message/$txn"
