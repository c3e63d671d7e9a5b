"""The record of a run (results.json, probes.csv): the hub every later stage reads."""
