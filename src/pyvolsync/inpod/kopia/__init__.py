"""The kopia engine: the perfectra1n/volsync fork's kopia mover, behind the fork's environment
contract and snapshot identities, without the fork's defects (see docs/mover.md)."""
