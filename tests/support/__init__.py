"""Helpers shared by the tests, one module per job; loaded as a pytest plugin for the process fixtures.

- ``context``: the test app and an app context for helpers called outside one
- ``factories``: users, profiles, tokens, row counts
- ``rounds``: moderators with chosen loads, waiting client messages, the rounds' mails
- ``sql``: the statements a block runs
- ``waiting``: polling for a condition or a published fragment
- ``http``: logging in and sending over HTTP (test client or a real server)
- ``sockets``: WebSockets to a real server
- ``processes``: real web servers, the RQ worker, the SMTP sink, subprocesses
- ``browser``: Chromium settings and what a person does in a page
"""
pytest_plugins = ["tests.support.processes"]
