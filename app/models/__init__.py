"""Models, one module per aggregate."""
from .assignment import AssignmentChange, ChangeReason, ProfileAssignment
from .chat import Conversation, Message
from .conflicts import AssignmentConflict
from .locks import ClientLock, ProfileLock, UnlockRequest
from .pending import PendingClientMessage
from .profiles import Profile
from .queue import QueueEntry
from .rounds import NotificationRound, RoundNotification
from .users import Role, User

__all__ = ["QueueEntry", "AssignmentConflict", "AssignmentChange", "ChangeReason", "ClientLock", "Conversation", "Message", "NotificationRound", "PendingClientMessage", "Profile", "ProfileAssignment", "ProfileLock", "RoundNotification", "Role", "UnlockRequest", "User"]
