"""The chaos soak (bench/chaos.py, delivery/tests/test_chaos.py): the whole production shape
on 127.0.0.1 with servers of its own, steady load, one fault at a time, then the checks.

`stack` starts and restarts the parts, `world` makes the suppliers, retailers and channels,
`load` sends orders and supplier updates and keeps a ledger of every answer, `faults` is the
seeded chaos loop, `checks` compares the ledger, the database and what the receivers got.
"""
