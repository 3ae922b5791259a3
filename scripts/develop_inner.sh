#!/usr/bin/env bash
# Runs inside the project's environment (see scripts/develop): simulator + Home Assistant + setup.
set -euo pipefail
CHECK=""
[[ "${1:-}" == "--check" ]] && CHECK="--check"
CONFIG="$PWD/.cache/develop-config"
PORT=5020
mkdir -p "$CONFIG/custom_components"
ln -sfn "$PWD/custom_components/smart_library" "$CONFIG/custom_components/smart_library"
ln -sfn "$PWD/dashboards" "$CONFIG/dashboards"
ln -sfn "$PWD/blueprints" "$CONFIG/blueprints_smart_library"
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

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

python -m simulator --port "$PORT" --name "Demo Branch" --visitors-per-minute 2 --seed 1 \
  </dev/null >"$CONFIG/simulator.log" 2>&1 &
pids+=("$!")
hass -c "$CONFIG" --skip-pip >"$CONFIG/hass.log" 2>&1 &
HASS_PID=$!
pids+=("$HASS_PID")

if ! python scripts/develop_setup.py --port "$PORT" $CHECK; then
  echo "Setting up Home Assistant failed; the end of $CONFIG/hass.log:" >&2
  tail -30 "$CONFIG/hass.log" >&2
  exit 1
fi
if [[ -n "$CHECK" ]]; then
  wait "$HASS_PID" || true   # it stops itself after the check
  exit 0
fi
cat <<MSG

  Smart Library is running: http://127.0.0.1:8123
  Log in as  demo / demo-library
  Facilities dashboard: http://127.0.0.1:8123/smart-library
  Demo members: cards 20000000000001..3, PIN 1234 (smart_library.request_access)
  Simulator: Modbus TCP on 127.0.0.1:$PORT (log: .cache/develop-config/simulator.log)
  Home Assistant log: .cache/develop-config/hass.log      Ctrl-C stops everything.

MSG
wait "$HASS_PID"
