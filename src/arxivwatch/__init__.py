"""arxivwatch: watches arXiv for a research group and sends a ranked, explained digest."""

__version__ = "0.1.0"
