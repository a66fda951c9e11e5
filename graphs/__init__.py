"""graphs: jets from rs3l datasets as PyG graphs (particles, cells, tracks), kNN, pair batches."""
