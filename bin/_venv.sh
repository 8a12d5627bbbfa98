# Sourced by bin/run and bin/test: make .venv and install pinned requirements into it,
# again only when a requirements file changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

requirements_fingerprint() { cat "$ROOT"/requirements*.txt; }

is_installed() {  # is_installed FILE: FILE (or a superset of it) was installed from these requirements
  local stamp
  for stamp in "$VENV/.installed-$(basename "$1")" "$VENV/.installed-requirements-dev.txt"; do
    [ -f "$stamp" ] && cmp -s <(requirements_fingerprint) "$stamp" && return 0
  done
  return 1
}

# torch's wheels and the CUDA libraries they bring make the environment about 7.5 GB.
NEEDED_DISK_KB=$((8 * 1024 * 1024))

warn_if_short_of_disk() {
  local free_kb
  free_kb=$(df -Pk "$ROOT" | awk 'NR == 2 {print $4}')
  if [ -n "$free_kb" ] && [ "$free_kb" -lt "$NEEDED_DISK_KB" ]; then
    echo "Warning: $((free_kb / 1024)) MB free where .venv goes; the install needs about" \
         "$((NEEDED_DISK_KB / 1024)) MB and may stop with 'No space left on device'." >&2
  fi
}

ensure_venv() {
  local requirements="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment in .venv ..."
    "$PYTHON" -m venv "$VENV"
  fi
  if ! is_installed "$requirements"; then
    echo "Installing pinned requirements from $(basename "$requirements") (a few minutes the first time) ..."
    warn_if_short_of_disk
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$requirements"
    requirements_fingerprint > "$VENV/.installed-$(basename "$requirements")"
  fi
  export PATH="$VENV/bin:$PATH"
}
