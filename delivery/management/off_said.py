"""What set_channel and set_retailer_channel say after --off."""


def off_said(who: str, channel: str, destination) -> str:
    """'shopco: webhook is off.', or, for a channel that was off already (its reason kept,
    delivery/services/destinations.py's destination_off), that and why."""
    if destination.already_off:
        why = destination.disabled_reason or "no reason kept"
        # Rows still pending (a worker held one as the channel went off) are cancelled now,
        # and said next: then something did change.
        rest = "" if destination.pending_cancelled else "; nothing changed"
        return f"{who}: {channel} was already off ({why}){rest}."
    return f"{who}: {channel} is off."
