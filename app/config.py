"""Configuration from environment variables; every threshold is a setting."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("SWITCHBOARD_INSTANCE", BASE_DIR / "instance"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'switchboard.db'}"
    # Plain postgres URLs name the psycopg 3 driver explicitly.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(os.urandom(32).hex())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in ("1", "true", "yes", "on")


class Config:
    SECRET_KEY = _secret_key()
    INSTANCE_DIR = INSTANCE_DIR
    SQLALCHEMY_DATABASE_URI = _database_url()
    # Connections are recycled after 30 minutes; see DB_POOL_PRE_PING for checks on checkout.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_recycle": 1800}
    # PostgreSQL: each process keeps DB_POOL_SIZE connections and never opens more
    # (DB_MAX_OVERFLOW); a request waits DB_POOL_TIMEOUT_SECONDS at most for one, then gets a 503
    # (Retry-After: DB_RETRY_AFTER_SECONDS). Connections opened and closed per request instead
    # cost PostgreSQL a new backend each. SQLite keeps SQLAlchemy's own pool.
    DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "30"))
    DB_MAX_OVERFLOW = int(os.environ.get("DB_MAX_OVERFLOW", "0"))
    DB_POOL_TIMEOUT_SECONDS = int(os.environ.get("DB_POOL_TIMEOUT_SECONDS", "10"))  # whole seconds (SQLAlchemy rounds down)
    # A test query on every checkout (one more round trip per request); off: a connection that
    # PostgreSQL dropped fails one statement, and the whole pool is then replaced.
    DB_POOL_PRE_PING = _bool("DB_POOL_PRE_PING", False)
    DB_RETRY_AFTER_SECONDS = int(os.environ.get("DB_RETRY_AFTER_SECONDS", "5"))
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # Every Redis channel and key of this deployment starts with it (pub/sub ignores the database
    # number: two deployments on one Redis server would hear each other). Empty: "sb:" and a short
    # hash of the database URL, so deployments with different databases never share one.
    REDIS_PREFIX = os.environ.get("REDIS_PREFIX", "")
    # RQ's queues and keys are per Redis database: each deployment needs a database number of its own.
    RQ_QUEUES = ("high", "default", "low")
    REDIS_MAX_CONNECTIONS = int(os.environ.get("REDIS_MAX_CONNECTIONS", "64"))
    # RQ workers look for jobs whose worker died mid-run this often (RQ's default: 10 minutes); such a
    # job is found once its last heartbeat is 60-90 s old, then run again if it has retries left.
    WORKER_MAINTENANCE_SECONDS = int(os.environ.get("WORKER_MAINTENANCE_SECONDS", "60"))

    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "8025"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Switchboard <noreply@switchboard.local>")
    # A mail's claim (services.deliveries) whose sender never marked it sent is taken over after
    # this long: past the mail job's time limit (60 s), its sender was killed.
    MAIL_CLAIM_STALE_SECONDS = int(os.environ.get("MAIL_CLAIM_STALE_SECONDS", "180"))
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))

    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    # A request's whole body: above the largest upload (a photo) and its form, refused with a 413.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(11 * 1024 * 1024)))
    AVATAR_SIZE = int(os.environ.get("AVATAR_SIZE", "512"))  # pixels, the longer side of a stored avatar
    AVATAR_MAX_BYTES = int(os.environ.get("AVATAR_MAX_BYTES", str(5 * 1024 * 1024)))  # an upload, before decoding
    # An uploaded image larger than this (read from its header, before any decoding) is refused:
    # a 20 KB PNG may declare 13,000 x 13,000 pixels, 1.5 GB once decoded. Also Pillow's own limit
    # (Image.MAX_IMAGE_PIXELS) in every process, so no decode anywhere takes a bomb.
    IMAGE_MAX_PIXELS = int(os.environ.get("IMAGE_MAX_PIXELS", str(16_000_000)))
    IMAGE_MAX_SIDE = int(os.environ.get("IMAGE_MAX_SIDE", "8000"))  # pixels, either side
    # Photos in chat: the upload (checked from its header like an avatar, against IMAGE_MAX_PIXELS
    # and IMAGE_MAX_SIDE), then the thumbnail shown in the message and the size the lightbox shows
    # (pixels, the longer side), made by a job. The original is never served.
    PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(10 * 1024 * 1024)))
    PHOTO_THUMB_SIZE = int(os.environ.get("PHOTO_THUMB_SIZE", "320"))
    PHOTO_DISPLAY_SIZE = int(os.environ.get("PHOTO_DISPLAY_SIZE", "1600"))
    PHOTO_JPEG_QUALITY = int(os.environ.get("PHOTO_JPEG_QUALITY", "85"))
    # Where photos are stored (originals and the sizes made from them): outside the static folder.
    PHOTO_DIR = os.environ.get("PHOTO_DIR", str(Path(UPLOAD_DIR) / "photos"))
    # A photo still being prepared asks for itself again this often (a page that missed the push
    # while its socket was down still shows the thumbnail).
    PHOTO_PENDING_POLL_SECONDS = int(os.environ.get("PHOTO_PENDING_POLL_SECONDS", "15"))
    # Conversation exports (PDF, CSV, JSON), made by a job and stored under EXPORT_DIR (outside the
    # static folder), served only to who asked for them until EXPORT_TTL_SECONDS after they are
    # ready; expired files are removed every EXPORT_CLEAN_SECONDS. The job reads EXPORT_CHUNK_SIZE
    # messages at a time and reports its progress every EXPORT_PROGRESS_STEP percent; a page asks
    # for an unfinished export every EXPORT_POLL_SECONDS, in case a push was missed. One person has
    # at most EXPORT_MAX_UNFINISHED exports queued or running at once.
    EXPORT_DIR = os.environ.get("EXPORT_DIR", str(INSTANCE_DIR / "exports"))
    EXPORT_TTL_SECONDS = int(os.environ.get("EXPORT_TTL_SECONDS", str(24 * 3600)))
    EXPORT_CLEAN_SECONDS = int(os.environ.get("EXPORT_CLEAN_SECONDS", "600"))
    EXPORT_CHUNK_SIZE = int(os.environ.get("EXPORT_CHUNK_SIZE", "500"))
    EXPORT_PROGRESS_STEP = int(os.environ.get("EXPORT_PROGRESS_STEP", "10"))
    EXPORT_POLL_SECONDS = int(os.environ.get("EXPORT_POLL_SECONDS", "15"))
    EXPORT_MAX_UNFINISHED = int(os.environ.get("EXPORT_MAX_UNFINISHED", "3"))
    EXPORT_JOB_TIMEOUT_SECONDS = int(os.environ.get("EXPORT_JOB_TIMEOUT_SECONDS", "900"))

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("DISPLAY_TIMEZONE", "Europe/Paris")
    LANGUAGES = ("fr", "en", "es", "de")
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")

    # Production behind HTTPS: every cookie (session, remember, language) is sent over HTTPS only
    # and responses carry Strict-Transport-Security (HSTS_MAX_AGE_SECONDS, subdomains included).
    # Off by default: the embedded default serves plain HTTP.
    SECURE_TRANSPORT = _bool("SECURE_TRANSPORT", False)
    HSTS_MAX_AGE_SECONDS = int(os.environ.get("HSTS_MAX_AGE_SECONDS", str(365 * 24 * 3600)))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", SECURE_TRANSPORT)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None

    PASSWORD_MIN_LENGTH = int(os.environ.get("PASSWORD_MIN_LENGTH", "8"))
    # New password hashes: "argon2" (argon2id, the cost below), or a Werkzeug method such as
    # "scrypt" or "pbkdf2:sha256:600000". Stored hashes of another method or cost still verify and
    # are replaced at the next successful log-in (SECURITY.md).
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "argon2")
    # argon2id's cost: passes, memory in KiB, lanes (argon2-cffi's defaults, RFC 9106's low-memory profile).
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "3"))
    ARGON2_MEMORY_COST_KIB = int(os.environ.get("ARGON2_MEMORY_COST_KIB", "65536"))
    ARGON2_PARALLELISM = int(os.environ.get("ARGON2_PARALLELISM", "4"))
    # Failed log-ins (wrong e-mail or password) per account (the e-mail as typed, trimmed and
    # lower-cased): each window adds a longer wait once its count is reached, so guessing slows
    # down while the account's owner, and everyone else behind the same address, still log in.
    RATELIMIT_LOGIN_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_ACCOUNT", "5 per minute;20 per hour;50 per day")
    # Failed log-ins per address, all accounts together (an office shares one): higher.
    RATELIMIT_LOGIN_ADDRESS = os.environ.get("RATELIMIT_LOGIN_ADDRESS", "30 per minute;300 per hour")
    RATELIMIT_SIGNUP = os.environ.get("RATELIMIT_SIGNUP", "5 per hour;20 per day")  # sign-up attempts per address
    # Messages a client may send (one window: one Redis round trip per message); more is a 429
    # shown in the composer, the text kept.
    RATELIMIT_SEND = os.environ.get("RATELIMIT_SEND", "10 per 10 seconds")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)

    MESSAGE_MAX_LENGTH = 4000
    # Moderation: a moderator mutes a client (from a conversation they hold) for at most
    # MODERATOR_MUTE_MAX_SECONDS; admins ban and mute for any time. Ended sanctions are closed,
    # each with its log line, every SANCTION_END_SECONDS.
    MODERATOR_MUTE_MAX_SECONDS = int(os.environ.get("MODERATOR_MUTE_MAX_SECONDS", str(24 * 3600)))
    SANCTION_END_SECONDS = int(os.environ.get("SANCTION_END_SECONDS", "60"))
    # Content filters: at most FILTER_RULES_MAX rules, each at most FILTER_EXPRESSION_MAX_LENGTH
    # characters (a pattern, or a word list) and compiled by RE2 within FILTER_PROGRAM_MAX_SIZE (its
    # program size: bigger patterns are refused at save). Each process compiles the rules once and
    # asks Redis for their version at most every FILTER_RELOAD_CHECK_MS milliseconds.
    FILTER_RULES_MAX = int(os.environ.get("FILTER_RULES_MAX", "500"))
    FILTER_EXPRESSION_MAX_LENGTH = int(os.environ.get("FILTER_EXPRESSION_MAX_LENGTH", "2000"))
    FILTER_PROGRAM_MAX_SIZE = int(os.environ.get("FILTER_PROGRAM_MAX_SIZE", "20000"))
    FILTER_RELOAD_CHECK_MS = int(os.environ.get("FILTER_RELOAD_CHECK_MS", "1000"))
    # The moderation log's admin page shows MODERATION_LOG_PAGE_SIZE lines a page (the service
    # bounds any asked size by MODERATION_LOG_PAGE_MAX); a client's card shows their latest
    # CLIENT_LOG_CARD_SIZE lines a moderator may see.
    MODERATION_LOG_PAGE_SIZE = int(os.environ.get("MODERATION_LOG_PAGE_SIZE", "50"))
    MODERATION_LOG_PAGE_MAX = 200
    CLIENT_LOG_CARD_SIZE = int(os.environ.get("CLIENT_LOG_CARD_SIZE", "10"))
    # Reports: a reporter files at most REPORTS_PER_HOUR reports in any hour (each open report is
    # an admin's work); a report's comment is at most REPORT_COMMENT_MAX_LENGTH characters; the
    # admins' queue shows REPORTS_PAGE_SIZE reports a page; the mute or ban an admin imposes from
    # a report lasts one of REPORT_SANCTION_HOURS (space-separated hours, 0: until lifted).
    REPORTS_PER_HOUR = int(os.environ.get("REPORTS_PER_HOUR", "10"))
    REPORT_COMMENT_MAX_LENGTH = int(os.environ.get("REPORT_COMMENT_MAX_LENGTH", "1000"))
    REPORTS_PAGE_SIZE = int(os.environ.get("REPORTS_PAGE_SIZE", "25"))
    REPORT_SANCTION_HOURS = os.environ.get("REPORT_SANCTION_HOURS", "1 24 168 0")
    # Reactions: the emoji offered at one click under a message (space-separated), and how many
    # different emoji one side of a conversation may put on one message.
    REACTIONS_QUICK = os.environ.get("REACTIONS_QUICK", "👍 ❤️ 😂 😮 😢 🙏").split()
    REACTIONS_PER_MESSAGE_MAX = int(os.environ.get("REACTIONS_PER_MESSAGE_MAX", "6"))
    # The moderator's desk: longest fact sheet of a profile and longest notes on a client (longer
    # is refused with a 422, the text kept); how many past versions the desk beside the chat shows
    # (the admin's profile page shows them all).
    DESK_FACTS_MAX_LENGTH = int(os.environ.get("DESK_FACTS_MAX_LENGTH", "4000"))
    DESK_NOTE_MAX_LENGTH = int(os.environ.get("DESK_NOTE_MAX_LENGTH", "4000"))
    DESK_HISTORY_SHOWN = int(os.environ.get("DESK_HISTORY_SHOWN", "3"))
    HISTORY_PAGE_SIZE = 50
    # A conversation opens on the first message its reader has not seen, when at most this many
    # messages are shown from there on; further back it opens on the latest page, without a divider.
    HISTORY_UNREAD_MAX = int(os.environ.get("HISTORY_UNREAD_MAX", "500"))
    # A conversation opened at a message (a search result) shows half a page above it and reaches on
    # to the latest message when at most this many follow it; further back, half a page each side.
    HISTORY_AROUND_MAX = int(os.environ.get("HISTORY_AROUND_MAX", "500"))
    # Message search: results per page; longest query (longer is a 400); the last word also finds
    # longer words it starts once it has this many characters; characters of text around a match.
    SEARCH_PAGE_SIZE = int(os.environ.get("SEARCH_PAGE_SIZE", "20"))
    # Canned replies: longest title and text (characters); most replies one owner may keep (a
    # moderator's own; for admins, each scope: global, or one profile's).
    CANNED_TITLE_MAX_LENGTH = int(os.environ.get("CANNED_TITLE_MAX_LENGTH", "80"))
    CANNED_BODY_MAX_LENGTH = int(os.environ.get("CANNED_BODY_MAX_LENGTH", "2000"))
    CANNED_MAX_PER_OWNER = int(os.environ.get("CANNED_MAX_PER_OWNER", "100"))
    SEARCH_QUERY_MAX_LENGTH = int(os.environ.get("SEARCH_QUERY_MAX_LENGTH", "200"))
    SEARCH_PREFIX_MIN_LENGTH = int(os.environ.get("SEARCH_PREFIX_MIN_LENGTH", "3"))
    SEARCH_SNIPPET_CHARS = int(os.environ.get("SEARCH_SNIPPET_CHARS", "160"))
    POLL_INTERVAL_SECONDS = 30
    # A page fetches an element it refreshes once more when a push went into it while the refresh
    # was on its way (the answer, read before the push, undid it); at most this many fetches in a row.
    PAGE_REFRESH_ROUNDS = int(os.environ.get("PAGE_REFRESH_ROUNDS", "3"))
    SOCKET_QUEUE_SIZE = int(os.environ.get("SOCKET_QUEUE_SIZE", "256"))
    # A web process whose Redis subscription was lost tries to subscribe again at least this often
    # (pushes stop until it does; then every page reconnects and catches up).
    HUB_RESUBSCRIBE_MAX_SECONDS = float(os.environ.get("HUB_RESUBSCRIBE_MAX_SECONDS", "1"))
    WS_SEND_TIMEOUT_SECONDS = float(os.environ.get("WS_SEND_TIMEOUT_SECONDS", "10"))
    # Sockets one web process holds at most; the next is refused (503) and its page tries again later.
    WS_MAX_SOCKETS = int(os.environ.get("WS_MAX_SOCKETS", "10000"))
    # Pages send only small typing signals: a bigger message closes the socket (1009).
    WS_MAX_MESSAGE_BYTES = int(os.environ.get("WS_MAX_MESSAGE_BYTES", "1024"))
    # The server pings each socket this often (0: never); a page that did not answer the last ping
    # is closed (1008). Each socket's interval is drawn within ±20 % of it, so sockets opened
    # together are not all pinged in the same instant.
    WS_PING_INTERVAL_SECONDS = float(os.environ.get("WS_PING_INTERVAL", "25"))
    WS_PING_JITTER = float(os.environ.get("WS_PING_JITTER", "0.2"))
    # Closing a socket from our side (a restart, a kick): how long its page has to answer our
    # close frame before the connection is dropped anyway.
    WS_CLOSE_WAIT_SECONDS = float(os.environ.get("WS_CLOSE_WAIT_SECONDS", "2"))
    # Origins allowed to open /ws besides the request's own host (comma separated).
    WS_ALLOWED_ORIGINS = [o for o in os.environ.get("WS_ALLOWED_ORIGINS", "").split(",") if o]

    # A conversation is active (counts in its moderator's load) while a message waits, or this
    # long after its last message.
    ACTIVE_WINDOW_SECONDS = int(os.environ.get("ACTIVE_WINDOW_SECONDS", str(30 * 60)))
    ORPHAN_SWEEP_SECONDS = int(os.environ.get("ORPHAN_SWEEP_SECONDS", "30"))
    PROFILE_LOCK_SECONDS = int(os.environ.get("PROFILE_LOCK_SECONDS", "500"))
    CLIENT_LOCK_SECONDS = int(os.environ.get("CLIENT_LOCK_SECONDS", "30"))
    LOCK_CLEAN_SECONDS = int(os.environ.get("LOCK_CLEAN_SECONDS", "60"))
    QUEUE_DEFAULT_WAIT_SECONDS = int(os.environ.get("QUEUE_DEFAULT_WAIT_SECONDS", "60"))
    # The queue's estimated wait counts the first assignments of this last stretch of time.
    QUEUE_STATS_WINDOW_SECONDS = int(os.environ.get("QUEUE_STATS_WINDOW_SECONDS", str(30 * 60)))
    # Queue panels pushed at most once per interval and web process in a burst of changes (0: every change).
    QUEUE_PUSH_INTERVAL_SECONDS = float(os.environ.get("QUEUE_PUSH_INTERVAL_SECONDS", "0.5"))
    # ...and one web process writes at most this many queue panels a second in such a burst, in
    # this many batches a second (its requests and sockets run between them): with many queued
    # moderators on its sockets, a refresh takes longer to go out and the next follows it (0: all
    # at once, no limit).
    QUEUE_PANELS_PER_SECOND = float(os.environ.get("QUEUE_PANELS_PER_SECOND", "500"))
    QUEUE_PANEL_BATCHES_PER_SECOND = int(os.environ.get("QUEUE_PANEL_BATCHES_PER_SECOND", "20"))
    BALANCE_THRESHOLD = int(os.environ.get("BALANCE_THRESHOLD", "2"))
    BALANCE_COOLDOWN_SECONDS = int(os.environ.get("BALANCE_COOLDOWN_SECONDS", "300"))
    # Work handed to a moderator this recently (a waiting conversation they received) is not
    # taken back by balancing: they have not had the time to answer.
    HANDOVER_GRACE_SECONDS = int(os.environ.get("HANDOVER_GRACE_SECONDS", "60"))
    BALANCE_SECONDS = int(os.environ.get("BALANCE_SECONDS", "60"))
    MONITORING_SECONDS = int(os.environ.get("MONITORING_SECONDS", "60"))
    INACTIVITY_SECONDS = int(os.environ.get("INACTIVITY_SECONDS", "60"))
    INACTIVITY_CHECK_SECONDS = int(os.environ.get("INACTIVITY_CHECK_SECONDS", "15"))
    # Typing signals of one socket written at most every TYPING_RECORD_SECONDS for the same
    # conversation, and after TYPING_SWITCH_SECONDS when the moderator typed in another one.
    TYPING_RECORD_SECONDS = int(os.environ.get("TYPING_RECORD_SECONDS", "10"))
    TYPING_SWITCH_SECONDS = float(os.environ.get("TYPING_SWITCH_SECONDS", "1"))
    # How late a typing signal may reach the server after the answer it preceded (the socket reads
    # signals between pushes): an "answering" lock asked for that late is not taken.
    TYPING_LAG_SECONDS = int(os.environ.get("TYPING_LAG_SECONDS", "10"))
    # The typing indicator. A page signals at most every TYPING_SIGNAL_SECONDS while its user
    # types; the other side's page shows "… is typing" until TYPING_SHOWN_SECONDS pass without a
    # new signal (or their message arrives), so it must be longer than the signals' spacing. The
    # server pushes at most one indicator per typist every TYPING_PUSH_SECONDS for the same
    # conversation (after TYPING_SWITCH_SECONDS for another one), shorter than the page's spacing
    # so that no signal of a page that keeps to it is dropped. Who sees a conversation's typing is
    # read once per TYPING_AUDIENCE_SECONDS and web process: a conversation that changed hands
    # meanwhile shows its former holder's typing (and shows the client's to them) that long at most.
    TYPING_SIGNAL_SECONDS = float(os.environ.get("TYPING_SIGNAL_SECONDS", "3"))
    TYPING_SHOWN_SECONDS = float(os.environ.get("TYPING_SHOWN_SECONDS", "6"))
    TYPING_PUSH_SECONDS = float(os.environ.get("TYPING_PUSH_SECONDS", "2"))
    TYPING_AUDIENCE_SECONDS = float(os.environ.get("TYPING_AUDIENCE_SECONDS", "5"))
    # A page's socket refreshes its presence this often; a socket not refreshed for
    # PRESENCE_STALE_SECONDS (its process died) stops counting.
    SOCKET_ALIVE_SECONDS = float(os.environ.get("SOCKET_ALIVE_SECONDS", "30"))
    PRESENCE_STALE_SECONDS = int(os.environ.get("PRESENCE_STALE_SECONDS", "90"))
    # A moderator's page that connects while conversations wait with nobody holding them hands
    # them out this long after joining the queue: moderators connecting together share them.
    ARRIVAL_GATHER_SECONDS = float(os.environ.get("ARRIVAL_GATHER_SECONDS", "0.5"))
    PRESENCE_SWEEP_SECONDS = int(os.environ.get("PRESENCE_SWEEP_SECONDS", "60"))
    # A closed socket or a page that left counts as offline only after this grace (a reload).
    PRESENCE_GRACE_SECONDS = int(os.environ.get("PRESENCE_GRACE_SECONDS", "10"))
    PRESENCE_HEARTBEAT_SECONDS = int(os.environ.get("PRESENCE_HEARTBEAT_SECONDS", "120"))
    # No socket, heartbeat or activity for this long: offline (checked every PRESENCE_ACTIVITY_CHECK_SECONDS).
    PRESENCE_OFFLINE_AFTER_SECONDS = int(os.environ.get("PRESENCE_OFFLINE_AFTER_SECONDS", "300"))
    PRESENCE_ACTIVITY_CHECK_SECONDS = int(os.environ.get("PRESENCE_ACTIVITY_CHECK_SECONDS", "300"))

    # Notification rounds: e-mails calling moderators in while client messages wait.
    ROUNDS_PROCESS_SECONDS = int(os.environ.get("ROUNDS_PROCESS_SECONDS", "600"))
    ROUNDS_CHECK_SECONDS = int(os.environ.get("ROUNDS_CHECK_SECONDS", "60"))
    ROUNDS_CHECK_AFTER_SECONDS = int(os.environ.get("ROUNDS_CHECK_AFTER_SECONDS", "1800"))
    ROUNDS_MIN_PENDING_AGE_SECONDS = int(os.environ.get("ROUNDS_MIN_PENDING_AGE_SECONDS", "300"))
    ROUNDS_PENDING_PER_MODERATOR = float(os.environ.get("ROUNDS_PENDING_PER_MODERATOR", "5"))
    ROUNDS_MODERATORS_PER_ROUND = int(os.environ.get("ROUNDS_MODERATORS_PER_ROUND", "3"))
    # A round marks the messages it told about in batches this size, each a short transaction.
    ROUNDS_MARK_BATCH = int(os.environ.get("ROUNDS_MARK_BATCH", "5000"))
    # Accounts. Activation: a sign-up's account can log in once the link mailed to it is followed
    # (the launcher of the embedded demo turns it off).
    ACCOUNT_ACTIVATION = _bool("ACCOUNT_ACTIVATION", True)
    ACTIVATION_TOKEN_MAX_AGE_SECONDS = int(os.environ.get("ACTIVATION_TOKEN_MAX_AGE_SECONDS", str(3 * 24 * 3600)))
    RESET_TOKEN_MAX_AGE_SECONDS = int(os.environ.get("RESET_TOKEN_MAX_AGE_SECONDS", "3600"))
    # Activation mails sent again, and reset mails asked for, per address and per account.
    RATELIMIT_ACTIVATION_RESEND = os.environ.get("RATELIMIT_ACTIVATION_RESEND", "3 per hour;10 per day")
    RATELIMIT_RESET_ADDRESS = os.environ.get("RATELIMIT_RESET_ADDRESS", "10 per hour;50 per day")
    RATELIMIT_RESET_ACCOUNT = os.environ.get("RATELIMIT_RESET_ACCOUNT", "3 per hour;10 per day")
    # Attempts at a new password through a reset link, per address (each checks a token and a password).
    RATELIMIT_RESET_SUBMIT = os.environ.get("RATELIMIT_RESET_SUBMIT", "20 per hour")
    # Password changes on the account page, per account (each verifies the current password).
    RATELIMIT_PASSWORD_CHANGE = os.environ.get("RATELIMIT_PASSWORD_CHANGE", "5 per minute;30 per hour")

    # Notification centre. A reply notifies the client when it is still unread after this long
    # (they were elsewhere: another conversation, another page, a hidden tab, gone).
    NOTIFY_REPLY_AFTER_SECONDS = int(os.environ.get("NOTIFY_REPLY_AFTER_SECONDS", "10"))
    # ... and its mail (for those who want replies mailed) goes this much later, if still unread.
    NOTIFY_REPLY_MAIL_AFTER_SECONDS = int(os.environ.get("NOTIFY_REPLY_MAIL_AFTER_SECONDS", "300"))
    # New notifications per user and minute; past it, events only merge into unread ones.
    NOTIFICATIONS_PER_MINUTE = int(os.environ.get("NOTIFICATIONS_PER_MINUTE", "20"))
    NOTIFICATIONS_PAGE_SIZE = int(os.environ.get("NOTIFICATIONS_PAGE_SIZE", "20"))
    NOTIFICATIONS_PANEL_SIZE = int(os.environ.get("NOTIFICATIONS_PANEL_SIZE", "8"))
    # How long a cached unread count lives in Redis (each write drops it anyway).
    NOTIFICATION_COUNT_CACHE_SECONDS = int(os.environ.get("NOTIFICATION_COUNT_CACHE_SECONDS", "3600"))

    # Support tickets.
    TICKET_BODY_MAX = int(os.environ.get("TICKET_BODY_MAX", "5000"))
    TICKET_SUBJECT_MAX = int(os.environ.get("TICKET_SUBJECT_MAX", "200"))
    TICKET_COMMENT_MAX = int(os.environ.get("TICKET_COMMENT_MAX", "5000"))
    TICKETS_PAGE_SIZE = int(os.environ.get("TICKETS_PAGE_SIZE", "30"))
    RATELIMIT_TICKETS = os.environ.get("RATELIMIT_TICKETS", "5 per hour;20 per day")  # tickets opened per user

    # Operations: database backups (flask backup, the daily job).
    # A backup every BACKUP_SECONDS into BACKUP_DIR (PostgreSQL: pg_dump's custom format; SQLite:
    # a copy through its online backup API), the newest BACKUP_KEEP kept. The periodic job skips
    # its turn while the newest backup is younger than BACKUP_FRESH_SECONDS, so scheduler restarts
    # do not each make one (`flask backup run` always does). pg_dump and pg_restore are taken from
    # PG_BIN_DIR (empty: the PATH) and stopped after BACKUP_TOOL_TIMEOUT_SECONDS; the periodic job
    # is also bounded by RQ's job timeout.
    BACKUP_DIR = os.environ.get("BACKUP_DIR", str(INSTANCE_DIR / "backups"))
    BACKUP_KEEP = int(os.environ.get("BACKUP_KEEP", "7"))
    BACKUP_SECONDS = int(os.environ.get("BACKUP_SECONDS", str(24 * 3600)))
    BACKUP_FRESH_SECONDS = int(os.environ.get("BACKUP_FRESH_SECONDS", str(BACKUP_SECONDS // 2)))
    PG_BIN_DIR = os.environ.get("PG_BIN_DIR", "")
    BACKUP_TOOL_TIMEOUT_SECONDS = int(os.environ.get("BACKUP_TOOL_TIMEOUT_SECONDS", "3600"))

    # Operations: old rows removed (flask cleanup, the daily job).
    # Days each kind of row is kept (0: for good): answered client messages' pending rows, the
    # assignment history, resolved conflicts, the rounds of an ended cycle, read notifications,
    # unread ones, sent mails' delivery keys, and photos' originals (the sizes shown stay).
    CLEANUP_PENDING_DAYS = int(os.environ.get("CLEANUP_PENDING_DAYS", "30"))
    CLEANUP_ASSIGNMENT_HISTORY_DAYS = int(os.environ.get("CLEANUP_ASSIGNMENT_HISTORY_DAYS", "180"))
    CLEANUP_CONFLICTS_DAYS = int(os.environ.get("CLEANUP_CONFLICTS_DAYS", "180"))
    CLEANUP_ROUNDS_DAYS = int(os.environ.get("CLEANUP_ROUNDS_DAYS", "90"))
    CLEANUP_READ_NOTIFICATIONS_DAYS = int(os.environ.get("CLEANUP_READ_NOTIFICATIONS_DAYS", "90"))
    CLEANUP_UNREAD_NOTIFICATIONS_DAYS = int(os.environ.get("CLEANUP_UNREAD_NOTIFICATIONS_DAYS", "365"))
    CLEANUP_MAIL_DELIVERIES_DAYS = int(os.environ.get("CLEANUP_MAIL_DELIVERIES_DAYS", "90"))
    CLEANUP_PHOTO_ORIGINALS_DAYS = int(os.environ.get("CLEANUP_PHOTO_ORIGINALS_DAYS", "30"))
    # Rows removed per batch, each batch a short transaction of its own; the job runs every CLEANUP_SECONDS.
    CLEANUP_BATCH_SIZE = int(os.environ.get("CLEANUP_BATCH_SIZE", "1000"))
    CLEANUP_SECONDS = int(os.environ.get("CLEANUP_SECONDS", str(24 * 3600)))
    CLEANUP_TIMEOUT_SECONDS = int(os.environ.get("CLEANUP_TIMEOUT_SECONDS", "3600"))  # one run's time limit

    # Operations: jobs, health, metrics.
    # The seed's targets: a job waits at most JOB_WAIT_ALERT_SECONDS, runs at most
    # JOB_RUN_ALERT_SECONDS, and at most JOB_FAILURE_RATE_ALERT of the jobs ended in
    # JOB_STATS_WINDOW_SECONDS failed for good; the operations page raises an alert past each.
    JOB_WAIT_ALERT_SECONDS = float(os.environ.get("JOB_WAIT_ALERT_SECONDS", "3600"))
    JOB_RUN_ALERT_SECONDS = float(os.environ.get("JOB_RUN_ALERT_SECONDS", "5"))
    JOB_FAILURE_RATE_ALERT = float(os.environ.get("JOB_FAILURE_RATE_ALERT", "0.01"))
    JOB_STATS_WINDOW_SECONDS = int(os.environ.get("JOB_STATS_WINDOW_SECONDS", "3600"))
    # Per-minute job counts and recent wait and run times (at most JOB_TIMINGS_KEPT per queue)
    # are kept in Redis this long.
    JOB_STATS_KEEP_SECONDS = int(os.environ.get("JOB_STATS_KEEP_SECONDS", str(2 * 3600)))
    JOB_TIMINGS_KEPT = int(os.environ.get("JOB_TIMINGS_KEPT", "20000"))
    # A kind of job's failures are mailed to an admin at most once in this long (in-app: each).
    JOB_ALERT_MAIL_EVERY_SECONDS = int(os.environ.get("JOB_ALERT_MAIL_EVERY_SECONDS", "3600"))
    # The operations page refreshes itself this often while it is open; failed jobs per page.
    OPERATIONS_REFRESH_SECONDS = int(os.environ.get("OPERATIONS_REFRESH_SECONDS", "5"))
    FAILED_JOBS_PAGE_SIZE = int(os.environ.get("FAILED_JOBS_PAGE_SIZE", "25"))
    # The reports page: the clients waiting longest now (how many listed); a moderator is
    # overloaded when more than OVERLOADED_WAITING of their conversations wait for a reply, or one
    # has waited longer than OVERLOADED_WAIT_SECONDS. The daily report is mailed to admins once a
    # day after DAILY_REPORT_HOUR (DISPLAY_TIMEZONE), checked every DAILY_REPORT_CHECK_SECONDS.
    REPORT_WAITING_CLIENTS = int(os.environ.get("REPORT_WAITING_CLIENTS", "20"))
    # A wait that starts in a reported period counts as answered when the reply came within this
    # many days of the period's end; later, as not answered (the report reads no further).
    REPORT_ANSWER_WITHIN_DAYS = int(os.environ.get("REPORT_ANSWER_WITHIN_DAYS", "7"))
    OVERLOADED_WAITING = int(os.environ.get("OVERLOADED_WAITING", "3"))
    OVERLOADED_WAIT_SECONDS = int(os.environ.get("OVERLOADED_WAIT_SECONDS", "300"))
    DAILY_REPORT_MAIL = _bool("DAILY_REPORT_MAIL", True)
    DAILY_REPORT_HOUR = int(os.environ.get("DAILY_REPORT_HOUR", "7"))
    DAILY_REPORT_CHECK_SECONDS = int(os.environ.get("DAILY_REPORT_CHECK_SECONDS", "3600"))
    # Logs: "text" (lines for people: `make run`, the default) or "json" (one object per line, for a
    # log pipeline: production). REQUEST_LOG: a line per request (on by default with json).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    REQUEST_LOG = _bool("REQUEST_LOG", LOG_FORMAT.strip().lower() == "json")
    # Proxies in front of the web processes (nginx: 1) whose X-Forwarded-For and X-Forwarded-Proto
    # are believed: the client's address (the limits counted per address, /metrics' allowed
    # addresses) is then the one the first proxy saw. 0: the connection's own address.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # /metrics: with METRICS_TOKEN, only for "Authorization: Bearer <token>"; without, only from
    # METRICS_ALLOW_FROM (comma-separated addresses or networks).
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    METRICS_ALLOW_FROM = tuple(n.strip() for n in os.environ.get("METRICS_ALLOW_FROM", "127.0.0.1,::1").split(",")
                               if n.strip())
    # /health/ready: a worker counts as alive while its last heartbeat is this recent (an idle RQ
    # worker beats about every 7 minutes, so the worker's key itself expires a little later).
    HEALTH_WORKER_STALE_SECONDS = int(os.environ.get("HEALTH_WORKER_STALE_SECONDS", "480"))

    SQLITE_WRITE_WAIT_SECONDS = float(os.environ.get("SQLITE_WRITE_WAIT_SECONDS", "15"))
    # PostgreSQL: runs of a statement before psycopg prepares it server-side ("none": never).
    PG_PREPARE_THRESHOLD = os.environ.get("PG_PREPARE_THRESHOLD", "5").strip().lower()
    # Web processes: WAL checkpoints on a native thread this often (0: in the commits, SQLite's default).
    SQLITE_CHECKPOINT_SECONDS = float(os.environ.get("SQLITE_CHECKPOINT_SECONDS", "1"))


class TestConfig(Config):
    TESTING = True
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", False)
