"""Whose run is it: browser identities, the teacher, and who may change what.

A server handed to a class is shared by people who do not trust each other. Everyone may view and
compare every run, but only a run's owner (the browser that started it) or the teacher may rename,
tag, delete, cancel or stop it.

- A browser is known by a random token (256 bits from ``secrets``) that the app keeps in a cookie.
  Only a hash of the token is ever stored (run.json's ``owned_by``), so nothing in the store lets
  anyone act as someone else; a cookie value is used for matching only, never believed as a name.
- The teacher is whoever knows ``MNIST_TEACHER_PASSWORD``, compared in constant time. A browser that
  has logged in keeps a proof (an HMAC of its token keyed by the password) in a second cookie; a
  proof for another token, or made with an old password, proves nothing.
- Without ``MNIST_TEACHER_PASSWORD`` the server is in one-person mode: everyone may do everything.

The decisions are made here and enforced by the store and the job queue; the app only mirrors them
(disabled buttons with a sentence why), so a crafted request that gets past the UI still fails.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass

TEACHER_ENV = "MNIST_TEACHER_PASSWORD"
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
_OWNER_RE = re.compile(r"^[0-9a-f]{64}$")


class NotAllowed(PermissionError):
    """The actor may not change this run. The message is one sentence saying who may."""


@dataclass(frozen=True)
class Actor:
    """Who asks: a browser (``owner`` is its token's hash), possibly the teacher's.
    Build it with ``browser`` from a verified token; ``OPERATOR`` is whoever runs the CLI."""

    owner: str | None
    teacher: bool = False


OPERATOR = Actor(owner=None, teacher=True)  # a shell on the server can change the files anyway


def class_mode() -> bool:
    """True when a teacher password is set: runs have owners and limits apply to students."""
    return bool(os.environ.get(TEACHER_ENV))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid_token(token: object) -> bool:
    return isinstance(token, str) and bool(_TOKEN_RE.match(token))


def owner_id(token: str) -> str:
    """The stored form of a browser's token: a one-way hash, useless as a cookie."""
    return hashlib.sha256(f"mnist-explorer owner:{token}".encode()).hexdigest()


def valid_owner(owner: object) -> bool:
    return isinstance(owner, str) and bool(_OWNER_RE.match(owner))


def check_password(password: object) -> bool:
    """True if ``password`` is the teacher's. Constant time, so timing does not leak how much matched."""
    secret = os.environ.get(TEACHER_ENV)
    if not secret or not isinstance(password, str):
        return False
    return hmac.compare_digest(password.encode(), secret.encode())


def teacher_proof(token: str) -> str:
    """What a browser keeps after the teacher logged in with it: bound to this token and password."""
    secret = os.environ.get(TEACHER_ENV, "")
    return hmac.new(secret.encode(), f"teacher:{token}".encode(), hashlib.sha256).hexdigest()


def browser(token: str, proof: object = None) -> Actor:
    """The actor for a browser's token (checked by the caller with ``valid_token``) and, if it has one,
    its teacher proof."""
    teacher = (class_mode() and isinstance(proof, str)
               and hmac.compare_digest(proof.encode(), teacher_proof(token).encode()))
    return Actor(owner=owner_id(token), teacher=teacher)


def may_change(actor: Actor | None, owned_by: object) -> bool:
    """May ``actor`` rename, tag, delete, cancel or stop something owned by ``owned_by``?
    ``None`` as actor is the operator (CLI, tests); a run without an owner is the teacher's to change."""
    if actor is None or not class_mode() or actor.teacher:
        return True
    return (valid_owner(actor.owner) and valid_owner(owned_by)
            and hmac.compare_digest(actor.owner, owned_by))


def require_change(actor: Actor | None, owned_by: object, what: str) -> None:
    """Raise NotAllowed with one sentence unless ``actor`` may change ``what`` (e.g. "run 2026...")."""
    if not may_change(actor, owned_by):
        raise NotAllowed(f"{what} belongs to another browser: only the browser that started it, or the "
                         f"teacher, may change it.")


def why_not() -> str:
    """The sentence the app shows beside a control it disabled for someone else's run."""
    return ("Only the browser that started a run, or the teacher, may rename, tag, delete or stop it; "
            "everyone may view and compare it.")
