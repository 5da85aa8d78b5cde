"""Demo data for a newcomer's first run."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import Role, User
from . import profiles, sending, users
from .demo_portraits import Look, portrait

DEMO_PASSWORD = "demo-password"
# The demo's accounts speak English (the README's walkthrough), but for a moderator and a client
# who show the other languages; the language menu changes any of them.
MODERATOR_LOCALES = ("en", "en", "en", "fr")
CLIENT_LOCALES = ("en", "en", "en", "en", "de", "es")
PROFILES = [  # name, age, city, bio, the portrait's hair
    ("Camille", 29, "Paris", "Loves jazz bars and long walks by the Seine.", "long"),
    ("Léa", 26, "Lyon", "Chef in training; ask me about bouchons.", "bob"),
    ("Sofia", 31, "Madrid", "Flamenco on Fridays, museums on Sundays.", "curly"),
    ("Hanna", 34, "Berlin", "Techno, bikes and too many plants.", "bun"),
    ("Julien", 33, "Bordeaux", "Wine, rugby and old films.", "short"),
    ("Marco", 28, "Marseille", "Sailing whenever the mistral allows.", "curly"),
    ("Inès", 27, "Toulouse", "Astrophysics student who loves rooftop views.", "long"),
    ("Elena", 30, "Sevilla", "Guitar, oranges and sunsets.", "curly"),
    ("Lukas", 35, "München", "Mountains every weekend.", "short"),
    ("Chloé", 25, "Nantes", "Illustrator; coffee is a food group.", "bob"),
    ("Nora", 32, "Lille", "Runner, reader, bad at cooking.", "bun"),
    ("Hugo", 30, "Nice", "Photographer chasing the perfect light.", "short"),
]


def seed(now: datetime, upload_dir: str, avatar_max_bytes: int, image_max_pixels: int,
         image_max_side: int) -> list[profiles.PendingAvatar] | None:
    """Create the demo accounts, profiles (each with a drawn portrait, stored as an upload) and a
    few conversations; None if data exists. The portraits wait for the avatar job like any upload:
    run it for each pending avatar returned, after the commit."""
    if db.session.scalar(select(func.count()).select_from(User)):
        return None
    users.create_user(email="admin@switchboard.local", password=DEMO_PASSWORD, role=Role.ADMIN,
                      display_name="Admin", locale="en", now=now)
    for n in range(1, 5):
        users.create_user(email=f"mod{n}@switchboard.local", password=DEMO_PASSWORD, role=Role.MODERATOR,
                          display_name=f"Moderator {n}", locale=MODERATOR_LOCALES[n - 1], now=now)
    clients = [
        users.create_user(email=f"client{n}@switchboard.local", password=DEMO_PASSWORD, role=Role.CLIENT,
                          display_name=name, locale=CLIENT_LOCALES[n - 1], now=now)
        for n, name in enumerate(["Alex", "Sam", "Max", "Robin", "Charlie", "Dominique"], start=1)
    ]
    created = [profiles.create_profile(name=n, age=a, city=c, bio=b) for n, a, c, b, _ in PROFILES]
    avatars = [profiles.store_avatar(profile, portrait(Look.for_index(i, hair)), upload_dir, avatar_max_bytes,
                                     image_max_pixels, image_max_side)
               for i, (profile, (*_, hair)) in enumerate(zip(created, PROFILES))]
    openers = ["Bonjour ! Comment vas-tu ?", "Salut, tu aimes quoi dans la vie ?", "Hello, on se parle ?"]
    for i, client in enumerate(clients[:3]):
        sending.post_client_message(client, created[i].id, openers[i], uuid.uuid4().hex, now - timedelta(minutes=10 - i))
    return avatars
