"""Models, one module per aggregate."""
from .assignment import AssignmentChange, ChangeReason, ProfileAssignment
from .canned import CannedReply
from .chat import Conversation, Message
from .desk import ClientNoteVersion, ProfileFactVersion
from .conflicts import CONFLICT_KINDS, AssignmentConflict
from .exports import EXPORT_FORMATS, EXPORT_STATES, Export
from .filters import FILTER_ACTIONS, FILTER_KINDS, FILTER_LANGUAGES, FilterRule, FlaggedMessage
from .locks import CLIENT_LOCK_REASONS, PROFILE_LOCK_TYPES, ClientLock, ProfileLock, UnlockRequest
from .moderation import MODERATION_ACTIONS, SANCTION_KINDS, ModerationAction, Sanction
from .notifications import MAIL_BY_DEFAULT, NOTIFICATION_KINDS, MailDelivery, Notification
from .pending import PendingClientMessage
from .photos import PHOTO_STATES, Photo
from .profiles import Profile
from .reactions import MessageReaction
from .reports import (NOTICE_KINDS, REPORT_DECISIONS, REPORT_KINDS, REPORT_REASONS, REPORT_STATES,
                      ModerationNotice, Report)
from .queue import QueueEntry
from .rounds import NotificationRound, RoundNotification
from .tickets import (TICKET_EVENT_ACTIONS, TICKET_KINDS, TICKET_PRIORITIES, TICKET_STATES, Ticket,
                      TicketComment, TicketEvent)
from .users import Role, User

__all__ = ["FILTER_ACTIONS", "FILTER_KINDS", "FILTER_LANGUAGES", "FilterRule", "FlaggedMessage", "CLIENT_LOCK_REASONS", "CONFLICT_KINDS", "PROFILE_LOCK_TYPES", "QueueEntry", "AssignmentConflict", "AssignmentChange", "ChangeReason", "ClientLock", "Conversation", "EXPORT_FORMATS", "EXPORT_STATES", "Export", "Message", "MessageReaction", "MODERATION_ACTIONS", "ModerationAction", "SANCTION_KINDS", "Sanction", "NotificationRound", "PendingClientMessage", "Photo", "PHOTO_STATES", "Profile", "ProfileAssignment", "ProfileLock", "RoundNotification", "Role", "UnlockRequest", "User", "ModerationNotice", "NOTICE_KINDS", "Report", "REPORT_DECISIONS", "REPORT_KINDS", "REPORT_REASONS", "REPORT_STATES", "CannedReply", "ClientNoteVersion", "ProfileFactVersion", "MAIL_BY_DEFAULT", "NOTIFICATION_KINDS", "MailDelivery", "Notification",
           "TICKET_EVENT_ACTIONS", "TICKET_KINDS", "TICKET_PRIORITIES", "TICKET_STATES", "Ticket", "TicketComment",
           "TicketEvent"]
