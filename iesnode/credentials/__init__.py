"""W3C Verifiable Credentials 2.0 for IES: data model, proofs, status, verification."""
