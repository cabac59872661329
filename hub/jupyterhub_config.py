"""JupyterHub configuration of the course's class Hub (``make hub``).

Read by ``jupyterhub -f hub/jupyterhub_config.py``, started by ``python -m
course_hub up``, which writes the settings this file reads to
``$EM_COURSE_HUB/hub.json`` (the Hub's root directory: its environment, exchange
and state). Every user is a Unix account; each server runs as its user.
"""

import json
import os

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

ROOT = os.environ["EM_COURSE_HUB"]
with open(os.path.join(ROOT, "hub.json")) as fh:
    hub = json.load(fh)
STATE = os.path.join(ROOT, "state")
BIN = os.path.join(hub["venv"], "bin")

# Network: everything on the loopback; the proxy is the Python configurable-http-proxy
# from PyPI (same command-line interface as the npm one, no Node.js needed).
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = hub["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub["port"] + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub['port'] + 2}"
c.ConfigurableHTTPProxy.command = [os.path.join(BIN, "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{os.path.join(STATE, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "cookie_secret")
c.JupyterHub.pid_file = os.path.join(STATE, "jupyterhub.pid")

# Who may log in: the course's accounts, with one shared password (a class on a real
# server would use its institution's login: an OAuthenticator or LDAP).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = hub["password"]
c.Authenticator.allowed_users = {hub["instructor"], *hub["students"]}
c.Authenticator.admin_users = set()

# Each server runs as its Unix user, from the course's environment, in its home.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    # nbgrader's settings for every user (course id, the private exchange) and the
    # course's config reads the exchange from here instead of its local one.
    "JUPYTER_CONFIG_PATH": os.path.join(ROOT, "etc", "jupyter"),
    "EM_COURSE_EXCHANGE": hub["exchange"],
}
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120

# Course membership, read by nbgrader's JupyterHubAuthPlugin from the user's own model.
course = hub["course_id"]
c.JupyterHub.load_groups = {
    f"nbgrader-{course}": {"users": hub["students"]},
    f"formgrade-{course}": {"users": [hub["instructor"]]},
}
c.JupyterHub.load_roles = [
    # A server's token may do what its user may (read its own groups, for nbgrader).
    {"name": "server", "scopes": ["inherit"]},
    # The course's admin service: creates tokens and starts servers (tests, scripts).
    {"name": "course-admin", "services": ["course-admin"],
     "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users", "groups"]},
]
c.JupyterHub.services = [{"name": "course-admin", "api_token": hub["admin_token"]}]
