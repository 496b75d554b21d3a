"""Password hashes with argon2id (argon2-cffi), the PasswordHasher port."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

# Production parameters, RFC 9106's second recommended option ("low memory"), except one lane:
# time_cost=3 passes over memory_cost=64 MiB. One lane: lanes only let one hash use more cores
# at once, and the admin API shares its cores with the bots.
# About 0.16 s per hash or verify on one core of the development machine: unnoticed at a
# login, ruinous for a guesser; it is also why a login should pass the throttle before verify.
TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16


class Argon2PasswordHasher:
    def __init__(
        self,
        *,
        time_cost: int = TIME_COST,
        memory_cost_kib: int = MEMORY_COST_KIB,
        parallelism: int = PARALLELISM,
    ) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            hash_len=HASH_LEN,
            salt_len=SALT_LEN,
            type=argon2.Type.ID,  # argon2id: resists both GPU guessing and side channels
        )

    @classmethod
    def for_tests(cls) -> Argon2PasswordHasher:
        """The smallest parameters argon2 accepts: for tests only, where a real hash would
        make the suite slow. Never wire this in an entrypoint."""
        return cls(time_cost=1, memory_cost_kib=8, parallelism=1)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password: str, hashed: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        # A mismatch and an unreadable stored hash both mean "not this password"; the
        # caller's one failure path (count it, answer generically) is the right one for both.
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True
