"""Where a supplier's update came from (issue 13): the portal, the API, or an update file.

Every update records its source in its event's `data["channel"]` and in `actor`, the same
way whichever service wrote it, so the order's timeline says who and how: the portal user,
the API token's name, the file's name and row. The first update from a supplier (an
acknowledgement, a shipment, a cancellation) is also the order's acknowledgement, recorded
with the source's `via` (Order.acknowledged_via).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import UpdateChannel


@dataclass(frozen=True)
class UpdateSource:
    via: str  # an UpdateChannel value
    by: str  # the portal user's name, the token's name, the file's name
    row: int | None = None  # a file's row

    def data(self) -> dict:
        data: dict = {"via": self.via, "by": self.by}
        if self.row is not None:
            data["row"] = self.row
        return data

    @property
    def actor(self) -> str:
        prefix = {UpdateChannel.PORTAL: "user", UpdateChannel.API: "api"}.get(self.via, self.via)
        return f"{prefix}:{self.by}"[:150]


def source_portal(user) -> UpdateSource:
    return UpdateSource(via=UpdateChannel.PORTAL, by=user.get_username())


def source_api(token) -> UpdateSource:
    """A token is named by its name (as the supplier gave it), else by its prefix."""
    return UpdateSource(via=UpdateChannel.API, by=token.name or token.prefix)


def source_file(*, name: str, row: int | None) -> UpdateSource:
    return UpdateSource(via=UpdateChannel.FILE, by=name, row=row)


def source_resolve(*, source: UpdateSource | None, actor: str, actor_user) -> UpdateSource | None:
    """The caller's source, or the portal when a user wrote it as `user:NAME`; None for
    ops, the retailer or the system, which are not the supplier's updates."""
    if source is not None:
        return source
    if actor_user is not None and actor.startswith("user:"):
        return UpdateSource(via=UpdateChannel.PORTAL, by=actor.removeprefix("user:"))
    return None
