"""Identities (token, basic, password, oauth), authentication-failure causes and check-auth."""
