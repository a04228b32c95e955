"""StateAsset: the unified ledger, funds and KPI service of a county state-owned asset group."""

import os

# Piccolo finds its engine and apps through this module; set it before any table is touched.
os.environ.setdefault("PICCOLO_CONF", "stateasset.piccolo_conf")

__version__ = "0.1.0"
