"""GNN backbone: input encoders, EdgeConv blocks, pooling (rs3l.models.backbone)."""
