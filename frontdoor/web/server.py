"""`frontdoor web`: serve the app with uvicorn on settings.web_host:web_port."""

from __future__ import annotations

import uvicorn

from frontdoor.config import Settings
from frontdoor.web.app import create_app
from frontdoor.web.auth import DEMO_PASSWORD
from frontdoor.web.auth import seed_demo_users as seed
from models.database import init_db


def serve(settings: Settings, seed_demo_users: bool = False) -> int:
    """Run until stopped. Demo users are created only with --seed-demo-users (never in production)."""
    init_db(settings.database_url)
    base = f"http://{settings.web_host}:{settings.web_port}"
    if seed_demo_users:
        lines = seed(settings.database_url)
        print("frontdoor web: demo users (one per role); sign in at " + base + "/login", flush=True)
        print("\n".join(lines), flush=True)
        print(f"  (password '{DEMO_PASSWORD}' for each new demo user)", flush=True)
    app = create_app(settings)
    print(f"frontdoor web: serving {base} (JSON API under {base}/api, OpenAPI at {base}/openapi.json)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.web_host, port=settings.web_port, log_level="info",
                                           proxy_headers=True))
    server.run()
    return 0 if server.started else 1
