"""Wire formats: msgspec structs and decoders for the venue, order signing, auth headers."""
