"""Demo data: a realistic county group, loaded once into an empty database."""


async def load_demo() -> None:
    """Placeholder until the ledger lands."""
