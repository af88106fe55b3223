"""The signing service: the organisation CA, signer certificates, signature requests, seals."""
