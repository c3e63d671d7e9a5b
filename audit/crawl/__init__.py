"""Discovery -> inventory -> plan -> probes -> verdicts; the engine, checkpoint and active mode."""
