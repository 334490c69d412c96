#!/bin/sh
# A ksapp hook that mails the event through the local MTA (sendmail, e.g. from msmtp-mta or postfix):
#   - { on: [tunnel-down, app-killed], run: [/usr/local/bin/ksapp-mail, you@example.org], user: nobody }
set -eu
to=${1:?usage: mail.sh ADDRESS}
{
  printf 'To: %s\nSubject: ksapp: %s%s\nContent-Type: text/plain; charset=utf-8\n\n' "$to" "$KSAPP_EVENT_TYPE" "${KSAPP_EVENT_APP:+ ($KSAPP_EVENT_APP)}"
  printf '%s\n\nThe whole event:\n' "${KSAPP_EVENT_DETAIL:-}"
  cat
} | exec /usr/sbin/sendmail -t
