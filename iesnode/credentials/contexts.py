"""The JSON-LD ``@context`` values a credential may carry.

VC Data Model 2.0 section 4.3 ("Contexts") requires ``@context`` to be an ordered set
whose first item is :data:`CREDENTIALS_V2`; VC Data Integrity 1.0 ("Context
Validation") requires a verifier to check every context against what it knows before
trusting the document's meaning.

Decision (issue 4): we keep an **allow-list of context URLs** and ship no context
documents. The node never dereferences a context: ``eddsa-jcs-2022`` signs the JSON
members themselves (RFC 8785), so no JSON-LD expansion happens anywhere, and
validation is by URL identity. Context *objects* (inline contexts) are refused,
because their meaning could not be checked against a known URL. Whoever adds RDF
canonicalisation later must also add pinned copies of these documents and a loader
that refuses the network.

The IES URLs are the credential families whose examples the IES accelerator
publishes (ElectricityCredential v1.0 to v1.2, MeterDataCredential v0.6,
MeterDataRequestCredential v0.1); the ``schema.nfh.global`` URLs are the DEG
vocabularies those examples import.
"""

from __future__ import annotations

__all__ = [
    "ALLOWED_CONTEXTS",
    "CREDENTIALS_V2",
    "DEG_CONTEXTS",
    "IES_CONTEXTS",
    "UNDEFINED_TERMS_V2",
    "W3C_CONTEXTS",
]

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
"""The VC 2.0 base context; always the first ``@context`` item."""

UNDEFINED_TERMS_V2 = "https://www.w3.org/ns/credentials/undefined-terms/v2"
"""The context VCDM 2.0 names for documents using terms no other context defines."""

W3C_CONTEXTS: frozenset[str] = frozenset({CREDENTIALS_V2, UNDEFINED_TERMS_V2})

_IES_BASE = "https://india-energy-stack.github.io/ies-accelerator/schemas"

IES_CONTEXTS: frozenset[str] = frozenset(
    f"{_IES_BASE}/{family}/context.jsonld"
    for family in (
        "ElectricityCredential/v1.0",
        "ElectricityCredential/v1.1",
        "ElectricityCredential/v1.2",
        "MeterDataCredential/v0.6",
        "MeterDataRequestCredential/v0.1",
    )
)
"""IES credential families (one context per published version)."""

_DEG_BASE = "https://schema.nfh.global"

DEG_CONTEXTS: frozenset[str] = frozenset(
    {
        "https://schema.org/",
        *(
            f"{_DEG_BASE}/{family}/context.jsonld"
            for family in (
                "EnergyCredential/v2.0",
                "EnergyCustomerProfile/v1.0",
                "CustomerDetails/v1.0",
                "ConsumptionProfileCredential/v2.0",
                "GenerationProfileCredential/v2.0",
                "StorageProfileCredential/v2.0",
                "EnergyResource/v2.0",
                "EnergyResource/v2.1",
                "MeterServiceProfile/v1.1",
                "Location/2.0",
            )
        ),
    }
)
"""DEG vocabularies (and schema.org) that the IES credential examples import."""

ALLOWED_CONTEXTS: frozenset[str] = W3C_CONTEXTS | IES_CONTEXTS | DEG_CONTEXTS
"""Every context URL :func:`iesnode.credentials.model.validate_credential` accepts."""
