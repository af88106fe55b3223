"""Offline verification of a sealed congress record: `python -m archive_verify package.zip --ca ca.pem`.

Stands alone on purpose: it imports nothing from the rest of this project, only the standard
library, `cryptography` and `asn1crypto`, so an archivist can check a package decades later with
nothing but the zip and the organisation's CA certificate. The package format it checks is
described in `archive_verify.package` (and in the package's own README.html).
"""

from archive_verify.package import (
    CHAIN_HEAD_FILE,
    EVENTS_FILE,
    GENESIS,
    SEAL_MANIFEST_FILE,
    SEAL_SIGNATURE_FILE,
    SEAL_TIMESTAMP_FILE,
    TAG_MANIFESTS,
    chain_hash,
)
from archive_verify.verify import Problem, Report, verify_package

__all__ = [
    "CHAIN_HEAD_FILE", "EVENTS_FILE", "GENESIS", "SEAL_MANIFEST_FILE", "SEAL_SIGNATURE_FILE", "SEAL_TIMESTAMP_FILE",
    "TAG_MANIFESTS", "Problem", "Report", "chain_hash", "verify_package",
]
