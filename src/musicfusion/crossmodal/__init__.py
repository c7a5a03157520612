"""Cross-modal transfer: mappings from one modality's features onto another's, retrieval metrics and the transfer experiment."""
