"""/api/v1/users: the people of the admin platform (admins only)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from application.records import Role, User
from domain.access import Action
from entrypoints.web.dto import NewUserRequest, UserResponse
from entrypoints.web.deps import AccountsDep, StoreDep
from entrypoints.web.errors import problem_responses

_ADMIN = {"action": Action.USERS_MANAGE}


class UsersController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/", opt=_ADMIN, sync_to_thread=True, responses=problem_responses(401, 403, 503))
    def list_users(self, store: StoreDep) -> list[UserResponse]:
        """Every user with role and state (never a password hash)."""
        with store.unit_of_work(read_only=True) as uow:
            return [_user(u) for u in uow.users.list()]

    @post("/", opt=_ADMIN, sync_to_thread=True, status_code=201,
          responses=problem_responses(400, 401, 403, 413, 415, 503))
    def create_user(self, data: JSONBody[NewUserRequest], accounts: AccountsDep) -> UserResponse:
        """A user with a verified address (the admin vouches for it); weak passwords and
        duplicate emails are refused with the reason."""
        return _user(accounts.create_user(email=data.email, password=data.password, role=Role(data.role)))


def _user(u: User) -> UserResponse:
    return UserResponse(user_id=u.user_id, email=u.email, role=u.role.value, verified=u.email_verified,
                        disabled=u.disabled, created_at=u.created_at)
