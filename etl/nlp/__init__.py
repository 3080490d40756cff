"""Tagging: entities with canonical names, quotes with speakers, topic relevance."""
