"""Cryptographic primitives as Tahoe-LAFS uses them: AES-128-CTR, RSA-2048, Ed25519.

Rules: each module wraps ``cryptography`` for exactly the parameters Tahoe
fixes (key sizes, padding, counter layout), so callers never choose them.
Nothing here draws randomness except :func:`grid.crypto.rsa.generate_rsa_private_key`,
which the caller chooses to call; loaders raise only
:class:`~grid.errors.KeyFormatError` and verifiers only
:class:`~grid.errors.BadSignatureError`.
"""
