"""The path migrations name the encrypted field by (``privacy.fields.EncryptedTextField``).

Kept so migrations written before the field moved to ``privacy.core.fields`` still load; new
code imports ``privacy.core.fields``.
"""

from privacy.core.fields import EncryptedTextField

__all__ = ["EncryptedTextField"]
