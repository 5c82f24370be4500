"""Container health check: GET /healthz on the node's own port (the slim image has no curl).

Exits 0 when the node answers 200, 1 otherwise. Proxies from the environment are ignored: the
check must reach this container's own server, whatever HTTP(S)_PROXY says.
"""

import os
import sys
import urllib.request

port = os.environ.get("LIAISON_LISTEN_PORT", "8600")
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    with opener.open(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure at all means unhealthy
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
