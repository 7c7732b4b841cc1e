#!/usr/bin/env bash
# Installs the Debian packages the tests use, where missing: chromium and chromium-driver (the real
# browser for the page tests) and apache2-utils (Apache's htpasswd, which verifies our hashes).
# Needs root or password-less sudo; otherwise it names what to install and fails.
set -euo pipefail

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "error: the tests need these Debian packages: ${missing[*]}" >&2
  echo "       install them (sudo apt-get install ${missing[*]}) and run make test again." >&2
  exit 3
fi
echo "installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
