"""The documents service: uploads, versions, blobs, downloads, rendered PDFs and the archive."""
