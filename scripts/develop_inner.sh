#!/usr/bin/env bash
# Runs inside the project's environment (see scripts/develop): simulator + Home Assistant + setup.
# Every stop is bounded: Home Assistant is asked through its API (--check) or sent SIGTERM, then
# SIGKILL after a grace period; the simulator gets SIGTERM (it withdraws its advert), then SIGKILL.
set -euo pipefail
CHECK=""
[[ "${1:-}" == "--check" ]] && CHECK="--check"
CONFIG="$PWD/.cache/develop-config"
PORT=5020              # the simulator's Modbus port; its control port is PORT + 1000
LMS_PORT=6001          # the simulated library management system (SIP2)
HTTP_PORT=8123         # Home Assistant (scripts/develop_setup.py HTTP_PORT)
mkdir -p "$CONFIG/custom_components"
ln -sfn "$PWD/custom_components/smart_library" "$CONFIG/custom_components/smart_library"
ln -sfn "$PWD/dashboards" "$CONFIG/dashboards"
# The shipped blueprints, where Home Assistant looks for them: copied afresh on every start (a
# copy, not a link, so an import or an edit in the UI never writes into the checkout).
rm -f "$CONFIG/blueprints_smart_library" # an older link, never read by Home Assistant
rm -rf "$CONFIG/blueprints/automation/smart_library"
mkdir -p "$CONFIG/blueprints/automation"
cp -R "$PWD/blueprints/automation/smart_library" "$CONFIG/blueprints/automation/smart_library"
touch "$CONFIG/automations.yaml" "$CONFIG/scripts.yaml"
cat >"$CONFIG/configuration.yaml" <<YAML
# Written by scripts/develop on every start.
homeassistant:
  name: Smart Library demo
frontend:
config:
api:
history:
logbook:
zeroconf:
mobile_app:
automation: !include automations.yaml
script: !include scripts.yaml
lovelace:
  dashboards:
    smart-library:
      mode: yaml
      filename: dashboards/facilities.yaml
      title: Smart Library
      icon: mdi:bookshelf
      show_in_sidebar: true
logger:
  default: warning
  logs:
    custom_components.smart_library: info
YAML

# Whether a child is still running (an ended child that is not yet reaped is a zombie: ended).
alive() {
  local stat
  [[ -r "/proc/$1/stat" ]] || return 1
  read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

# Wait up to $2 seconds for child $1 to end; true if it did.
ended_within() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
  ! alive "$1"
}

now_ms() { local t=$EPOCHREALTIME; echo $((${t/./} / 1000)); }
seconds_since() { local ms=$(($(now_ms) - $1)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

# Stop child $1 (named $2): give it $3 seconds to end by itself (0: none), then SIGTERM and 10 s,
# then SIGKILL. Always returns, within $3 + 20 seconds.
stop_process() {
  local pid=$1 name=$2 grace=$3 signal
  if ((grace == 0)) || ! ended_within "$pid" "$grace"; then
    for signal in TERM KILL; do
      alive "$pid" || break
      ((grace == 0)) && [[ $signal == TERM ]] || echo "$name had not stopped: SIG$signal" >&2
      kill -s "$signal" "$pid" 2>/dev/null || true
      ended_within "$pid" 10 && break
    done
  fi
  wait "$pid" 2>/dev/null || true
}

SIM_PID=""
LMS_PID=""
HASS_PID=""
cleanup() {
  trap - EXIT
  [[ -n "$HASS_PID" ]] && stop_process "$HASS_PID" "Home Assistant" 0
  [[ -n "$SIM_PID" ]] && stop_process "$SIM_PID" "The simulator" 0
  [[ -n "$LMS_PID" ]] && stop_process "$LMS_PID" "The simulated LMS" 0
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! python -c 'import socket, sys
with socket.socket() as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))' "$HTTP_PORT" 2>/dev/null; then
  echo "Port $HTTP_PORT of 127.0.0.1 is in use: is another scripts/develop (or Home Assistant) running?" >&2
  exit 1
fi

python -m simulator --port "$PORT" --name "Demo Branch" --visitors-per-minute 2 --seed 1 \
  </dev/null >"$CONFIG/simulator.log" 2>&1 &
SIM_PID=$!
for ((i = 0; i < 300; i++)); do
  grep -qs "^Simulated branch" "$CONFIG/simulator.log" && break
  if ! alive "$SIM_PID"; then
    tail -1 "$CONFIG/simulator.log" >&2
    exit 1
  fi
  sleep 0.1
done

# The simulated library management system, for a library service on its LMS (optional: the
# demo service stays on the local store; without the LMS everything else still runs).
LMS_LINE="  Simulated LMS (SIP2): not running (port $LMS_PORT taken? see .cache/develop-config/lms.log)"
python -m simulator.lms --port "$LMS_PORT" </dev/null >"$CONFIG/lms.log" 2>&1 &
LMS_PID=$!
for ((i = 0; i < 100; i++)); do
  if grep -qs "^Simulated LMS" "$CONFIG/lms.log"; then
    LMS_LINE="  Simulated LMS (SIP2): 127.0.0.1:$LMS_PORT, login sip / sip-password, institution DEMO
    (add a library service with the backend 'Library management system over SIP2';
    its patrons: python -m simulator.lms --help; log: .cache/develop-config/lms.log)"
    break
  fi
  if ! alive "$LMS_PID"; then
    echo "The simulated LMS did not start: $(tail -1 "$CONFIG/lms.log")" >&2
    LMS_PID=""
    break
  fi
  sleep 0.1
done

# Home Assistant's HTTP port lives in its storage (an http: YAML block is deprecated).
python scripts/develop_setup.py --write-http-config "$CONFIG"
hass -c "$CONFIG" --skip-pip >"$CONFIG/hass.log" 2>&1 &
HASS_PID=$!

status=0
python scripts/develop_setup.py --port "$PORT" --config "$CONFIG" $CHECK || status=$?
if [[ -n "$CHECK" ]]; then
  started=$(now_ms)
  stop_process "$HASS_PID" "Home Assistant" 30 # asked to stop through its API by develop_setup
  echo "Home Assistant stopped in $(seconds_since "$started")"
  HASS_PID=""
  started=$(now_ms)
  stop_process "$SIM_PID" "The simulator" 0
  echo "The simulator stopped in $(seconds_since "$started")"
  SIM_PID=""
  if [[ -n "$LMS_PID" ]]; then
    stop_process "$LMS_PID" "The simulated LMS" 0
    LMS_PID=""
  fi
fi
if ((status != 0)); then
  echo "Setting up Home Assistant failed; the end of $CONFIG/hass.log:" >&2
  tail -30 "$CONFIG/hass.log" >&2
  exit 1
fi
[[ -n "$CHECK" ]] && exit 0
cat <<MSG

  Smart Library is running: http://127.0.0.1:$HTTP_PORT
  Log in as  demo / demo-library
  Facilities dashboard: http://127.0.0.1:$HTTP_PORT/smart-library
  Blueprints: Settings > Automations & scenes > Blueprints (the Smart Library ones; choose the
    branch "Demo Branch" when making an automation from one)
  Demo members: cards 20000000000001..3, PIN 1234 (smart_library.request_access)
  Demo door reader: POST /api/smart_library/access with header X-Reader-Key: the key in
    .cache/develop-config/demo_reader_key
  Simulator: Modbus TCP on 127.0.0.1:$PORT (log: .cache/develop-config/simulator.log)
    drive it from another terminal: scripts/sim fire on | fire off | arrive 3 | force | status | help
$LMS_LINE
  Home Assistant log: .cache/develop-config/hass.log      Ctrl-C stops everything.
  Keep this running in the foreground: closing this terminal, or a shell that backgrounded it
  exiting, stops Home Assistant and the simulator with it.

MSG
wait "$HASS_PID" || true
