#!/usr/bin/env bash
# Main job on the embedded default: install everything, start the local stack (S3 server,
# SQLite, worker), record two sample counters through file-source agents (played in real
# time), and print their transcripts and flags. The stack keeps running; Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
CW=.venv/bin/counterwatch
DATA=${COUNTERWATCH_DATA:-$PWD/counterwatch-data}
export COUNTERWATCH_DATA=$DATA

$CW up --data "$DATA" &
UP=$!
trap 'kill -INT $UP 2>/dev/null; wait $UP 2>/dev/null || true' EXIT
# Wait for the API to answer, not for a file: stack.json is written before the API listens
# (issue 18). Up to 180 s: a first start on a cold machine loads the speech model too.
api_url() { .venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' "$DATA/stack.json" 2>/dev/null; }
ready=
for _ in $(seq 360); do
  kill -0 $UP 2>/dev/null || { echo "the stack stopped while starting (see the messages above)" >&2; exit 1; }
  URL=$(api_url || true)
  if [ -n "$URL" ] && .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=2)' "$URL" 2>/dev/null; then
    ready=1; break
  fi
  sleep 0.5
done
[ -n "$ready" ] || { echo "the stack's API did not answer within 180 s" >&2; exit 1; }
echo "the stack is up: API $URL"

$CW counter add window-1 --channels staff,customer
$CW counter add window-2 --channels mono
echo "recording two counters from sample files (real time, about 20 s)..."
$CW record --counter window-1 --source ffmpeg:counterwatch/samples/counter-rude-stereo.flac &
A=$!
$CW record --counter window-2 --source ffmpeg:counterwatch/samples/counter-polite-mono.flac --channels 1
wait $A
$CW show --wait 120
PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
COUNTERWATCH_USER_PASSWORD=$PASSWORD $CW user add admin --role admin --password >/dev/null 2>&1
API=$URL
echo
echo "Web console: $API/   user admin, password $PASSWORD (set just now; change it with"
echo "  $CW user add admin --role admin --password)"
echo "Try: $CW search 办理   |   $CW flags --rule F-RUDE   |   $CW status"
echo "The stack keeps running (data in $DATA); Ctrl-C to stop it."
wait $UP
