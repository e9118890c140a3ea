#!/usr/bin/env sh
# Print the path of a working `pythonX.Y` (X.Y = $1), or nothing: on the PATH first, else a pyenv
# install (pyenv's shim answers for every version but runs only the global ones), else the common
# system locations. The Makefile uses it so `make test` finds Python 3.13 beside 3.11.
v="$1"
for cand in "$(command -v "python$v" 2>/dev/null)" \
            "$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -V | tail -n 1)" \
            "/usr/local/bin/python$v" "/usr/bin/python$v"; do
    if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c "import sys, venv; assert sys.version_info[:2] == tuple(map(int, '$v'.split('.')))" 2>/dev/null; then
        echo "$cand"
        exit 0
    fi
done
