"""The asset register (资产台账): cards, their append-only events, transfers, inventory, ratios.

A sub-domain of the ledger: cards are held by ledger entities, events obey the ledger's period
locks and scope, and the ratios roll up over the ledger's nodes (group, platform, segment).
"""
