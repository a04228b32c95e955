"""The ledger's arithmetic as pure functions over Polars frames: ownership and consolidation."""
