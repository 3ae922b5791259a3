# shellcheck shell=bash
# Home Assistant's next release beside the test harness's, for scripts/ha_next_check. Source it after
# scripts/_env.sh (whose sandbox, in_env and log it uses).
#
# The test harness (pytest-homeassistant-custom-component, requirements_test.txt) pins exactly one
# Home Assistant; the release after it (requirements_ha_next.txt) gets a virtualenv of its own in the
# same root file system (or under the cache on a host with Python 3.14), with what a real Home
# Assistant with its UI needs: the frontend and the always-loaded integrations' requirements, found by
# scripts/develop_deps.py in *that* release and constrained by *its* package_constraints.txt. Rebuilt
# only when requirements_ha_next.txt, this file or scripts/develop_deps.py change (its own marker).
# Kept apart from scripts/_env.sh on purpose: _env.sh is part of the main virtualenv's hash, and the
# main virtualenv is shared.

HA_NEXT_REQ="$REPO/requirements_ha_next.txt"
if [[ "$MODE" == host ]]; then
  HA_NEXT_VENV="$CACHE/ha-next-venv"
else
  HA_NEXT_VENV="/opt/ha-next-venv"  # inside the root file system
fi

# Run a command in the next release's virtualenv (in the sandbox where there is one).
in_ha_next() {
  VENV="$HA_NEXT_VENV" in_env "$@"
}

ha_next_hash() {
  cat "$HA_NEXT_REQ" "$REPO/scripts/_env_ha_next.sh" "$REPO/scripts/develop_deps.py" |
    sha256sum | cut -c1-16
}

ensure_ha_next() {
  ensure_rootfs
  local want dir marker
  want="$(ha_next_hash)"
  if [[ "$MODE" == host ]]; then dir="$HA_NEXT_VENV"; else dir="$ROOTFS$HA_NEXT_VENV"; fi
  marker="$dir/.smart-library-req"
  [[ "$want" == "$(cat "$marker" 2>/dev/null || true)" ]] && return 0
  log "Installing $(grep -m1 '^homeassistant==' "$HA_NEXT_REQ"), its frontend and its always-loaded" \
    "integrations' requirements into $HA_NEXT_VENV (a few minutes the first time)"
  rm -rf "$dir"
  if [[ "$MODE" == host ]]; then
    "$HOST_PY" -m venv "$dir"
  else
    in_env /usr/bin/python3.14 -m venv "$HA_NEXT_VENV"
  fi
  in_ha_next python -m pip install -q --upgrade pip
  in_ha_next python -m pip install -q -r requirements_ha_next.txt
  # shellcheck disable=SC2016 # expanded inside the environment
  in_ha_next bash -c 'python scripts/develop_deps.py >/tmp/ha-next-requirements.txt &&
    python -m pip install -q -r /tmp/ha-next-requirements.txt -r requirements_ha_next.txt \
      -c "$(python -c "import homeassistant, os; print(os.path.join(os.path.dirname(homeassistant.__file__), \"package_constraints.txt\"))")"'
  echo "$want" >"$marker"
}
