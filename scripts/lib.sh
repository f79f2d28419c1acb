# Shared by scripts/demo, scripts/test and .ci/run. Finds Python >= 3.12 and keeps .venv in step
# with pyproject.toml.

find_python() {
  local candidates=() c root
  for c in python3.13 python3.12 python3; do
    command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
  done
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for c in "$root"/versions/3.1[2-9]*/bin/python3; do [ -x "$c" ] && candidates+=("$c"); done
  fi
  for c in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
    [ -x "$c" ] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$c"
      return 0
    fi
  done
  cat >&2 <<'MSG'
error: Python 3.12 or newer is required (Django 6 needs it) and none was found.
Install one, for example:
  pyenv install 3.12            # then re-run this command
  apt-get install python3.12 python3.12-venv   # on Debian/Ubuntu releases that ship it
MSG
  return 1
}

ensure_venv() {
  local py stamp want
  if [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    :
  else
    py=$(find_python) || exit 1
    echo "==> creating .venv with $($py --version)"
    rm -rf .venv
    "$py" -m venv .venv
  fi
  stamp=.venv/.installed
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing dependencies into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    echo "$want" > "$stamp"
  fi
}
