# Sourced by bin/run and bin/test: make .venv and install a requirements file into it,
# again only when that file changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

ensure_venv() {
  local requirements="$1" stamp
  stamp="$VENV/.installed-$(basename "$requirements")"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment in .venv ..."
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || ! cmp -s <(cat "$ROOT"/requirements*.txt) "$stamp"; then
    echo "Installing pinned requirements from $(basename "$requirements") (a few minutes the first time) ..."
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$requirements"
    cat "$ROOT"/requirements*.txt > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}
