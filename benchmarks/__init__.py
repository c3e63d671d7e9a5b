"""Benchmarks of permaudit (``make bench``); not shipped in the wheel."""
