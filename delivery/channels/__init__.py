"""Channels: each sends one delivery (or a batch) and raises `DeliveryFailed` when it cannot.

The error says whether a retry can help. Adding a channel is one module and one line in
`CHANNELS`.
"""
