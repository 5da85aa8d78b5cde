"""Moderation: sanctions on clients (``sanctions``) and the append-only log of every moderation
action (``log``)."""
