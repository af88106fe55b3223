"""The archive: sealed congress records (BagIt packages), their search index and fixity audits.

The package format and its verification live in the standalone `archive_verify` package, so
that the same check runs here (online) and offline with nothing but the zip and a CA certificate.
"""
