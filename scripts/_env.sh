# shellcheck shell=bash
# Shared by scripts/setup, scripts/test and scripts/develop: find or provision a Python that today's
# Home Assistant accepts (>= 3.14.2), keep a virtualenv with the pinned requirements, and run commands in it.
#
# Where the host has such a Python it is used directly. Where it does not (Debian 12), a minimal Debian
# sid root file system with python3.14 is built with debootstrap under .cache/ and commands run inside it
# through bubblewrap, with the checkout bound at /src. Everything provisioned is cached (git-ignored) and
# rebuilt only when the requirements change.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SMART_LIBRARY_CACHE:-$REPO/.cache}"
ROOTFS="$CACHE/rootfs"
REQ_FILES=("$REPO/requirements_test.txt" "$REPO/requirements_dev.txt")
# ESPHome (scripts/esphome_check) lives in a virtualenv of its own: its pins would clash with Home Assistant's.
ESPHOME_REQ="$REPO/requirements_esphome.txt"
# Extra bubblewrap arguments for in_env in sandbox mode (scripts/esphome_check: --unshare-net).
SANDBOX_EXTRA=()
HOST_CA="/etc/ssl/certs/ca-certificates.crt"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

req_hash() { cat "${REQ_FILES[@]}" "$REPO/scripts/_env.sh" | sha256sum | cut -c1-16; }

host_python() {
  local py
  for py in python3.14 python3; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)' 2>/dev/null; then
      command -v "$py"
      return 0
    fi
  done
  return 1
}

if [[ "${SMART_LIBRARY_SANDBOX:-auto}" == "0" ]] && HOST_PY="$(host_python)"; then
  MODE=host
elif [[ "${SMART_LIBRARY_SANDBOX:-auto}" == "auto" ]] && HOST_PY="$(host_python)"; then
  MODE=host
else
  MODE=sandbox
fi

if [[ "$MODE" == host ]]; then
  VENV="$CACHE/venv"
  ESPHOME_VENV="$CACHE/esphome-venv"
  WORKDIR="$REPO"
else
  VENV="/opt/venv"       # inside the root file system
  ESPHOME_VENV="/opt/esphome-venv"
  WORKDIR="/src"         # where the checkout is bound inside the sandbox
fi

apt_install() {
  if [[ $EUID -ne 0 ]]; then
    echo "Missing $*; install them (as root: apt-get install $*) and run again." >&2
    exit 1
  fi
  log "Installing $* from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The Debian mirror the host's own apt sources name (classic one-line or deb822 format), so that no
# package host is written into this project. SMART_LIBRARY_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [[ -n "${SMART_LIBRARY_DEBIAN_MIRROR:-}" ]]; then
    echo "$SMART_LIBRARY_DEBIAN_MIRROR"
    return 0
  fi
  local files=() f uri
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] && files+=("$f")
  done
  ((${#files[@]})) && uri="$(python3 "$REPO/scripts/apt_mirror.py" "${files[@]}")" && [[ -n "$uri" ]] && {
    echo "$uri"
    return 0
  }
  echo "No Debian mirror found in the host's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/)." >&2
  echo "Add one there, or set SMART_LIBRARY_DEBIAN_MIRROR to a Debian mirror's URL." >&2
  return 1
}

ensure_rootfs() {
  [[ "$MODE" == sandbox ]] || return 0
  local need=()
  command -v bwrap >/dev/null || need+=(bubblewrap)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  ((${#need[@]} == 0)) || apt_install "${need[@]}"
  if [[ ! -x "$ROOTFS/usr/bin/python3.14" || ! -f "$ROOTFS/.smart-library-rootfs" ]]; then
    local mirror
    mirror="$(debian_mirror)" || exit 1
    log "Building a Debian sid root file system with Python 3.14 in $ROOTFS from $mirror (about 30 s)"
    rm -rf "$ROOTFS"
    mkdir -p "$CACHE"
    debootstrap --variant=minbase \
      --include=python3.14,python3.14-venv,python3.14-dev,g++,ca-certificates,tzdata \
      sid "$ROOTFS" "$mirror" /usr/share/debootstrap/scripts/sid >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    touch "$ROOTFS/.smart-library-rootfs"
  fi
}

# Run a command with the project's Python environment active.
in_env() {
  if [[ "$MODE" == host ]]; then
    (cd "$REPO" && PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV" "$@")
    return
  fi
  local env_args=() var
  for var in CI SMART_LIBRARY_CHROMIUM PYTEST_ADDOPTS; do
    [[ -n "${!var:-}" ]] && env_args+=(--setenv "$var" "${!var}")
  done
  bwrap --bind "$ROOTFS" / \
    --bind "$REPO" "$WORKDIR" --chdir "$WORKDIR" \
    --proc /proc --dev /dev --tmpfs /tmp \
    --ro-bind /etc/resolv.conf /etc/resolv.conf \
    --ro-bind "$HOST_CA" /etc/ssl/host-ca.crt \
    --clearenv \
    --setenv PATH "$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --setenv VIRTUAL_ENV "$VENV" \
    --setenv HOME /root --setenv LANG C.UTF-8 --setenv TZ UTC \
    --setenv SSL_CERT_FILE /etc/ssl/host-ca.crt \
    --setenv REQUESTS_CA_BUNDLE /etc/ssl/host-ca.crt \
    --setenv PIP_CERT /etc/ssl/host-ca.crt \
    --setenv PIP_DISABLE_PIP_VERSION_CHECK 1 \
    "${env_args[@]}" \
    "${SANDBOX_EXTRA[@]}" \
    --unshare-pid --die-with-parent \
    -- "$@"
}

ensure_venv() {
  ensure_rootfs
  local want have marker
  want="$(req_hash)"
  if [[ "$MODE" == host ]]; then marker="$VENV/.smart-library-req"; else marker="$ROOTFS$VENV/.smart-library-req"; fi
  have="$(cat "$marker" 2>/dev/null || true)"
  [[ "$want" == "$have" ]] && return 0
  log "Installing the pinned requirements into $VENV (about a minute the first time)"
  if [[ "$MODE" == host ]]; then
    "$HOST_PY" -m venv "$VENV"
  else
    in_env python3.14 -m venv "$VENV"
  fi
  in_env python -m pip install -q --upgrade pip
  in_env python -m pip install -q -r requirements_test.txt -r requirements_dev.txt
  echo "$want" >"$marker"
}

# What a real Home Assistant with its UI needs beyond the test harness:
# the pinned frontend and the requirements of the always-loaded integrations. scripts/develop and
# scripts/test (which also starts real Home Assistant processes) install it; cached separately.
ensure_develop_deps() {
  ensure_venv
  local marker want
  if [[ "$MODE" == host ]]; then marker="$VENV/.smart-library-develop"; else marker="$ROOTFS$VENV/.smart-library-develop"; fi
  want="$(req_hash)-$(sha256sum "$REPO/scripts/develop_deps.py" | cut -c1-16)"
  [[ "$(cat "$marker" 2>/dev/null || true)" == "$want" ]] && return 0
  log "Installing the Home Assistant frontend and the always-loaded integrations' requirements (once)"
  in_env bash -c 'python scripts/develop_deps.py >/tmp/develop-requirements.txt &&
    python -m pip install -q -r /tmp/develop-requirements.txt \
      -c "$(python -c "import homeassistant, os; print(os.path.join(os.path.dirname(homeassistant.__file__), \"package_constraints.txt\"))")"'
  echo "$want" >"$marker"
}

# ESPHome for validating the door reader packages (readers/esphome/, scripts/esphome_check): pinned in
# requirements_esphome.txt, in a virtualenv of its own beside the project's (never mixed with Home Assistant's
# pins), rebuilt only when that file changes.
ensure_esphome() {
  ensure_rootfs
  local want marker dir
  want="$(sha256sum "$ESPHOME_REQ" | cut -c1-16)"
  if [[ "$MODE" == host ]]; then dir="$ESPHOME_VENV"; else dir="$ROOTFS$ESPHOME_VENV"; fi
  marker="$dir/.smart-library-req"
  [[ "$want" == "$(cat "$marker" 2>/dev/null || true)" ]] && return 0
  log "Installing ESPHome (requirements_esphome.txt) into $ESPHOME_VENV (about 2 minutes the first time)"
  rm -rf "$dir"
  if [[ "$MODE" == host ]]; then
    "$HOST_PY" -m venv "$ESPHOME_VENV"
  else
    in_env python3.14 -m venv "$ESPHOME_VENV"
  fi
  in_env "$ESPHOME_VENV/bin/python" -m pip install -q --upgrade pip
  in_env "$ESPHOME_VENV/bin/python" -m pip install -q -r requirements_esphome.txt
  echo "$want" >"$marker"
}
