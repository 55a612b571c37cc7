#!/bin/sh
# Run inside the sandbox: one allowed request, one blocked.
echo "allowed: http://deb.debian.org/debian/ ->" \
  "$(curl -s -o /dev/null -w '%{http_code}' http://deb.debian.org/debian/)"
echo "blocked: https://example.com/ ->"
curl -sS https://example.com/ 2>&1 | sed 's/^/  /'
echo "blocked: http://example.com/ ->"
curl -sS http://example.com/ | sed 's/^/  /'
