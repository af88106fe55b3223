"""The congress service: staff identity, congresses, agenda, delegates, check-in, publications."""
