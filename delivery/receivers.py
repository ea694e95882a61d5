"""Listens to `orders` and hands committed events to the dispatcher."""
