"""Models, one module per aggregate."""
from .chat import Conversation, Message
from .profiles import Profile
from .users import Role, User

__all__ = ["Conversation", "Message", "Profile", "Role", "User"]
