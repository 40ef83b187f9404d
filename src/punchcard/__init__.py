"""punchcard: compare loyalty-programme schemes on a business's own sales history."""

__version__ = "0.1.0"
