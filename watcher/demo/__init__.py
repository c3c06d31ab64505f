"""The bundled sample marketplace: fake Shopify, WooCommerce and HTML shops and a
marketplace on local ports, with a scripted timeline and fault injection.

    with Marketplace() as market:
        config = market.config_toml("sqlite:///demo.db")
        ...
        market.advance()
"""

from watcher.demo.faults import DATA_FAULTS, FAULT_MODES, GONE_FAULTS
from watcher.demo.server import DemoShop, Marketplace

__all__ = ["DATA_FAULTS", "FAULT_MODES", "GONE_FAULTS", "DemoShop", "Marketplace"]
