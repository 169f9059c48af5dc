#!/bin/sh
# Install what the browser tests need: Debian's chromium and chromium-driver
# (apt, as root) and the selenium package (into the project's virtualenv).
# Nothing is downloaded outside the package registries: selenium is pointed at
# /usr/bin/chromedriver, so its own driver manager never runs.
# Usage: tests/browser/install_browser.sh [PYTHON]   (default: .venv/bin/python)
set -eu
python="${1:-.venv/bin/python}"
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install_browser.sh: run as root to apt-get install chromium chromium-driver" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver
fi
"$python" -m pip install --quiet 'selenium>=4.20,<5'
