"""WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app``."""
from app import create_app
from app.runtime import check_gevent_compat

app = create_app()
check_gevent_compat()
