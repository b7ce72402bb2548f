"""Sample usage events shaped like real provider responses, for ``costream up --demo``."""
