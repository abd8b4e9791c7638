"""Mathematics only: the group, commitments, signatures and proofs.

Nothing in this package knows about meters, tariffs or bills; every other part of privbill
depends on it and it depends on nothing else of privbill.
"""
