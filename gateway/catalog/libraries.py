"""Libraries, users and keys: authentication, staff users, OWN LOWs, SSH keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from gateway.catalog.base import CatalogCore
from gateway.errors import AuthenticationError
from gateway.model import Library, User


def _hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _check_password(password: str, stored: str) -> bool:
    try:
        kind, salt, _digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    return hmac.compare_digest(_hash_password(password, bytes.fromhex(salt)), stored)


def _user_of(name: str, library: Library) -> User:
    return User(name, library.code, library.level, frozenset(library.lows), library.privileged)


class LibrariesAndUsers(CatalogCore):
    """Libraries, their staff users, passwords, OWN LOWs and SSH keys."""

    # --- libraries and users -------------------------------------------------------
    async def authenticate(self, user_name: str, password: str) -> User:
        """Raises AuthenticationError; user names match case-insensitively."""
        name = user_name.strip().upper()
        digest = hmac.new(self._auth_key, f"{name}\0{password}".encode(), "sha256").digest()
        await self._forget_if_changed_elsewhere()
        cached = self._auth_cache.get(name)
        if cached and hmac.compare_digest(cached[0], digest):
            if await self._still_valid(name, cached[1], cached[2]):
                return cached[1]
            self._auth_cache.pop(name, None)
        # clients that log in at once share one scrypt run (50 writers: 50 x 60 ms of CPU)
        key = (digest, user_name)  # the refusal names the user as typed
        pending = self._auth_checks.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._check_login(name, user_name, password, digest))
            self._auth_checks[key] = pending
            pending.add_done_callback(lambda _: self._auth_checks.pop(key, None))
        return await asyncio.shield(pending)

    async def _check_login(self, name: str, user_name: str, password: str, digest: bytes) -> User:
        found = await self.store.library_row(name) if name else None
        if (
            found is None
            or not found[1]
            or not await asyncio.to_thread(_check_password, password, found[1])
        ):
            raise AuthenticationError(f"No such staff member exist or wrong password: {user_name}")
        user = _user_of(name, found[0])
        self._auth_cache[name] = (digest, user, found[1])
        return user

    async def _still_valid(self, name: str, user: User, password_hash: str) -> bool:
        """Whether a cached login still stands: the library as last read (again, after
        another process committed) has the same password and makes the same user."""
        library = (await self._library_table()).get(name)
        return (
            library is not None
            and self._password_hashes.get(name) == password_hash
            and _user_of(name, library) == user
        )

    async def add_library(
        self,
        code: str,
        *,
        password: str | None = None,
        name: str = "",
        sid_code: str | None = None,
        lows: Sequence[str] = (),
        ssh_keys: Sequence[str] = (),
        level: int = 30,
        privileged: bool = False,
    ) -> Library:
        """Add (or update) a library, its staff user (user name = CODE), OWN LOWs and SSH keys."""
        code = code.strip().upper()
        if not code or not code.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"library code must be letters and digits: {code!r}")
        existing = await self.store.library_row(code)
        library = Library(
            code=code,
            name=name or (existing[0].name if existing else code),
            sid_code=(sid_code or (existing[0].sid_code if existing else code.lower())).lower(),
            lows=tuple(
                sorted(
                    {lw.strip().upper() for lw in lows}
                    or ({code} if not existing else set(existing[0].lows))
                )
            ),
            ssh_keys=tuple(k.strip() for k in ssh_keys if k.strip()),
            level=level,
            privileged=privileged,
        )
        password_hash = await asyncio.to_thread(_hash_password, password) if password else None
        await self.store.save_library(library, password_hash)
        self._auth_cache.pop(code, None)
        self._libraries = None
        return await self.library(code)

    async def remove_library(self, code: str) -> None:
        await self.library(code)
        await self.store.delete_library(code)
        self._auth_cache.pop(code.strip().upper(), None)
        self._libraries = None

    async def libraries(self) -> list[Library]:
        return sorted((await self._library_table()).values(), key=lambda lib: lib.code)
