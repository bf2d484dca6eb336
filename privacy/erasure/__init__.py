"""Erasure of a person across apps, and the webhooks that tell downstream recipients."""
