"""AgentOS 3.1.10's full app: the baseline of `bash scripts/bench.sh http` and the peer of
the door's differential test (tests/door), started by scripts/lib.sh's agentos_start.

Served by uvicorn (`uvicorn agno_app:app --app-dir bench`), it answers the learnings routes
(agno/os/routers/learnings/router.py) with agno's own JWT verification, scopes and user
isolation. It connects as the superuser, as agno's runtime would connect as the table's
owner: row-level security does not apply to either, so agno runs exactly the statements it
runs in a deployment. The benchmark points it at the database PostgREST serves; the
differential test at a database of its own.

Environment:
  AGENTOS_DB_URL       SQLAlchemy URL of the database (postgresql+psycopg://...)
  AGENTOS_SECRET_FILE  the HS256 secret PostgREST and the extension verify tokens with
  AGENTOS_DB_ID        the database's id in AgentOS (its `db_id` query parameter; "agno")
"""

import os

from agno.db.postgres import PostgresDb
from agno.os import AgentOS
from agno.os.authz import Authorization

with open(os.environ["AGENTOS_SECRET_FILE"]) as f:
    secret = f.read()

agent_os = AgentOS(
    db=PostgresDb(id=os.environ.get("AGENTOS_DB_ID", "agno"), db_url=os.environ["AGENTOS_DB_URL"], db_schema="ai"),
    authorization=Authorization(
        verification_keys=[secret],
        algorithm="HS256",
        admin_scope="agent_os:admin",
    ),
    user_isolation=True,
    telemetry=False,
)
app = agent_os.get_app()
