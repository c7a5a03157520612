"""Data: the manifest contract and its builder, media decoding and validation, the clip table and the splits."""
