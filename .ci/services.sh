#!/usr/bin/env bash
# Make the real services the tests use available on this machine (idempotent):
# PostgreSQL and Redis are expected to run already; Chromium (for the web UI tests) is installed;
# a Docker engine and the locally built test images (no registry is reachable) are set up by
# docker-setup.sh when it exists.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server) >/dev/null 2>&1 \
    || echo "services: could not install redis-server" >&2
fi
if [ ! -x /usr/bin/chromium ]; then  # the web UI tests drive Debian's Chromium through Playwright
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1 \
    || echo "services: could not install chromium (UI tests will report it)" >&2
fi
if [ -f .ci/docker-setup.sh ]; then
  bash .ci/docker-setup.sh || echo "services: docker setup failed (docker tests will report it)" >&2
fi
exit 0
