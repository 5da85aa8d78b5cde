from datetime import datetime

import pytest

from app.database import write_transaction
from app.models import Role
from app.services import users
from app.services.errors import ValidationError
from tests.support.factories import PASSWORD, make_user


def test_create_and_authenticate_with_hashed_password(ctx):
    user = make_user(Role.MODERATOR, email="Mod@Example.test")
    assert user.email == "mod@example.test"
    assert PASSWORD not in user.password_hash
    assert users.authenticate("MOD@example.test", PASSWORD).id == user.id
    assert users.authenticate("mod@example.test", "wrong-password") is None


@pytest.mark.parametrize("email,password,name", [
    ("not-an-email", "long-enough-1", "Ann"),
    ("ann@example.test", "short", "Ann"),
    ("ann@example.test", "long-enough-1", ""),
])
def test_invalid_accounts_are_refused(ctx, email, password, name):
    with pytest.raises(ValidationError), write_transaction():
        users.create_user(email=email, password=password, role=Role.CLIENT, display_name=name)


def test_duplicate_email_is_refused(ctx):
    make_user(email="dup@example.test")
    with pytest.raises(ValidationError), write_transaction():
        users.create_user(email="DUP@example.test", password="long-enough-1", role=Role.CLIENT, display_name="x")


def test_disabled_user_cannot_log_in(ctx):
    user = make_user()
    with write_transaction():
        users.set_active(user.id, False, datetime(2026, 11, 23, 12, 0))
    assert users.authenticate(user.email, PASSWORD) is None
