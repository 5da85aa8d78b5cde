"""Models, one module per aggregate."""
from .assignment import AssignmentChange, ChangeReason
from .chat import Conversation, Message
from .conflicts import AssignmentConflict
from .locks import ClientLock, ProfileLock, UnlockRequest
from .profiles import Profile
from .queue import QueueEntry
from .users import Role, User

__all__ = ["QueueEntry", "AssignmentConflict", "AssignmentChange", "ChangeReason", "ClientLock", "Conversation", "Message", "Profile", "ProfileLock", "Role", "UnlockRequest", "User"]
