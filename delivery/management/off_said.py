"""What set_channel and set_retailer_channel say after --off."""


def off_said(who: str, channel: str, destination) -> str:
    """'shopco: webhook is off.', or, for a channel that was off already (its reason kept,
    delivery/services/destinations.py's destination_off), that and why."""
    if destination.already_off:
        why = destination.disabled_reason or "no reason kept"
        return f"{who}: {channel} was already off ({why}); nothing changed."
    return f"{who}: {channel} is off."
