"""Contrastive losses: NT-Xent (pairs and groups) and VICReg, with explicit DDP gathering."""
