"""Alembic's environment script: Alembic runs this file for every command; it is not a module to
import. The work is done by :func:`ebaydash.db.migrations.runner.run_environment`."""

from alembic import context

from ebaydash.db.migrations.runner import run_environment

run_environment(context.config)
