"""Writes of erasure: the erasure itself and the webhooks that tell downstream recipients."""
