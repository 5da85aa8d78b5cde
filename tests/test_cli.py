"""The ops commands, through Flask's CLI runner."""
import hashlib
from pathlib import Path

from PIL import Image

from app.models import Conversation, Profile, Role, User
from app.services import profiles
from tests.support.context import app_context
from tests.support.factories import count


def test_seed_demo_creates_the_demo_world_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert count(User, role=Role.ADMIN) == 1
    assert count(User, role=Role.MODERATOR) == 4
    assert count(User, role=Role.CLIENT) == 6
    assert count(Profile) == 12
    assert count(Conversation) >= 3
    again = runner.invoke(args=["seed-demo"])
    assert "left alone" in again.output and count(User) == 11


def test_seed_demo_gives_each_profile_a_portrait_made_by_the_avatar_pipeline(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    uploads = Path(app.config["UPLOAD_DIR"])
    with app_context():
        stored = [(p.name, p.avatar_filename, p.avatar_pending) for p in Profile.query.order_by(Profile.id)]
    assert len(stored) == 12
    digests = set()
    for name, filename, pending in stored:
        assert filename and pending is None, (name, filename, pending)
        path = uploads / "avatars" / filename
        with Image.open(path) as image:  # what the avatar job writes: a square JPEG of AVATAR_SIZE
            assert (image.format, image.size) == ("JPEG", (app.config["AVATAR_SIZE"],) * 2), (name, image)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 12, "every profile has a portrait of its own"
    assert not list((uploads / profiles.ORIGINALS).glob("*")), "the job removes the uploads it processed"


def test_users_create_list_disable(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "--email", "ops@example.test", "--name", "Ops",
                                 "--role", "moderator", "--password", "long-enough-1"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(args=["users", "list", "--role", "moderator"])
    assert "ops@example.test" in listing.output
    duplicate = runner.invoke(args=["users", "create", "--email", "ops@example.test", "--name", "Ops",
                                    "--password", "long-enough-1"])
    assert duplicate.exit_code != 0 and "already" in duplicate.output
    disabled = runner.invoke(args=["users", "disable", "ops@example.test"])
    assert disabled.exit_code == 0
    with app_context():
        assert User.query.filter_by(email="ops@example.test").one().active is False
    unknown = runner.invoke(args=["users", "disable", "nobody@example.test"])
    assert unknown.exit_code != 0
