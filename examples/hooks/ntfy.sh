#!/bin/sh
# A ksapp hook that posts the event to an ntfy topic. In /etc/ksapp/config.yaml:
#   hooks:
#     - { on: [tunnel-down, tunnel-up, app-frozen, app-killed], run: [/usr/local/bin/ksapp-ntfy, https://ntfy.sh/my-topic], user: nobody }
# The event arrives as one JSON object on stdin and in KSAPP_EVENT_* variables.
set -eu
url=${1:?usage: ntfy.sh TOPIC-URL}
title="ksapp: ${KSAPP_EVENT_TYPE}${KSAPP_EVENT_APP:+ ($KSAPP_EVENT_APP)}"
case "$KSAPP_EVENT_TYPE" in tunnel-down|app-frozen|app-killed|app-blocked) prio=high ;; *) prio=default ;; esac
exec curl -fsS --max-time 8 -H "Title: $title" -H "Priority: $prio" -d "${KSAPP_EVENT_DETAIL:-$KSAPP_EVENT_TYPE}" "$url"
