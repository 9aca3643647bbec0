#!/bin/sh
# Installs Debian's Chromium for the browser tests when it is missing and we may (root + apt).
# It never fails: without a browser, the browser tests are skipped with a stated reason.
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "chromium could not be installed; browser tests will be skipped"
else
  echo "chromium is not installed and cannot be installed here; browser tests will be skipped"
fi
exit 0
