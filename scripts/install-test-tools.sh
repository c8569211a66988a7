#!/bin/sh
# Installs the system tools the test suite uses to make real zips (Info-ZIP, 7-Zip, Java),
# when they are missing and this machine lets us (root, Debian/Ubuntu). Safe to run twice.
set -eu
need=""
command -v zip >/dev/null 2>&1 || need="$need zip"
command -v 7z >/dev/null 2>&1 || need="$need p7zip-full"
command -v javac >/dev/null 2>&1 || need="$need default-jdk-headless"
# lkvault browse's end-to-end tests drive a real headless Chromium through its driver.
[ -x /usr/bin/chromium ] || need="$need chromium"
[ -x /usr/bin/chromedriver ] || need="$need chromium-driver"
# The remote-vault tests run OpenSSH's sshd on 127.0.0.1 (tests/servers.py starts and stops it).
[ -x /usr/sbin/sshd ] || need="$need openssh-server"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$need" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
else
    echo "note: missing$need; the tests that need them will be skipped" >&2
fi
