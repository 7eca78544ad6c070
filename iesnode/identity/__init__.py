"""Identity and addressing: IES identifiers, did:web / did:key, DID documents, legacy-ID maps."""

from __future__ import annotations

from iesnode.identity.bulk import BulkReport, ConflictRow, MappedRow, UnmappedRow, map_csv, map_rows
from iesnode.identity.did import Did, DidUrl, did_web
from iesnode.identity.didkey import DidKey
from iesnode.identity.documents import DidDocument, Service, VerificationMethod, node_did_document
from iesnode.identity.errors import (
    DidDocumentMismatch,
    DidNotFound,
    DidResolutionError,
    DidUnreachable,
    IdentifierError,
    MalformedDidDocument,
    MappingConflict,
    MappingError,
    MappingRuleError,
    NoMapping,
    UnsupportedDidMethod,
)
from iesnode.identity.extract import Extraction, Found, Problem, extract_identifiers
from iesnode.identity.identifiers import Identifier, IdentifierScheme
from iesnode.identity.ids import AssetClass, IesDid, IesKind
from iesnode.identity.mapping import LegacyIdMap
from iesnode.identity.obis import ObisCode
from iesnode.identity.resolver import DidResolver, did_web_url
from iesnode.identity.tel import TelUri

__all__ = [
    "AssetClass",
    "BulkReport",
    "ConflictRow",
    "Did",
    "DidDocument",
    "DidDocumentMismatch",
    "DidKey",
    "DidNotFound",
    "DidResolutionError",
    "DidResolver",
    "DidUnreachable",
    "DidUrl",
    "Extraction",
    "Found",
    "Identifier",
    "IdentifierError",
    "IdentifierScheme",
    "IesDid",
    "IesKind",
    "LegacyIdMap",
    "MalformedDidDocument",
    "MappedRow",
    "MappingConflict",
    "MappingError",
    "MappingRuleError",
    "NoMapping",
    "ObisCode",
    "Problem",
    "Service",
    "TelUri",
    "UnmappedRow",
    "UnsupportedDidMethod",
    "VerificationMethod",
    "did_web",
    "did_web_url",
    "extract_identifiers",
    "map_csv",
    "map_rows",
    "node_did_document",
]
