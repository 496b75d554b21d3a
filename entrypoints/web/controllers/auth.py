"""/api/v1/auth: login, refresh, logout, logout everywhere, who am I."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from application.accounts.accounts import Principal
from entrypoints.web.deps import AccountsDep
from entrypoints.web.dto import LoginRequest, LogoutAllResponse, MeResponse, TokenResponse
from entrypoints.web.errors import problem_responses
from entrypoints.web.security import client_address, provide_principal



class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    dependencies = {"principal": Provide(provide_principal, sync_to_thread=False)}

    @post("/login", opt={"public": True}, security=[], sync_to_thread=True, status_code=200,
          responses=problem_responses(400, 401, 409, 413, 415, 429, 503))
    def login(self, data: JSONBody[LoginRequest], request: Request, accounts: AccountsDep,
              token_lifetime: NamedDependency[int]) -> TokenResponse:
        """Exchange email and password for a bearer token. Wrong password and unknown email
        answer alike; repeated failures from one address for one account slow down (429 with
        Retry-After). A token returned is live: a login whose session concurrent logins of the
        same user revoked first answers 409."""
        # A throttled login raises LoginThrottled: errors.py answers 429 with its Retry-After.
        result = accounts.login(email=data.email, password=data.password, address=client_address(request),
                                user_agent=request.headers.get("user-agent", ""))
        return TokenResponse(token=result.token, token_type="bearer", expires_in=token_lifetime,
                             session_id=result.session.session_id, revoked_sessions=list(result.revoked))

    @post("/refresh", sync_to_thread=True, status_code=200, responses=problem_responses(400, 401, 415, 503))
    def refresh(self, principal: NamedDependency[Principal], accounts: AccountsDep, token_lifetime: NamedDependency[int]) -> TokenResponse:
        """A fresh short-lived token for the same (live) session."""
        return TokenResponse(token=accounts.refresh(principal), token_type="bearer", expires_in=token_lifetime,
                             session_id=principal.session_id, revoked_sessions=[])

    @post("/logout", sync_to_thread=True, status_code=204, responses=problem_responses(400, 401, 415, 503))
    def logout(self, principal: NamedDependency[Principal], accounts: AccountsDep) -> None:
        """End this session: its tokens stop working at once."""
        accounts.logout(principal)

    @post("/logout-all", sync_to_thread=True, status_code=200, responses=problem_responses(400, 401, 415, 503))
    def logout_all(self, principal: NamedDependency[Principal], accounts: AccountsDep) -> LogoutAllResponse:
        """End every session of this user, this one included."""
        return LogoutAllResponse(revoked_sessions=accounts.logout_everywhere(principal))

    @get("/me", sync_to_thread=False, responses=problem_responses(401, 503))
    def me(self, principal: NamedDependency[Principal]) -> MeResponse:
        return MeResponse(user_id=principal.user_id, email=principal.email, role=principal.role.value,
                          session_id=principal.session_id)
