"""Speed figures for Tierdesk: `make bench` (or `python -m benchmarks`) prints them; nothing passes or fails."""
