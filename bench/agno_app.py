"""AgentOS 3.1.10's full app (the baseline of `bash scripts/bench.sh http`).

Served by uvicorn (`uvicorn agno_app:app --app-dir bench`), it answers the learnings routes
(agno/os/routers/learnings/router.py) with agno's own JWT verification, scopes and user
isolation, over the same database PostgREST serves. It connects as the superuser, as
agno's runtime would connect as the table's owner: row-level security does not apply to
either, so agno runs exactly the statements it runs in a deployment.

Environment:
  BENCH_DB_URL       SQLAlchemy URL of the database (postgresql+psycopg://...)
  BENCH_SECRET_FILE  the HS256 secret PostgREST and the extension verify tokens with
"""

import os

from agno.db.postgres import PostgresDb
from agno.os import AgentOS
from agno.os.authz import Authorization

with open(os.environ["BENCH_SECRET_FILE"]) as f:
    secret = f.read()

agent_os = AgentOS(
    db=PostgresDb(id="agno", db_url=os.environ["BENCH_DB_URL"], db_schema="ai"),
    authorization=Authorization(
        verification_keys=[secret],
        algorithm="HS256",
        admin_scope="agent_os:admin",
    ),
    user_isolation=True,
    telemetry=False,
)
app = agent_os.get_app()
