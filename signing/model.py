"""Rules of signature requests (no I/O): who may act when, and the verification codes."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal

from runtime.errors import Conflict, Invalid, NotFound

RequestState = Literal["open", "completed", "rejected", "cancelled"]
SlotState = Literal["waiting", "signed", "rejected"]

SIGNING_ROLES = {"signer", "secretary"}
"""Users with one of these roles get a personal signing certificate."""

# Crockford's base32 without I, L, O, U: read aloud or typed from paper without confusion.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits: not guessable in any useful number of tries


def new_verification_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(code: str) -> str:
    """Typed codes: lower case, missing dash, O for 0 and I/L for 1 all lead to the same code."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    return f"{cleaned[:5]}-{cleaned[5:]}" if len(cleaned) == CODE_LENGTH else cleaned


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def wants_certificate(roles: list[str] | set[str] | frozenset[str], active: bool) -> bool:
    return active and bool(SIGNING_ROLES.intersection(roles))


@dataclass(frozen=True)
class Slot:
    position: int
    username: str
    role: str
    state: SlotState


@dataclass(frozen=True)
class RequestView:
    id: str
    state: RequestState
    requested_by: str
    slots: list[Slot]

    def next_slot(self) -> Slot | None:
        return next((s for s in sorted(self.slots, key=lambda s: s.position) if s.state == "waiting"), None)

    def slot_of(self, username: str) -> Slot | None:
        return next((s for s in self.slots if s.username == username), None)

    def is_last(self, slot: Slot) -> bool:
        return all(s.state == "signed" for s in self.slots if s.position != slot.position)


def validate_signers(signers: list[tuple[str, str]], max_signers: int) -> None:
    if not signers:
        raise Invalid("no_signers", "Name at least one signer.")
    if len(signers) > max_signers:
        raise Invalid("too_many_signers", "At most {count} signers fit on the signature page.", count=max_signers)
    usernames = [u for u, _ in signers]
    if len(set(usernames)) != len(usernames):
        raise Invalid("duplicate_signer", "Each signer may appear only once.")


def turn_of(request: RequestView, username: str) -> Slot:
    """The caller's slot if it is their turn now; otherwise the reason as a 4xx.

    Raises Conflict when the request is no longer open, or when it is someone else's turn.
    A caller who is not among the signers gets 404 (the request is not theirs to see act on).
    """
    mine = request.slot_of(username)
    if mine is None:
        raise NotFound("not_found", "Not found.")
    if request.state != "open":
        raise closed_error(request.state)
    if mine.state != "waiting":
        raise Conflict("already_done", "You have already acted on this request.")
    upcoming = request.next_slot()
    if upcoming is None or upcoming.position != mine.position:
        raise Conflict("not_your_turn", "It is not your turn to sign yet.")
    return mine


CLOSED_MESSAGES = {
    "completed": "This signature request is already completed.",
    "rejected": "This signature request was rejected.",
    "cancelled": "This signature request was cancelled.",
}


def closed_error(state: str) -> Conflict:
    return Conflict(f"request_{state}", CLOSED_MESSAGES.get(state, "This signature request is closed."))
