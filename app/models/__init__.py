"""Models, one module per aggregate."""
from .assignment import AssignmentChange, ChangeReason, ProfileAssignment
from .chat import Conversation, Message
from .desk import ClientNoteVersion, ProfileFactVersion
from .conflicts import CONFLICT_KINDS, AssignmentConflict
from .exports import EXPORT_FORMATS, EXPORT_STATES, Export
from .locks import CLIENT_LOCK_REASONS, PROFILE_LOCK_TYPES, ClientLock, ProfileLock, UnlockRequest
from .moderation import MODERATION_ACTIONS, SANCTION_KINDS, ModerationAction, Sanction
from .pending import PendingClientMessage
from .photos import PHOTO_STATES, Photo
from .profiles import Profile
from .reactions import MessageReaction
from .queue import QueueEntry
from .rounds import NotificationRound, RoundNotification
from .users import Role, User

__all__ = ["ClientNoteVersion", "ProfileFactVersion", "CLIENT_LOCK_REASONS", "CONFLICT_KINDS", "PROFILE_LOCK_TYPES", "QueueEntry", "AssignmentConflict", "AssignmentChange", "ChangeReason", "ClientLock", "Conversation", "EXPORT_FORMATS", "EXPORT_STATES", "Export", "Message", "MessageReaction", "MODERATION_ACTIONS", "ModerationAction", "SANCTION_KINDS", "Sanction", "NotificationRound", "PendingClientMessage", "Photo", "PHOTO_STATES", "Profile", "ProfileAssignment", "ProfileLock", "RoundNotification", "Role", "UnlockRequest", "User"]
