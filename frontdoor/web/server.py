"""`frontdoor web`: serve the app with uvicorn on settings.web_host:web_port."""

from __future__ import annotations

import uvicorn

from frontdoor.config import Settings
from frontdoor.web.app import create_app
from frontdoor.web.auth import seed_demo_users as seed
from models.database import init_db


def serve(settings: Settings, seed_demo_users: bool = False) -> int:
    """Run until stopped. Demo users are created only with --seed-demo-users (never in production).

    Secure cookies and HSTS follow FRONTDOOR_SECURE_COOKIES (auto: when the request came over
    https, which uvicorn takes from X-Forwarded-Proto only from FRONTDOOR_TRUSTED_PROXIES)."""
    init_db(settings.database_url)
    base = f"http://{settings.web_host}:{settings.web_port}"
    if seed_demo_users:
        lines = seed(settings.database_url)
        print("frontdoor web: demo users (one per role); sign in at " + base + "/login", flush=True)
        print("\n".join(lines), flush=True)
        print("  (no API tokens are printed or logged: `frontdoor users token NAME --label LABEL` issues one)", flush=True)
    app = create_app(settings)
    cookies = {True: "always", False: "never (FRONTDOOR_SECURE_COOKIES=off)", None: "when served over https"}[settings.secure_cookies]
    print(f"frontdoor web: serving {base} (JSON API under {base}/api, OpenAPI at {base}/openapi.json); "
          f"secure cookies {cookies}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.web_host, port=settings.web_port, log_level="info",
                                           proxy_headers=True, forwarded_allow_ips=settings.trusted_proxies,
                                           server_header=False))
    server.run()
    return 0 if server.started else 1
