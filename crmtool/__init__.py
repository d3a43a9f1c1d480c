"""crmtool: move a scattered client base into a CRM without duplicates."""

__version__ = "0.1.0"
