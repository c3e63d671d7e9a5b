"""Configuration: TOML + environment -> a frozen AuditConfig; Secret and masking."""
