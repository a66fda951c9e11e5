"""sim_pairs: positive pairs of jets from re-simulation (re-shower, re-hadronise, detector replicas)."""
