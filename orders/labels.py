"""The words of orders' codes, registered in common.labels from OrdersConfig.ready()."""

from common.labels import labels_register

from .models import CancellationReason, OrderEventType, OrderStatus, UpdateChannel

UPDATE_RESULT_WORDS = {
    "applied": "Applied",
    "would apply": "Would apply",
    "unchanged": "Unchanged",
    "error": "Error",
}


def labels_register_orders() -> None:
    labels_register("order_status", OrderStatus.choices)
    labels_register("cancellation_reason", CancellationReason.choices)
    labels_register("order_event", OrderEventType.choices)
    labels_register("update_channel", UpdateChannel.choices)
    labels_register("update_result", UPDATE_RESULT_WORDS)
