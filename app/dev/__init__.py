"""Parts for the embedded default only (``make run`` with no services): the launcher that starts
and stops everything, the local SMTP sink and the outbox that admins read it through."""
