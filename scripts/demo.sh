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
for _ in $(seq 60); do [ -f "$DATA/stack.json" ] && break; sleep 0.5; done
[ -f "$DATA/stack.json" ] || { echo "the stack did not start" >&2; exit 1; }

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
API=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' "$DATA/stack.json")
echo
echo "Web console: $API/   user admin, password $PASSWORD (set just now; change it with"
echo "  $CW user add admin --role admin --password)"
echo "Try: $CW search 办理   |   $CW flags --rule F-RUDE   |   $CW status"
echo "The stack keeps running (data in $DATA); Ctrl-C to stop it."
wait $UP
