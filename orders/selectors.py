"""Every non-trivial read of orders, with bounded query counts."""
