"""ebaydash: analytics for eBay sellers on a cached SQL query layer."""

__version__ = "0.1.0"

__all__ = ["__version__"]
