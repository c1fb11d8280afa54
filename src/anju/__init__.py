"""anju (安居): a property-management platform for Chinese residential communities."""

__version__ = "0.1.0"
