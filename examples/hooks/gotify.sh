#!/bin/sh
# A ksapp hook that posts the event to a Gotify server:
#   - { on: [tunnel-down, tunnel-up], run: [/usr/local/bin/ksapp-gotify, https://gotify.example.net, APP-TOKEN], user: nobody }
set -eu
server=${1:?usage: gotify.sh SERVER-URL APP-TOKEN}
token=${2:?usage: gotify.sh SERVER-URL APP-TOKEN}
exec curl -fsS --max-time 8 "$server/message?token=$token" \
  -F "title=ksapp: ${KSAPP_EVENT_TYPE}${KSAPP_EVENT_APP:+ ($KSAPP_EVENT_APP)}" \
  -F "message=${KSAPP_EVENT_DETAIL:-$KSAPP_EVENT_TYPE}" -F "priority=8"
