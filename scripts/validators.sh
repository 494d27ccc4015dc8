# Sourced by scripts that need the external validators: a Python virtual environment in
# .validators/ with the packages pinned below, and its bin/ on PATH.
venv=.validators
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/validators.txt
PATH="$PWD/$venv/bin:$PATH"
export PATH
