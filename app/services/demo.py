"""Demo data for a newcomer's first run."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import Role, User
from . import profiles, sending, users

DEMO_PASSWORD = "demo-password"
PROFILES = [
    ("Camille", 29, "Paris", "Loves jazz bars and long walks by the Seine."),
    ("Léa", 26, "Lyon", "Chef in training; ask me about bouchons."),
    ("Sofia", 31, "Madrid", "Flamenco on Fridays, museums on Sundays."),
    ("Hanna", 34, "Berlin", "Techno, bikes and too many plants."),
    ("Julien", 33, "Bordeaux", "Wine, rugby and old films."),
    ("Marco", 28, "Marseille", "Sailing whenever the mistral allows."),
    ("Inès", 27, "Toulouse", "Astrophysics student who loves rooftop views."),
    ("Elena", 30, "Sevilla", "Guitar, oranges and sunsets."),
    ("Lukas", 35, "München", "Mountains every weekend."),
    ("Chloé", 25, "Nantes", "Illustrator; coffee is a food group."),
    ("Nora", 32, "Lille", "Runner, reader, bad at cooking."),
    ("Hugo", 30, "Nice", "Photographer chasing the perfect light."),
]


def seed(now: datetime) -> bool:
    """Create the demo accounts, profiles and a few conversations; False if data exists."""
    if db.session.scalar(select(func.count()).select_from(User)):
        return False
    users.create_user(email="admin@switchboard.local", password=DEMO_PASSWORD, role=Role.ADMIN,
                      display_name="Admin", locale="fr")
    for n in range(1, 5):
        users.create_user(email=f"mod{n}@switchboard.local", password=DEMO_PASSWORD, role=Role.MODERATOR,
                          display_name=f"Moderator {n}", locale="fr" if n % 2 else "en")
    clients = [
        users.create_user(email=f"client{n}@switchboard.local", password=DEMO_PASSWORD, role=Role.CLIENT,
                          display_name=name, locale="fr")
        for n, name in enumerate(["Alex", "Sam", "Max", "Robin", "Charlie", "Dominique"], start=1)
    ]
    created = [profiles.create_profile(name=n, age=a, city=c, bio=b) for n, a, c, b in PROFILES]
    openers = ["Bonjour ! Comment vas-tu ?", "Salut, tu aimes quoi dans la vie ?", "Hello, on se parle ?"]
    for i, client in enumerate(clients[:3]):
        sending.post_client_message(client, created[i].id, openers[i], uuid.uuid4().hex, now - timedelta(minutes=10 - i))
    return True
