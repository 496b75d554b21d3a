"""People of the admin platform: users, logins and their sessions, invitations.

A login is a row in login_sessions plus a short-lived JWT naming it (claim `sid`); a token
is honoured only while its session is live, so logout, "log out everywhere" and the
session cap take effect at once, token lifetime notwithstanding. At most MAX_SESSIONS live
sessions per user: a new login revokes the oldest (atomically in the store, under
concurrent logins too), and a login whose session a racing login revoked before its token
was handed out answers LoginRaced instead of a dead token. Failed logins slow down per
(account, address) pair (domain.access.LoginThrottle), and every failure says the same
thing to the caller, so nobody learns which emails exist.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import attrs

from application.accounts.ports import InvitationSigner, PasswordHasher, TokenClaims, TokenService
from application.ports import Clock, UnitOfWorkFactory
from application.records import AuditEntry, AuditKind, Invitation, LoginAttempt, LoginSession, Role, User
from domain.access import LoginThrottle, allowed, check_password, normalise_email
from domain.errors import AuthenticationError, ConfigurationError

MAX_SESSIONS = 3
SESSION_LIFETIME = timedelta(hours=12)  # a login lasts this long; its tokens are re-issued within it
INVITATION_LIFETIME = timedelta(days=3)
GENERIC_FAILURE = "invalid email or password"
RACED_LOGIN = (f"other logins of this user, at the same moment, took its {MAX_SESSIONS} sessions "
               f"(at most {MAX_SESSIONS} live sessions per user); log in again")


class PermissionDenied(AuthenticationError):
    """Authenticated, but the role may not do this."""


class UnknownInvitation(ConfigurationError):
    """An admin named an invitation id the store does not have."""


class InvitationClosed(ConfigurationError):
    """The invitation was accepted or revoked already: nothing is left to withdraw."""


class LoginThrottled(AuthenticationError):
    """Too many failed logins for the account or from the address: refused before the
    password is looked at. The caller waits `retry_after_seconds`; the message is the same
    whichever limit was hit, so it tells nobody whether the account exists."""

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class LoginRaced(AuthenticationError):
    """The password was right, but concurrent logins of the same user opened more than
    MAX_SESSIONS sessions and this one's was revoked before its token was handed out."""


@attrs.frozen(kw_only=True)
class Principal:
    user_id: str
    email: str
    role: Role
    session_id: str

    def require(self, action: str) -> None:
        if not allowed(self.role, action):
            raise PermissionDenied(f"role {self.role.value} may not {action}")


@attrs.frozen(kw_only=True)
class LoginResult:
    token: str
    session: LoginSession
    revoked: tuple[str, ...]  # older sessions the cap revoked


@attrs.define(kw_only=True)
class Accounts:
    uow_factory: UnitOfWorkFactory
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenService
    invitations_signer: InvitationSigner
    throttle: LoginThrottle = attrs.field(factory=LoginThrottle)
    invitation_lifetime: timedelta = INVITATION_LIFETIME
    # Read-only units of work for the checks that only read (every request's bearer check):
    # on SQLite a writing one takes the write lock, which would queue the trading loop behind
    # every API request. None: uow_factory.
    reader: UnitOfWorkFactory | None = None

    def _read(self) -> UnitOfWorkFactory:
        return self.reader or self.uow_factory

    def create_user(self, *, email: str, password: str, role: Role, verified: bool = True) -> User:
        address = _email(email)
        problems = check_password(password, email=address)
        if problems:
            raise ConfigurationError("password: " + "; ".join(problems))
        user = User(user_id="u-" + secrets.token_hex(8), email=address, role=role,
                    password_hash=self.hasher.hash(password), email_verified=verified, created_at=self.clock.now())
        with self.uow_factory() as uow:
            if not uow.users.add(user):
                raise ConfigurationError(f"a user with email {address} exists already")
            uow.audit.append(AuditEntry(ts=user.created_at, kind=AuditKind.SESSION, message=f"user {address} created as {role.value}",
                                        data={"user_id": user.user_id}))
            uow.commit()
        return user

    def login(self, *, email: str, password: str, address: str, user_agent: str = "") -> LoginResult:
        now = self.clock.now()
        try:
            typed = normalise_email(email)
        except ValueError:
            raise AuthenticationError(GENERIC_FAILURE) from None
        # Admission and count in one transaction, under the pair's lock: of N concurrent
        # attempts exactly those the throttle allows are evaluated. The attempt counts as
        # failed from here on; only a verified password turns it into a success.
        with self.uow_factory() as uow:
            uow.login_attempts.lock_pair(email=typed, address=address)
            history = uow.login_attempts.pair_history(email=typed, address=address, since=now - self.throttle.window)
            decision = self.throttle.decide(failures=history.failures, last_attempt_at=history.last_failure_at, now=now)
            if not decision.allowed:
                raise LoginThrottled(f"too many failed logins; try again in {decision.retry_after_seconds} s",
                                     retry_after_seconds=decision.retry_after_seconds)
            attempt_id = uow.login_attempts.begin(LoginAttempt(ts=now, email=typed, address=address, succeeded=False))
            user = uow.users.by_email(typed)
            uow.commit()
        # Verify even for an unknown email, so the time taken does not tell who has an account.
        ok = self.hasher.verify(password, user.password_hash if user else _DUMMY_HASH.get(self.hasher))
        if not ok or user is None or user.disabled or not user.email_verified:
            raise AuthenticationError(GENERIC_FAILURE)
        with self.uow_factory() as uow:
            uow.login_attempts.succeed(attempt_id)
            session = LoginSession(session_id="s-" + secrets.token_hex(12), user_id=user.user_id, created_at=now,
                                   expires_at=now + SESSION_LIFETIME, address=address, user_agent=user_agent[:200])
            revoked = uow.login_sessions.open(session, max_live=MAX_SESSIONS, now=now)
            if self.hasher.needs_rehash(user.password_hash):
                uow.users.save(attrs.evolve(user, password_hash=self.hasher.hash(password)))
            uow.commit()
        token = self.tokens.issue(user_id=user.user_id, session_id=session.session_id, role=user.role, now=now)
        # A racing login of the same user may have committed after ours and revoked this
        # session for the cap: handing its token out would give a token dead on arrival.
        with self.uow_factory() as uow:
            stored = uow.login_sessions.get(session.session_id)
        if stored is None or not stored.live(self.clock.now()):
            raise LoginRaced(RACED_LOGIN)
        return LoginResult(token=token, session=session, revoked=tuple(revoked))

    def authenticate(self, token: str) -> Principal:
        """The principal a bearer token speaks for; AuthenticationError unless its session is live."""
        now = self.clock.now()
        claims: TokenClaims = self.tokens.verify(token, now=now)
        with self._read()() as uow:
            session = uow.login_sessions.get(claims.session_id)
            user = uow.users.get(claims.user_id)
        if session is None or session.user_id != claims.user_id or not session.live(now):
            raise AuthenticationError("session is not live (logged out, revoked or expired)")
        if user is None or user.disabled:
            raise AuthenticationError("user is disabled")
        # The role comes from the store, not the token: a demotion applies at once.
        return Principal(user_id=user.user_id, email=user.email, role=user.role, session_id=session.session_id)

    def refresh(self, principal: Principal) -> str:
        """A new short-lived token for a live session."""
        return self.tokens.issue(user_id=principal.user_id, session_id=principal.session_id, role=principal.role,
                                 now=self.clock.now())

    def logout(self, principal: Principal) -> None:
        with self.uow_factory() as uow:
            uow.login_sessions.revoke(principal.session_id, at=self.clock.now(), reason="logged out")
            uow.commit()

    def logout_everywhere(self, principal: Principal) -> int:
        with self.uow_factory() as uow:
            count = uow.login_sessions.revoke_all(principal.user_id, at=self.clock.now(), reason="logged out everywhere")
            uow.commit()
        return count

    def invite(self, principal: Principal, *, email: str, role: Role) -> tuple[Invitation, str]:
        """An invitation and its signed single-use token (the link the mailer sends)."""
        principal.require("invitations.manage")
        now = self.clock.now()
        invitation = Invitation(invitation_id="i-" + secrets.token_hex(12), email=_email(email), role=role,
                                invited_by=principal.user_id, created_at=now, expires_at=now + self.invitation_lifetime)
        with self.uow_factory() as uow:
            if uow.users.by_email(invitation.email) is not None:
                raise ConfigurationError(f"{invitation.email} has an account already")
            uow.invitations.add(invitation)
            uow.audit.append(AuditEntry(ts=now, kind=AuditKind.SESSION, message=f"{invitation.email} invited as {role.value}",
                                        data={"by": principal.user_id, "invitation_id": invitation.invitation_id}))
            uow.commit()
        return invitation, self.invitations_signer.sign(invitation.invitation_id, invitation.expires_at)

    def revoke_invitation(self, principal: Principal, *, invitation_id: str) -> Invitation:
        """Withdraw a pending invitation: its link stops working at once. Raises
        UnknownInvitation, or InvitationClosed for one accepted or revoked already."""
        principal.require("invitations.manage")
        now = self.clock.now()
        with self.uow_factory() as uow:
            invitation = uow.invitations.get(invitation_id)
            if invitation is None:
                raise UnknownInvitation(f"no invitation {invitation_id}")
            if not uow.invitations.revoke(invitation_id, at=now):
                state = "accepted" if invitation.accepted_at is not None else "revoked"
                raise InvitationClosed(f"invitation {invitation_id} was {state} already")
            uow.audit.append(AuditEntry(ts=now, kind=AuditKind.SESSION,
                                        message=f"invitation of {invitation.email} revoked",
                                        data={"by": principal.user_id, "invitation_id": invitation_id}))
            uow.commit()
        return attrs.evolve(invitation, revoked_at=now)

    def pending_invitation(self, token: str) -> Invitation:
        """The invitation a link names, while it can still be accepted (for the accept page).
        Raises AuthenticationError otherwise; nothing is written."""
        now = self.clock.now()
        invitation_id = self.invitations_signer.verify(token, now=now)
        with self._read()() as uow:
            invitation = uow.invitations.get(invitation_id)
        if (invitation is None or invitation.expires_at <= now or invitation.accepted_at is not None
                or invitation.revoked_at is not None):
            raise AuthenticationError("invitation is unknown, expired, revoked or used already")
        return invitation

    def accept_invitation(self, *, token: str, password: str) -> User:
        """Verifies the address (the link reached it) and sets the password; works once."""
        now = self.clock.now()
        invitation_id = self.invitations_signer.verify(token, now=now)
        with self.uow_factory() as uow:
            invitation = uow.invitations.get(invitation_id)
            if invitation is None or invitation.expires_at <= now or invitation.revoked_at is not None:
                raise AuthenticationError("invitation is unknown, expired or revoked")
            problems = check_password(password, email=invitation.email)
            if problems:
                raise ConfigurationError("password: " + "; ".join(problems))
            if not uow.invitations.accept(invitation_id, at=now):
                raise AuthenticationError("invitation was used already")
            user = User(user_id="u-" + secrets.token_hex(8), email=invitation.email, role=invitation.role,
                        password_hash=self.hasher.hash(password), email_verified=True, created_at=now)
            if not uow.users.add(user):
                raise ConfigurationError(f"{invitation.email} has an account already")
            uow.audit.append(AuditEntry(ts=now, kind=AuditKind.SESSION, message=f"{user.email} accepted the invitation",
                                        data={"user_id": user.user_id, "invitation_id": invitation_id}))
            uow.commit()
        return user


def _email(email: str) -> str:
    try:
        return normalise_email(email)
    except ValueError as exc:
        raise ConfigurationError(f"email: {exc}") from None


class _DummyHash:
    """One hash per hasher of a random password, to verify against when the email is unknown."""

    def __init__(self) -> None:
        self._by_hasher: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._by_hasher:
            self._by_hasher[key] = hasher.hash(secrets.token_urlsafe(24))
        return self._by_hasher[key]


_DUMMY_HASH = _DummyHash()
