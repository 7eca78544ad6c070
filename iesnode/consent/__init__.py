"""Consent for smart-meter data sharing: artefacts, lifecycle, enforcement, audit."""
